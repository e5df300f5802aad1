"""The detached supervisor: enforces ``timeout``/``idle_timeout``, retention and the disk caps (``_diskwatch``) when
no client is alive.

Started by ``_lifecycle.ensure_supervisor`` as ``python -m sandbox_core._supervisor`` in its own session; one per
user and engine (an exclusive flock). It wakes at the next deadline or expiry, or on an engine event about a
sandbox container, and exits once no sandbox of ours has existed for ``SANDBOX_CORE_SUPERVISOR_LINGER`` seconds
(default 30). Before exiting it drops the lock and looks again, so a sandbox created while it was leaving is
never left without a supervisor (the creating client either saw the lock held, or spawns a new supervisor).
It also keeps the pool of ready network holders (``_holderpool.PoolService``), and removes it when it exits.

At most every 30 s it also collects volumes nobody holds any more (``_volumes.gc``: deleted named volumes, ephemeral
ones whose block or process ended, helper containers of dead processes).

It exits once the engine has not answered for ``SANDBOX_CORE_SUPERVISOR_GIVE_UP`` seconds (default 600): the
engine (a cluster) is gone, and the next ``Sandbox.create`` starts a new supervisor. An engine that answers with an
error (a removal it refuses) is no reason to exit: the pass is tried again.

Idle time: a sandbox is active while an exec runs in it; it is idle from the last exec's end (or its start), or
from the last write to its stdin, whichever is later (clients note writes with an ``exec_create`` event), or from the
last traffic through its tunnels or connect tokens. Readiness-probe execs are not activity. Execs and file
operations through the in-sandbox agent make no engine events: for a sandbox with an agent, a light monitor session
samples the activity of all its sessions (``_agent/monitor.py``), and the later of the two counts. It also removes
leftovers of agent delivery (``_agent/sweep.py``).

It also hosts the ingress service (``_ingress/service.py``): the listeners of tunnels and connect tokens, and the
readiness probes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import fcntl
import logging
import math
import os
import sys
import time

from . import _ephemeral, _lifecycle, _sidecar_policy
from . import exception as exc
from ._agent.monitor import Monitors, sample_interval
from ._agent.sweep import sweep_agent_leftovers
from ._agent.volume import AGENT_PATH
from ._diskwatch import DiskWatch
from ._engine import EngineAPI, close_engine, get_engine
from ._engine import labels as L
from ._engine.values import ContainerSummary, EngineEvent
from ._holderpool import PoolService
from ._imagebuild import gc
from ._ingress.records import SupervisorId
from ._ingress.service import IngressService
from ._pool import records as pool_records
from ._volumes import gc as volume_gc
from .exception import Error

log = logging.getLogger("sandbox_core.supervisor")


class _Activity:
    """Exec activity per container, learnt from engine events, plus tunnel traffic noted by the ingress service.

    Probe execs (``begin_probe``/``end_probe``) are not activity: their events are dropped by exec id, and events of a
    container that arrive while a probe exec is being created (its id still unknown) wait until it is.
    """

    def __init__(self) -> None:
        self.started = time.time()
        self.last: dict[str, float] = {}
        # Running execs per container, counted per exec id: an engine that reports execs without an id (Podman)
        # has them all counted under "".
        self.running: dict[str, collections.Counter[str]] = {}
        #: Containers with an idle timeout (their last exec's end starts an idle period to schedule).
        self.idle_watched: set[str] = set()
        self.wake = asyncio.Event()
        self.ignored: set[str] = set()  # agent sessions' execs: their activity is sampled by the monitors instead
        self._probing: dict[str, int] = {}
        self._held: dict[str, list[EngineEvent]] = {}
        self._probe_execs: set[str] = set()

    def on_event(self, ev: EngineEvent) -> None:
        if ev.action not in ("exec_create", "exec_start", "exec_die"):
            # Only lifecycle events (start/die/destroy) and the end of an idle-timeout sandbox's last exec can move
            # a deadline; other exec events just mark activity, so a busy sandbox does not turn into a stream of
            # enforcement passes.
            self.wake.set()
        elif self._probing.get(ev.actor_id):
            self._held.setdefault(ev.actor_id, []).append(ev)
        else:
            self._apply(ev)

    def _apply(self, ev: EngineEvent) -> None:
        cid, exec_id = ev.actor_id, ev.attributes.get("execID", "")
        if exec_id in self.ignored:
            if ev.action == "exec_die":
                self.ignored.discard(exec_id)
                self.wake.set()  # an agent session ended: maybe its process is gone (a warm pool's members)
            return
        if exec_id and ev.action in ("exec_create", "exec_start") and ev.detail.startswith(AGENT_PATH):
            # An agent session (a client's, or a monitor): a long-lived exec that is not itself activity. (An
            # engine that names no exec id cannot tell it apart: there it counts as a running exec.)
            self.ignored.add(exec_id)
            self.running.get(cid, collections.Counter()).pop(exec_id, None)
            return
        if exec_id in self._probe_execs:
            if ev.action == "exec_die":
                self._probe_execs.discard(exec_id)
            return
        if ev.action == "exec_start":
            self.running.setdefault(cid, collections.Counter())[exec_id] += 1
        elif ev.action == "exec_die":
            running = self.running.setdefault(cid, collections.Counter())
            running[exec_id] -= 1
            if running[exec_id] <= 0:
                del running[exec_id]
            if cid in self.idle_watched and not running:
                self.wake.set()  # its idle period starts now: the next pass schedules its end
        # exec_create: an exec about to start, or a client noting stdin or tunnel activity
        self.last[cid] = time.time()

    def note(self, container_id: str) -> None:
        """Traffic through a tunnel or the token proxy reached the container now."""
        self.last[container_id] = time.time()

    def begin_probe(self, container_id: str) -> None:
        self._probing[container_id] = self._probing.get(container_id, 0) + 1

    def end_probe(self, container_id: str, exec_id: str | None) -> None:
        if exec_id:
            if len(self._probe_execs) > 10_000:  # ids whose exec_die never came
                self._probe_execs.clear()
            self._probe_execs.add(exec_id)
        left = self._probing.get(container_id, 1) - 1
        if left > 0:
            self._probing[container_id] = left
            return
        self._probing.pop(container_id, None)
        for ev in self._held.pop(container_id, []):
            self._apply(ev)

    def idle_since(self, cid: str, started_at: float) -> float | None:
        """When the container became idle (None while an exec runs). Activity before this supervisor started
        is unknown, so a sandbox that was already running counts as idle from the supervisor's start."""
        if self.running.get(cid):
            return None
        return max(self.last.get(cid, 0.0), started_at, self.started if started_at < self.started else 0.0)


