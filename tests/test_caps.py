"""Hard caps against the real engine: the defaults every sandbox gets, per-sandbox ``Limits`` and process-wide
environment variables, what a program inside meets at each cap, and how a cap that ends a sandbox or an exec says
so (``end_reason``), including the supervisor's disk watchdog."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._diskwatch import DiskWatch, Measured, next_interval
from sandbox_core._engine import get_engine
from sandbox_core._engine import labels as L

from .conftest import BUSYBOX, container_id, docker_inspect

pytestmark = pytest.mark.usefixtures("engine")

MIB = 1 << 20
#: Why the end reason cannot say OOM on Podman 4.3 (the memory cap itself holds there: the process is killed, 137).
PODMAN_NO_OOM_EVENT = "Podman 4.3 emits no oom event (and inspect's OOMKilled stays false): the end reason says EXITED"
#: A shell that grows its memory until the kernel stops it (200 MB in one variable).
HOG = 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'


async def run_to_end(app: sc.App, script: str, **kw: object) -> sc.Sandbox:
    """Run ``sh -c script`` as the entrypoint to its end (never raising for how it ended); returns the handle."""
    sb = await sc.Sandbox.create("sh", "-c", script, app=app, image=sc.Image.from_registry(BUSYBOX), **kw)
    try:
        await asyncio.wait_for(sb.wait(raise_on_termination=False), 60)
    finally:
        await sb.terminate()
    return sb


def nofile(host: dict[str, Any]) -> tuple[int, int] | None:
    """(soft, hard) of the ``nofile`` entry of an inspected ``HostConfig.Ulimits`` (Docker names it ``nofile``,
    Podman ``RLIMIT_NOFILE`` and lists its default limits beside it), None without one."""
    for u in host.get("Ulimits") or ():
        if u["Name"].lower().removeprefix("rlimit_") == "nofile":
            return u["Soft"], u["Hard"]
    return None


async def output(sb: sc.Sandbox, *cmd: str) -> tuple[int, str]:
    p = await sb.exec(*cmd)
    out = await p.stdout.read()
    return await p.wait(), out


# -------------------------------------------------------------------------------------------------- defaults


async def test_every_sandbox_is_capped_by_default(own_sandbox: sc.Sandbox) -> None:
    info = docker_inspect(own_sandbox)
    host = info["HostConfig"]
    assert host["Memory"] == host["MemorySwap"] == 4096 * MIB  # a hard limit, and no swap beyond it
    assert host["PidsLimit"] == 4096
    assert host["ShmSize"] == 64 * MIB
    assert nofile(host) == (4096, 4096)
    assert list(host["Tmpfs"]) == ["/tmp"]  # (Podman appends its own options: rprivate,tmpcopyup)
    assert host["Tmpfs"]["/tmp"].split(",")[:6] == ["rw", "exec", "nosuid", "nodev", "mode=1777", f"size={1024 * MIB}"]
    assert info["Config"]["Labels"][L.DISK_LIMIT] == str(10240 * MIB)
    # ... as the sandbox's processes see them
    code, out = await output(
        own_sandbox, "sh", "-c", "ulimit -n; ulimit -Hn; df -k /tmp /dev/shm | awk 'NR>1 {print $1, $2}'"
    )
    assert code == 0
    assert out.split("\n")[:4] == ["4096", "4096", f"tmpfs {1024 * 1024}", f"shm {64 * 1024}"]


async def test_tmp_is_an_executable_tmpfs_the_filesystem_api_reaches(own_sandbox: sc.Sandbox) -> None:
    fs = own_sandbox.filesystem
    await fs.write_text("#!/bin/sh\necho ran-from-tmp\n", "/tmp/caps/run.sh")
    assert await output(own_sandbox, "sh", "-c", "chmod +x /tmp/caps/run.sh && /tmp/caps/run.sh") == (
        0,
        "ran-from-tmp\n",
    )
    # what a process writes there, the API reads; what the API writes, a process sees
    assert await output(own_sandbox, "sh", "-c", "echo inside > /tmp/caps/in.txt") == (0, "")
    assert await fs.read_text("/tmp/caps/in.txt") == "inside\n"
    assert (await fs.stat("/tmp/caps/in.txt")).size == 7
    await fs.make_directory("/tmp/caps/d")
    assert await output(own_sandbox, "test", "-d", "/tmp/caps/d") == (0, "")


# ------------------------------------------------------------------------------------- configuring the caps


async def test_limits_per_sandbox(app: sc.App) -> None:
    limits = sc.Limits(memory_mib=256, pids=64, disk_mib=0, tmp_mib=16, shm_mib=8, nofile=128)
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), limits=limits)
    try:
        info = docker_inspect(sb)
        host = info["HostConfig"]
        assert host["Memory"] == host["MemorySwap"] == 256 * MIB
        assert (host["PidsLimit"], host["ShmSize"]) == (64, 8 * MIB)
        assert nofile(host) == (128, 128)
        assert f"size={16 * MIB}" in host["Tmpfs"]["/tmp"].split(",")
        assert L.DISK_LIMIT not in info["Config"]["Labels"]  # disk_mib=0: no watchdog
        # /tmp is full at 16 MiB: the writer gets ENOSPC, the sandbox runs on
        _, out = await output(sb, "sh", "-c", "dd if=/dev/zero of=/tmp/f bs=1M count=32 2>&1; echo rc=$?")
        assert "No space left on device" in out and "rc=1" in out
        assert await sb.poll() is None
    finally:
        await sb.terminate()


async def test_caps_off_and_process_wide_defaults(app: sc.App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CORE_PIDS_LIMIT", "100")
    monkeypatch.setenv("SANDBOX_CORE_NOFILE", "0")
    sb = await sc.Sandbox.create(
        app=app, image=sc.Image.from_registry(BUSYBOX), limits=sc.Limits(memory_mib=0, tmp_mib=0)
    )
    try:
        host = docker_inspect(sb)["HostConfig"]
        assert host["PidsLimit"] == 100  # the environment's default
        assert not host["Memory"] and not host.get("Tmpfs")  # off: the engine's own
        assert nofile(host) != (4096, 4096)  # the engine's own (Docker lists none, Podman its default)
        # /tmp on the writable layer: the archive API serves it again
        await sb.filesystem.write_text("on disk", "/tmp/d.txt")
        assert await output(sb, "cat", "/tmp/d.txt") == (0, "on disk")
    finally:
        await sb.terminate()


async def test_a_memory_request_above_the_default_cap_is_honoured(app: sc.App) -> None:
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), memory=6000)
    try:
        host = docker_inspect(sb)["HostConfig"]
        assert host["MemoryReservation"] == 6000 * MIB
        assert host["Memory"] == host["MemorySwap"] == 6000 * MIB
    finally:
        await sb.terminate()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limits": {"pids": 5}}, "limits must be a sandbox_core.Limits"),
        ({"pids_limit": 0}, "pids_limit must be a positive integer"),
        ({"pids_limit": 10, "limits": sc.Limits(pids=20)}, "pids_limit=10 contradicts limits.pids=20"),
        ({"runtime": "kata"}, r"runtime must be one of \['gvisor', 'runc'\], got 'kata'"),
    ],
)
async def test_bad_cap_arguments_are_refused_before_anything_is_created(
    app: sc.App, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(exc.InvalidError, match=message):
        await sc.Sandbox.create(app=app, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("SANDBOX_CORE_MEMORY_LIMIT_MIB", "lots", "SANDBOX_CORE_MEMORY_LIMIT_MIB must be a whole number"),
        ("SANDBOX_CORE_NOFILE", str(1 << 21), "SANDBOX_CORE_NOFILE must be 0 .* within bounds"),
        ("SANDBOX_CORE_RUNTIME", "kata", "SANDBOX_CORE_RUNTIME must be one of"),
    ],
)
async def test_bad_process_wide_defaults_are_refused(
    app: sc.App, monkeypatch: pytest.MonkeyPatch, var: str, value: str, message: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(exc.InvalidError, match=message):
        await sc.Sandbox.create(app=app)


# ------------------------------------------------------------------------------- the user learns which cap


@pytest.mark.podman_differs(PODMAN_NO_OOM_EVENT)
async def test_an_oom_killed_entrypoint_says_so(app: sc.App) -> None:
    sb = await run_to_end(app, HOG, memory=(32, 64))
    assert (sb.returncode, sb.end_reason) == (137, sc.EndReason.OOM)
    # the same code without an OOM kill is a plain exit
    plain = await run_to_end(app, "kill -9 $$")
    assert (plain.returncode, plain.end_reason) == (137, sc.EndReason.EXITED)
    # and from another handle too
    again = await sc.Sandbox.from_id(sb.object_id)
    assert again.end_reason == sc.EndReason.OOM


@pytest.mark.podman_differs(PODMAN_NO_OOM_EVENT)
async def test_an_oom_killed_exec_says_so(app: sc.App) -> None:
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), memory=(32, 64))
    try:
        p = await sb.exec("sh", "-c", HOG)
        assert p.end_reason is None
        assert await p.wait() == 137
        assert p.end_reason == sc.EndReason.OOM
        assert await sb.poll() is None  # the sandbox runs on
        q = await sb.exec("sh", "-c", "kill -9 $$")
        assert (await q.wait(), q.end_reason) == (137, sc.EndReason.EXITED)
        r = await sb.exec("sleep", "10", timeout=1)
        assert (await r.wait(), r.end_reason) == (-1, sc.EndReason.TIMEOUT)
    finally:
        await sb.terminate()


async def test_the_disk_watchdog_stops_a_sandbox_past_its_cap(app: sc.App) -> None:
    sb = await sc.Sandbox.create(
        "sh",
        "-c",
        "dd if=/dev/zero of=/var/fill bs=1M count=64 2>/dev/null; sleep 600",
        app=app,
        image=sc.Image.from_registry(BUSYBOX),
        limits=sc.Limits(disk_mib=16),
    )
    try:
        # the supervisor measures every few seconds (SANDBOX_CORE_DISK_POLL, 5 s by default)
        with pytest.raises(exc.SandboxTerminatedError, match=r"disk limit: .* over its disk limit of 16.0 MiB"):
            await asyncio.wait_for(sb.wait(), 60)
        assert (sb.returncode, sb.end_reason) == (137, sc.EndReason.DISK_LIMIT)
        other = await sc.Sandbox.from_id(sb.object_id)  # every process sees the same reason
        assert (other.returncode, other.end_reason) == (137, sc.EndReason.DISK_LIMIT)
    finally:
        await sb.terminate()


async def test_a_watchdog_round_measures_and_spares_a_sandbox_under_its_cap(app: sc.App) -> None:
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), limits=sc.Limits(disk_mib=64))
    try:
        assert (await output(sb, "sh", "-c", "dd if=/dev/zero of=/var/f bs=1M count=8 2>/dev/null"))[0] == 0
        watch = DiskWatch(await get_engine(), base_interval=5.0)
        await watch.round()
        ref = container_id(sb)
        assert watch.seen[ref].size >= 8 * MIB and not watch.stopped
        assert await sb.poll() is None
        # over the cap at the next round: stopped, with the reason recorded
        assert (await output(sb, "sh", "-c", "dd if=/dev/zero of=/var/g bs=1M count=64 2>/dev/null"))[0] == 0
        watch.seen[ref].next_at = 0.0
        await watch.round()
        assert watch.stopped == [sb.object_id]
        assert await sb.wait(raise_on_termination=False) is None
        assert sb.end_reason == sc.EndReason.DISK_LIMIT
    finally:
        await sb.terminate()


def test_the_watchdog_measures_a_fast_grower_sooner() -> None:
    base, limit = 5.0, 1000 * MIB
    # not growing: the base interval
    assert next_interval(base, limit, 10 * MIB, None, 100.0, 0.001) == base
    # 100 MiB/s with 900 MiB left: half of the 9 s it needs
    previous = Measured(size=0, at=99.0, next_at=0.0)
    assert next_interval(base, limit, 100 * MIB, previous, 100.0, 0.001) == pytest.approx(4.5)
    # never below a second, never more often than 100 x the measurement's cost
    assert next_interval(base, limit, 990 * MIB, previous, 100.0, 0.001) == 1.0
    assert next_interval(base, limit, 10 * MIB, None, 100.0, 0.2) == pytest.approx(20.0)
