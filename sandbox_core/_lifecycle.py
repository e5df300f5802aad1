"""Sandbox lifecycle policy shared by clients, the supervisor and the sweep.

- *Why a sandbox ended* is written as an ``end.<id>`` record **before** the kill, so every process maps the exit
  the same way: ``terminated``, ``disk-limit`` → 137, ``timeout`` → 124, ``idle-timeout`` → the exit code as is.
  A record older than the container's exit (the kill raced with a natural exit) is ignored. Without a record, the
  container's state says the rest: a sandbox the engine lost with its machine (a cluster node declared down) ended
  as ``node-lost`` → 137; an OOM kill of the main process (``oom``, 137 as is), or a death by SIGTERM or SIGKILL
  that the engine's restart explains (``engine-restart`` → 137: see ``killed_by_engine_restart``), which the first
  process to see it records, so that every process keeps agreeing after later restarts.
- Lifetime ``timeout`` and ``idle_timeout`` are enforced by a detached supervisor process (``_supervisor.py``),
  one per user and engine, started by the first ``Sandbox.create`` that finds none running; it outlives the
  client, so a SIGKILLed client does not leave an immortal sandbox. ``sweep()`` applies the same policy once.
- Finished sandboxes stay inspectable for their retention period (label ``retention``, default 600 s,
  ``SANDBOX_CORE_RETENTION``), then their container and records are removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping

import attrs

from . import _network
from . import exception as exc
from ._creator import abandoned
from ._engine import EngineAPI
from ._engine import labels as L
from ._engine.errors import NoSuchContainer
from ._engine.values import ContainerInfo, ContainerState, ContainerSummary
from ._pool import records as pool_records
from .end_reason import EndReason
from .exception import InvalidError

TERMINATED = EndReason.TERMINATED.value
TIMEOUT = EndReason.TIMEOUT.value
IDLE_TIMEOUT = EndReason.IDLE_TIMEOUT.value
EXITED = EndReason.EXITED.value
OOM = EndReason.OOM.value
DISK_LIMIT = EndReason.DISK_LIMIT.value
ENGINE_RESTART = EndReason.ENGINE_RESTART.value
NODE_LOST = EndReason.NODE_LOST.value

REASON = L.PREFIX + "reason"
AT = L.PREFIX + "at"
SEQ = L.PREFIX + "seq"
#: Label of an end record: what the reason's message adds (e.g. how far a disk cap was passed).
DETAIL = L.PREFIX + "detail"

_RETURNCODES = {TERMINATED: 137, TIMEOUT: 124, DISK_LIMIT: 137, ENGINE_RESTART: 137, NODE_LOST: 137}
#: Reasons that ``wait()`` reports as a termination (the sandbox was stopped from outside).
TERMINATIONS = frozenset({TERMINATED, DISK_LIMIT, ENGINE_RESTART, NODE_LOST})
#: How long before the engine's current instance started a container may have been stopped by the restart: a
#: stopping engine gives each container its stop timeout (10 s) before it exits; the rest is time to restart.
RESTART_WINDOW = 120.0
#: A stopping engine first stops every container (SIGTERM, then SIGKILL) and answers meanwhile: a client that saw
#: its sandbox end by one of those signals, with no end record of ours, watches the engine this long (seconds,
#: every ``STOP_PROBE``) before taking the exit as the sandbox's own.
STOP_GRACE = 3.0
STOP_PROBE = 0.2
#: A pass that failed to act on one object (a removal the engine refused) comes back for it this many seconds on.
RETRY_FAILED = 10.0


def retention_seconds() -> int:
    """Seconds a finished sandbox stays inspectable (``SANDBOX_CORE_RETENTION``, default 600)."""
    raw = os.environ.get("SANDBOX_CORE_RETENTION", "600")
    try:
        value = int(raw)
    except ValueError:
        raise InvalidError(f"SANDBOX_CORE_RETENTION must be a whole number of seconds, got {raw!r}") from None
    if value < 0:
        raise InvalidError(f"SANDBOX_CORE_RETENTION must be >= 0, got {value}")
    return value


def tags_from_labels(lbl: Mapping[str, str]) -> dict[str, str]:
    """The tags set at creation, from the container's labels."""
    n = len(L.TAG_PREFIX)
    return {k[n:]: v for k, v in lbl.items() if k.startswith(L.TAG_PREFIX)}


