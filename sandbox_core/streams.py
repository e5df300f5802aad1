"""``StreamType``, ``StreamReader`` and ``StreamWriter``: the process I/O objects of exec and the sandbox itself.

Modelled on ``asyncio.StreamReader``/``StreamWriter``: a reader is **fed from below** (``feed_data``, ``feed_eof``,
``set_exception``, by the pump that owns the engine stream) and **read from above** (``read``, ``readline``,
``readexactly``, ``at_eof``, ``async for``). The feeding side knows nothing of lines or text; the reading side nothing
of sockets.

Flow control is the reader's own: a feeder that uses ``await feed(data)`` is held while the reader buffers more than
its limit (``DEFAULT_LIMIT``), so a slow consumer slows the process (through the engine's socket) instead of growing
memory. A reader nobody has read from yet gets a larger allowance (``UNREAD_LIMIT``, so reading only stdout does not
stall on a chatty stderr). Once its owner calls ``release_unread`` (``ContainerProcess.wait`` does), a never-read
reader is unbounded and the others get ``UNREAD_LIMIT``, so waiting without reading (or after reading a little) does
not deadlock: Modal keeps such output server-side. Reading everything concurrently keeps memory within
``DEFAULT_LIMIT`` per stream.

Objects here never touch the event loop when they are built or in their synchronous methods (``write``,
``write_eof``, properties), so the blocking facade may create and use them from any thread.
"""

from __future__ import annotations

import asyncio
import codecs
import collections
import enum
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Generic, TypeVar, cast

from .exception import InvalidError

T = TypeVar("T", str, bytes)

#: Bytes a reader that is being read may buffer before its feeder (and so the process) is paused.
DEFAULT_LIMIT = 1 << 20
#: Bytes a reader nobody has read from yet may buffer before its feeder is paused.
UNREAD_LIMIT = 64 << 20


class StreamType(enum.Enum):
    """Where an exec's output goes: ``PIPE`` (readable), ``DEVNULL`` (discarded), ``STDOUT`` (printed locally)."""

    DEVNULL = subprocess.DEVNULL
    PIPE = subprocess.PIPE
    STDOUT = subprocess.STDOUT

    def __repr__(self) -> str:
        return f"{self.__module__}.{self.__class__.__name__}.{self.name}"


class _Chunks:
    """A FIFO of received chunks. Unlike a bytearray, a chunk taken whole is handed out as the very object that was
    fed, so a consumer keeping up with the pump copies nothing (the stream benchmark's hot path)."""

    __slots__ = ("_chunks", "_size")

    def __init__(self) -> None:
        self._chunks: collections.deque[bytes] = collections.deque()
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, data: bytes) -> None:
        self._chunks.append(data)
        self._size += len(data)

    def clear(self) -> None:
        self._chunks.clear()
        self._size = 0

    def take(self, n: int) -> bytes:
        """The first ``n`` bytes (all of them if ``n`` < 0 or beyond the size), removed from the buffer."""
        chunks = self._chunks
        if n < 0 or n >= self._size:
            data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            self.clear()
            return data
        parts: list[bytes] = []
        need = n
        while need:
            head = chunks[0]
            if len(head) <= need:
                parts.append(chunks.popleft())
                need -= len(head)
            else:
                parts.append(head[:need])
                chunks[0] = head[need:]
                need = 0
        self._size -= n
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def popleft(self) -> bytes:
        """The first chunk as fed, removed from the buffer (which must not be empty); no copying."""
        head = self._chunks.popleft()
        self._size -= len(head)
        return head

    def take_chunks(self) -> list[bytes]:
        """All buffered chunks as fed, removed from the buffer; no copying."""
        out = list(self._chunks)
        self.clear()
        return out

    def find(self, byte: bytes, start: int) -> int:
        """Index of the first ``byte`` (one byte) at or after ``start``, or -1. Scans only the chunks that hold
        bytes from ``start`` on, so a long line that grows chunk by chunk is not rescanned from its beginning."""
        end = self._size
        first = len(self._chunks)
        while first > 0 and end > start:
            first -= 1
            end -= len(self._chunks[first])
        # chunks[first] starts at offset ``end`` (<= start unless start is 0)
        for i in range(first, len(self._chunks)):
            chunk = self._chunks[i]
            j = chunk.find(byte, max(start - end, 0))
            if j >= 0:
                return end + j
            end += len(chunk)
        return -1


