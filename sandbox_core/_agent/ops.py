"""Typed handles for the agent's streaming operations (exec, read, watch) and its result values.

Each handle owns one channel; ``close()`` (or ``async with``) releases it. Handles never reach into the client.
"""

from __future__ import annotations

import asyncio
import json
import signal as _signal
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import attrs

from .channel import Channel, InboundStream
from .protocol import AgentLostError, AgentOpError, AgentProtocolError, encode_json


@attrs.frozen
class Activity:
    """The agent's activity report: ``last_activity`` and ``now`` are Unix seconds on the sandbox's clock;
    ``running`` counts this session's execs whose program has not exited. With scope ``sandbox`` (else None):
    ``sandbox_running`` the execs of any session that still have a process, ``peers`` the other sessions and
    ``peer_io`` their I/O counter (unchanged between two reports: no other session carried anything)."""

    last_activity: float
    now: float
    running: int
    sandbox_running: int | None = None
    peers: int | None = None
    peer_io: int | None = None

    @property
    def idle_for(self) -> float:
        """Seconds since the last activity, 0 while an exec runs."""
        return 0.0 if self.running else max(0.0, self.now - self.last_activity)


@attrs.frozen
class WatchEvent:
    """One filesystem event: ``type`` is Unknown/Access/Create/Modify/Remove; a rename is Modify [src, dst]."""

    type: str
    paths: tuple[str, ...]


class ExecProcess:
    """A running exec. ``stdout``/``stderr`` are ``InboundStream``s (b"" at EOF; with a PTY everything is on
    stdout and stderr is empty); ``wait()`` returns the exit code (128+signal when killed by one)."""

    def __init__(self, channel: Channel, pid: int) -> None:
        self._ch = channel
        self.pid = pid
        self.returncode: int | None = None
        self._wait_lock = asyncio.Lock()

    @property
    def stdout(self) -> InboundStream:
        return self._ch.stdout

    @property
    def stderr(self) -> InboundStream:
        return self._ch.stderr

    async def write_stdin(self, data: bytes | bytearray | memoryview) -> None:
        """Send bytes to the program's stdin (waits for the agent's credit; raises ``BrokenPipeError`` after
        ``close_stdin`` or once the exec is closed)."""
        await self._ch.write(data)

    def close_stdin(self) -> None:
        """EOF on the program's stdin (with a PTY: the terminal's VEOF). Idempotent."""
        self._ch.write_eof()

    async def wait(self) -> int:
        """The exit code, once the program exited (any number of tasks may wait). Raises ``AgentLostError`` if the
        session ended first."""
        async with self._wait_lock:
            while self.returncode is None:
                self._take(await self._ch.next_msg())
        return self.returncode

    def poll(self) -> int | None:
        """The exit code if the program has exited (as far as messages received so far tell), else None."""
        while self.returncode is None and (msg := self._ch.next_msg_nowait()) is not None:
            self._take(msg)
        return self.returncode

    def _take(self, msg: dict[str, Any]) -> None:
        if msg["t"] == "exit":
            code = msg.get("code")
            if not isinstance(code, int) or isinstance(code, bool):
                raise AgentProtocolError(f"exit message without an integer code: {msg!r}")
            self.returncode = code

    def signal(self, sig: int, *, tree: bool = True) -> None:
        """Send ``sig`` to every process of the exec (``tree``), or to its main program only."""
        if not 1 <= int(sig) <= 64:
            raise ValueError(f"signal must be between 1 and 64, got {sig}")
        self._ch.send_msg(encode_json({"t": "signal", "signal": int(sig), "tree": tree}))

    def kill(self) -> None:
        """SIGKILL the whole process tree (double-forked daemons included)."""
        self.signal(_signal.SIGKILL, tree=True)

    def resize(self, rows: int, cols: int) -> None:
        """Set the PTY size (ignored without a PTY)."""
        if not (1 <= rows <= 0xFFFF and 1 <= cols <= 0xFFFF):
            raise ValueError(f"rows and cols must be between 1 and 65535, got {rows}x{cols}")
        self._ch.send_msg(encode_json({"t": "resize", "rows": rows, "cols": cols}))

    def close(self) -> None:
        """Release the channel: unread output is dropped, the processes keep running. Idempotent."""
        self._ch.close()

    async def __aenter__(self) -> ExecProcess:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class ReadStream:
    """A streamed file read: ``async for chunk in stream``; an error (e.g. the file grew past ``max_size``)
    raises ``AgentOpError`` at the end. ``size`` is the file's size when it was opened."""

    def __init__(self, channel: Channel, size: int) -> None:
        self._ch = channel
        self.size = size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                try:
                    chunk = await self._ch.stdout.read()
                except AgentLostError:
                    await self._ch.expect("result")  # an error message explains the early close
                    raise
                if not chunk:
                    break
                yield chunk
            await self._ch.expect("result")
        finally:
            self._ch.close()

    async def read_all(self) -> bytes:
        """The whole file."""
        return b"".join([c async for c in self])

    def close(self) -> None:
        """Abandon the read. Idempotent."""
        self._ch.close()

    async def __aenter__(self) -> ReadStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class WatchStream:
    """Filesystem events as they happen, until ``close()``. Iterating ends when the session ends."""

    def __init__(self, channel: Channel) -> None:
        self._ch = channel
        self._buf = b""

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> WatchEvent:
        while b"\n" not in self._buf:
            try:
                chunk = await self._ch.stdout.read()
            except AgentLostError:
                raise StopAsyncIteration from None
            if not chunk:
                raise StopAsyncIteration
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return parse_event(line)

    def close(self) -> None:
        """Stop watching. Idempotent."""
        self._ch.close()

    async def aclose(self) -> None:
        self.close()

    async def __aenter__(self) -> WatchStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


_EVENT_TYPES = frozenset({"Unknown", "Access", "Create", "Modify", "Remove"})


def parse_event(line: bytes) -> WatchEvent:
    """One JSON event line; raises ``AgentProtocolError`` if malformed."""
    try:
        obj = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AgentProtocolError(f"watch event is not JSON: {e}") from None
    if not isinstance(obj, dict):
        raise AgentProtocolError("watch event is not an object")
    etype, paths = obj.get("event_type"), obj.get("paths")
    if etype not in _EVENT_TYPES or not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise AgentProtocolError(f"malformed watch event {obj!r}")
    return WatchEvent(str(etype), tuple(paths))


def parse_entries(data: bytes) -> list[dict[str, Any]]:
    """The JSON-lines body of a ``list`` reply."""
    out: list[dict[str, Any]] = []
    for line in data.splitlines():
        try:
            obj = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise AgentProtocolError(f"list entry is not JSON: {e}") from None
        if not isinstance(obj, dict):
            raise AgentProtocolError("list entry is not an object")
        out.append(obj)
    return out


__all__ = ["Activity", "AgentOpError", "ExecProcess", "ReadStream", "WatchEvent", "WatchStream"]