async def latest_tag_records(eng: EngineAPI, sandbox_id: str | None = None) -> dict[str, dict[str, str]]:
    """sandbox id → tags from its newest ``set_tags`` record (only sandboxes whose tags were ever set)."""
    query: dict[str, str | None] = {L.RECORD_TYPE: "tags"}
    if sandbox_id is not None:
        query[L.SANDBOX_ID] = sandbox_id
    best: dict[str, tuple[str, dict[str, str]]] = {}
    for rec in await eng.records.find(query):
        lbl = rec.labels
        sid, seq = lbl.get(L.SANDBOX_ID), lbl.get(SEQ, "")
        if sid is None:
            continue
        if sid not in best or seq > best[sid][0]:
            best[sid] = (seq, tags_from_labels(lbl))
    return {sid: tags for sid, (_, tags) in best.items()}


async def write_tags(
    eng: EngineAPI, sandbox_id: str, app_id: str, tags: Mapping[str, str], *, first: bool = False
) -> None:
    """Record ``tags`` as the sandbox's tag set, superseding earlier ones (which are then removed). ``first``: the
    caller knows no tag set was recorded before (a warm-pool member being claimed), so none is looked for."""
    seq = f"{time.time_ns():020d}"
    lbl = L.owned(L.KIND_RECORD, **{L.RECORD_TYPE: "tags", L.SANDBOX_ID: sandbox_id, L.APP_ID: app_id, SEQ: seq})
    for k, v in tags.items():
        lbl[L.TAG_PREFIX + k] = v
    await eng.records.put(f"tags.{sandbox_id}.{seq}", lbl)
    if first:
        return
    for rec in await eng.records.find({L.RECORD_TYPE: "tags", L.SANDBOX_ID: sandbox_id}):
        if rec.labels.get(SEQ, "") < seq:
            await eng.records.remove(rec.name)


async def record_end(
    eng: EngineAPI, sandbox_id: str, app_id: str, reason: str, *, at: float | None = None, detail: str = ""
) -> tuple[str, str]:
    """Record why the sandbox ends (at Unix time ``at``, default now); the first recorded reason wins. Returns the
    recorded (reason, detail)."""
    labels = {
        L.RECORD_TYPE: "end",
        L.SANDBOX_ID: sandbox_id,
        L.APP_ID: app_id,
        REASON: reason,
        AT: f"{time.time() if at is None else at:.6f}",
    }
    if detail:
        labels[DETAIL] = detail
    rec = await eng.records.put(f"end.{sandbox_id}", L.owned(L.KIND_RECORD, **labels))
    return rec.labels.get(REASON, reason), rec.labels.get(DETAIL, "")


async def end_sandbox(
    eng: EngineAPI,
    sandbox_id: str,
    cid: str,
    app_id: str,
    reason: str,
    labels: Mapping[str, str] | None = None,
    *,
    detail: str = "",
) -> None:
    """Record why the sandbox ends, then kill it and stop its network holder. The first recorded reason wins.
    ``labels``: the container's, when the caller has them (else they are read)."""
    await record_end(eng, sandbox_id, app_id, reason, detail=detail)
    if labels is None:
        try:
            labels = (await eng.containers.inspect(cid)).labels
        except NoSuchContainer:
            labels = {}
    # Both at once: nothing may stand between the sandbox's death and a waiting client's next look.
    await asyncio.gather(eng.containers.kill(cid), _network.stop_network_of(eng, labels))


@attrs.frozen
class Outcome:
    """How a sandbox ended: ``reason`` (an ``EndReason`` value), ``returncode`` (Modal's), and ``detail`` (what the
    reason's message adds; may be empty)."""

    reason: str
    returncode: int
    detail: str = ""


async def killed_by_engine_restart(eng: EngineAPI, state: ContainerState) -> bool:
    """True when the engine's restart explains a container's death by SIGTERM (143) or SIGKILL (137): it started
    before the engine's running instance did, and stopped at most ``RESTART_WINDOW`` before that (a stopping
    engine stops its containers; a restarting one stops those it finds still running). False when the engine
    cannot say when it started."""
    if state.exit_code not in (137, 143) or state.started_at is None or state.finished_at is None:
        return False
    engine_started = await eng.started_at()
    if engine_started is None:
        return False
    return state.started_at < engine_started <= state.finished_at + RESTART_WINDOW