class StreamReader(Generic[T]):
    """The output of a process (exec or the sandbox's entrypoint): ``str`` when text, else ``bytes``.

    Not constructed by users: obtain it from ``ContainerProcess.stdout``/``stderr`` or ``Sandbox.stdout``/``stderr``.
    Output is consumed once: what one call returned is not returned again. Text is decoded as strict UTF-8,
    incrementally (a character split across chunks is reassembled; invalid UTF-8 raises ``UnicodeDecodeError``).
    A ``StreamType.DEVNULL`` reader raises ``ValueError`` on every read; a ``StreamType.STDOUT`` reader prints as
    output arrives and raises ``InvalidError`` on every read.
    """

    __slots__ = (
        "_buf",
        "_by_line",
        "_consumed",
        "_decoder",
        "_discard",
        "_eof",
        "_exception",
        "_fd",
        "_limit",
        "_pending",
        "_print_decoder",
        "_space_waiter",
        "_start",
        "_started",
        "_stream_type",
        "_text",
        "_unbounded",
        "_waiter",
    )

    def __init__(
        self,
        *,
        file_descriptor: int,
        text: bool = True,
        by_line: bool = False,
        stream_type: StreamType = StreamType.PIPE,
        start: Callable[[], None] | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        """Internal. ``start`` is called once, on the first read (lazy sources, e.g. the entrypoint's logs)."""
        if by_line and not text:
            raise ValueError("line-buffering is only supported when text=True")
        self._fd = file_descriptor
        self._text = text
        self._by_line = by_line
        self._stream_type = stream_type
        self._start = start
        self._started = start is None
        self._limit = limit
        self._buf = _Chunks()
        self._pending = ""  # decoded text taken from _buf but not yet returned (readexactly/readline leftovers)
        self._eof = False
        self._exception: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._space_waiter: asyncio.Future[None] | None = None
        self._consumed = False
        self._unbounded = False
        self._discard = stream_type is not StreamType.PIPE
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict") if text else None
        self._print_decoder = (
            codecs.getincrementaldecoder("utf-8")("replace") if stream_type is StreamType.STDOUT and text else None
        )

    def __repr__(self) -> str:
        mode = "text" if self._text else "bytes"
        return f"StreamReader(fd={self._fd}, {mode}, {self._stream_type.name}, eof={self.at_eof()})"

    @property
    def file_descriptor(self) -> int:
        """1 for stdout, 2 for stderr."""
        return self._fd

    # ---------------------------------------------------------------------------------------------- feeding side

    def feed_data(self, data: bytes) -> None:
        """Append output, without waiting (see ``feed``). ``STDOUT`` readers print it; ``DEVNULL`` readers drop it."""
        if not data or self._eof:
            return
        if self._stream_type is StreamType.STDOUT:
            self._print(data)
            return
        if self._discard:
            return
        self._buf.append(bytes(data) if type(data) is not bytes else data)
        self._wake_reader()

    async def feed(self, data: bytes) -> None:
        """Append output, then wait while this reader holds more than it may (see the module docstring): a feeder
        that awaits this goes at the pace of the reader's consumer. Returns at once for DEVNULL/STDOUT readers and
        after EOF."""
        self.feed_data(data)
        if self._over_limit():
            await self._wait_for_space()

    def feed_eof(self) -> None:
        """Mark the end of output. Idempotent."""
        if self._stream_type is StreamType.STDOUT and self._print_decoder is not None:
            tail = self._print_decoder.decode(b"", True)
            if tail:
                sys.stdout.write(tail)
                sys.stdout.flush()
        self._eof = True
        self._wake_reader()
        self._wake_feeder(force=True)

    def has_room(self) -> bool:
        """True while ``feed`` would not wait: a feeder that pushes with ``feed_data`` asks before taking more."""
        return not self._over_limit()

    async def wait_for_room(self) -> None:
        """Wait until ``has_room()`` (returns at once when it is already true)."""
        await self._wait_for_space()

    def set_exception(self, exc: BaseException) -> None:
        """Fail the stream: readers get ``exc`` once the output buffered before it is consumed."""
        self._exception = exc
        self._wake_reader()

    def _over_limit(self) -> bool:
        if self._discard or self._eof or self._waiter is not None:
            # A consumer blocked on this buffer (a long line, a big readexactly) needs more, not less.
            return False
        if self._consumed:  # someone reads: keep memory tight, unless wait() needs the process to go on
            return len(self._buf) > (UNREAD_LIMIT if self._unbounded else self._limit)
        return not self._unbounded and len(self._buf) > UNREAD_LIMIT

    async def _wait_for_space(self) -> None:
        """Hold the feeder while this reader's buffer is over its limit (see the module docstring)."""
        while self._over_limit():
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._space_waiter = fut
            try:
                await fut
            finally:
                self._space_waiter = None

    def release_unread(self) -> None:
        """The owner waits for the producer to finish, so its output must go somewhere: from now on a never-read
        reader buffers without bound, one being read up to ``UNREAD_LIMIT`` (a waiting feeder resumes)."""
        self._unbounded = True
        self._wake_feeder()

    def _print(self, data: bytes) -> None:
        if self._print_decoder is not None:
            sys.stdout.write(self._print_decoder.decode(data))
            sys.stdout.flush()
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()

    def _wake_reader(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def _wake_feeder(self, force: bool = False) -> None:
        w = self._space_waiter
        if w is not None and not w.done() and (force or not self._over_limit()):
            w.set_result(None)

    # ---------------------------------------------------------------------------------------------- reading side

    def _check_type(self, op: str) -> None:
        if self._stream_type is StreamType.DEVNULL:
            raise ValueError(f"{op} is not supported for a stream configured with StreamType.DEVNULL")
        if self._stream_type is StreamType.STDOUT:
            raise InvalidError("Output can only be retrieved using the PIPE stream type.")

    def _check_readable(self, op: str) -> None:
        """Raise for DEVNULL/STDOUT readers; start a lazy source (only ever called from a coroutine)."""
        self._check_type(op)
        if not self._started:
            self._started = True
            assert self._start is not None
            self._start()

    async def _wait_for_data(self) -> None:
        """Wait until more data, EOF or an exception arrives. Raises the stream's exception if one is set."""
        if self._exception is not None:
            exc = self._exception
            raise exc
        if self._eof:
            return
        if self._waiter is not None:
            # As asyncio.StreamReader: one consumer at a time, or one of them would never be woken.
            raise RuntimeError("StreamReader: another coroutine is already waiting for output of this stream")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiter = fut
        self._wake_feeder()
        try:
            await fut
        finally:
            self._waiter = None
        if self._exception is not None and not self._buf:
            raise self._exception

    def _taken(self) -> None:
        """After the consumer took from the buffer: it is being read, and the feeder may have room again."""
        self._consumed = True
        self._wake_feeder()

    def _take(self, n: int) -> bytes:
        data = self._buf.take(n)
        self._taken()
        return data

    def _pop_chunk(self) -> bytes:
        """The first buffered chunk as fed (the buffer must not be empty)."""
        chunk = self._buf.popleft()
        self._taken()
        return chunk

    async def _buffered(self) -> bool:
        """Wait until something is buffered or EOF; True when something is buffered."""
        while not self._buf and not self._eof:
            await self._wait_for_data()
        return bool(self._buf)

    async def _take_available(self, n: int = -1) -> bytes:
        """Up to ``n`` (all if negative) buffered bytes, waiting for some; b"" at EOF."""
        await self._buffered()
        return self._take(n)

    async def _take_all(self) -> bytes:
        parts: list[bytes] = []
        while await self._buffered():
            parts += self._buf.take_chunks()  # as fed, so one join is the only copy
            self._taken()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def _take_line(self) -> bytes:
        """Bytes through the next b"\\n" (or the rest at EOF; b"" at EOF)."""
        start = 0
        while True:
            i = self._buf.find(b"\n", start)
            if i >= 0:
                return self._take(i + 1)
            if self._eof:
                return self._take(-1)
            start = len(self._buf)
            self._consumed = True  # a blocked readline is reading: hold the feeder at the normal limit
            await self._wait_for_data()

    def _decode(self, data: bytes) -> str:
        assert self._decoder is not None
        final = self._eof and not self._buf
        return self._decoder.decode(data, final)

    def _pop_pending(self, n: int = -1) -> str:
        if n < 0 or n >= len(self._pending):
            out, self._pending = self._pending, ""
        else:
            out, self._pending = self._pending[:n], self._pending[n:]
        return out

    async def read(self, n: int = -1) -> T:
        """Read until EOF (``n`` < 0, the default), or at most ``n`` bytes (characters for text) once some arrived.

        Returns an empty value at EOF, so a second ``read()`` returns ``""``/``b""``. Raises ``ValueError``
        (DEVNULL), ``InvalidError`` (STDOUT), ``UnicodeDecodeError`` (text that is not UTF-8).
        """
        self._check_readable("read")
        if n == 0:
            return self._t("" if self._text else b"")
        if not self._text:
            data = await self._take_all() if n < 0 else await self._take_available(n)
            return self._t(data)
        if n < 0:
            head = self._pop_pending()
            return self._t(head + self._decode(await self._take_all()))
        if self._pending:
            return self._t(self._pop_pending(n))
        while True:
            # n bytes decode to at most n characters (the decoder only ever holds part of one character).
            data = await self._take_available(n)
            text = self._decode(data)
            if text or not data:
                return self._t(text)

    async def readline(self) -> T:
        """Read one line, through ``"\\n"`` (split on bytes, then decoded); the unterminated rest at EOF; empty
        at EOF."""
        self._check_readable("readline")
        if not self._text:
            return self._t(await self._take_line())
        i = self._pending.find("\n")
        if i >= 0:
            return self._t(self._pop_pending(i + 1))
        head = self._pop_pending()
        return self._t(head + self._decode(await self._take_line()))

    async def readexactly(self, n: int) -> T:
        """Read exactly ``n`` bytes (characters for text).

        Raises ``asyncio.IncompleteReadError`` (``.partial`` holds what was read) if EOF comes first.
        """
        self._check_readable("readexactly")
        if n < 0:
            raise ValueError("readexactly size can not be less than zero")
        if not self._text:
            while len(self._buf) < n and not self._eof:
                self._consumed = True
                await self._wait_for_data()
            if len(self._buf) < n:
                raise asyncio.IncompleteReadError(self._take(-1), n)
            return self._t(self._take(n))
        while len(self._pending) < n:
            data = await self._take_available()
            self._pending += self._decode(data)
            if not data:
                break
        if len(self._pending) < n:
            partial = self._pop_pending()
            raise asyncio.IncompleteReadError(cast(Any, partial), n)
        return self._t(self._pop_pending(n))

    def _t(self, value: object) -> T:
        return cast(T, value)

    def at_eof(self) -> bool:
        """True when EOF was fed and everything buffered was read."""
        return self._eof and not self._buf and not self._pending

    async def _next_chunk(self) -> T:
        if not self._text:
            # One fed chunk per step: handing it over as is beats joining what piled up (no copy at all).
            return self._t(self._pop_chunk() if await self._buffered() else b"")
        if self._pending:
            return self._t(self._pop_pending())
        while True:
            data = await self._take_available()
            text = self._decode(data)
            if text or not data:
                return self._t(text)

    def __aiter__(self) -> StreamReader[T]:
        """Iterate: lines (text, line-buffered readers) or chunks as they arrive. Ends at EOF; a second loop
        yields nothing. DEVNULL readers raise ``ValueError``, STDOUT readers ``InvalidError``."""
        self._check_type("__aiter__")  # may run outside the loop (blocking facade): nothing is started here
        return self

    async def __anext__(self) -> T:
        if self._buf and not self._text and self._stream_type is StreamType.PIPE:
            # Hot path of chunk iteration (the 100 MB stream benchmark): a chunk is already here.
            return self._t(self._pop_chunk())
        self._check_readable("__anext__")
        item = await (self.readline() if self._by_line else self._next_chunk())
        if not item:
            raise StopAsyncIteration
        return item

    async def _facade_anext(self) -> T:
        """``__anext__`` for a caller that pays per step more than per copy (the blocking facade crosses threads
        once per step): in bytes chunk mode it returns everything already buffered as one chunk, not one fed
        chunk. Same data, same order, same end; other modes are plain ``__anext__``."""
        if self._text or self._by_line:
            return await self.__anext__()
        self._check_readable("__anext__")
        data = await self._take_available()  # everything buffered: one join at most
        if not data:
            raise StopAsyncIteration
        return self._t(data)

    async def aclose(self) -> None:
        """Stop reading: drop buffered and future output (the process is no longer held back by this reader)."""
        if self._stream_type is StreamType.DEVNULL:
            raise ValueError("aclose is not supported for a stream configured with StreamType.DEVNULL")
        self._discard = True
        self._buf.clear()
        self._pending = ""
        self._eof = True
        self._wake_reader()
        self._wake_feeder(force=True)


#: Sends ``(data, eof)`` to the process; raises to leave the writer's buffer untouched (so drain can be retried).
Sink = Callable[[bytes, bool], Awaitable[None]]


class StreamWriter:
    """The stdin of a process (exec or the sandbox's entrypoint).

    ``write`` only buffers; ``drain`` sends the buffer (and the EOF requested by ``write_eof``). The buffer is
    cleared only once sent, so a failed ``drain`` can be retried.
    """

    __slots__ = ("_always_send", "_buf", "_closed", "_eof_sent", "_limit", "_lock", "_sink")

    def __init__(self, sink: Sink, *, limit: int, always_send: bool = False) -> None:
        """Internal. ``always_send``: call the sink on every drain, even with nothing to send (it may raise)."""
        self._sink = sink
        self._limit = limit
        self._always_send = always_send
        self._buf = bytearray()
        self._closed = False
        self._eof_sent = False
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"StreamWriter(buffered={len(self._buf)}, eof={self._closed})"

    def write(self, data: bytes | bytearray | memoryview | str) -> None:
        """Buffer ``data`` (a ``str`` is UTF-8 encoded) until the next ``drain``.

        Raises ``TypeError`` for other types, ``ValueError`` after ``write_eof``, ``BufferError`` when the buffer
        would exceed its limit (drain first).
        """
        if self._closed:
            raise ValueError("Stdin is closed. Cannot write to it.")
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__}")
        if len(self._buf) + len(data) > self._limit:
            raise BufferError("Buffer size exceed limit. Call drain to flush the buffer.")
        self._buf.extend(data)

    def writelines(self, data: Iterable[bytes | bytearray | memoryview | str]) -> None:
        """``write`` each item in turn (same errors)."""
        for item in data:
            self.write(item)

    def write_eof(self) -> None:
        """Close stdin after what is buffered: the process sees EOF once the next ``drain`` sent it."""
        self._closed = True

    def can_write_eof(self) -> bool:
        """Always True (asyncio.StreamWriter compatibility)."""
        return True

    def is_closing(self) -> bool:
        """True once ``write_eof`` was called."""
        return self._closed

    async def drain(self) -> None:
        """Send the buffer, then the EOF if ``write_eof`` was called. Waits while the process does not read."""
        async with self._lock:
            eof = self._closed and not self._eof_sent
            if not self._buf and not eof and not self._always_send:
                return
            data = bytes(self._buf)
            await self._sink(data, eof)
            del self._buf[: len(data)]
            if eof:
                self._eof_sent = True


__all__ = ["DEFAULT_LIMIT", "UNREAD_LIMIT", "StreamReader", "StreamType", "StreamWriter"]
