"""The Python codec and channel flow control, without an engine (pure logic)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox_core._agent.channel import Channel, InboundStream
from sandbox_core._agent.client import Agent
from sandbox_core._agent.protocol import (
    HEADER_SIZE,
    VERSION,
    AgentLostError,
    AgentOpError,
    AgentProtocolError,
    Frame,
    FrameDecoder,
    FrameType,
    Hello,
    Stream,
    decode_msg,
    encode_frame,
    window_payload,
)

MAX = 4096


def test_hello_round_trip_and_rejections() -> None:
    h = Hello(VERSION, 65536, 1 << 20, 256, 63)
    assert Hello.decode(h.encode()) == h
    raw = bytearray(h.encode())
    for offset, value, what in [(0, ord("X"), "magic"), (9, 2, "version"), (10, 1, "reserved")]:
        bad = bytearray(raw)
        bad[offset] = value
        with pytest.raises(AgentProtocolError, match=what):
            Hello.decode(bytes(bad))
    with pytest.raises(AgentProtocolError, match="max_frame"):
        Hello.decode(raw[:12] + struct.pack(">I", 10) + raw[16:])
    with pytest.raises(AgentProtocolError, match="32"):
        Hello.decode(bytes(raw[:31]))


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (struct.pack(">BBBBII", 9, 0, 0, 0, 1, 0), "unknown frame type"),
        (struct.pack(">BBBBII", 2, 0, 0, 1, 1, 0), "reserved"),
        (struct.pack(">BBBBII", 2, 0, 0, 0, 1, MAX + 1), "exceeds max_frame"),
        (struct.pack(">BBBBII", 2, 1, 0, 0, 1, 0), "flags"),
        (struct.pack(">BBBBII", 5, 0, 1, 0, 1, 2), "stream"),
        (struct.pack(">BBBBII", 2, 0, 0, 0, 0, 0), "channel 0"),
        (struct.pack(">BBBBII", 7, 0, 0, 0, 3, 8), "channel 3"),
        (struct.pack(">BBBBII", 3, 0, 1, 0, 1, 5), "want 4"),
        (struct.pack(">BBBBII", 5, 0, 0, 0, 1, 0), "without a payload"),
    ],
)
def test_decoder_rejects_bad_headers(frame: bytes, error: str) -> None:
    with pytest.raises(AgentProtocolError, match=error):
        FrameDecoder(MAX).feed(frame)


def test_oversize_length_is_refused_from_the_header_alone() -> None:
    dec = FrameDecoder(MAX)
    with pytest.raises(AgentProtocolError):
        dec.feed(struct.pack(">BBBBII", 2, 0, 1, 0, 1, 0xFFFFFFFF))
    assert dec.pending == HEADER_SIZE


frames_st = st.builds(
    lambda t, ch, payload, stream: Frame(t, ch, payload, stream),
    st.just(FrameType.DATA),
    st.integers(1, 2**32 - 1),
    st.binary(max_size=MAX),
    st.sampled_from([0, 1, 2]),
) | st.builds(lambda ch: Frame(FrameType.CLOSE, ch), st.integers(1, 2**32 - 1))


@given(st.lists(frames_st, max_size=20), st.lists(st.integers(1, 5000), max_size=30))
def test_any_split_of_valid_frames_decodes_to_the_same_frames(frames: list[Frame], cuts: list[int]) -> None:
    wire = b"".join(encode_frame(f.type, f.channel, f.payload, stream=f.stream) for f in frames)
    dec = FrameDecoder(MAX)
    out: list[Frame] = []
    pos = 0
    for c in cuts:
        out += dec.feed(wire[pos : pos + c])
        pos += c
    out += dec.feed(wire[pos:])
    assert merged(out) == merged(frames) and dec.pending == 0


def merged(frames: list[Frame]) -> list[tuple[int, int, int, bytes]]:
    """Frames with consecutive DATA of one channel and stream joined (DATA is a byte stream; empty DATA is
    nothing)."""
    out: list[tuple[int, int, int, bytes]] = []
    for f in frames:
        if f.type is FrameType.DATA:
            if not f.payload:
                continue
            if out and out[-1][:3] == (f.type, f.channel, f.stream):
                out[-1] = (*out[-1][:3], out[-1][3] + f.payload)
                continue
        out.append((f.type, f.channel, f.stream, f.payload))
    return out


@settings(max_examples=500)
@given(st.lists(st.binary(max_size=300), max_size=10))
def test_arbitrary_bytes_only_ever_raise_protocol_errors_and_stay_bounded(chunks: list[bytes]) -> None:
    dec = FrameDecoder(MAX)
    try:
        for c in chunks:
            for f in dec.feed(c):
                assert len(f.payload) <= MAX
            assert dec.pending <= HEADER_SIZE + MAX
    except AgentProtocolError:
        pass


@given(st.binary(max_size=200))
def test_decode_msg_accepts_only_objects_with_a_type(payload: bytes) -> None:
    try:
        msg = decode_msg(payload)
    except AgentProtocolError:
        return
    assert isinstance(msg["t"], str)


def test_inbound_stream_grants_credit_at_half_a_window() -> None:
    sent: list[bytes] = []
    s = InboundStream(7, Stream.STDOUT, 1000, sent.append)
    s.on_data(b"x" * 1000)
    with pytest.raises(AgentProtocolError, match="overran"):
        s.on_data(b"y")


async def test_a_reader_that_keeps_up_gets_a_growing_window() -> None:
    sent: list[bytes] = []
    s = InboundStream(7, Stream.STDOUT, 1000, sent.append)
    s.on_data(b"x" * 499)
    s.on_data(b"x" * 1)
    assert await s.read() == b"x" * 499 and sent == []
    assert await s.read() == b"x"  # half a window read, nothing buffered: grant it plus a doubling
    assert sent == [encode_frame(FrameType.WINDOW, 7, window_payload(1500), stream=Stream.STDOUT)]
    s.on_data(b"z" * 2000)  # within the grown credit
    s.on_eof()
    assert await s.read_all() == b"z" * 2000 and await s.read() == b""


async def test_a_lagging_reader_gets_back_only_what_it_read() -> None:
    sent: list[bytes] = []
    s = InboundStream(7, Stream.STDOUT, 1000, sent.append)
    for _ in range(4):
        s.on_data(b"y" * 250)
    await s.read()
    await s.read()  # 500 read, 500 still buffered: no growth
    assert sent == [encode_frame(FrameType.WINDOW, 7, window_payload(500), stream=Stream.STDOUT)]
    with pytest.raises(AgentProtocolError, match="overran"):
        s.on_data(b"y" * 501)


class FakeSink:
    """A ``channel.Sink`` whose room the test decides."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.room = asyncio.Event()
        self.room.set()

    def feed_data(self, data: bytes) -> None:
        self.data.append(data)

    def has_room(self) -> bool:
        return self.room.is_set()

    async def wait_for_room(self) -> None:
        await self.room.wait()


