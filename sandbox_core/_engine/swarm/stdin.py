"""The stdin attach of a swarm sandbox's main process, which can never deliver EOF.

On one engine the container is created with ``StdinOnce``, and the half-close of the stdin attach closes PID 1's
stdin. A swarm service cannot set ``StdinOnce`` (the task's container always has it off), so a half-close never
reaches the process (tests/cluster/test_swarm.py::test_stdin_half_close_does_not_reach_pid_1): ``close_write``
refuses with a clear error instead of losing the EOF silently. With a PTY, EOF is a control character written as
data, which works.
"""

from __future__ import annotations

from ... import exception as exc
from ..api import ChunkReceiver, ExecStream

NO_EOF = (
    "closing the stdin of a sandbox's main process (write_eof) is not possible on a swarm cluster: a swarm "
    "service cannot set StdinOnce, so the process would never see EOF. Give the input to a Sandbox.exec process "
    "(its stdin can be closed), or create the sandbox with pty=True (EOF is then Ctrl-D)."
)


class SwarmStdin:
    """A stdin-only attach (an ``ExecStream``) whose half-close raises ``UnimplementedError``."""

    __slots__ = ("_stream",)

    def __init__(self, stream: ExecStream) -> None:
        self._stream = stream

    @property
    def tty(self) -> bool:
        return self._stream.tty

    async def read_frame(self) -> tuple[int, bytes] | None:
        return await self._stream.read_frame()

    def push(self, receiver: ChunkReceiver) -> bool:
        return False

    async def write(self, data: bytes) -> None:
        await self._stream.write(data)

    def close_write(self) -> bool:
        raise exc.UnimplementedError(NO_EOF)

    async def close(self) -> None:
        await self._stream.close()
