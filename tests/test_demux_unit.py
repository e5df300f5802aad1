"""The engine layer's demultiplexer of exec/attach streams (``_engine/docker/demux.py``), as pure logic: any split of
the engine's frames gives each fd's bytes back in order, coalesced per read; the first frame comes out whole; the
queue pauses the socket while full and hands everything to a receiver once one is set."""

from __future__ import annotations

import asyncio
import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sandbox_core._engine.docker.demux import FIRST_FRAME_LIMIT, ChunkQueue, Demuxer

_frames = st.lists(st.tuples(st.sampled_from([1, 2]), st.binary(max_size=300)), max_size=12)


def encode(frames: list[tuple[int, bytes]]) -> bytes:
    return b"".join(struct.pack(">BxxxL", fd, len(data)) + data for fd, data in frames)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def per_fd(chunks: list[tuple[int, bytes]]) -> dict[int, bytes]:
    out = {1: b"", 2: b""}
    for fd, data in chunks:
        out[fd] += data
    return out


@settings(max_examples=300, deadline=None)
@given(_frames, st.lists(st.integers(min_value=0), max_size=10))
def test_any_split_gives_each_fds_bytes_back_in_order(frames: list[tuple[int, bytes]], cuts: list[int]) -> None:
    d = Demuxer()
    chunks = [c for piece in split(encode(frames), cuts) for c in d.feed(piece)]
    assert per_fd(chunks) == per_fd(frames)
    assert all(data for _, data in chunks), "no empty chunk is handed out"

    # The interleaving of fds is kept: the sequence of fds, runs collapsed, is the frames' own.
    def runs(seq: list[tuple[int, bytes]]) -> list[int]:
        out: list[int] = []
        for fd, data in seq:
            if data and (not out or out[-1] != fd):
                out.append(fd)
        return out

    assert runs(chunks) == runs(frames)


@settings(max_examples=200, deadline=None)
@given(_frames.filter(lambda f: bool(f) and bool(f[0][1])), st.lists(st.integers(min_value=0), max_size=10))
def test_the_first_frame_comes_out_whole_and_alone(frames: list[tuple[int, bytes]], cuts: list[int]) -> None:
    d = Demuxer()
    chunks = [c for piece in split(encode(frames), cuts) for c in d.feed(piece)]
    assert chunks[0] == frames[0]


def test_one_read_of_many_frames_is_one_chunk_per_run_of_an_fd() -> None:
    d = Demuxer()
    d.feed(encode([(1, b"first")]))
    data = encode([(1, b"a" * 4096)] * 10 + [(2, b"err")] + [(1, b"b" * 4096)] * 3)
    assert d.feed(data) == [(1, b"a" * 40960), (2, b"err"), (1, b"b" * 12288)]


def test_a_header_split_byte_by_byte_and_a_long_first_frame() -> None:
    d = Demuxer()
    big = bytes(range(256)) * ((FIRST_FRAME_LIMIT * 2) // 256)
    data = encode([(2, big), (1, b"tail")])
    chunks = [c for i in range(len(data)) for c in d.feed(data[i : i + 1])]
    assert per_fd(chunks) == {1: b"tail", 2: big}
    assert chunks[0] == (2, big[:FIRST_FRAME_LIMIT])  # held no longer than its limit


class FakeProtocol:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pause_reading(self) -> None:
        self.calls.append("pause")

    def resume_reading(self) -> None:
        self.calls.append("resume")


class Recorder:
    def __init__(self) -> None:
        self.chunks: list[tuple[int, bytes]] = []
        self.ends: list[BaseException | None] = []

    def chunk(self, fd: int, data: bytes) -> None:
        self.chunks.append((fd, data))

    def end(self, error: BaseException | None) -> None:
        self.ends.append(error)


@pytest.mark.asyncio(loop_scope="function")
async def test_the_queue_pauses_the_socket_while_full_and_resumes_as_it_is_read() -> None:
    proto = FakeProtocol()
    q = ChunkQueue(proto, tty=True, limit=10)
    q.feed_data(b"12345")
    assert proto.calls == []
    q.feed_data(b"67890")
    assert proto.calls == ["pause"]
    q.feed_data(b"x")  # what the socket had already delivered is kept
    assert proto.calls == ["pause"]
    assert await q.read() == (1, b"12345")
    assert proto.calls == ["pause", "resume"]
    assert await q.read() == (1, b"67890")
    q.feed_eof()
    assert await q.read() == (1, b"x")
    assert await q.read() is None
    assert proto.calls == ["pause", "resume"]


@pytest.mark.asyncio(loop_scope="function")
async def test_an_error_reaches_the_reader_after_the_data_before_it() -> None:
    q = ChunkQueue(FakeProtocol(), tty=True)
    reader = asyncio.ensure_future(q.read())
    await asyncio.sleep(0)
    q.feed_data(b"data")
    assert await reader == (1, b"data")
    q.feed_data(b"more")
    q.set_exception(ConnectionResetError("gone"))
    assert await q.read() == (1, b"more")
    with pytest.raises(ConnectionResetError):
        await q.read()


@pytest.mark.asyncio(loop_scope="function")
async def test_a_receiver_gets_what_was_queued_then_everything_then_one_end() -> None:
    proto = FakeProtocol()
    q = ChunkQueue(proto, tty=False, limit=4)
    q.feed_data(encode([(1, b"queued")]))
    assert proto.calls == ["pause"]
    r = Recorder()
    q.set_receiver(r)
    assert r.chunks == [(1, b"queued")] and proto.calls == ["pause", "resume"]
    q.feed_data(encode([(2, b"e"), (1, b"o")] * 2))
    assert proto.calls == ["pause", "resume"], "a receiver is its own flow control"
    q.feed_eof()
    q.set_exception(ConnectionResetError("late"))
    assert r.chunks[1:] == [(2, b"e"), (1, b"o"), (2, b"e"), (1, b"o")]
    assert r.ends == [None]


@pytest.mark.asyncio(loop_scope="function")
async def test_a_receiver_set_after_the_end_is_ended_at_once() -> None:
    q = ChunkQueue(FakeProtocol(), tty=True)
    q.feed_data(b"last")
    error = ConnectionResetError("gone")
    q.set_exception(error)
    r = Recorder()
    q.set_receiver(r)
    assert r.chunks == [(1, b"last")] and r.ends == [error]
