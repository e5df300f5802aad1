"""The detached supervisor: enforces ``timeout``/``idle_timeout`` and retention when no client is alive.

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
import json
import logging
import os
import sys
import time

from . import _lifecycle
from ._engine import containers
from ._engine import labels as L
from ._engine.client import Engine, close_engine, get_engine
from .exception import Error

log = logging.getLogger("sandbox_core.supervisor")


class _Activity:
    """Exec activity per container, learnt from engine events."""

    def __init__(self) -> None:
        self.started = time.time()
        self.last: dict[str, float] = {}
        self.running: dict[str, set[str]] = {}
        self.wake = asyncio.Event()

    def on_event(self, ev: dict[str, object]) -> None:
        action = str(ev.get("Action") or ev.get("status") or "")
        actor = ev.get("Actor")
        attrs = actor.get("Attributes", {}) if isinstance(actor, dict) else {}
        cid = str(ev.get("id") or (actor.get("ID") if isinstance(actor, dict) else "") or "")
        exec_id = str(attrs.get("execID", "")) if isinstance(attrs, dict) else ""
        if action.startswith("exec_create"):
            self.last[cid] = time.time()  # an exec about to start, or a client noting stdin activity
        elif action.startswith("exec_start"):
            self.running.setdefault(cid, set()).add(exec_id)
            self.last[cid] = time.time()
        elif action.startswith("exec_die"):
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


async def _follow_events(eng: Engine, activity: _Activity) -> None:
    filters = json.dumps({"type": ["container"], "label": [f"{L.OWNER}={L.OWNER_VALUE}"]})
    since = f"{time.time():.3f}"
    while True:
        try:
            async with eng.stream(
                "GET", "events", "follow engine events", params={"filters": filters, "since": since}
            ) as resp:
                async for line in resp.content:
                    if line.strip():
                        ev = json.loads(line)
                        since = str(ev.get("time", since))
                        activity.on_event(ev)
        except (Error, ValueError) as e:
            log.warning("event stream ended (%s); reconnecting", e)
        await asyncio.sleep(1.0)


async def _enforce_idle(eng: Engine, activity: _Activity, now: float, started: dict[str, float]) -> float | None:
    """End sandboxes idle past their ``idle_timeout``; returns the next time an idle deadline could pass."""
    items = await containers.list_(eng, L.label_filter(L.IDLE_TIMEOUT), all=False)
    next_wake: float | None = None
    for item in items:
        lbl = item.get("Labels") or {}
        idle_timeout = float(lbl[L.IDLE_TIMEOUT])
        if item["Id"] not in started:
            # The list's "Created" is whole seconds and precedes the start: idling is counted from StartedAt.
            info = await containers.inspect(eng, item["Id"])
            started[item["Id"]] = _lifecycle.parse_engine_time(info["State"].get("StartedAt")) or now
        since = activity.idle_since(item["Id"], started[item["Id"]])
        if since is None:
            continue
        if now - since >= idle_timeout:
            await _lifecycle.end_sandbox(
                eng, lbl.get(L.SANDBOX_ID, ""), item["Id"], lbl.get(L.APP_ID, ""), _lifecycle.IDLE_TIMEOUT
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
    path = _lifecycle.supervisor_lock_path(eng.address.url)
    fd = _try_lock(path)
    if fd is None:
        return 0  # another supervisor serves this engine
    linger = float(os.environ.get("SANDBOX_CORE_SUPERVISOR_LINGER", "30"))
    activity = _Activity()
    events = asyncio.create_task(_follow_events(eng, activity))
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
                result, idle_wake = {"next_wake": now + 2, "sandboxes": 1}, None
            if result["sandboxes"]:
                empty_since = None
            else:
                empty_since = empty_since or now
                if now - empty_since >= linger:
                    os.close(fd)  # release, then look once more: a create racing our exit must not be orphaned
                    fd = None
                    again = await _lifecycle.enforce(eng, time.time())
                    if not again["sandboxes"] or (fd := _try_lock(path)) is None:
                        return 0
                    empty_since = None
            wakes = [t for t in (result["next_wake"], idle_wake) if t is not None]
            delay = min([*(t - time.time() for t in wakes), 10.0])
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(activity.wake.wait(), timeout=max(0.05, delay))
            await asyncio.sleep(0.2)  # coalesce a burst of events into one pass
    finally:
        events.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await events
        if fd is not None:
            os.close(fd)
        await close_engine()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor[%(process)d] %(message)s")
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
