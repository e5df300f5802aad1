"""The swarm backend's caps, hardening, volumes and snapshots, checked on the running task's container on its node
(``nox -s swarm``). The session's swarm: n0 (manager) and n1 ordinary, n2 in the no-network pool."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._engine import get_engine
from sandbox_core._engine.swarm import SwarmEngine
from sandbox_core._engine.swarm.homes import CONFIG_PREFIX
from sandbox_core._snapshots import SNAPSHOT_OF
from tests.conftest import BUSYBOX, app_name

from . import harness, mode
from ._http import UnixEngine

pytestmark = [
    pytest.mark.usefixtures("engine"),
    pytest.mark.skipif(not mode.ENABLED, reason="runs in cluster mode only (nox -s swarm)"),
    pytest.mark.timeout(240),
]


def _manager() -> UnixEngine:
    return UnixEngine(mode.current().manager.socket)


def _set_availability(node: harness.Node, availability: str) -> None:
    doc = _manager().request("GET", f"nodes/{node.node_id}")
    spec = {**doc["Spec"], "Availability": availability}
    _manager().request(
        "POST", f"nodes/{node.node_id}/update", params=[("version", str(doc["Version"]["Index"]))], body=spec
    )


@contextlib.contextmanager
def only_on(node: harness.Node) -> Iterator[None]:
    """No new sandbox lands on the other ordinary node meanwhile."""
    others = [n for n in mode.current().nodes[:2] if n != node]
    for n in others:
        _set_availability(n, "pause")
    try:
        yield
    finally:
        for n in others:
            _set_availability(n, "active")


async def container_of(sb: sc.Sandbox) -> tuple[harness.Node, dict[str, Any]]:
    """The node running ``sb`` and its container's inspect document, from that node's engine."""
    node, cid = await asyncio.to_thread(mode.locate, sb.object_id)
    doc = await asyncio.to_thread(UnixEngine(node.socket).request, "GET", f"containers/{cid}/json")
    return node, doc


async def run(sb: sc.Sandbox, script: str) -> tuple[int, str]:
    p = await sb.exec("sh", "-c", script)
    out = await p.stdout.read()
    return await p.wait(), out


async def dropped_snapshots(sandbox_id: str) -> None:
    """Remove the snapshot images of ``sandbox_id`` from every node (the store's copy and the copies made for
    sandboxes on other nodes)."""
    eng = await get_engine()
    assert isinstance(eng, SwarmEngine)
    for node in mode.current().nodes:
        engine = await eng.cluster.nodes.engine(node.node_id)
        for image in await engine.images.list({SNAPSHOT_OF: sandbox_id}):
            await engine.images.remove(image.id, force=True)


@contextlib.asynccontextmanager
async def volume(tag: str) -> AsyncIterator[sc.Volume]:
    """A named volume, deleted after the block; the block's sandboxes (of ``volume_app``) are removed first, so
    that the volume is deleted at once rather than once no container holds it."""
    name = app_name(tag)
    await sc.Volume.objects.create(name)
    try:
        yield sc.Volume.from_name(name)
    finally:
        app = await volume_app()
        await sc.sweep(app_id=app.app_id, everything=True)
        await sc.Volume.objects.delete(name)


async def volume_app() -> sc.App:
    return await sc.App.lookup(app_name("volumes"), create_if_missing=True)


def homes_recorded() -> list[str]:
    return [
        c["Spec"]["Name"] for c in _manager().request("GET", "configs") if c["Spec"]["Name"].startswith(CONFIG_PREFIX)
    ]


# ----------------------------------------------------------------------------------------------------- caps


async def test_nofile_and_shm_caps_reach_the_tasks_container(app: sc.App) -> None:
    check = "ulimit -n; ulimit -Hn; df -k /dev/shm | awk 'NR>1 {print $2}'; grep ' /dev/shm ' /proc/mounts"
    for limits, nofile, shm_kib in ((None, 4096, 64 * 1024), (sc.Limits(nofile=1234, shm_mib=8), 1234, 8 * 1024)):
        sb = await sc.Sandbox.create("sleep", "60", app=app, limits=limits)
        try:
            _, doc = await container_of(sb)
            assert doc["HostConfig"]["Ulimits"] == [{"Name": "nofile", "Hard": nofile, "Soft": nofile}]
            code, out = await run(sb, check)
            soft, hard, size, mount = out.splitlines()
            assert (code, soft, hard, size) == (0, str(nofile), str(nofile), str(shm_kib))
            assert {"nosuid", "nodev", "noexec"} <= set(mount.split()[3].split(","))
            code, out = await run(sb, f"dd if=/dev/zero of=/dev/shm/f bs=1024 count={shm_kib + 1024} 2>&1")
            assert code != 0 and "No space left" in out, out  # the cap is enforced, not just reported
        finally:
            await sb.terminate()


# ------------------------------------------------------------------------------------------------ hardening


async def test_hardening_reaches_the_tasks_container_on_every_node(app: sc.App) -> None:
    inside = (
        "grep -E '^(NoNewPrivs|CapEff)' /proc/self/status | tr -s '\t ' ' '; cat /proc/1/comm; "
        "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max"
    )
    for node in mode.current().nodes[:2]:
        with only_on(node):
            sb = await sc.Sandbox.create("sleep", "60", app=app, pids_limit=321)
        try:
            where, doc = await container_of(sb)
            assert where == node
            host = doc["HostConfig"]
            assert {"NET_RAW", "MKNOD", "AUDIT_WRITE"} <= set(host["CapDrop"] or ())
            assert not host["CapAdd"] and not host["Privileged"]
            assert host["Init"] is True and host["PidsLimit"] == 321
            code, out = await run(sb, inside)
            capeff, nnp, pid1, pids_max = out.splitlines()  # in /proc/self/status's order
            assert (code, nnp, pid1, pids_max) == (0, "NoNewPrivs: 1", "docker-init", "321")
            eff = int(capeff.split()[1], 16)
            assert eff & (1 << 13) == 0 and eff & (1 << 27) == 0 and eff & (1 << 29) == 0  # NET_RAW, MKNOD, AUDIT
            assert eff & (1 << 21) == 0  # no SYS_ADMIN
        finally:
            await sb.terminate()


# -------------------------------------------------------------------------------------------------- volumes


async def test_a_volume_has_one_copy_that_the_api_and_every_sandbox_see() -> None:
    app = await volume_app()
    async with volume("vol") as vol:
        async with vol.batch_upload() as batch:
            batch.put_file(io.BytesIO(b"from the api\n"), "/a.txt")
        made = [await sc.Sandbox.create("sleep", "60", app=app, volumes={"/v": vol}) for _ in range(3)]
        try:
            homes = {(await container_of(sb))[0].index for sb in made}
            assert len(homes) == 1 and homes <= {0, 1}, homes  # the volume's home, in the default pool
            for i, sb in enumerate(made):
                assert await run(sb, f"cat /v/a.txt; echo from sandbox {i} > /v/s{i}.txt") == (0, "from the api\n")
            listed = sorted(e.path for e in await vol.listdir("/"))
            assert listed == ["a.txt", "s0.txt", "s1.txt", "s2.txt"], listed
            assert b"".join([c async for c in vol.read_file("/s2.txt")]) == b"from sandbox 2\n"
            sub = await sc.Sandbox.create(app=app, volumes={"/home/x": vol.with_mount_options(sub_path="/users/x")})
            made.append(sub)  # a sub_path mount: a directory of the volume, by its path on the volume's node
            assert (await container_of(sub))[0].index in homes
            assert await run(sub, "echo mine > /home/x/f; ls -A /home/x") == (0, "f\n")
            assert b"".join([c async for c in vol.read_file("/users/x/f")]) == b"mine\n"
            with pytest.raises(exc.InvalidError, match=r"lives on the swarm node .* not in .*network=none"):
                await sc.Sandbox.create("true", app=app, volumes={"/v": vol}, block_network=True)
            recorded = homes_recorded()
        finally:
            for sb in made:
                await sb.terminate()
    assert recorded and not set(recorded) & set(homes_recorded()), "the volume's home outlived it"


async def test_a_volume_first_used_without_network_stays_there_and_the_api_follows() -> None:
    app = await volume_app()
    async with volume("blocked") as blocked, volume("open") as open_:
        sb = await sc.Sandbox.create(
            "sh", "-c", "echo written offline > /v/f; sleep 60", app=app, volumes={"/v": blocked}, block_network=True
        )
        try:
            assert (await container_of(sb))[0].index == 2  # the no-network pool
            await asyncio.wait_for(_until_exists(blocked, "/f"), 30)
            assert b"".join([c async for c in blocked.read_file("/f")]) == b"written offline\n"
            with pytest.raises(exc.InvalidError, match="lives on the swarm node"):
                await sc.Sandbox.create("true", app=app, volumes={"/v": blocked})
            async with open_.batch_upload() as batch:  # its home: the default pool, where the helper goes first
                batch.put_file(io.BytesIO(b"x"), "/x")
            with pytest.raises(exc.InvalidError, match="live on different swarm nodes"):
                await sc.Sandbox.create("true", app=app, volumes={"/a": blocked, "/b": open_}, block_network=True)
        finally:
            await sb.terminate()
        recorded = homes_recorded()
    assert len(recorded) >= 2 and not set(recorded) & set(homes_recorded()), "volume homes outlived their volumes"


async def _until_exists(vol: sc.Volume, path: str) -> None:
    while True:
        with contextlib.suppress(FileNotFoundError):
            async for _ in vol.read_file(path):
                return
            return
        await asyncio.sleep(0.2)


# ------------------------------------------------------------------------------------------------ snapshots


async def test_snapshot_filesystem_works_on_every_node_and_runs_on_the_others(app: sc.App) -> None:
    ordinary = mode.current().nodes[:2]
    for node, other in zip(ordinary, reversed(ordinary), strict=True):
        with only_on(node):
            sb = await sc.Sandbox.create("sleep", "60", app=app)
        try:
            assert (await container_of(sb))[0] == node
            assert (await run(sb, f"mkdir /d && echo made on {node.name} > /d/f"))[0] == 0
            t0 = time.monotonic()
            image = await sb.snapshot_filesystem()
            print(f"snapshot_filesystem on {node.name}: {time.monotonic() - t0:.2f} s")
            with only_on(other):
                restored = await sc.Sandbox.create("cat", "/d/f", app=app, image=image)
            assert (await container_of(restored))[0] == other
            assert await restored.stdout.read() == f"made on {node.name}\n"
            await restored.wait()
        finally:
            await sb.terminate()
            await dropped_snapshots(sb.object_id)


# ------------------------------------------------------------------------------------------------- sidecars


async def test_sidecars_are_refused_with_the_reason(app: sc.App) -> None:
    sb = await sc.Sandbox.create("sleep", "60", app=app)
    try:
        with pytest.raises(exc.InvalidError, match=r"network namespace \(sidecars.*not available on a swarm cluster"):
            await sb._experimental_sidecars.create("sleep", "30", name="side", image=sc.Image.from_registry(BUSYBOX))
        assert await sb.poll() is None
    finally:
        await sb.terminate()