async def _engine_stays(eng: EngineAPI) -> None:
    """Return once the engine has answered for ``STOP_GRACE`` seconds; ``ConnectionError`` as soon as it does not
    (it was stopping: asked again once it is back, ``killed_by_engine_restart`` tells)."""
    deadline = time.monotonic() + STOP_GRACE
    while time.monotonic() < deadline:
        await asyncio.sleep(STOP_PROBE)
        await eng.info()


async def result_of(eng: EngineAPI, sandbox_id: str, info: ContainerInfo, *, settle: bool = False) -> Outcome | None:
    """How the sandbox ended, from its container and its end record; None while it runs. ``settle``: a death by
    SIGTERM or SIGKILL that nothing of ours explains is taken as the sandbox's own only once the engine has stayed
    up for ``STOP_GRACE`` seconds (else ``ConnectionError``): an engine that is stopping stops its containers so."""
    state = info.state
    if state.is_live:
        return None
    code = state.exit_code
    rec = await eng.records.get(f"end.{sandbox_id}")
    if rec is not None:
        finished = state.finished_at
        at = float(rec.labels.get(AT, "0"))
        # A record written after the container had already exited on its own describes a kill that did
        # nothing: the natural exit code stands. One second of slack absorbs clock granularity.
        if finished is None or finished >= at - 1.0:
            reason = rec.labels.get(REASON, EXITED)
            return Outcome(reason, _RETURNCODES.get(reason, code), rec.labels.get(DETAIL, ""))
    if state.lost_reason is not None:
        return Outcome(NODE_LOST, _RETURNCODES[NODE_LOST], state.lost_reason)
    if state.oom_killed and code == 137:
        return Outcome(OOM, code)
    if rec is None and code in (137, 143) and settle and not await killed_by_engine_restart(eng, state):
        await _engine_stays(eng)
    if rec is None and await killed_by_engine_restart(eng, state):
        app_id = info.labels.get(L.APP_ID, "")
        reason, detail = await record_end(eng, sandbox_id, app_id, ENGINE_RESTART, at=state.finished_at)
        return Outcome(reason, _RETURNCODES.get(reason, code), detail)
    return Outcome(EXITED, code)


def termination_message(outcome: Outcome) -> str:
    """The message of the ``SandboxTerminatedError`` that ``wait()`` raises for ``outcome`` ("" for a plain
    ``terminate()``, as Modal's)."""
    if outcome.reason == DISK_LIMIT:
        return f"Sandbox was stopped for passing its disk limit: {outcome.detail}"
    if outcome.reason == ENGINE_RESTART:
        return "Sandbox was stopped because the container engine restarted (a restart stops every container)"
    if outcome.reason == NODE_LOST:
        return f"Sandbox ended: {outcome.detail or 'its node was lost'}"
    return ""


async def remove_sandbox(eng: EngineAPI, sandbox_id: str, cid: str, labels: Mapping[str, str] | None = None) -> None:
    """Remove the container, its network holder, and every record of the sandbox. ``labels``: the container's, when
    the caller has them (else they are read)."""
    if labels is None:
        try:
            labels = (await eng.containers.inspect(cid)).labels
        except NoSuchContainer:
            labels = {}
    await eng.containers.remove(cid)
    await _network.remove_network_of(eng, labels)
    for rec in await eng.records.find({L.SANDBOX_ID: sandbox_id}):
        await eng.records.remove(rec.name)


@attrs.frozen
class SweepResult:
    """What one sweep did: sandboxes ended for passing their deadline, sandboxes and records removed, images
    removed by the image rules (expired snapshots, unused step images: ``_imagebuild.gc``), and volumes removed
    (deleted or ephemeral ones nothing held any more)."""

    timed_out: int
    removed: int
    records_removed: int
    images_removed: int = 0
    volumes_removed: int = 0


@attrs.frozen
class PassResult:
    """One pass of the policy: what it did, when the next deadline or expiry falls (Unix time, None: none), how
    many sandboxes it saw, and what it failed to do to which object (each retried by the next pass)."""

    swept: SweepResult
    next_wake: float | None
    sandboxes: int
    failures: tuple[tuple[str, exc.Error], ...] = ()


