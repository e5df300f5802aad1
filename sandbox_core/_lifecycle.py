"""Sandbox lifecycle policy shared by clients, the supervisor and the sweep.

- *Why a sandbox ended* is written as an ``end.<id>`` record **before** the kill, so every process maps the exit
  the same way: ``terminated`` → 137, ``timeout`` → 124, ``idle-timeout`` → the exit code as is. A record older
  than the container's exit (the kill raced with a natural exit) is ignored.
- Lifetime ``timeout`` and ``idle_timeout`` are enforced by a detached supervisor process (``_supervisor.py``),
  one per user and engine, started by the first ``Sandbox.create`` that finds none running; it outlives the
  client, so a SIGKILLed client does not leave an immortal sandbox. ``sweep()`` applies the same policy once.
- Finished sandboxes stay inspectable for their retention period (label ``retention``, default 600 s,
  ``SANDBOX_CORE_RETENTION``), then their container and records are removed.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Mapping
from typing import Any

from ._engine import containers, records
from ._engine import labels as L
from ._engine.client import Engine
from .exception import InvalidError, NotFoundError

TERMINATED = "terminated"
TIMEOUT = "timeout"
IDLE_TIMEOUT = "idle-timeout"
EXITED = "exited"

REASON = L.PREFIX + "reason"
AT = L.PREFIX + "at"
SEQ = L.PREFIX + "seq"

_RETURNCODES = {TERMINATED: 137, TIMEOUT: 124}


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


def parse_engine_time(value: str | None) -> float | None:
    """Unix time from the engine's RFC 3339 timestamps (nanoseconds trimmed); None for the zero time."""
    if not value or value.startswith("0001-01-01"):
        return None
    main, _, frac = value.rstrip("Z").partition(".")
    frac = (frac[:6]).ljust(6, "0") if frac else "000000"
    tz = datetime.UTC
    if "+" in main[10:] or main[10:].count("-") > 0:
        # Offsets other than Z do not occur in engine output; fall back to fromisoformat for safety.
        return datetime.datetime.fromisoformat(value).timestamp()
    return datetime.datetime.strptime(f"{main}.{frac}", "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=tz).timestamp()


def tags_from_labels(lbl: Mapping[str, str]) -> dict[str, str]:
    """The tags set at creation, from the container's labels."""
    n = len(L.TAG_PREFIX)
    return {k[n:]: v for k, v in lbl.items() if k.startswith(L.TAG_PREFIX)}


async def latest_tag_records(eng: Engine, sandbox_id: str | None = None) -> dict[str, dict[str, str]]:
    """sandbox id → tags from its newest ``set_tags`` record (only sandboxes whose tags were ever set)."""
    pairs = [f"{L.RECORD_TYPE}=tags"]
    if sandbox_id is not None:
        pairs.append(f"{L.SANDBOX_ID}={sandbox_id}")
    best: dict[str, tuple[str, dict[str, str]]] = {}
    for rec in await records.find(eng, *pairs):
        lbl = rec.get("Labels") or {}
        sid, seq = lbl.get(L.SANDBOX_ID), lbl.get(SEQ, "")
        if sid is None:
            continue
        if sid not in best or seq > best[sid][0]:
            best[sid] = (seq, tags_from_labels(lbl))
    return {sid: tags for sid, (_, tags) in best.items()}


async def write_tags(eng: Engine, sandbox_id: str, app_id: str, tags: Mapping[str, str]) -> None:
    """Record ``tags`` as the sandbox's tag set, superseding earlier ones (which are then removed)."""
    seq = f"{time.time_ns():020d}"
    lbl = L.owned(L.KIND_RECORD, **{L.RECORD_TYPE: "tags", L.SANDBOX_ID: sandbox_id, L.APP_ID: app_id, SEQ: seq})
    for k, v in tags.items():
        lbl[L.TAG_PREFIX + k] = v
    await records.put(eng, f"tags.{sandbox_id}.{seq}", lbl)
    for rec in await records.find(eng, f"{L.RECORD_TYPE}=tags", f"{L.SANDBOX_ID}={sandbox_id}"):
        if (rec.get("Labels") or {}).get(SEQ, "") < seq:
            await records.remove(eng, rec["Name"])


async def end_sandbox(eng: Engine, sandbox_id: str, cid: str, app_id: str, reason: str) -> None:
    """Record why the sandbox ends, then kill it. The first recorded reason wins."""
    await records.put(
        eng,
        f"end.{sandbox_id}",
        L.owned(
            L.KIND_RECORD,
            **{
                L.RECORD_TYPE: "end",
                L.SANDBOX_ID: sandbox_id,
                L.APP_ID: app_id,
                REASON: reason,
                AT: f"{time.time():.6f}",
            },
        ),
    )
    await containers.kill(eng, cid)


async def result_of(eng: Engine, sandbox_id: str, info: Mapping[str, Any]) -> tuple[str | None, int | None]:
    """(status, returncode) of a sandbox from its inspect document: (None, None) while it runs."""
    state = info.get("State") or {}
    if state.get("Running") or state.get("Status") in ("created", "running", "restarting", "paused"):
        return None, None
    code = int(state.get("ExitCode", -1))
    rec = await records.get(eng, f"end.{sandbox_id}")
    if rec is not None:
        finished = parse_engine_time(state.get("FinishedAt"))
        at = float(rec.get(AT, "0"))
        # A record written after the container had already exited on its own describes a kill that did
        # nothing: the natural exit code stands. One second of slack absorbs clock granularity.
        if finished is None or finished >= at - 1.0:
            reason = rec.get(REASON, EXITED)
            return reason, _RETURNCODES.get(reason, code)
    return EXITED, code


async def remove_sandbox(eng: Engine, sandbox_id: str, cid: str) -> None:
    """Remove the container and every record of the sandbox."""
    await containers.remove(eng, cid)
    for rec in await records.find(eng, f"{L.SANDBOX_ID}={sandbox_id}"):
        await records.remove(eng, rec["Name"])


async def enforce(
    eng: Engine,
    now: float,
    *,
    app_id: str | None = None,
    everything: bool = False,
    finished_cache: dict[str, float] | None = None,
) -> dict[str, Any]:
    """One pass of the policy: end sandboxes past their deadline, remove finished ones past retention
    (all of them with ``everything=True``, running ones included), drop records whose sandbox is gone.

    Returns counts (``timed_out``, ``removed``, ``records_removed``) and ``next_wake`` (unix time of the next
    deadline or expiry, or None).
    """
    pairs = [f"{L.KIND}={L.KIND_SANDBOX}"]
    if app_id is not None:
        pairs.append(f"{L.APP_ID}={app_id}")
    items = await containers.list_(eng, L.label_filter(*pairs), all=True)
    timed_out = removed = 0
    next_wake: float | None = None
    live_ids: set[str] = set()

    def wake_at(t: float) -> None:
        nonlocal next_wake
        next_wake = t if next_wake is None else min(next_wake, t)

    for item in items:
        lbl = item.get("Labels") or {}
        sid = lbl.get(L.SANDBOX_ID, "")
        cid = item["Id"]
        running = item.get("State") == "running"
        if everything:
            if running:
                await end_sandbox(eng, sid, cid, lbl.get(L.APP_ID, ""), TERMINATED)
            await remove_sandbox(eng, sid, cid)
            removed += 1
            continue
        live_ids.add(sid)
        if running:
            deadline = float(lbl.get(L.DEADLINE, "inf"))
            if now >= deadline:
                await end_sandbox(eng, sid, cid, lbl.get(L.APP_ID, ""), TIMEOUT)
                timed_out += 1
            else:
                wake_at(deadline)
            continue
        if item.get("State") == "created":
            # Created but never started: a create that died midway. Leftover once it is a minute old.
            created = float(item.get("Created", now))
            if now - created > 60:
                await remove_sandbox(eng, sid, cid)
                removed += 1
                continue
            # Usually it is being started right now. Waking at its deadline keeps the timeout enforced even if
            # the start event never reaches the supervisor.
            deadline = float(lbl.get(L.DEADLINE, "inf"))
            wake_at(min(created + 61, deadline) if deadline > now else created + 61)
            continue
        if item.get("State") in ("restarting", "paused"):
            continue
        finished = (finished_cache or {}).get(cid)
        if finished is None:
            try:
                info = await containers.inspect(eng, cid)
            except NotFoundError:
                continue
            finished = parse_engine_time((info.get("State") or {}).get("FinishedAt")) or now
            if finished_cache is not None:
                finished_cache[cid] = finished
        expiry = finished + float(lbl.get(L.RETENTION, str(retention_seconds())))
        if now >= expiry:
            await remove_sandbox(eng, sid, cid)
            live_ids.discard(sid)
            removed += 1
        else:
            wake_at(expiry)
    records_removed = 0
    rec_pairs = [f"{L.APP_ID}={app_id}"] if app_id is not None else []
    for rec in await records.find(eng, *rec_pairs):
        lbl = rec.get("Labels") or {}
        sid = lbl.get(L.SANDBOX_ID)
        if sid is not None and sid not in live_ids:
            # Written just before its container was listed? Give it a minute unless we sweep everything.
            created = parse_engine_time(rec.get("CreatedAt")) or 0.0
            if everything or now - created > 60:
                await records.remove(eng, rec["Name"])
                records_removed += 1
    return {
        "timed_out": timed_out,
        "removed": removed,
        "records_removed": records_removed,
        "next_wake": next_wake,
        "sandboxes": len(items),
    }


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


def ensure_supervisor(eng: Engine) -> None:
    """Start the detached supervisor for this engine unless one runs. Cheap (one flock) when it does.

    Set ``SANDBOX_CORE_SUPERVISOR=0`` to disable (then deadlines are only enforced by ``sweep()``).
    """
    if os.environ.get("SANDBOX_CORE_SUPERVISOR", "1") == "0":
        return
    url = eng.address.url
    if time.monotonic() - _last_spawn.get(url, -1e9) < 5.0 or supervisor_running(url):
        return
    _last_spawn[url] = time.monotonic()
    for pid in list(_children):  # reap supervisors we started that have since exited
        with contextlib.suppress(ChildProcessError):
            if os.waitpid(pid, os.WNOHANG)[0]:
                _children.discard(pid)
    env = dict(os.environ, DOCKER_HOST=url)
    log_path = os.path.join(tempfile.gettempdir(), f"sandbox-core-supervisor-{os.getuid()}.log")
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