async def test_deliver_pushes_from_the_callers_frame_and_grants_while_the_sink_has_room() -> None:
    sent: list[bytes] = []
    s = InboundStream(7, Stream.STDOUT, 1000, sent.append)
    s.on_data(b"early")
    sink = FakeSink()
    task = asyncio.ensure_future(s.deliver(sink))
    await asyncio.sleep(0)
    assert sink.data == [b"early"]
    s.on_data(b"x" * 495)  # no await in between: the chunk is in the sink when on_data returns
    assert sink.data[-1] == b"x" * 495
    assert sent == [encode_frame(FrameType.WINDOW, 7, window_payload(1500), stream=Stream.STDOUT)]
    s.on_eof()
    await asyncio.wait_for(task, 5)


async def test_deliver_holds_credit_back_while_the_sink_is_full() -> None:
    sent: list[bytes] = []
    s = InboundStream(7, Stream.STDOUT, 1000, sent.append)
    sink = FakeSink()
    task = asyncio.ensure_future(s.deliver(sink))
    await asyncio.sleep(0)
    sink.room.clear()
    s.on_data(b"y" * 600)
    await asyncio.sleep(0)
    assert sink.data == [b"y" * 600] and sent == [], "no credit while the sink's consumer lags"
    with pytest.raises(AgentProtocolError, match="overran"):
        s.on_data(b"y" * 401)  # the agent may not send past what was granted
    sink.room.set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert sent == [encode_frame(FrameType.WINDOW, 7, window_payload(600), stream=Stream.STDOUT)]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_deliver_raises_the_streams_error_after_the_data_before_it() -> None:
    s = InboundStream(7, Stream.STDOUT, 1000, lambda _f: None)
    sink = FakeSink()
    task = asyncio.ensure_future(s.deliver(sink))
    await asyncio.sleep(0)
    s.on_data(b"last words")
    s.on_error(AgentLostError("gone"))
    with pytest.raises(AgentLostError):
        await asyncio.wait_for(task, 5)
    assert sink.data == [b"last words"]


