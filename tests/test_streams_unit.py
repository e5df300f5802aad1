"""StreamReader/StreamWriter logic, fed by hand (no engine): decoding, lines, EOF, flow control, writer rules."""

from __future__ import annotations

import asyncio
import random
import re
from typing import Any

import pytest

from sandbox_core.exception import InvalidError
from sandbox_core.streams import UNREAD_LIMIT, StreamReader, StreamType, StreamWriter, _Chunks

pytestmark = pytest.mark.asyncio(loop_scope="session")


def fed(*chunks: bytes, text: bool = True, by_line: bool = False, eof: bool = True) -> StreamReader[Any]:
    r: StreamReader[Any] = StreamReader(file_descriptor=1, text=text, by_line=by_line)
    for c in chunks:
        r.feed_data(c)
    if eof:
        r.feed_eof()
    return r


async def items(r: StreamReader[Any]) -> list[Any]:
    return [x async for x in r]


# ------------------------------------------------------------------------------------------------ reading


async def test_line_mode_joins_partial_chunks() -> None:
    assert await items(fed(b"foo", b"bar\n", b"baz", by_line=True)) == ["foobar\n", "baz"]


async def test_line_mode_splits_multi_line_chunks() -> None:
    assert await items(fed(b"foo\nbar\nbaz", by_line=True)) == ["foo\n", "bar\n", "baz"]


async def test_line_mode_keeps_empty_lines() -> None:
    assert await items(fed(b"\n\n", b"a\n", b"\n", by_line=True)) == ["\n", "\n", "a\n", "\n"]


async def arriving(*chunks: bytes, text: bool = True) -> list[Any]:
    """Iterate a reader while ``chunks`` arrive one by one (the consumer runs between two chunks)."""
    r: StreamReader[Any] = StreamReader(file_descriptor=1, text=text)
    consumer = asyncio.ensure_future(items(r))
    for c in chunks:
        r.feed_data(c)
        for _ in range(3):
            await asyncio.sleep(0)
        assert not r._buf  # consumed before the next chunk
    r.feed_eof()
    return await consumer


async def test_utf8_split_across_chunks_is_reassembled_and_empty_decodes_not_yielded() -> None:
    assert await arriving(b"caf\xc3", b"\xa9") == ["caf", "é"]
    assert await arriving(b"\xe2", b"\x82", b"\xac!") == ["€!"]
    assert await arriving(b"caf\xc3", b"\xa9", text=False) == [b"caf\xc3", b"\xa9"]


async def test_line_split_is_on_bytes_before_decoding() -> None:
    assert await items(fed(b"\xc3", b"\xa9\n\xc3\xa9", by_line=True)) == ["é\n", "é"]


async def test_invalid_utf8_raises() -> None:
    with pytest.raises(UnicodeDecodeError):
        await fed(b"ok\xff").read()
    with pytest.raises(UnicodeDecodeError):
        await fed(b"truncated \xc3").read()  # a partial character at EOF is an error too


async def test_bytes_mode_yields_chunks_as_fed() -> None:
    chunks = [b"a", b"bc"]
    got = await items(fed(*chunks, text=False))
    assert got == chunks
    assert all(g is c for g, c in zip(got, chunks, strict=True))  # handed over as fed: no copy
    r = fed(text=False, eof=False)
    r.feed_data(b"a")
    assert await r.__anext__() == b"a"
    r.feed_data(b"b")
    r.feed_eof()
    assert await items(r) == [b"b"]


async def test_facade_step_hands_over_everything_buffered_in_bytes_mode() -> None:
    r = fed(b"a", b"bc", text=False, eof=False)
    assert await r._facade_anext() == b"abc"
    r.feed_data(b"d")
    r.feed_eof()
    assert await r._facade_anext() == b"d"
    with pytest.raises(StopAsyncIteration):
        await r._facade_anext()
    # text and line modes step exactly as ``async for`` does
    assert await fed(b"x\n", b"y\n", by_line=True)._facade_anext() == "x\n"


async def test_chunk_buffer_matches_a_bytearray() -> None:
    """The reader's chunk FIFO against the bytearray it replaced, over random feeds, takes and newline searches."""
    rng = random.Random(7)
    for _ in range(2000):
        ref, buf = bytearray(), _Chunks()
        for _ in range(30):
            op = rng.random()
            if op < 0.5:
                data = bytes(rng.choice(b"ab\n") for _ in range(rng.randint(1, 7)))
                ref += data
                buf.append(data)
            elif op < 0.8:
                n = rng.randint(-1, 12)
                want = bytes(ref) if n < 0 else bytes(ref[:n])
                del ref[: len(want)]
                assert buf.take(n) == want
            else:
                start = rng.randint(0, len(ref) + 1)
                assert buf.find(b"\n", start) == ref.find(b"\n", start)
            assert len(buf) == len(ref)
        assert b"".join(buf.take_chunks()) == bytes(ref)


