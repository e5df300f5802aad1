"""Sandboxes under gVisor (``runtime="gvisor"``, the engine's ``runsc``): it is really gVisor, the caps hold there, and
the known traps are handled — a file the engine overwrites from outside stays stale inside (so the filesystem API
writes through a process), and the engine's process list names host processes that are not the sandbox's (so an
exec timeout kills from inside). Skipped when the engine offers no ``runsc``."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import pytest

import sandbox_core as sc
from sandbox_core._engine import labels as L

from .conftest import BUSYBOX, docker_inspect

pytestmark = pytest.mark.usefixtures("engine")


def _engine_has_runsc() -> bool:
    out = subprocess.run(["docker", "info", "--format", "{{json .Runtimes}}"], capture_output=True, text=True)
    return '"runsc"' in out.stdout


requires_runsc = pytest.mark.skipif(not _engine_has_runsc(), reason="the engine offers no runsc runtime")


async def output(sb: sc.Sandbox, *cmd: str) -> tuple[int, str]:
    p = await sb.exec(*cmd)
    out = await p.stdout.read()
    return await p.wait(), out


@requires_runsc
async def test_a_gvisor_sandbox_runs_under_gvisor_with_its_caps(app: sc.App) -> None:
    sb = await sc.Sandbox.create(
        app=app, image=sc.Image.from_registry(BUSYBOX), runtime="gvisor", limits=sc.Limits(shm_mib=8, pids=128)
    )
    try:
        info = docker_inspect(sb)
        assert info["HostConfig"]["Runtime"] == "runsc"
        assert info["Config"]["Labels"][L.RUNTIME] == "gvisor"
        code, out = await output(sb, "dmesg")
        assert code == 0 and "gVisor" in out  # the user-space kernel's boot messages, not the host's
        _, out = await output(sb, "sh", "-c", "dd if=/dev/zero of=/dev/shm/f bs=1M count=16 2>&1; echo rc=$?")
        assert "rc=1" in out  # /dev/shm is full at 8 MiB
        assert await sb.poll() is None  # and the sandbox is still there
        code, out = await output(sb, "sh", "-c", "grep ' /tmp ' /proc/mounts || echo none")
        assert code == 0 and "size=" not in out, out  # no sized /tmp: a full one would crash gVisor's kernel
        assert await output(sb, "sh", "-c", "ulimit -n") == (0, "4096\n")
    finally:
        await sb.terminate()


@requires_runsc
async def test_gvisor_sees_files_the_api_overwrites(app: sc.App) -> None:
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), runtime="gvisor")
    try:
        fs = sb.filesystem
        await fs.write_text("first", "/srv/f.txt")
        assert await output(sb, "cat", "/srv/f.txt") == (0, "first")  # the sandbox has read it: gVisor caches it
        await fs.write_text("second, longer", "/srv/f.txt")
        assert await output(sb, "cat", "/srv/f.txt") == (0, "second, longer")
        assert await fs.read_text("/srv/f.txt") == "second, longer"
        # /tmp is gVisor's own tmpfs, which the engine cannot reach: the API goes through a process there too.
        await fs.write_text("in tmp", "/tmp/t.txt")
        assert await output(sb, "cat", "/tmp/t.txt") == (0, "in tmp")
        assert await fs.read_text("/tmp/t.txt") == "in tmp"
    finally:
        await sb.terminate()


@requires_runsc
async def test_gvisor_exec_timeout_kills_the_command_inside(app: sc.App) -> None:
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), runtime="gvisor")
    try:
        p = await sb.exec("sh", "-c", "sleep 1000 & sleep 1001", timeout=1)
        assert await p.wait() == -1
        code, out = await output(sb, "ps", "-o", "args")
        assert code == 0 and "sleep 100" not in out, out
        assert await sb.poll() is None
    finally:
        await sb.terminate()


@requires_runsc
async def test_an_exec_ends_when_gvisors_kernel_dies(app: sc.App) -> None:
    """Killing the sandbox's kernel (runsc's sentry, a host process of this container) leaves the engine's exec
    stream open: the process must still end, with the sandbox."""
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), runtime="gvisor")
    try:
        full_id = docker_inspect(sb)["Id"]
        p = await sb.exec("sh", "-c", "while :; do echo tick; sleep 0.1; done")
        assert await p.stdout.readline() == "tick\n"
        found = subprocess.run(["pgrep", "-f", f"runsc-sandbox.*{full_id}"], capture_output=True, text=True)
        sentries = [int(pid) for pid in found.stdout.split()]
        assert sentries, "no runsc sandbox process for the container"
        for pid in sentries:
            os.kill(pid, signal.SIGKILL)
        async with asyncio.timeout(20):
            await p.stdout.read()
            assert await p.wait() == 137
            # and what comes next learns that the sandbox finished (through the agent too, whose session's
            # exec stream the engine keeps open as well)
            with pytest.raises(sc.exception.ConflictError, match="Sandbox already finished"):
                await sb.exec("true")
            with pytest.raises(sc.exception.NotFoundError, match="The Sandbox is unavailable"):
                await sb.filesystem.read_text("/etc/hostname")
    finally:
        await sb.terminate()


async def test_runtime_runc_is_the_engine_default(own_sandbox: sc.Sandbox) -> None:
    info = docker_inspect(own_sandbox)
    assert info["HostConfig"]["Runtime"] == "runc" and L.RUNTIME not in info["Config"]["Labels"]
