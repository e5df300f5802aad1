"""The byte transport an ``AgentClient`` runs on: one duplex stream to the agent's stdin/stdout.

In a sandbox it is an engine exec stream (``open_agent_stream``); tests also use a ``docker exec -i``
subprocess. Nothing else is assumed: no framing, no message boundaries.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Protocol

from .._engine.api import STDOUT, EngineAPI, ExecStream
from .._engine.values import ExecSpec
from .volume import AGENT_PATH


class AgentTransport(Protocol):
    """A duplex byte stream. Implementations need not be safe for concurrent writers (the client has one)."""

    async def read(self) -> bytes | None:
        """The next bytes from the agent (any split), or None at EOF. Raises ``ConnectionError`` on a broken link."""
        ...

    async def write(self, data: bytes) -> None:
        """Write ``data``, waiting while the link's buffer is full. Raises ``BrokenPipeError`` once closed."""
        ...

    def push(self, on_data: Callable[[bytes], None], on_end: Callable[[BaseException | None], None]) -> bool:
        """From now on hand the agent's bytes to ``on_data`` as they arrive, then call ``on_end`` once (None: a
        clean EOF), instead of through ``read``; both run in the event loop's I/O callbacks and must not block or
        raise. False, changing nothing, where the link cannot (keep calling ``read``)."""
        ...

    def close_write(self) -> None:
        """Half-close: the agent sees EOF on its stdin (and ends its session); reading continues."""
        ...

    async def close(self) -> None:
        """Close both directions. Idempotent."""
        ...


class ExecStreamTransport:
    """``AgentTransport`` over one engine exec stream (non-TTY: stdout frames carry the protocol; the agent's
    stderr, diagnostics only, is kept in a bounded tail)."""

    def __init__(self, stream: ExecStream, exec_id: str = "") -> None:
        self._stream = stream
        self.exec_id = exec_id
        self.stderr_tail: collections.deque[bytes] = collections.deque(maxlen=64)

    async def read(self) -> bytes | None:
        while True:
            frame = await self._stream.read_frame()
            if frame is None:
                return None
            fd, data = frame
            if fd == STDOUT:
                return data
            self.stderr_tail.append(data)

    def push(self, on_data: Callable[[bytes], None], on_end: Callable[[BaseException | None], None]) -> bool:
        return self._stream.push(_Receiver(on_data, on_end, self.stderr_tail))

    async def write(self, data: bytes) -> None:
        await self._stream.write(data)

    def close_write(self) -> None:
        self._stream.close_write()

    async def close(self) -> None:
        await self._stream.close()


class _Receiver:
    """An ``ExecStream``'s ``ChunkReceiver``: stdout to the session, stderr to the diagnostic tail."""

    __slots__ = ("_on_data", "_stderr", "end")

    def __init__(
        self,
        on_data: Callable[[bytes], None],
        on_end: Callable[[BaseException | None], None],
        stderr: collections.deque[bytes],
    ) -> None:
        self._on_data = on_data
        self._stderr = stderr
        self.end = on_end

    def chunk(self, fd: int, data: bytes) -> None:
        if fd == STDOUT:
            self._on_data(data)
        else:
            self._stderr.append(data)


async def open_agent_stream(
    eng: EngineAPI, ref: str, *, agent_path: str = AGENT_PATH, user: str | None = None, mode: str = "serve"
) -> ExecStreamTransport:
    """Start ``agent_path serve`` (or ``monitor``) in container ``ref`` (one engine exec) and return its stream as a
    transport; its ``exec_id`` names the engine exec.

    The agent inherits the exec's environment (the container's defaults, which its execs start from) and user
    (``None``: the image's USER). Raises ``ContainerNotRunning`` (a ``ConflictError``) when the container is not
    running."""
    if mode not in ("serve", "monitor"):
        raise ValueError(f"mode must be 'serve' or 'monitor', got {mode!r}")
    exec_id = await eng.execs.create(ref, ExecSpec(cmd=(agent_path, mode), user=user))
    return ExecStreamTransport(await eng.execs.start(exec_id, tty=False), exec_id)