async def test_channel_writes_respect_the_agents_credit_and_max_frame() -> None:
    sent: list[bytes] = []
    retired: list[int] = []
    ch = Channel(3, 1000, peer_window=2500, peer_max_frame=1024, send=sent.append, retire=retired.append)
    await ch.write(b"a" * 2500)
    assert [len(f) - HEADER_SIZE for f in sent] == [1024, 1024, 452]
    ch.on_frame(FrameType.CLOSE, 0, b"", None)
    assert sent[-1] == encode_frame(FrameType.CLOSE, 3) and retired == [3]
    with pytest.raises(BrokenPipeError):
        await ch.write(b"more")
    with pytest.raises(AgentProtocolError):
        ch.on_frame(FrameType.DATA, 1, b"late", None)


class ScriptedTransport:
    """A transport replaying ``chunks`` from a fake agent, recording what the client writes; with ``push``, the
    chunks after the first read arrive through ``push``'s callbacks, one per loop iteration, as from a socket."""

    def __init__(self, chunks: list[bytes], *, push: bool = False) -> None:
        self.chunks = list(chunks)
        self.written: list[bytes] = []
        self.pushes = push

    async def read(self) -> bytes | None:
        await asyncio.sleep(0)
        return self.chunks.pop(0) if self.chunks else None

    def push(self, on_data: Callable[[bytes], None], on_end: Callable[[BaseException | None], None]) -> bool:
        if not self.pushes:
            return False
        loop = asyncio.get_running_loop()

        def step() -> None:
            if self.chunks:
                on_data(self.chunks.pop(0))
                loop.call_soon(step)
            else:
                on_end(None)

        loop.call_soon(step)
        return True

    async def write(self, data: bytes) -> None:
        self.written.append(data)

    def close_write(self) -> None:
        pass

    async def close(self) -> None:
        pass


AGENT_HELLO = Hello(VERSION, 65536, 65536, 8, 63).encode()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=8), st.booleans(), st.booleans())
async def test_any_agent_byte_stream_ends_the_session_with_a_typed_error(
    chunks: list[bytes], opened: bool, push: bool
) -> None:
    client = await Agent.connect(ScriptedTransport([AGENT_HELLO, *chunks], push=push))
    try:
        if opened:
            with contextlib.suppress(AgentLostError, AgentProtocolError, AgentOpError):
                await asyncio.wait_for(client.stat("/x"), 5)
        await asyncio.wait_for(client.closed.wait(), 5)
        with pytest.raises((AgentLostError, AgentProtocolError)):
            await client.info()
    finally:
        await client.close()


@pytest.mark.parametrize("push", [False, True])
async def test_the_client_answers_pings_and_times_its_own(push: bool) -> None:
    t = ScriptedTransport([AGENT_HELLO, encode_frame(FrameType.PING, 0, b"12345678")], push=push)
    client = await Agent.connect(t)
    await asyncio.wait_for(client.closed.wait(), 5)
    assert encode_frame(FrameType.PING, 0, b"12345678", flags=1) in b"".join(t.written)
    await client.close()
