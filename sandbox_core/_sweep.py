"""``sweep()``: apply the lifecycle policy once, from any process (no supervisor needed)."""

from __future__ import annotations

import time

import attrs

from . import _ephemeral, _lifecycle, _sidecar_policy
from ._engine import get_engine
from ._engine import labels as L
from ._lifecycle import SweepResult

__all__ = ["SweepResult", "sweep"]


async def sweep(*, app_id: str | None = None, everything: bool = False) -> SweepResult:
    """End sandboxes past their ``timeout`` and those of ``app.run()`` blocks whose process died, remove finished
    ones past retention and orphaned records.

    With ``everything=True`` every sandbox (of ``app_id`` if given) is terminated and removed now, with its
    records — and, with ``app_id``, the app's registry entry: a clean slate, as tests and benchmarks need.
    """
    eng = await get_engine()
    await _ephemeral.enforce_runs(eng)
    swept = (await _lifecycle.enforce(eng, time.time(), app_id=app_id, everything=everything)).swept
    await _sidecar_policy.enforce(eng)
    if everything and app_id is not None:
        registry = await eng.records.find({L.RECORD_TYPE: "app", L.APP_ID: app_id})
        for rec in registry:
            await eng.records.remove(rec.name)
        swept = attrs.evolve(swept, records_removed=swept.records_removed + len(registry))
    return swept
