"""The byte transport an ``AgentClient`` runs on: one duplex stream to the agent's stdin/stdout.

In a sandbox it is an engine exec stream (``open_agent_stream``); tests also use a ``docker exec -i``
subprocess. Nothing else is assumed: no framing, no message boundaries.
"""

from __future__ import annotations

import collections
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

    async def write(self, data: bytes) -> None:
        await self._stream.write(data)

    def close_write(self) -> None:
        self._stream.close_write()

    async def close(self) -> None:
        await self._stream.close()


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
