"""Writes under in-sandbox mounts land where the sandbox sees them or fail typed (issue 17): the engine's archive
API acts beneath mounts (``/dev/shm``, ``/proc``, ``/sys``, ``/dev``), so such paths go to a process in the
sandbox; through the agent they are written in the sandbox anyway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._agent.sessions import agent_enabled
from sandbox_core._fs import mounts

from .conftest import BUSYBOX, NOSHELL, agent_path

pytestmark = pytest.mark.usefixtures("engine")


@pytest_asyncio.fixture(loop_scope="session", params=["agent", "archive"], scope="module")
async def msb(request: pytest.FixtureRequest, app: sc.App) -> AsyncIterator[sc.Sandbox]:
    """A root busybox sandbox, through its agent or (agent disabled) the archive transport for ordinary paths."""
    if request.param == "agent" and not agent_enabled():
        pytest.skip("the agent is disabled for this run (SANDBOX_CORE_AGENT=0)")
    mp = pytest.MonkeyPatch()
    if request.param == "archive":
        mp.setenv("SANDBOX_CORE_AGENT", "0")
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), timeout=300)
    try:
        assert agent_path(sb) == (request.param == "agent")
        yield sb
    finally:
        await sb.terminate()
        mp.undo()


async def seen_inside(sb: sc.Sandbox, path: str) -> str:
    p = await sb.exec("sh", "-c", f"cat {path} 2>/dev/null || echo MISSING")
    return await p.stdout.read()


async def test_a_write_under_dev_shm_lands_in_the_sandbox(msb: sc.Sandbox) -> None:
    await msb.filesystem.write_text("shm data", "/dev/shm/a")
    assert await seen_inside(msb, "/dev/shm/a") == "shm data"
    assert await msb.filesystem.read_text("/dev/shm/a") == "shm data"
    await msb.filesystem.make_directory("/dev/shm/d")
    await msb.filesystem.write_text("deep", "/dev/shm/d/b")
    assert await seen_inside(msb, "/dev/shm/d/b") == "deep"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/dev/full", "No space left on device"),
        ("/proc/self/x", "symbolic link"),  # /proc/self links to the writer's own /proc/<pid>
        ("/proc/x", "No such file or directory|nonexistent directory"),
        ("/sys/kernel/x", "Read-only file system"),
    ],
)
async def test_a_write_the_mount_cannot_take_fails_typed(msb: sc.Sandbox, path: str, reason: str) -> None:
    with pytest.raises(exc.SandboxFilesystemError, match=reason):
        await msb.filesystem.write_text("x", path)
    if path == "/dev/full":
        # still the device (reading it would never end): the archive API would have put a file in its place
        p = await msb.exec("sh", "-c", "[ -c /dev/full ] && echo DEVICE")
        assert await p.stdout.read() == "DEVICE\n"
        return
    with pytest.raises(exc.SandboxFilesystemNotFoundError):
        await msb.filesystem.stat(path)  # no phantom file in the engine's view either
    assert "MISSING" in await seen_inside(msb, path)


async def test_a_write_elsewhere_still_lands(msb: sc.Sandbox) -> None:
    await msb.filesystem.write_text("plain", "/var/plain-under-mounts")
    assert await seen_inside(msb, "/var/plain-under-mounts") == "plain"


async def test_without_a_shell_a_write_under_a_mount_is_refused(app: sc.App, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine path with no ``/bin/sh`` to write from: refused, typed, rather than written beneath the mount."""
    monkeypatch.setenv("SANDBOX_CORE_AGENT", "0")
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(NOSHELL), timeout=120)
    try:
        for path in ("/dev/shm/x", "/proc/x", "/dev/full"):
            with pytest.raises(exc.InvalidError, match="under a mount of the sandbox"):
                await sb.filesystem.write_text("x", path)
        with pytest.raises(exc.InvalidError, match="under a mount of the sandbox"):
            await sb.filesystem.make_directory("/dev/shm/d")
        await sb.filesystem.write_text("plain", "/var/plain")  # elsewhere the archive API still serves
        assert await sb.filesystem.read_text("/var/plain") == "plain"
    finally:
        await sb.terminate()


def test_mountinfo_points_are_unescaped_and_matched_by_component() -> None:
    text = (
        b"600 500 0:50 / / rw - overlay overlay rw\n"
        b"601 600 0:51 / /proc rw - proc proc rw\n"
        b"602 600 0:52 / /data\\040dir rw - tmpfs tmpfs rw\n"
        b"603 600 0:53 / /dev/shm rw - tmpfs shm rw\n"
    )
    points = frozenset(mounts.parse_mountinfo(text))
    assert points == {b"/proc", b"/data dir", b"/dev/shm"}
    assert mounts.under(b"/data dir/f", points) and mounts.under(b"/dev/shm", points)
    assert not mounts.under(b"/data dirx/f", points) and not mounts.under(b"/dev/null", points)