class _Pass:
    """The state of one ``enforce`` pass: counters, the earliest wake-up, the sandboxes still alive."""

    def __init__(
        self,
        eng: EngineAPI,
        now: float,
        finished_cache: dict[str, float] | None,
        claims: dict[str, pool_records.Claim],
    ) -> None:
        self.eng = eng
        self.now = now
        self.finished_cache = finished_cache
        self.claims = claims  # of pool members, by sandbox id
        self.timed_out = self.removed = self.records_removed = 0
        self.next_wake: float | None = None
        self.live_ids: set[str] = set()
        self.failures: list[tuple[str, exc.Error]] = []

    def wake_at(self, t: float) -> None:
        self.next_wake = t if self.next_wake is None else min(self.next_wake, t)

    @contextlib.asynccontextmanager
    async def guard(self, what: str) -> AsyncIterator[None]:
        """Keep one object's failure from stopping the pass: it is noted in ``failures`` and retried
        ``RETRY_FAILED`` seconds on. An engine that does not answer (``ConnectionError``) ends the pass."""
        try:
            yield
        except exc.ConnectionError:
            raise
        except exc.Error as e:
            self.failures.append((what, e))
            self.wake_at(self.now + RETRY_FAILED)

    async def visit(self, item: ContainerSummary, everything: bool) -> None:
        sid = item.labels.get(L.SANDBOX_ID, "")
        if everything:
            if item.status == "running":
                await end_sandbox(self.eng, sid, item.id, item.labels.get(L.APP_ID, ""), TERMINATED, item.labels)
            await self.remove(sid, item)
            return
        self.live_ids.add(sid)
        if item.status == "running":
            await self.running(item, sid)
        elif item.status == "created":
            await self.created(item, sid)
        elif item.status not in ("restarting", "paused"):
            await self.finished(item, sid)

    async def remove(self, sid: str, item: ContainerSummary) -> None:
        await remove_sandbox(self.eng, sid, item.id, item.labels)
        self.live_ids.discard(sid)
        self.removed += 1

    def unclaimed_member(self, item: ContainerSummary, sid: str) -> bool:
        """A pool member nobody claimed (no sandbox to anyone: removed as soon as it is not needed)."""
        return L.POOL in item.labels and sid not in self.claims

    def orphan_member(self, item: ContainerSummary, sid: str) -> bool:
        """An unclaimed pool member whose pool's process is gone (known on this host only)."""
        return self.unclaimed_member(item, sid) and pool_records.owner_alive(item.labels.get(L.POOL_OWNER, "")) is False

    async def running(self, item: ContainerSummary, sid: str) -> None:
        if self.orphan_member(item, sid):
            await self.remove(sid, item)
            return
        deadline = pool_records.member_deadline(item.labels, self.claims.get(sid))
        if self.now >= deadline:
            await end_sandbox(self.eng, sid, item.id, item.labels.get(L.APP_ID, ""), TIMEOUT, item.labels)
            self.timed_out += 1
        else:
            self.wake_at(deadline)

    async def created(self, item: ContainerSummary, sid: str) -> None:
        # Created but never started: a create that died midway. Leftover once it is a minute old (at once for a
        # pool member whose pool's process is gone, or when its creator ran on this host and is gone).
        if self.orphan_member(item, sid) or abandoned(item.labels, item.created_at, self.now, grace=60):
            await self.remove(sid, item)
            return
        # Usually it is being started right now. Waking at its deadline keeps the timeout enforced even if the
        # start event never reaches the supervisor.
        deadline = float(item.labels.get(L.DEADLINE, "inf"))
        self.wake_at(min(item.created_at + 61, deadline) if deadline > self.now else item.created_at + 61)

    async def finished(self, item: ContainerSummary, sid: str) -> None:
        if self.unclaimed_member(item, sid):
            await self.remove(sid, item)
            return
        finished = (self.finished_cache or {}).get(item.id)
        if finished is None:
            # First seen finished (or no cache): nothing uses its network namespace any more.
            await _network.stop_network_of(self.eng, item.labels)
            try:
                info = await self.eng.containers.inspect(item.id)
            except NoSuchContainer:
                return
            finished = info.state.finished_at or self.now
            # Seen finished for the first time: an engine restart that explains its end is recorded now, while
            # the engine's start time still tells (see ``result_of``).
            await result_of(self.eng, sid, info)
            if self.finished_cache is not None:
                self.finished_cache[item.id] = finished
        expiry = finished + float(item.labels.get(L.RETENTION, str(retention_seconds())))
        if self.now >= expiry:
            await self.remove(sid, item)
        else:
            self.wake_at(expiry)

    async def orphaned_records(self, app_id: str | None, everything: bool) -> None:
        """Remove records whose sandbox is gone (given a minute, unless ``everything``: a record written just before
        its container was listed is not an orphan)."""
        for rec in await self.eng.records.find({} if app_id is None else {L.APP_ID: app_id}):
            sid = rec.labels.get(L.SANDBOX_ID)
            if sid is not None and sid not in self.live_ids and (everything or self.now - (rec.created_at or 0.0) > 60):
                async with self.guard(f"record {rec.name}"):
                    await self.eng.records.remove(rec.name)
                    self.records_removed += 1


