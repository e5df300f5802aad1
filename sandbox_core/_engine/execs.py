"""Exec sessions and hijacked streams: create/start/inspect/resize, demultiplexed frames, stdin half-close.

What aiodocker does not give and this module adds (see docker-engine-notes §2, §8):
- ``HijackedStream.close_write()``: a stdin **half-close** (the process sees EOF, its output keeps flowing). aiodocker
  only has ``Stream.close()``, which drops the read side too; the half-close goes through a private aiohttp
  attribute, isolated in ``_transport_of`` (``tests/test_stream_engine.py`` fails if aiohttp changes it).
- Normalised write errors: after the other side went away aiodocker raises a bare ``AssertionError`` or
  ``RuntimeError``; here every such case is ``BrokenPipeError``.
- Detach keys that are never the daemon default (Ctrl-P Ctrl-Q would end a TTY stream on those two bytes).
- ``kill_marked_processes``: the Engine API cannot signal an exec; this SIGKILLs every process of a container whose
  environment carries a marker, from the host when the engine is local (there also the exec's whole process tree,
  frozen before it is killed), else through a helper exec.

This module knows nothing of Modal's semantics (return-code mapping, messages): callers map.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
from aiodocker.stream import Stream
from yarl import URL

from .. import exception as exc
from .client import Engine, engine_errors

#: Detach sequence for hijacked streams (a TTY stream ends on it). The engine cannot disable detach keys; this
#: five-byte sequence of rarely used control characters (0x1e 0x1f 0x1e 0x1f 0x1e) stands in for "never".
DETACH_KEYS = "ctrl-^,ctrl-_,ctrl-^,ctrl-_,ctrl-^"

STDOUT = 1
STDERR = 2


def _transport_of(stream: Stream) -> asyncio.Transport | None:
    """The socket transport under an initialised aiodocker ``Stream``.

    PRIVATE API: aiodocker keeps the upgraded response in ``Stream._resp`` and aiohttp exposes the socket as
    ``ClientResponse.connection.transport``. Neither is public; if either moves, ``test_half_close_uses_…`` fails.
    Returns None once the connection is gone.
    """
    resp = stream._resp
    if resp is None or resp.connection is None:
        return None
    transport = resp.connection.transport
    return transport


class HijackedStream:
    """One upgraded (``Upgrade: tcp``) exec/attach connection.

    ``read_frame`` yields ``(fd, data)`` frames (fd 1 = stdout, 2 = stderr; everything is fd 1 on a TTY) and
    ``None`` at EOF. Flow control is aiodocker's: the socket stops being read while 128 KiB are queued, so a reader
    that stops calling ``read_frame`` stalls the process's writes instead of growing memory.
    """

    __slots__ = ("_closed", "_stream", "tty")

    def __init__(self, stream: Stream, tty: bool) -> None:
        self._stream = stream
        self._closed = False
        self.tty = tty

    async def read_frame(self) -> tuple[int, bytes] | None:
        """The next frame, or None at EOF (also after ``close``). Raises ``ConnectionError`` on a broken link."""
        if self._closed:
            return None
        try:
            msg = await self._stream.read_out()
        except (aiohttp.ClientError, OSError) as e:
            if self._closed:
                return None
            raise exc.ConnectionError(f"exec stream broke: {e}") from e
        if msg is None:
            return None
        return msg.stream, msg.data

    async def write(self, data: bytes) -> None:
        """Write ``data`` to the process's stdin, waiting while the socket's buffer is full.

        Raises ``BrokenPipeError`` when the stream is closed (by us, or by the engine because the process ended).
        """
        if self._closed:
            raise BrokenPipeError("the stream is closed")
        transport = _transport_of(self._stream)
        if transport is None or transport.is_closing():
            raise BrokenPipeError("the process no longer accepts input (its stream was closed)")
        try:
            await self._stream.write_in(data)
        except (AssertionError, RuntimeError, ConnectionError, aiohttp.ClientError, OSError) as e:
            # aiodocker reports a vanished peer as a bare AssertionError; normalise.
            raise BrokenPipeError(f"the process no longer accepts input: {e or type(e).__name__}") from e

    def close_write(self) -> bool:
        """Half-close: shut down our write side so the process sees EOF on stdin; reading continues.

        Returns False when the connection is already gone (nothing to close). Idempotent.
        """
        transport = _transport_of(self._stream)
        if transport is None or transport.is_closing() or not transport.can_write_eof():
            return False
        with contextlib.suppress(OSError, RuntimeError):
            transport.write_eof()
        return True

    async def close(self) -> None:
        """Close both directions (unread output is lost). Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            await self._stream.close()