async def _follow_events(eng: EngineAPI, activity: _Activity, pool: PoolService, ingress: IngressService) -> None:
    async for ev in eng.events.follow(types=("container",), labels={}, since=time.time()):
        activity.on_event(ev)
        pool.on_event(ev)
        ingress.on_event(ev)


async def _idle_limited(eng: EngineAPI) -> list[tuple[ContainerSummary, float, float | None]]:
    """Running sandboxes with an idle timeout: (container, idle timeout, when idling may count from: a claimed pool
    member's claim time, else None for the container's start)."""
    labelled, members = await asyncio.gather(
        eng.containers.list({L.IDLE_TIMEOUT: None}, all=False), eng.containers.list({L.POOL: None}, all=False)
    )
    out: list[tuple[ContainerSummary, float, float | None]] = [
        (item, float(item.labels[L.IDLE_TIMEOUT]), None) for item in labelled
    ]
    claims = await pool_records.claims(eng) if members else {}
    for item in members:
        claim = claims.get(item.labels.get(L.SANDBOX_ID, ""))
        if claim is not None and claim.idle_timeout is not None:
            out.append((item, claim.idle_timeout, claim.claimed_at))
    return out


async def _idle_since(
    eng: EngineAPI,
    activity: _Activity,
    monitors: Monitors,
    item: ContainerSummary,
    idle: float,
    start: float,
    *,
    fresh: bool,
) -> float | None:
    """When the sandbox became idle: the later of its engine activity and (with an agent) its agents' activity;
    None while active or not yet known."""
    since = activity.idle_since(item.id, start)
    if since is None or L.AGENT not in item.labels:
        return since
    agents = await monitors.idle_since(eng, item.id, idle, fresh=fresh)
    return None if agents is None else max(since, agents)


