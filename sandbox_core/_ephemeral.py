"""Ephemeral app runs (``with app.run():``) on the engine: their records, their end, and the policy for runs whose
process died.

A run is one record, ``app-run.<app id>``, written when the block opens (labels: the app id, its description, its
tags, the owning process as ``host:pid:start``), and replaced by ``app-stopped.<app id>`` when it closes. Both are app
registry records (``record=app``, like ``App.lookup``'s ``app.<name>``), told apart by ``APP_STATE``. Closing the block
terminates the run's running sandboxes (Modal stops an ephemeral app's sandboxes with it), which then stay inspectable
for their retention period like any finished sandbox; the ``app-stopped`` record goes once they are removed.

A process that dies inside the block (SIGKILL, power loss) cannot close it. :func:`enforce_runs` — run by every
supervisor pass and by ``sweep()`` — stops the runs whose owning process is gone, as Modal stops an ephemeral app whose
client stopped sending heartbeats. Only the host that made a run can see whether its process lives: a run made on
another host is left to that host's supervisor (its sandboxes still end at their ``timeout``).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping

from . import _lifecycle, _sidecar_policy
from ._engine import EngineAPI
from ._engine import labels as L

__all__ = ["enforce_runs", "owner_alive", "process_identity", "start_run", "stop_run"]

APP_STATE = L.PREFIX + "app-state"
OWNER_PROCESS = L.PREFIX + "owner-process"
APP_TAG_PREFIX = L.PREFIX + "app-tag."
RUNNING = "ephemeral"
#: Sandboxes a run's end terminates at once (each is a record and a kill: the engine handles a few in parallel).
_CONCURRENT_ENDS = 8
STOPPED = "stopped"


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), "" where unreadable:
    with the pid it names one process, even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return ""
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else ""


def process_identity() -> str:
    """``host:pid:start`` of this process."""
    pid = os.getpid()
    return f"{os.uname().nodename}:{pid}:{_start_ticks(pid)}"


def owner_alive(identity: str) -> bool | None:
    """Whether the process ``identity`` names still runs: None when it ran on another host (unknowable here)."""
    host, _, rest = identity.partition(":")
    pid_s, _, start = rest.partition(":")
    if host != os.uname().nodename or not pid_s.isdigit():
        return None
    pid = int(pid_s)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process holds the pid: it exists
    return not start or _start_ticks(pid) == start


async def start_run(eng: EngineAPI, app_id: str, description: str, tags: Mapping[str, str]) -> None:
    """Record that this process runs ephemeral app ``app_id``."""
    labels = L.owned(
        L.KIND_RECORD,
        **{
            L.RECORD_TYPE: "app",
            L.APP_ID: app_id,
            L.APP_NAME: description,
            APP_STATE: RUNNING,
            OWNER_PROCESS: process_identity(),
        },
    )
    labels.update({APP_TAG_PREFIX + k: v for k, v in tags.items()})
    await eng.records.put(f"app-run.{app_id}", labels)


async def stop_run(eng: EngineAPI, app_id: str, *, terminate: bool) -> int:
    """End run ``app_id``: terminate its running sandboxes (unless ``terminate`` is False: a detached run's keep
    running to their own end), then mark the run stopped. Returns how many sandboxes were terminated."""
    ended = 0
    if terminate:
        live = await eng.containers.list({L.KIND: L.KIND_SANDBOX, L.APP_ID: app_id}, all=False)
        limit = asyncio.Semaphore(_CONCURRENT_ENDS)

        async def end(ref: str, sandbox_id: str) -> None:
            async with limit:
                await _lifecycle.end_sandbox(eng, sandbox_id, ref, app_id, _lifecycle.TERMINATED)

        await asyncio.gather(*(end(item.id, item.labels.get(L.SANDBOX_ID, "")) for item in live))
        ended = len(live)
        await _sidecar_policy.end_all(eng, app_id=app_id)
    record = await eng.records.get(f"app-run.{app_id}")
    labels = dict(record.labels) if record is not None else L.owned(L.KIND_RECORD, **{L.RECORD_TYPE: "app"})
    labels.update({L.APP_ID: app_id, APP_STATE: STOPPED, _lifecycle.AT: f"{time.time():.3f}"})
    await eng.records.put(f"app-stopped.{app_id}", labels)
    await eng.records.remove(f"app-run.{app_id}")
    return ended


async def enforce_runs(eng: EngineAPI) -> int:
    """Stop the runs whose process died on this host; drop the stopped runs none of whose sandboxes remain.
    Returns how many runs it stopped."""
    records = await eng.records.find({L.RECORD_TYPE: "app", APP_STATE: None})
    if not records:
        return 0
    stopped = 0
    with_sandboxes: set[str] | None = None
    for rec in records:
        app_id = rec.labels.get(L.APP_ID, "")
        state = rec.labels.get(APP_STATE)
        if state == RUNNING and owner_alive(rec.labels.get(OWNER_PROCESS, "")) is False:
            await stop_run(eng, app_id, terminate=True)
            stopped += 1
        elif state == STOPPED:
            if with_sandboxes is None:
                items = await eng.containers.list({L.KIND: L.KIND_SANDBOX}, all=True)
                with_sandboxes = {item.labels.get(L.APP_ID, "") for item in items}
            if app_id not in with_sandboxes:
                await eng.records.remove(rec.name)
    return stopped