async def test_read_all_then_empty() -> None:
    r = fed(b"one\n", b"two")
    assert await r.read() == "one\ntwo"
    assert await r.read() == ""
    assert r.at_eof()
    assert await items(r) == []


async def test_read_n_readline_readexactly() -> None:
    r = fed(b"abc\xc3\xa9def\nrest", text=True)
    assert await r.read(2) == "ab"
    assert await r.read(1) == "c"
    assert await r.read(1) == "é"  # two bytes give one character
    assert await r.readexactly(3) == "def"
    assert await r.readline() == "\n"
    with pytest.raises(asyncio.IncompleteReadError) as info:
        await r.readexactly(5)
    assert info.value.partial == "rest"  # type: ignore[comparison-overlap]
    assert info.value.expected == 5
    b = fed(b"0123456789", text=False)
    assert await b.readexactly(4) == b"0123"
    assert await b.read(3) == b"456"
    assert await b.read() == b"789"
    assert await b.read(0) == b""


async def test_read_waits_for_data_and_eof() -> None:
    r = fed(text=True, eof=False)
    task = asyncio.ensure_future(r.read())
    await asyncio.sleep(0)
    r.feed_data(b"x")
    await asyncio.sleep(0)
    assert not task.done()  # read() waits for EOF
    r.feed_eof()
    assert await task == "x"


async def test_exception_is_delivered_after_buffered_data() -> None:
    r = fed(b"kept", text=False, eof=False)
    r.set_exception(ConnectionError("gone"))
    assert await r.read(10) == b"kept"
    with pytest.raises(ConnectionError, match="gone"):
        await r.read(10)


async def test_lazy_source_starts_on_first_read_only() -> None:
    started: list[int] = []
    r: StreamReader[str] = StreamReader(file_descriptor=2, start=lambda: started.append(1))
    r.__aiter__()
    assert started == []  # iteration setup may run outside the loop: nothing starts there
    r.feed_eof()
    assert await r.read() == ""
    assert await r.read() == ""
    assert started == [1]
    assert r.file_descriptor == 2


async def test_by_line_requires_text() -> None:
    with pytest.raises(ValueError, match="line-buffering is only supported when text=True"):
        StreamReader(file_descriptor=1, text=False, by_line=True)


async def test_devnull_reader_raises_value_error_everywhere() -> None:
    r: StreamReader[str] = StreamReader(file_descriptor=1, stream_type=StreamType.DEVNULL)
    r.feed_data(b"dropped")
    for call in (r.read, r.readline, r.__anext__, r.aclose):
        with pytest.raises(ValueError, match=r"configured with StreamType\.DEVNULL"):
            await call()
    with pytest.raises(ValueError, match="__aiter__"):
        r.__aiter__()


async def test_stdout_reader_prints_and_refuses_reads(capsys: pytest.CaptureFixture[str]) -> None:
    r: StreamReader[str] = StreamReader(file_descriptor=1, stream_type=StreamType.STDOUT)
    r.feed_data(b"caf\xc3")
    r.feed_data(b"\xa9\n")
    r.feed_eof()
    assert capsys.readouterr().out == "café\n"
    with pytest.raises(InvalidError, match=re.escape("Output can only be retrieved using the PIPE stream type.")):
        await r.read()


async def test_stream_type_values_and_repr() -> None:
    assert (StreamType.DEVNULL.value, StreamType.PIPE.value, StreamType.STDOUT.value) == (-3, -1, -2)
    assert repr(StreamType.PIPE) == "sandbox_core.streams.StreamType.PIPE"


# ------------------------------------------------------------------------------------------- flow control


async def _feeder_blocked(r: StreamReader[Any]) -> asyncio.Future[None]:
    fut = asyncio.ensure_future(r._wait_for_space())
    await asyncio.sleep(0)
    return fut


async def test_feeder_waits_while_a_read_reader_is_over_its_limit() -> None:
    r: StreamReader[bytes] = StreamReader(file_descriptor=1, text=False, limit=10)
    r.feed_data(b"x")
    assert await r.read(1) == b"x"  # now being read: the small limit applies
    r.feed_data(b"y" * 11)
    fut = await _feeder_blocked(r)
    assert not fut.done()
    await r.read(5)
    await asyncio.sleep(0)
    assert fut.done()