async def enforce(
    eng: EngineAPI,
    now: float,
    *,
    app_id: str | None = None,
    everything: bool = False,
    finished_cache: dict[str, float] | None = None,
) -> PassResult:
    """One pass of the policy: end sandboxes past their deadline, remove finished ones past retention
    (all of them with ``everything=True``, running ones included), drop records whose sandbox is gone.

    ``finished_cache`` (container id → finish time) saves an inspect per finished sandbox across passes.
    """
    query: dict[str, str | None] = {L.KIND: L.KIND_SANDBOX}
    if app_id is not None:
        query[L.APP_ID] = app_id
    items = await eng.containers.list(query, all=True)
    claims = await pool_records.claims(eng) if any(L.POOL in item.labels for item in items) else {}
    p = _Pass(eng, now, finished_cache, claims)
    for item in items:
        async with p.guard(f"sandbox {item.labels.get(L.SANDBOX_ID, item.id[:12])}"):
            await p.visit(item, everything)
    await p.orphaned_records(app_id, everything)
    for ref in await _network.orphan_holders(eng, now, app_id=app_id, everything=everything):
        async with p.guard(f"network holder {ref[:12]}"):
            await eng.containers.remove(ref)
    swept = SweepResult(timed_out=p.timed_out, removed=p.removed, records_removed=p.records_removed)
    return PassResult(swept=swept, next_wake=p.next_wake, sandboxes=len(items), failures=tuple(p.failures))


# ------------------------------------------------------------------------------------------------ supervisor


def supervisor_lock_path(engine_url: str) -> str:
    """The lock file a running supervisor holds for ``engine_url``: one supervisor per user, engine and
    installation of this package (two installations may differ in what their supervisor does, so each runs
    its own; their actions on a sandbox are idempotent)."""
    package_dir = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256(f"{engine_url}\0{package_dir}".encode()).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"sandbox-core-supervisor-{os.getuid()}-{digest}.lock")


_last_spawn: dict[str, float] = {}


def supervisor_running(engine_url: str) -> bool:
    """True when a supervisor holds the lock for ``engine_url``."""
    path = supervisor_lock_path(engine_url)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def supervisor_log_path() -> str:
    """Where supervisors started by this user write their log."""
    return os.path.join(tempfile.gettempdir(), f"sandbox-core-supervisor-{os.getuid()}.log")


def supervisor_enabled() -> bool:
    """False when ``SANDBOX_CORE_SUPERVISOR=0`` disables the supervisor."""
    return os.environ.get("SANDBOX_CORE_SUPERVISOR", "1") != "0"


def ensure_supervisor(eng: EngineAPI) -> None:
    """Start the detached supervisor for this engine unless one runs. Cheap (one flock) when it does.

    Set ``SANDBOX_CORE_SUPERVISOR=0`` to disable (then deadlines are only enforced by ``sweep()``, and tunnels,
    connect tokens and readiness probes are refused).
    """
    if not supervisor_enabled():
        return
    url = eng.endpoint
    if time.monotonic() - _last_spawn.get(url, -1e9) < 5.0 or supervisor_running(url):
        return
    _last_spawn[url] = time.monotonic()
    for pid in list(_children):  # reap supervisors we started that have since exited
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0]:
                _children.discard(pid)
    env = dict(os.environ, **eng.child_environment())
    log_path = supervisor_log_path()
    # posix_spawn with setsid: the supervisor is in its own session, so it survives this process and its
    # terminal; no Popen object means no "still running" ResourceWarning when this process exits first.
    pid = os.posix_spawn(
        sys.executable,
        [sys.executable, "-m", "sandbox_core._supervisor"],
        env,
        setsid=True,
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
    )
    _children.add(pid)


_children: set[int] = set()