async def _open(eng: Engine, url: URL, body: bytes | None, tty: bool, what: str) -> HijackedStream:
    async def setup() -> tuple[URL, bytes | None, bool]:
        return url, body, tty

    stream = Stream(eng.docker, setup)
    try:
        async with engine_errors(what, eng.request_timeout):
            await stream._init()
    except BaseException:
        with contextlib.suppress(Exception):
            await stream.close()
        raise
    return HijackedStream(stream, tty)


async def create_exec(
    eng: Engine,
    cid: str,
    cmd: Sequence[str],
    *,
    env: Mapping[str, str],
    workdir: str | None,
    tty: bool,
    user: str | None = None,
) -> str:
    """Create an exec of ``cmd`` in container ``cid`` with stdin/stdout/stderr attached; returns the exec id.

    Raises ``ConflictError`` when the container is not running (engine 409), ``NotFoundError`` when it is gone.
    """
    body: dict[str, Any] = {
        "AttachStdin": True,
        "AttachStdout": True,
        "AttachStderr": True,
        "Tty": tty,
        "Cmd": list(cmd),
        "Env": [f"{k}={v}" for k, v in env.items()],
        "DetachKeys": DETACH_KEYS,
    }
    if workdir is not None:
        body["WorkingDir"] = workdir
    if user is not None:
        body["User"] = user
    res = await eng.request_json("POST", f"containers/{cid}/exec", f"create exec in {cid[:12]}", body=body)
    return str(res["Id"])


async def start_exec(eng: Engine, exec_id: str, *, tty: bool) -> HijackedStream:
    """Start a created exec attached: returns its hijacked stream (the process is running when this returns)."""
    body = json.dumps({"Detach": False, "Tty": tty}).encode()
    return await _open(eng, URL(f"exec/{exec_id}/start"), body, tty, f"start exec {exec_id[:12]}")


async def note_activity(eng: Engine, cid: str) -> None:
    """Make the engine emit an ``exec_create`` event for container ``cid``, which the supervisor counts as
    activity for ``idle_timeout`` (a write to the entrypoint's stdin is activity but leaves no trace of its own).

    Creates an exec of ``true`` that is never started. The engine keeps an unstarted exec in the container's
    ``ExecIDs`` until the container is removed (its periodic cleanup only drops execs that ran), so callers must
    rate-limit. Raises like ``create_exec`` (``ConflictError`` once the container stopped).
    """
    await eng.request_json("POST", f"containers/{cid}/exec", f"note activity in {cid[:12]}", body={"Cmd": ["true"]})


async def inspect_exec(eng: Engine, exec_id: str) -> dict[str, Any]:
    """The exec's inspect document (``Running``, ``ExitCode``, ``Pid`` — a host pid)."""
    res: dict[str, Any] = await eng.request_json("GET", f"exec/{exec_id}/json", f"inspect exec {exec_id[:12]}")
    return res


async def exit_code(eng: Engine, exec_id: str, *, attempts: int = 50) -> int | None:
    """The exit code of a finished exec, polling briefly while the engine still reports it running.

    Call only after its stream reached EOF (an abandoned stream can leave a fake 126). None if it never settles.
    """
    for i in range(attempts):
        info = await inspect_exec(eng, exec_id)
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        await asyncio.sleep(min(0.002 * 2**i, 0.1))
    return None


async def resize_exec(eng: Engine, exec_id: str, *, rows: int, cols: int) -> None:
    """Set a TTY exec's window size (only valid once started)."""
    await eng.request_json(
        "POST", f"exec/{exec_id}/resize", f"resize exec {exec_id[:12]}", params={"h": str(rows), "w": str(cols)}
    )


async def resize_container(eng: Engine, cid: str, *, rows: int, cols: int) -> None:
    """Set a TTY container's window size."""
    await eng.request_json(
        "POST", f"containers/{cid}/resize", f"resize container {cid[:12]}", params={"h": str(rows), "w": str(cols)}
    )


async def container_host_pids(eng: Engine, cid: str) -> list[int]:
    """Host pids of every process in the container (``GET /containers/{id}/top``); [] if it is not running."""
    try:
        res = await eng.request_json("GET", f"containers/{cid}/top", f"list processes of {cid[:12]}")
    except (exc.ConflictError, exc.NotFoundError, exc.ServiceError):
        return []  # not running (the engine answers 409 or 500 depending on version): nothing to list
    titles: list[str] = res.get("Titles") or []
    if "PID" not in titles:
        return []
    col = titles.index("PID")
    return [int(row[col]) for row in res.get("Processes") or [] if row[col].isdigit()]


