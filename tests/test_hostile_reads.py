"""Hostile files read by the host (issue 17): a size cap at Modal's limit, a stall deadline, and no read of a device,
FIFO or socket — on every transport (the agent; without it the archive API for a root sandbox, a process for a
non-root one)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._agent.sessions import agent_enabled
from sandbox_core._fs.base import Failure, Sink
from sandbox_core._fs.limits import DEFAULT_MAX_READ_BYTES, bounded_read

from .conftest import BUSYBOX, BUSYBOX_USER, agent_path

TRANSPORTS = ["agent", "archive", "process"]


@pytest_asyncio.fixture(loop_scope="session", params=TRANSPORTS, scope="module")
async def hsb(request: pytest.FixtureRequest, app: sc.App) -> AsyncIterator[tuple[str, sc.Sandbox]]:
    """A sandbox served by the transport named by the parameter, with hostile files in /tmp/h."""
    kind: str = request.param
    if kind == "agent" and not agent_enabled():
        pytest.skip("the agent is disabled for this run (SANDBOX_CORE_AGENT=0)")
    mp = pytest.MonkeyPatch()
    if kind != "agent":
        mp.setenv("SANDBOX_CORE_AGENT", "0")
    image = BUSYBOX_USER if kind == "process" else BUSYBOX
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(image), timeout=300)
    try:
        assert agent_path(sb) == (kind == "agent")
        p = await sb.exec(
            "sh",
            "-c",
            "mkdir -p /tmp/h && cd /tmp/h && ln -s /dev/zero zero && ln -s zero zero2 && mkfifo fifo "
            "&& ln -s fifo fifolink && truncate -s 6G sparse && head -c 3000 /dev/zero > small && echo ok",
        )
        assert await p.stdout.read() == "ok\n", await p.stderr.read()
        yield kind, sb
    finally:
        await sb.terminate()
        mp.undo()


@pytest.mark.parametrize("path", ["/dev/zero", "/tmp/h/zero", "/tmp/h/zero2", "/tmp/h/fifo", "/tmp/h/fifolink"])
async def test_devices_and_fifos_are_refused_quickly(hsb: tuple[str, sc.Sandbox], path: str) -> None:
    _, sb = hsb
    t0 = time.monotonic()
    with pytest.raises(exc.SandboxFilesystemError) as info:
        await sb.filesystem.read_bytes(path)
    assert time.monotonic() - t0 < 10
    assert not isinstance(info.value, exc.SandboxFilesystemFileTooLargeError)


async def test_copy_to_local_of_a_device_leaves_no_file(hsb: tuple[str, sc.Sandbox], tmp_path: Path) -> None:
    _, sb = hsb
    target = tmp_path / "out"
    with pytest.raises(exc.SandboxFilesystemError):
        await sb.filesystem.copy_to_local("/tmp/h/zero", target)
    assert not os.listdir(tmp_path)


async def test_a_file_over_modals_limit_is_refused_before_any_data(hsb: tuple[str, sc.Sandbox], tmp_path: Path) -> None:
    _, sb = hsb
    assert DEFAULT_MAX_READ_BYTES < 6 * 1024**3
    t0 = time.monotonic()
    with pytest.raises(exc.SandboxFilesystemFileTooLargeError, match="exceeds the 5368709120 byte limit"):
        await sb.filesystem.read_bytes("/tmp/h/sparse")
    with pytest.raises(exc.SandboxFilesystemFileTooLargeError):
        await sb.filesystem.copy_to_local("/tmp/h/sparse", tmp_path / "out")
    assert time.monotonic() - t0 < 10
    assert not os.listdir(tmp_path)


async def test_the_limit_is_configurable(hsb: tuple[str, sc.Sandbox], monkeypatch: pytest.MonkeyPatch) -> None:
    _, sb = hsb
    monkeypatch.setenv("SANDBOX_CORE_MAX_READ_BYTES", "2999")
    with pytest.raises(exc.SandboxFilesystemFileTooLargeError, match="/tmp/h/small"):
        await sb.filesystem.read_bytes("/tmp/h/small")
    monkeypatch.setenv("SANDBOX_CORE_MAX_READ_BYTES", "3000")
    assert await sb.filesystem.read_bytes("/tmp/h/small") == bytes(3000)


# ------------------------------------------------------------------------------- the bounds, as pure logic


async def _collect(read: object, whole: list[bytes] | None = None) -> bytes:
    got = bytearray()

    async def sink(b: bytes) -> None:
        got.extend(b)

    await bounded_read(read, sink, whole)  # type: ignore[arg-type]
    return bytes(got)


async def test_a_read_that_stalls_fails_after_the_stall_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CORE_READ_STALL_SECONDS", "0.3")

    async def stalls(sink: Sink, whole: list[bytes] | None) -> None:
        await sink(b"x")
        await asyncio.Event().wait()

    t0 = time.monotonic()
    with pytest.raises(Failure, match=r"no data for 0\.3 s"):
        await _collect(stalls)
    assert time.monotonic() - t0 < 2


async def test_a_steady_read_is_not_a_stall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CORE_READ_STALL_SECONDS", "0.3")

    async def trickles(sink: Sink, whole: list[bytes] | None) -> None:
        for _ in range(6):
            await sink(b"x")
            await asyncio.sleep(0.1)

    assert await _collect(trickles) == b"xxxxxx"


async def test_a_file_that_grows_past_the_limit_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CORE_MAX_READ_BYTES", "1000")

    async def endless(sink: Sink, whole: list[bytes] | None) -> None:
        while True:
            await sink(bytes(100))

    with pytest.raises(Failure) as info:
        await _collect(endless)
    assert info.value.kind == "too_large"
