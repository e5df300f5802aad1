"""``sweep()``: apply the lifecycle policy once, from any process (no supervisor needed)."""

from __future__ import annotations

import time

import attrs

from . import _lifecycle
from ._engine import labels as L
from ._engine import records
from ._engine.client import get_engine


@attrs.frozen
class SweepResult:
    """What one sweep did: sandboxes ended for passing their deadline, sandboxes and records removed."""

    timed_out: int
    removed: int
    records_removed: int


async def sweep(*, app_id: str | None = None, everything: bool = False) -> SweepResult:
    """End sandboxes past their ``timeout``, remove finished ones past retention and orphaned records.

    With ``everything=True`` every sandbox (of ``app_id`` if given) is terminated and removed now, with its
    records — and, with ``app_id``, the app's registry entry: a clean slate, as tests and benchmarks need.
    """
    eng = await get_engine()
    res = await _lifecycle.enforce(eng, time.time(), app_id=app_id, everything=everything)
    removed_records = int(res["records_removed"])
    if everything and app_id is not None:
        for rec in await records.find(eng, f"{L.RECORD_TYPE}=app", f"{L.APP_ID}={app_id}"):
            await records.remove(eng, rec["Name"])
            removed_records += 1
    return SweepResult(timed_out=int(res["timed_out"]), removed=int(res["removed"]), records_removed=removed_records)
