"""The engine stream layer against the real engine: half-close through aiohttp's private transport, frame demux."""

from __future__ import annotations

import pytest

import sandbox_core as sc
from sandbox_core._engine.api import STDERR, STDOUT
from sandbox_core._engine.docker.hijack import HijackedStream, transport_of
from sandbox_core._engine.values import ExecSpec

from .conftest import container_id, docker_engine

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]


async def test_half_close_uses_the_private_aiohttp_transport_and_keeps_reading(own_sandbox: sc.Sandbox) -> None:
    """Fails if aiodocker/aiohttp move ``Stream._resp.connection.transport`` (hijack.transport_of)."""
    eng = await docker_engine()
    exec_id = await eng.execs.create(container_id(own_sandbox), ExecSpec(cmd=("sh", "-c", "tr a-z A-Z; echo done >&2")))
    stream = await eng.execs.start(exec_id, tty=False)
    assert isinstance(stream.hijacked, HijackedStream)
    try:
        transport = transport_of(stream.hijacked.raw)
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
    assert transport_of(stream.hijacked.raw) is None or stream.close_write() is False
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