def _any_visible(pids: list[int]) -> bool:
    return any(os.path.exists(f"/proc/{p}") for p in pids)


def _host_environ_has(pid: int, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return marker in f.read().split(b"\0")
    except OSError:
        return False


def _host_ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ")".
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 else None


def _signal(pid: int, sig: signal.Signals) -> bool:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def _kill_from_host(eng: Engine, cid: str, marker: bytes, root_pid: int | None) -> int | None:
    """SIGKILL, through /proc on this host, the processes that carry ``marker`` in their environment and the
    whole process tree under ``root_pid`` (so a child that cleared its environment, e.g. ``env -i``, dies too).

    Each process is stopped (SIGSTOP) as soon as it is found, and nothing is killed before the tree is complete: a
    stopped process cannot fork, and its children keep it as their parent. Killing at once would hand them to the
    container's PID 1, where nothing ties them to the exec any more. Returns the number killed, or None when the
    container's pids are not visible here.
    """
    pids = await container_host_pids(eng, cid)
    if not pids:
        return 0
    if not _any_visible(pids):
        return None  # the engine's pid namespace is not ours
    found: set[int] = set()
    try:
        while True:
            grown = False
            for pid in pids:
                if pid in found:
                    continue
                if pid == root_pid or _host_ppid(pid) in found or _host_environ_has(pid, marker):
                    _signal(pid, signal.SIGSTOP)
                    found.add(pid)
                    grown = True
            if not grown:
                break
            # A process may have forked between the listing and its SIGSTOP: list again until nothing is new.
            pids = await container_host_pids(eng, cid)
    finally:
        killed = sum(_signal(pid, signal.SIGKILL) for pid in found)
    return killed


_KILL_SCRIPT = r"""
m="$1"; n=0
for d in /proc/[0-9]*; do
  p=${d#/proc/}
  [ "$p" = "$$" ] && continue
  if tr '\0' '\n' < "$d/environ" 2>/dev/null | grep -qxF "$m"; then kill -9 "$p" 2>/dev/null && n=$((n+1)); fi
done
echo "$n"
"""


async def _kill_from_inside(eng: Engine, cid: str, marker: bytes) -> int:
    """SIGKILL marked processes with a helper exec of ``sh`` in the container (engine not local)."""
    exec_id = await create_exec(
        eng, cid, ["sh", "-c", _KILL_SCRIPT, "sh", marker.decode()], env={}, workdir="/", tty=False, user="0"
    )
    stream = await start_exec(eng, exec_id, tty=False)
    out = b""
    try:
        stream.close_write()
        while (frame := await stream.read_frame()) is not None:
            if frame[0] == STDOUT:
                out += frame[1]
    finally:
        await stream.close()
    try:
        return int(out.strip() or b"0")
    except ValueError:
        return 0


async def kill_marked_processes(
    eng: Engine, cid: str, key: str, value: str, *, root_pid: int | None = None, rounds: int = 20
) -> None:
    """SIGKILL every process in container ``cid`` whose environment has ``key=value``, and, when the engine is
    local, every descendant of the host pid ``root_pid`` (an exec's ``Pid``), until none is left.

    Repeats (a process may fork while its siblings are being killed) until a scan finds none, at most ``rounds``
    times. Does nothing when the container is not running. Never raises for a container that went away.
    Through a remote engine only the marker counts (host pids mean nothing there).
    """
    marker = f"{key}={value}".encode()
    for _ in range(rounds):
        try:
            killed: int | None = None
            if eng.address.is_local:
                killed = await _kill_from_host(eng, cid, marker, root_pid)
                root_pid = None  # dead now; its pid must not match a newcomer in a later round
            if killed is None:
                killed = await _kill_from_inside(eng, cid, marker)
        except (exc.ConflictError, exc.NotFoundError):
            return
        if killed == 0:
            return
        await asyncio.sleep(0.01)


__all__ = [
    "DETACH_KEYS",
    "STDERR",
    "STDOUT",
    "HijackedStream",
    "container_host_pids",
    "create_exec",
    "exit_code",
    "inspect_exec",
    "kill_marked_processes",
    "note_activity",
    "resize_container",
    "resize_exec",
    "start_exec",
]
