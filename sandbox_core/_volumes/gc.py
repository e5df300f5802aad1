"""Collecting volumes nobody owns any more, and helpers whose process died (``sweep()`` and the supervisor).

Garbage is: a named volume no claim points at (deleted while something still held it), an ephemeral volume whose
block ended while something still held it (a release record), an ephemeral volume whose owning process is certainly
gone (``owner.is_alive``), and a helper container whose owning process is gone. A volume still mounted by a
container (the engine refuses) or bound by a running sandbox stays until a later pass.

Order matters against concurrent creation: the engine volumes are listed before the claims, and a claim is always
written before its engine volume, so a volume being created is never mistaken for a deleted one.
"""

from __future__ import annotations

import time

from .._engine import EngineAPI
from .._engine import labels as L
from . import owner
from .store import (
    KIND_HELPER,
    KIND_VOLUME,
    OWNER_PROCESS,
    RECORD_CLAIM,
    RECORD_RELEASE,
    VOLUME_ID,
    VOLUME_NAME,
    remove_engine_volume,
    running_users,
)
from .store import VolumeRef as _Ref

#: A supervisor collects at most this often (seconds).
SUPERVISOR_INTERVAL = 30.0
_last_pass = 0.0


async def collect(eng: EngineAPI) -> int:
    """One pass; returns the number of volumes removed."""
    volumes = await eng.volumes.list({L.KIND: KIND_VOLUME})
    claimed = {r.labels.get(VOLUME_ID) for r in await eng.records.find({L.RECORD_TYPE: RECORD_CLAIM})}
    releases = {r.labels.get(VOLUME_ID) or "": r.name for r in await eng.records.find({L.RECORD_TYPE: RECORD_RELEASE})}
    users = await running_users(eng)
    removed = 0
    present = set()
    for info in volumes:
        vid = info.labels.get(VOLUME_ID) or ""
        present.add(vid)
        if VOLUME_NAME in info.labels:
            garbage = vid not in claimed
        else:
            garbage = vid in releases or not owner.is_alive(info.labels.get(OWNER_PROCESS, ""))
        if garbage and await remove_engine_volume(eng, _Ref(vid, info.name, None, 1, 0.0), users):
            removed += 1
            present.discard(vid)
    for vid, record in releases.items():
        if vid not in present:
            await eng.records.remove(record)
    await _remove_orphaned_helpers(eng)
    return removed


async def _remove_orphaned_helpers(eng: EngineAPI) -> None:
    for item in await eng.containers.list({L.KIND: KIND_HELPER}, all=True):
        if not owner.is_alive(item.labels.get(OWNER_PROCESS, "")):
            await eng.containers.remove(item.id)


async def collect_now_and_then(eng: EngineAPI) -> int:
    """``collect`` when the last pass of this process is ``SUPERVISOR_INTERVAL`` old; else nothing (returns 0)."""
    global _last_pass
    now = time.monotonic()
    if now - _last_pass < SUPERVISOR_INTERVAL:
        return 0
    _last_pass = now
    return await collect(eng)