async def test_unread_reader_has_a_larger_allowance_lifted_by_wait() -> None:
    r: StreamReader[bytes] = StreamReader(file_descriptor=1, text=False, limit=10)
    r.feed_data(b"y" * 1000)
    assert not r._over_limit()  # never read: up to UNREAD_LIMIT
    r.feed_data(b"z" * UNREAD_LIMIT)
    fut = await _feeder_blocked(r)
    assert not fut.done()
    r.release_unread()  # what ContainerProcess.wait() does
    await asyncio.sleep(0)
    assert fut.done()


async def test_aclose_drops_output_and_frees_the_feeder() -> None:
    r: StreamReader[bytes] = StreamReader(file_descriptor=1, text=False, limit=1)
    r.feed_data(b"a")
    await r.read(1)
    r.feed_data(b"bbb")
    fut = await _feeder_blocked(r)
    await r.aclose()
    await asyncio.sleep(0)
    assert fut.done()
    r.feed_data(b"more")
    assert await r.read() == b""


# ------------------------------------------------------------------------------------------------- writer


class FakeSink:
    def __init__(self, fail: int = 0) -> None:
        self.calls: list[tuple[bytes, bool]] = []
        self.fail = fail

    async def __call__(self, data: bytes, eof: bool) -> None:
        if self.fail:
            self.fail -= 1
            raise ConnectionError("try again")
        self.calls.append((data, eof))


async def test_writer_buffers_until_drain_and_sends_eof_with_the_data() -> None:
    sink = FakeSink()
    w = StreamWriter(sink, limit=100)
    w.write("é")
    w.writelines([b"a", bytearray(b"b"), memoryview(b"c")])
    assert sink.calls == []
    w.write_eof()
    assert w.is_closing()
    await w.drain()
    assert sink.calls == [("é".encode() + b"abc", True)]
    await w.drain()  # nothing more to send
    assert len(sink.calls) == 1


async def test_writer_errors() -> None:
    w = StreamWriter(FakeSink(), limit=4)
    with pytest.raises(TypeError, match="data argument must be a bytes-like object, not int"):
        w.write(3)  # type: ignore[arg-type]
    w.write(b"1234")
    with pytest.raises(BufferError, match=re.escape("Buffer size exceed limit. Call drain to flush the buffer.")):
        w.write(b"5")
    w.write_eof()
    with pytest.raises(ValueError, match=re.escape("Stdin is closed. Cannot write to it.")):
        w.write(b"")


async def test_failed_drain_keeps_the_buffer_for_a_retry() -> None:
    sink = FakeSink(fail=1)
    w = StreamWriter(sink, limit=10)
    w.write(b"abc")
    with pytest.raises(ConnectionError):
        await w.drain()
    await w.drain()
    assert sink.calls == [(b"abc", False)]


async def test_always_send_writer_calls_the_sink_even_when_empty() -> None:
    sink = FakeSink()
    w = StreamWriter(sink, limit=10, always_send=True)
    await w.drain()
    assert sink.calls == [(b"", False)]


async def test_wait_raises_a_read_readers_limit_to_the_unread_allowance() -> None:
    r: StreamReader[bytes] = StreamReader(file_descriptor=1, text=False, limit=10)
    r.feed_data(b"x")
    await r.read(1)
    r.feed_data(b"y" * 100)
    assert r._over_limit()
    r.release_unread()
    assert not r._over_limit()
    r.feed_data(b"z" * UNREAD_LIMIT)
    assert r._over_limit()


async def test_a_line_longer_than_the_limit_does_not_deadlock() -> None:
    r: StreamReader[str] = StreamReader(file_descriptor=1, by_line=True, limit=10)
    r.feed_data(b"short\n")
    assert await r.readline() == "short\n"
    line = asyncio.ensure_future(r.readline())
    r.feed_data(b"x" * 25)
    await asyncio.sleep(0)
    assert not r._over_limit()  # the blocked readline needs more: the feeder goes on
    fut = await _feeder_blocked(r)
    assert fut.done()
    r.feed_data(b"y\n")
    assert await line == "x" * 25 + "y\n"


async def test_two_concurrent_readers_are_refused() -> None:
    r: StreamReader[str] = StreamReader(file_descriptor=1)
    first = asyncio.ensure_future(r.read())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="already waiting"):
        await r.readline()
    r.feed_data(b"ok")
    r.feed_eof()
    assert await first == "ok"
