"""One multiplexed channel as the client sees it: inbound streams with credit grants, outbound credit, messages.

The client's reader task feeds channels (``on_*`` methods, never blocking); callers read and write. Inbound bytes
are accepted only within the credit this client granted, so a stream nobody reads holds at most one window and
stalls only its own producer in the sandbox.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from typing import Any, Protocol

from .protocol import AgentLostError, AgentOpError, AgentProtocolError, FrameType, Stream, encode_frame, window_payload

#: Sends one encoded frame (the client's writer queue); never blocks.
Send = Callable[[bytes], None]


#: The most credit a stream's window grows to for a reader that keeps up.
MAX_WINDOW = 8 << 20


class Sink(Protocol):
    """Where ``InboundStream.deliver`` pushes bytes (a ``streams.StreamReader``)."""

    def feed_data(self, data: bytes) -> None: ...

    def has_room(self) -> bool: ...

    async def wait_for_room(self) -> None: ...


class InboundStream:
    """Bytes from the agent on one stream of one channel (stdout or stderr), in order, with EOF.

    ``read`` returns b"" at EOF; it raises ``AgentLostError`` when the session ended before EOF. Credit is given
    back to the agent once half a window has been read. The window starts at the client's HELLO window and
    doubles (up to ``MAX_WINDOW``) whenever a grant finds the reader keeping up (less than a quarter of the window
    buffered), so a fast reader is not throttled by the link's round trip, while a stream nobody reads never
    holds more than the initial window. ``deliver`` pushes the stream into a sink instead (an exec's
    ``StreamReader``); bytes then count as read when the sink takes them while it has room, so the bound is the same:
    the sink's limit plus one window.
    """

    def __init__(self, channel_id: int, stream: Stream, window: int, send: Send) -> None:
        self._id = channel_id
        self._stream = stream
        self._window = window
        self._send = send
        self._chunks: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._credit = window
        self._ungranted = 0
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._sink: Sink | None = None

    @property
    def at_eof(self) -> bool:
        """True once EOF arrived and every byte was read."""
        return self._eof and not self._chunks

    @property
    def buffered(self) -> int:
        """Bytes received and not yet read (at most one window)."""
        return self._buffered

    def on_data(self, data: bytes) -> None:
        if self._eof:
            raise AgentProtocolError(f"data on channel {self._id} stream {self._stream} after its EOF")
        if len(data) > self._credit:
            raise AgentProtocolError(f"channel {self._id} stream {self._stream} overran its window")
        self._credit -= len(data)
        if not data:
            return
        if self._sink is not None:
            self._sink.feed_data(data)
            self._consumed(len(data))
            return
        self._chunks.append(data)
        self._buffered += len(data)
        self._wake()

    def on_eof(self) -> None:
        if self._eof:
            raise AgentProtocolError(f"second EOF on channel {self._id} stream {self._stream}")
        self._eof = True
        self._wake()

    def on_error(self, error: BaseException) -> None:
        if not self._eof and self._error is None:
            self._error = error
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _park(self) -> None:
        """Wait for the next ``_wake``."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    async def _wait(self) -> None:
        while not self._chunks and not self._eof and self._error is None:
            await self._park()

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (any amount available if ``n < 0``), waiting for at least one; b"" at EOF."""
        await self._wait()
        if not self._chunks:
            if self._eof:
                return b""
            assert self._error is not None
            raise self._error
        chunk = self._chunks.popleft()
        if 0 <= n < len(chunk):
            chunk, rest = chunk[:n], chunk[n:]
            self._chunks.appendleft(rest)
        self._consumed(len(chunk))
        return chunk

    async def read_all(self) -> bytes:
        """Everything up to EOF."""
        parts = []
        while chunk := await self.read():
            parts.append(chunk)
        return b"".join(parts)

    async def deliver(self, sink: Sink) -> None:
        """Push the stream into ``sink`` until EOF: what is buffered now, then each chunk from within the client's
        reader task as it arrives (no task switch per chunk). Credit goes back only while the sink has room, so a
        sink whose consumer stops holds the agent's producer, as an unread ``read`` does. Raises the stream's error
        once what came before it is delivered. Not to be mixed with ``read``."""
        while self._chunks:
            chunk = self._chunks.popleft()
            self._buffered -= len(chunk)
            sink.feed_data(chunk)
            self._ungranted += len(chunk)
        self._sink = sink
        try:
            while True:
                if self._error is not None:
                    raise self._error
                if self._eof:
                    return
                if self._held_back():
                    await sink.wait_for_room()
                    self._grant(grow=False)  # the sink's consumer lagged: no larger window
                    continue
                await self._park()
        finally:
            self._sink = None

    def _held_back(self) -> bool:
        return self._ungranted >= self._window // 2 and not self._eof

    def _consumed(self, n: int) -> None:
        self._buffered -= n
        self._ungranted += n
        if self._held_back():
            if self._sink is None or self._sink.has_room():
                self._grant(grow=True)
            else:
                self._wake()  # deliver() grants once the sink has room

    def _grant(self, *, grow: bool) -> None:
        grant, self._ungranted = self._ungranted, 0
        if grow and self._buffered < self._window // 4 and self._window < MAX_WINDOW:
            grant += self._window
            self._window *= 2
        self._credit += grant
        self._send(encode_frame(FrameType.WINDOW, self._id, window_payload(grant), stream=self._stream))


class Channel:
    """The client side of one channel: stdout/stderr readers, stdin credit, control messages, close handshake."""

    def __init__(self, channel_id: int, window: int, peer_window: int, peer_max_frame: int, send: Send,
                 retire: Callable[[int], None]) -> None:  # fmt: skip
        self.id = channel_id
        self._send = send
        self._retire = retire
        self._max_frame = peer_max_frame
        self.stdout = InboundStream(channel_id, Stream.STDOUT, window, send)
        self.stderr = InboundStream(channel_id, Stream.STDERR, window, send)
        self._credit = peer_window
        self._credit_waiter: asyncio.Future[None] | None = None
        self._msgs: collections.deque[dict[str, Any]] = collections.deque()
        self._msg_waiter: asyncio.Future[None] | None = None
        self._eof_sent = False
        self.peer_closed = False
        self.close_sent = False
        self._error: BaseException | None = None

    # -- fed by the reader task --------------------------------------------------------------------------------
    def on_frame(self, ftype: FrameType, stream: int, payload: bytes, msg: dict[str, Any] | None) -> None:
        if self.peer_closed:
            raise AgentProtocolError(f"{ftype.name} on channel {self.id} after the agent closed it")
        if ftype is FrameType.CLOSE:
            self._on_close()
            return
        if self.close_sent:
            return  # crossed our CLOSE
        if ftype is FrameType.DATA:
            self._inbound(stream).on_data(payload)
        elif ftype is FrameType.EOF:
            self._inbound(stream).on_eof()
        elif ftype is FrameType.WINDOW:
            self._on_window(stream, int.from_bytes(payload, "big"))
        elif ftype is FrameType.MSG:
            assert msg is not None
            self._msgs.append(msg)
            _wake(self._msg_waiter)
        else:
            raise AgentProtocolError(f"{ftype.name} frame on channel {self.id} from the agent")

    def _inbound(self, stream: int) -> InboundStream:
        if stream == Stream.STDOUT:
            return self.stdout
        if stream == Stream.STDERR:
            return self.stderr
        raise AgentProtocolError(f"agent sent data for stream {stream} on channel {self.id}")

    def _on_window(self, stream: int, delta: int) -> None:
        if stream != Stream.STDIN or delta == 0 or self._credit + delta > (1 << 31) - 1:
            raise AgentProtocolError(f"bad window update (stream {stream}, delta {delta}) on channel {self.id}")
        self._credit += delta
        _wake(self._credit_waiter)

    def _on_close(self) -> None:
        self.peer_closed = True
        lost = AgentLostError(f"the agent closed channel {self.id}")
        self.stdout.on_error(lost)
        self.stderr.on_error(lost)
        self.fail(lost, retire=False)
        if not self.close_sent:
            self.close_sent = True
            self._send(encode_frame(FrameType.CLOSE, self.id))
        self._retire(self.id)

    def fail(self, error: BaseException, *, retire: bool = True) -> None:
        """End every wait on this channel with ``error`` (session lost)."""
        if self._error is None:
            self._error = error
        self.stdout.on_error(error)
        self.stderr.on_error(error)
        _wake(self._credit_waiter)
        _wake(self._msg_waiter)

    # -- used by callers ---------------------------------------------------------------------------------------
    async def next_msg(self) -> dict[str, Any]:
        """The next control message; raises the channel's error once closed with none left."""
        while not self._msgs:
            if self._error is not None:
                raise self._error
            self._msg_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._msg_waiter
            finally:
                self._msg_waiter = None
        return self._msgs.popleft()

    def next_msg_nowait(self) -> dict[str, Any] | None:
        """The next control message if one is queued, else None (never raises)."""
        return self._msgs.popleft() if self._msgs else None

    async def expect(self, *types: str) -> dict[str, Any]:
        """The next message, which must be one of ``types``; an ``error`` message raises ``AgentOpError``."""
        msg = await self.next_msg()
        if msg["t"] == "error":
            raise AgentOpError(str(msg.get("kind", "Io")), str(msg.get("message", "")))
        if msg["t"] not in types:
            raise AgentProtocolError(f"expected {'/'.join(types)} on channel {self.id}, got {msg['t']!r}")
        return msg

    async def write(self, data: bytes | bytearray | memoryview) -> None:
        """Send stdin bytes, waiting for the agent's credit. Raises ``BrokenPipeError`` once the channel closed."""
        view = memoryview(data)
        while view:
            await self._await_credit()
            n = min(len(view), self._credit, self._max_frame)
            self._credit -= n
            self._send(encode_frame(FrameType.DATA, self.id, bytes(view[:n]), stream=Stream.STDIN))
            view = view[n:]

    async def _await_credit(self) -> None:
        while True:
            if self.close_sent or self._eof_sent or self._error is not None:
                raise BrokenPipeError(f"channel {self.id} no longer accepts input")
            if self._credit > 0:
                return
            self._credit_waiter = asyncio.get_running_loop().create_future()
            try:
                await self._credit_waiter
            finally:
                self._credit_waiter = None

    def write_eof(self) -> None:
        """Send EOF on stdin (idempotent; a no-op once the channel closed)."""
        if not self._eof_sent and not self.close_sent:
            self._eof_sent = True
            self._send(encode_frame(FrameType.EOF, self.id, stream=Stream.STDIN))

    def send_msg(self, payload: bytes) -> None:
        """Send a control message (a no-op once the channel closed)."""
        if not self.close_sent:
            self._send(encode_frame(FrameType.MSG, self.id, payload))

    def close(self) -> None:
        """Send CLOSE (idempotent): the agent stops the channel's work and echoes; unread output is dropped."""
        if not self.close_sent:
            self.close_sent = True
            self._send(encode_frame(FrameType.CLOSE, self.id))
            closed = AgentLostError(f"channel {self.id} was closed")
            self.stdout.on_error(closed)
            self.stderr.on_error(closed)
            if self._error is None:
                self._error = closed
            _wake(self._credit_waiter)
            _wake(self._msg_waiter)


def _wake(fut: asyncio.Future[None] | None) -> None:
    if fut is not None and not fut.done():
        fut.set_result(None)
