"""``sweep()``: apply the lifecycle policy once, from any process (no supervisor needed)."""

from __future__ import annotations

import time

import attrs

from . import _ephemeral, _holderpool, _lifecycle, _sidecar_policy
from ._engine import get_engine
from ._engine import labels as L
from ._imagebuild import gc
from ._lifecycle import SweepResult
from ._volumes import gc as volume_gc
from .exception import Error

__all__ = ["SweepResult", "sweep"]


async def sweep(*, app_id: str | None = None, everything: bool = False) -> SweepResult:
    """End sandboxes past their ``timeout`` and those of ``app.run()`` blocks whose process died, remove finished
    ones past retention and orphaned records; remove expired snapshot images and step images unused for
    ``SANDBOX_CORE_IMAGE_GC_AGE`` (never an image a container uses; see ``docs/guide/images.md``), and volumes
    nobody holds any more (deleted named volumes, ephemeral ones whose block ended or whose process died).

    Network holders go with their sandboxes; holders left by a create that died are removed once it cannot
    be under way any more. With ``everything=True`` every sandbox (of ``app_id`` if given) is terminated and
    removed now, with its records, holders and snapshot images — and, with ``app_id``, the app's registry
    entry; without ``app_id``, also the pool of ready holders (a supervisor refills it): a clean slate, as
    tests and benchmarks need.

    One object the engine refuses to act on (a removal that fails) does not stop the rest: the first such
    error is raised once everything else was done (the app's registry entry is then kept), and a later call
    tries again. ``ConnectionError`` when the engine does not answer.
    """
    eng = await get_engine()
    await _ephemeral.enforce_runs(eng)
    passed = await _lifecycle.enforce(eng, time.time(), app_id=app_id, everything=everything)
    swept = passed.swept
    images = await gc.collect(eng, time.time(), app_id=app_id, everything=everything)
    swept = attrs.evolve(swept, images_removed=images.snapshots + images.steps)
    if everything and app_id is None:
        await _holderpool.drain(eng)
    await _sidecar_policy.enforce(eng)
    if everything and app_id is not None and not passed.failures:
        registry = await eng.records.find({L.RECORD_TYPE: "app", L.APP_ID: app_id})
        for rec in registry:
            await eng.records.remove(rec.name)
        swept = attrs.evolve(swept, records_removed=swept.records_removed + len(registry))
    swept = attrs.evolve(swept, volumes_removed=await volume_gc.collect(eng))
    if passed.failures:
        raise _first_failure(passed.failures)
    return swept


def _first_failure(failures: tuple[tuple[str, Error], ...]) -> Error:
    what, first = failures[0]
    others = f" (and {len(failures) - 1} other failure(s))" if len(failures) > 1 else ""
    first.add_note(f"sweep() could not act on {what}{others}; it did everything else, and can be called again")
    return first