async def _enforce_idle(
    eng: EngineAPI, activity: _Activity, monitors: Monitors, now: float, started: dict[str, float]
) -> float | None:
    """End sandboxes idle past their idle timeout; returns the next time an idle deadline could pass."""
    targets = await _idle_limited(eng)
    await monitors.forget({item.id for item, _, _ in targets})
    activity.idle_watched = {item.id for item, _, _ in targets}
    next_wake: float | None = None
    for item, idle, claimed_at in targets:
        if item.id not in started:
            # The list's creation time is whole seconds and precedes the start: idling is counted from the start.
            info = await eng.containers.inspect(item.id)
            started[item.id] = max(info.state.started_at or now, claimed_at or 0.0)
        since = await _idle_since(eng, activity, monitors, item, idle, started[item.id], fresh=False)
        if since is not None and now - since >= idle:
            # About to end it: ask its agents once more (activity since the last sample moves the deadline).
            since = await _idle_since(eng, activity, monitors, item, idle, started[item.id], fresh=True)
        if since is None:
            t = now + sample_interval(idle)  # active (or not yet known): look again
        elif now - since >= idle:
            lbl = item.labels
            await _lifecycle.end_sandbox(
                eng, lbl.get(L.SANDBOX_ID, ""), item.id, lbl.get(L.APP_ID, ""), _lifecycle.IDLE_TIMEOUT, lbl
            )
            continue
        else:
            t = since + idle
        next_wake = t if next_wake is None else min(next_wake, t)
    return next_wake


class _Chores:
    """Housekeeping that need not run every pass: leftovers of agent delivery (``_agent/sweep.py``)."""

    INTERVAL = 600.0

    def __init__(self) -> None:
        self.last = -math.inf

    async def run(self, eng: EngineAPI, now: float) -> None:
        if now - self.last >= self.INTERVAL:
            self.last = now
            swept = await sweep_agent_leftovers(eng, now)
            if swept.fill_helpers or swept.volumes:
                log.info("removed %d agent fill helpers, %d agent volumes", swept.fill_helpers, swept.volumes)


async def _collect_images(eng: EngineAPI, due: float) -> float:
    """Apply the image rules (``_imagebuild.gc``) when ``due``; returns when they are due next."""
    now = time.time()
    if now < due:
        return due
    try:
        await gc.collect(eng, now)
    except Error as e:
        log.warning("image collection failed: %s", e)
    return now + gc.PERIOD


class _Unanswered:
    """Tells when to give up: the engine has not answered (``ConnectionError``, ``TimeoutError``) for ``after``
    seconds in a row. Any answer, an error included, starts the count again."""

    def __init__(self, after: float) -> None:
        self.after = after
        self.since: float | None = None

    def answered(self) -> None:
        self.since = None

    def failed(self, e: Error, now: float) -> bool:
        """Note a failed pass at ``now``; True when it is time to give up."""
        if not isinstance(e, (exc.ConnectionError, exc.TimeoutError)):
            self.since = None
            return False
        if self.since is None:
            self.since = now
        return now - self.since >= self.after


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
    unanswered = _Unanswered(float(os.environ.get("SANDBOX_CORE_SUPERVISOR_GIVE_UP", "600")))
    activity = _Activity()
    monitors = Monitors()
    chores = _Chores()
    pool = PoolService(eng)
    ingress = IngressService(eng, SupervisorId.this_process(path), activity)
    events = asyncio.create_task(_follow_events(eng, activity, pool, ingress))
    serving = asyncio.create_task(ingress.run())
    pool.start()
    disk = asyncio.create_task(DiskWatch(eng).run())
    empty_since: float | None = None
    finished: dict[str, float] = {}
    started: dict[str, float] = {}
    images_due = 0.0
    try:
        while True:
            images_due = await _collect_images(eng, images_due)
            # Cleared before the pass, not after: an event that lands while the pass runs (a sandbox starting
            # between our list and now) must trigger another pass instead of being wiped out.
            activity.wake.clear()
            now = time.time()
            try:
                await _ephemeral.enforce_runs(eng)  # first: it ends the sandboxes of runs whose process died
                result = await _lifecycle.enforce(eng, now, finished_cache=finished)
                for what, failure in result.failures:
                    log.warning("could not act on %s (retried in %.0f s): %s", what, _lifecycle.RETRY_FAILED, failure)
                await _sidecar_policy.enforce(eng)  # after: sidecars follow their sandbox
                idle_wake = await _enforce_idle(eng, activity, monitors, now, started)
                await chores.run(eng, now)
                await volume_gc.collect_now_and_then(eng)
                unanswered.answered()
            except Error as e:
                log.warning("enforcement pass failed: %s", e)
                if unanswered.failed(e, now):
                    log.warning("the engine has not answered for %.0f s: exiting", unanswered.after)
                    return 0  # gone for good (a removed cluster); the next Sandbox.create starts a new supervisor
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
        for task in (events, serving, disk):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await ingress.close()
        await pool.stop()
        await monitors.close()
        if fd is not None:
            os.close(fd)
        await close_engine()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s supervisor[%(process)d] %(message)s")
    sys.exit(asyncio.run(run()))


if __name__ == "__main__":
    main()
