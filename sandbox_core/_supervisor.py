"""The detached supervisor: enforces ``timeout``/``idle_timeout``, retention and the disk caps (``_diskwatch``) when
no client is alive.

Started by ``_lifecycle.ensure_supervisor`` as ``python -m sandbox_core._supervisor`` in its own session; one per
user and engine (an exclusive flock). It wakes at the next deadline or expiry, or on an engine event about a
sandbox container, and exits once no sandbox of ours has existed for ``SANDBOX_CORE_SUPERVISOR_LINGER`` seconds
(default 30). Before exiting it drops the lock and looks again, so a sandbox created while it was leaving is
never left without a supervisor (the creating client either saw the lock held, or spawns a new supervisor).

Idle time: a sandbox is active while an exec runs in it; it is idle from the last exec's end (or its start), or
from the last write to its stdin, whichever is later (clients note writes with an ``exec_create`` event).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sys
import time

from . import _lifecycle
from ._diskwatch import DiskWatch
from ._engine import EngineAPI, close_engine, get_engine
from ._engine import labels as L
from ._engine.values import EngineEvent
from .exception import Error

log = logging.getLogger("sandbox_core.supervisor")


class _Activity:
    """Exec activity per container, learnt from engine events."""

    def __init__(self) -> None:
        self.started = time.time()
        self.last: dict[str, float] = {}
        self.running: dict[str, set[str]] = {}
        self.wake = asyncio.Event()

    def on_event(self, ev: EngineEvent) -> None:
        cid, exec_id = ev.actor_id, ev.attributes.get("execID", "")
        if ev.action == "exec_create":
            self.last[cid] = time.time()  # an exec about to start, or a client noting stdin activity
        elif ev.action == "exec_start":
            self.running.setdefault(cid, set()).add(exec_id)
            self.last[cid] = time.time()
        elif ev.action == "exec_die":
            self.running.setdefault(cid, set()).discard(exec_id)
            self.last[cid] = time.time()
        else:
            # Only lifecycle events (start/die/destroy) can move a deadline; exec events just mark activity,
            # so a busy sandbox does not turn into a stream of enforcement passes.
            self.wake.set()

    def idle_since(self, cid: str, started_at: float) -> float | None:
        """When the container became idle (None while an exec runs). Activity before this supervisor started
        is unknown, so a sandbox that was already running counts as idle from the supervisor's start."""
        if self.running.get(cid):
            return None
        return max(self.last.get(cid, 0.0), started_at, self.started if started_at < self.started else 0.0)


async def _follow_events(eng: EngineAPI, activity: _Activity) -> None:
    async for ev in eng.events.follow(types=("container",), labels={}, since=time.time()):
        activity.on_event(ev)


async def _enforce_idle(eng: EngineAPI, activity: _Activity, now: float, started: dict[str, float]) -> float | None:
    """End sandboxes idle past their ``idle_timeout``; returns the next time an idle deadline could pass."""
    items = await eng.containers.list({L.IDLE_TIMEOUT: None}, all=False)
    next_wake: float | None = None
    for item in items:
        lbl = item.labels
        idle_timeout = float(lbl[L.IDLE_TIMEOUT])
        if item.id not in started:
            # The list's creation time is whole seconds and precedes the start: idling is counted from the start.
            info = await eng.containers.inspect(item.id)
            started[item.id] = info.state.started_at or now
        since = activity.idle_since(item.id, started[item.id])
        if since is None:
            continue
        if now - since >= idle_timeout:
            await _lifecycle.end_sandbox(
                eng, lbl.get(L.SANDBOX_ID, ""), item.id, lbl.get(L.APP_ID, ""), _lifecycle.IDLE_TIMEOUT
            )
        else:
            t = since + idle_timeout
            next_wake = t if next_wake is None else min(next_wake, t)
    return next_wake


def _try_lock(path: str) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


async def run() -> int:
    eng = await get_engine()
    path = _lifecycle.supervisor_lock_path(eng.endpoint)
    fd = _try_lock(path)
    if fd is None:
        return 0  # another supervisor serves this engine
    linger = float(os.environ.get("SANDBOX_CORE_SUPERVISOR_LINGER", "30"))
    activity = _Activity()
    events = asyncio.create_task(_follow_events(eng, activity))
    disk = asyncio.create_task(DiskWatch(eng).run())
    empty_since: float | None = None
    finished: dict[str, float] = {}
    started: dict[str, float] = {}
    try:
        while True:
            # Cleared before the pass, not after: an event that lands while the pass runs (a sandbox starting
            # between our list and now) must trigger another pass instead of being wiped out.
            activity.wake.clear()
            now = time.time()
            try:
                result = await _lifecycle.enforce(eng, now, finished_cache=finished)
                idle_wake = await _enforce_idle(eng, activity, now, started)
            except Error as e:
                log.warning("enforcement pass failed: %s", e)
                result = _lifecycle.PassResult(_lifecycle.SweepResult(0, 0, 0), next_wake=now + 2, sandboxes=1)
                idle_wake = None
            if result.sandboxes:
                empty_since = None
            else:
                empty_since = empty_since or now
                if now - empty_since >= linger:
                    os.close(fd)  # release, then look once more: a create racing our exit must not be orphaned
                    fd = None
                    again = await _lifecycle.enforce(eng, time.time())
                    if not again.sandboxes or (fd := _try_lock(path)) is None:
                        return 0
                    empty_since = None
            wakes = [t for t in (result.next_wake, idle_wake) if t is not None]
            delay = min([*(t - time.time() for t in wakes), 10.0])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(activity.wake.wait(), timeout=max(0.05, delay))
            await asyncio.sleep(0.2)  # coalesce a burst of events into one pass
    finally:
        for task in (events, disk):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if fd is not None:
            os.close(fd)
        await close_engine()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor[%(process)d] %(message)s")
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
