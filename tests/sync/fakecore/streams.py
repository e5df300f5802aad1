"""Fake streams: a reader fed on the loop, a writer that buffers."""

from __future__ import annotations

import asyncio
import enum
from typing import Generic, TypeVar

from ._loopcheck import LoopBound

T = TypeVar("T", str, bytes)


class StreamType(enum.Enum):
    """Where output goes."""

    PIPE = 1
    DEVNULL = 2


class StreamReader(LoopBound, Generic[T]):
    """Reads lines fed by the fake process."""

    def __init__(self, text: bool) -> None:
        super().__init__()
        self._text = text
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._eof = False

    def _feed(self, data: bytes | None) -> None:
        self._queue.put_nowait(data)

    def _decode(self, data: bytes) -> T:
        return data.decode() if self._text else data  # type: ignore[return-value]

    async def read(self) -> T:
        """Everything until EOF."""
        self._bound()
        chunks = []
        while not self._eof:
            item = await self._queue.get()
            if item is None:
                self._eof = True
            else:
                chunks.append(item)
        return self._decode(b"".join(chunks))

    def at_eof(self) -> bool:
        """True once EOF was read."""
        return self._eof

    def __aiter__(self) -> StreamReader[T]:
        return self

    async def __anext__(self) -> T:
        self._bound()
        if self._eof:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is None:
            self._eof = True
            raise StopAsyncIteration
        return self._decode(item)


class StreamWriter(LoopBound):
    """Buffers writes; ``drain`` hands them to the process."""

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()
        self.written: list[bytes] = []
        self.closed = False

    def write(self, data: bytes | str) -> None:
        """Buffer ``data`` (thread-safe: a bytearray extend)."""
        self._buffer.extend(data.encode() if isinstance(data, str) else data)

    def write_eof(self) -> None:
        """Close the write side after the buffer is drained."""
        self._bound()
        self.closed = True

    async def drain(self) -> None:
        """Flush the buffer."""
        self._bound()
        await asyncio.sleep(0)
        self.written.append(bytes(self._buffer))
        self._buffer.clear()
