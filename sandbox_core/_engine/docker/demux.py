"""Docker's multiplexed exec/attach stream, parsed once per read of the socket instead of once per frame.

A non-TTY stream is a sequence of frames: an 8-byte header (fd, payload length) and the payload. The engine writes
one frame per read it made of the process's pipe, which is often a single 4 KiB page, so 100 MiB of output can be
25,000 frames. Handing each frame on as its own item costs the event loop a wake-up, a queue operation and several
objects per frame, and that per-frame cost, not the bytes, is what limits a bulk stream in Python (measured in
``benchmarks``, phase P5). Here every read of the socket becomes at most one chunk per run of payloads of the same
fd, so a bulk stream costs a few operations per 64-256 KiB read and one copy of its bytes.

Frame boundaries carry no meaning for a byte stream, with one exception kept here: the **first** frame is delivered
on its own and whole (up to ``FIRST_FRAME_LIMIT``), because the runtime's "could not start" text is recognised as
the stream's first frame (``startfail``).
"""

from __future__ import annotations

import asyncio
import collections
import struct
from typing import Protocol

from ..api import STDOUT

#: The header of each frame of a multiplexed stream (exec/attach output, non-TTY logs): fd, then payload length.
HEADER = struct.Struct(">BxxxL")

#: The first frame is held until complete up to this size; a longer one is delivered in pieces like the rest.
FIRST_FRAME_LIMIT = 64 << 10

#: Bytes a ``ChunkQueue`` holds before it stops reading the socket (the engine then stops reading the process).
QUEUE_LIMIT = 256 << 10


class Demuxer:
    """Splits a multiplexed stream into ``(fd, bytes)`` chunks, any split of the input in, coalesced runs out.

    Holds at most a partial 8-byte header and, until the first frame is complete, that frame's payload.
    """

    __slots__ = ("_fd", "_first", "_head", "_left")

    def __init__(self) -> None:
        self._head = b""  # a header split across reads
        self._fd = STDOUT
        self._left = 0  # payload bytes of the current frame still to come
        self._first: bytearray | None = bytearray()  # the first frame's payload so far; None once delivered

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        """The chunks ``data`` completes: adjacent payloads of one fd joined, in stream order."""
        out: list[tuple[int, bytes]] = []
        run: list[memoryview] = []
        run_fd = -1
        view = memoryview(data)
        pos, n = 0, len(data)
        while pos < n:
            if self._left == 0:
                pos = self._read_header(data, pos)
                continue
            take = min(self._left, n - pos)
            piece = view[pos : pos + take]
            pos += take
            self._left -= take
            if self._first is not None:
                self._feed_first(piece, out)
                continue
            if self._fd != run_fd:
                _flush(run_fd, run, out)
                run_fd = self._fd
            run.append(piece)
        _flush(run_fd, run, out)
        return out

    def _read_header(self, data: bytes, pos: int) -> int:
        """Consume header bytes at ``pos``; returns the new position."""
        if not self._head and len(data) - pos >= HEADER.size:
            self._fd, self._left = HEADER.unpack_from(data, pos)
            return pos + HEADER.size
        take = min(HEADER.size - len(self._head), len(data) - pos)
        self._head += data[pos : pos + take]
        if len(self._head) == HEADER.size:
            self._fd, self._left = HEADER.unpack(self._head)
            self._head = b""
        return pos + take

    def _feed_first(self, piece: memoryview, out: list[tuple[int, bytes]]) -> None:
        assert self._first is not None
        self._first += piece
        if self._left == 0 or len(self._first) >= FIRST_FRAME_LIMIT:
            out.append((self._fd, bytes(self._first)))
            self._first = None


def _flush(fd: int, run: list[memoryview], out: list[tuple[int, bytes]]) -> None:
    if run:
        out.append((fd, run[0].tobytes() if len(run) == 1 else b"".join(run)))
        run.clear()


class Pausable(Protocol):
    """What a ``ChunkQueue`` needs of the connection's protocol: stop and restart reading the socket."""

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


class Receiver(Protocol):
    """Takes chunks as they arrive instead of ``ChunkQueue.read`` (``ChunkQueue.set_receiver``)."""

    def chunk(self, fd: int, data: bytes) -> None: ...

    def end(self, error: BaseException | None) -> None: ...


class ChunkQueue:
    """The receiving end of an upgraded connection, in the shape aiohttp's protocol feeds (``set_parser``): bytes in
    (``feed_data``, ``feed_eof``, ``set_exception``), chunks out (``read``, or pushed to a ``Receiver``).

    Flow control: the socket stops being read while ``limit`` bytes wait, so a reader that stops reading stalls the
    process's writes instead of growing memory. A receiver takes everything at once and is its own flow control.
    """

    def __init__(self, protocol: Pausable, *, tty: bool, limit: int = QUEUE_LIMIT) -> None:
        self._protocol = protocol
        self._demux = None if tty else Demuxer()
        self._limit = limit
        self._chunks: collections.deque[tuple[int, bytes]] = collections.deque()
        self._size = 0
        self._paused = False
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._receiver: Receiver | None = None

    def set_receiver(self, receiver: Receiver) -> None:
        """Hand what is queued, and from now on every chunk as it arrives, to ``receiver`` (then its ``end``)."""
        self._receiver = receiver
        while self._chunks:
            receiver.chunk(*self._chunks.popleft())
        self._size = 0
        if self._paused:
            self._paused = False
            self._protocol.resume_reading()
        if self._error is not None or self._eof:
            self._end()

    def _end(self) -> None:
        receiver, self._receiver = self._receiver, None
        if receiver is not None:
            receiver.end(self._error)

    # -- fed by aiohttp's protocol ---------------------------------------------------------------------------
    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        """Take bytes from the socket; returns aiohttp's "(protocol error, tail)" pair, never an error."""
        if not data or self._eof:
            return False, b""
        chunks = [(STDOUT, data)] if self._demux is None else self._demux.feed(data)
        if self._receiver is not None:
            for fd, part in chunks:
                self._receiver.chunk(fd, part)
            return False, b""
        for chunk in chunks:
            self._chunks.append(chunk)
            self._size += len(chunk[1])
        if self._size >= self._limit and not self._paused:
            self._paused = True
            self._protocol.pause_reading()
        self._wake()
        return False, b""

    def feed_eof(self) -> None:
        self._eof = True
        self._wake()
        self._end()

    def set_exception(self, error: BaseException) -> None:
        if self._error is None:
            self._error = error
        self._wake()
        self._end()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    # -- read by the stream's owner --------------------------------------------------------------------------
    async def read(self) -> tuple[int, bytes] | None:
        """The next chunk, or None at EOF; raises what ``set_exception`` was given once the chunks before it are
        read."""
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self._eof:
                return None
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunk = self._chunks.popleft()
        self._size -= len(chunk[1])
        if self._paused and self._size < self._limit:
            self._paused = False
            self._protocol.resume_reading()
        return chunk
