"""The engine stream layer against the real engine: half-close through aiohttp's private transport, frame demux."""

from __future__ import annotations

import asyncio

import pytest

import sandbox_core as sc
from sandbox_core._engine.api import STDERR, STDOUT
from sandbox_core._engine.docker.hijack import HijackedStream
from sandbox_core._engine.values import ExecSpec

from .conftest import container_id, docker_engine

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]


async def test_half_close_uses_the_private_aiohttp_transport_and_keeps_reading(own_sandbox: sc.Sandbox) -> None:
    """Fails if aiohttp's private ``set_parser``/``_drain_helper`` or ``ClientResponse.connection.transport``, which
    ``hijack`` relies on, change."""
    eng = await docker_engine()
    exec_id = await eng.execs.create(container_id(own_sandbox), ExecSpec(cmd=("sh", "-c", "tr a-z A-Z; echo done >&2")))
    stream = await eng.execs.start(exec_id, tty=False)
    assert isinstance(stream.hijacked, HijackedStream)
    try:
        transport = stream.hijacked.transport()
        assert transport is not None and transport.can_write_eof()
        await stream.write(b"hello")
        assert stream.close_write() is True
        frames = []
        while (frame := await stream.read_frame()) is not None:
            frames.append(frame)
    finally:
        await stream.close()
    assert b"".join(d for fd, d in frames if fd == STDOUT) == b"HELLO"
    assert b"".join(d for fd, d in frames if fd == STDERR) == b"done\n"
    assert await eng.execs.exit_code(exec_id) == 0
    assert stream.hijacked.transport() is None or stream.close_write() is False
    with pytest.raises(BrokenPipeError):
        await stream.write(b"late")


async def test_kill_marked_processes_kills_only_marked_ones(own_sandbox: sc.Sandbox) -> None:
    eng = await docker_engine()
    keep = await own_sandbox.exec("sleep", "1000")
    marked = await own_sandbox.exec("sh", "-c", "sleep 1001 & echo ready; sleep 1002", env={"MARK": "x1"})
    assert await marked.stdout.readline() == "ready\n"  # both sleeps are about to exist; sh is there
    await eng.execs.kill_marked(container_id(own_sandbox), "MARK", "x1")
    assert await marked.wait() == 137
    ps = await own_sandbox.exec("ps", "-o", "args")
    out = await ps.stdout.read()
    assert "sleep 1000" in out and "sleep 1001" not in out and "sleep 1002" not in out
    assert await keep.poll() is None


async def test_push_hands_every_chunk_to_the_receiver_then_one_end(own_sandbox: sc.Sandbox) -> None:
    """``ExecStream.push`` (the agent session's transport): after the screened first frame, the rest of the output
    arrives through the receiver's callbacks, nothing lost or reordered per fd, then ``end(None)`` once."""
    eng = await docker_engine()
    script = "echo first; head -c 3000000 /dev/zero; echo err >&2; head -c 1000 /dev/zero; echo done"
    exec_id = await eng.execs.create(container_id(own_sandbox), ExecSpec(cmd=("sh", "-c", script)))
    stream = await eng.execs.start(exec_id, tty=False)
    got: dict[int, bytearray] = {STDOUT: bytearray(), STDERR: bytearray()}
    ends: list[BaseException | None] = []
    ended = asyncio.Event()

    class Receiver:
        def chunk(self, fd: int, data: bytes) -> None:
            got[fd] += data

        def end(self, error: BaseException | None) -> None:
            ends.append(error)
            ended.set()

    try:
        assert stream.push(Receiver()) is False, "no push before the first frame was screened"
        first = await stream.read_frame()
        assert first is not None and first[0] == STDOUT
        got[STDOUT] += first[1]
        assert stream.push(Receiver()) is True
        await asyncio.wait_for(ended.wait(), 30)
    finally:
        await stream.close()
    assert ends == [None]
    assert bytes(got[STDOUT]) == b"first\n" + b"\0" * 3_001_000 + b"done\n"
    assert bytes(got[STDERR]) == b"err\n"
    assert await eng.execs.exit_code(exec_id) == 0
