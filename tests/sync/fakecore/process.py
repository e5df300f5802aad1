"""A fake process: output lines fed by a task on the loop."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Generic, TypeVar

from ._loopcheck import LoopBound
from .streams import StreamReader, StreamWriter

if TYPE_CHECKING:
    from .sandbox import Sandbox

T = TypeVar("T", str, bytes)


class ContainerProcess(LoopBound, Generic[T]):
    """A running command of a fake sandbox."""

    def __init__(self, sandbox: Sandbox, lines: list[bytes], text: bool) -> None:
        super().__init__()
        self._sandbox = sandbox
        self._stdout: StreamReader[T] = StreamReader(text)
        self._stdin = StreamWriter()
        self._returncode: int | None = None
        self._task = asyncio.get_running_loop().create_task(self._pump(lines))

    async def _pump(self, lines: list[bytes]) -> None:
        for line in lines:
            await asyncio.sleep(0)
            self._stdout._feed(line)
        self._stdout._feed(None)
        self._returncode = 0

    @property
    def stdout(self) -> StreamReader[T]:
        """The output stream."""
        return self._stdout

    @property
    def stdin(self) -> StreamWriter:
        """The input stream."""
        return self._stdin

    @property
    def returncode(self) -> int | None:
        """Exit code once finished."""
        return self._returncode

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox this process runs in."""
        return self._sandbox

    async def wait(self) -> int:
        """Wait for the exit code."""
        self._bound()
        await self._task
        assert self._returncode is not None
        return self._returncode
