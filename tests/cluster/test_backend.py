"""The swarm backend, through the library, on the session's swarm (``nox -s swarm``): placement, node pools, what
differs from one engine, faults (drain, a node's engine stopped mid-exec, a manager restart), fifty sandboxes
spread over the nodes, images from the builder on every node, and the same program on one engine and on the swarm.

The session's swarm has two ordinary nodes (n0 the manager, n1) and n2 in the no-network pool. Fault tests add a
node of their own and steer the sandbox onto it by pausing the others (``paused``), so that breaking it harms no
other test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import attrs
import pytest

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._engine import get_engine
from sandbox_core._engine import labels as L
from sandbox_core._engine.swarm import SwarmEngine
from sandbox_core._engine.swarm.spec import NETWORK_POOL_LABEL, RUNTIME_POOL_LABEL
from sandbox_core._engine.values import ContainerSpec, ExecSpec, PortBinding
from sandbox_core._imagebuild import builder
from sandbox_core._imagebuild.definition import FromImage, ImageDefinition
from sandbox_core._imagebuild.steps import RunCommands
from tests.conftest import BUSYBOX, REPO, RUN_ID, app_name

from . import harness, mode
from ._http import UnixEngine

pytestmark = [
    pytest.mark.usefixtures("engine"),
    pytest.mark.skipif(not mode.ENABLED, reason="runs in cluster mode only (nox -s swarm)"),
    pytest.mark.timeout(240),
]


async def swarm_engine() -> SwarmEngine:
    eng = await get_engine()
    assert isinstance(eng, SwarmEngine)
    return eng


def _manager() -> UnixEngine:
    return UnixEngine(mode.current().manager.socket)


def set_availability(node: harness.Node, availability: str) -> None:
    doc = _manager().request("GET", f"nodes/{node.node_id}")
    spec = {**doc["Spec"], "Availability": availability}
    _manager().request(
        "POST", f"nodes/{node.node_id}/update", params=[("version", str(doc["Version"]["Index"]))], body=spec
    )


@contextlib.contextmanager
def paused(*nodes: harness.Node) -> Iterator[None]:
    """No new sandbox lands on ``nodes`` meanwhile (the ones there keep running)."""
    for n in nodes:
        set_availability(n, "pause")
    try:
        yield
    finally:
        for n in nodes:
            set_availability(n, "active")


@contextlib.asynccontextmanager
async def own_node(*extra_args: str) -> AsyncIterator[harness.Node]:
    """A fresh worker for one test (as the library needs it, plus ``extra_args``), removed from the swarm after."""
    cluster = mode.current()
    node = await asyncio.to_thread(cluster.add_node, extra_args=(*harness.LIBRARY_DOCKERD_ARGS, *extra_args))
    try:
        yield node
    finally:
        await asyncio.to_thread(harness.remove_node, cluster.instance, node.index)
        with contextlib.suppress(Exception):
            _manager().request("DELETE", f"nodes/{node.node_id}", params=[("force", "1")])


async def node_of(sb: sc.Sandbox) -> harness.Node:
    return (await asyncio.to_thread(mode.locate, sb.object_id))[0]


async def wait_node_state(node: harness.Node, state: str, timeout: float = 60.0) -> float:
    """Seconds until the manager reports ``node`` in ``state``."""
    t0 = time.monotonic()
    while _manager().request("GET", f"nodes/{node.node_id}")["Status"]["State"] != state:
        assert time.monotonic() - t0 < timeout, f"{node.name} not {state} within {timeout} s"
        await asyncio.sleep(0.2)
    return time.monotonic() - t0


def ordinary_nodes() -> list[harness.Node]:
    return mode.current().nodes[:2]


async def ordinary_nodes_ready() -> None:
    """Until the manager reports both ordinary nodes ready: after the manager's restart a worker is ``unknown``
    until its next heartbeat, and the scheduler places nothing on it meanwhile."""
    for node in ordinary_nodes():
        await wait_node_state(node, "ready")


# ------------------------------------------------------------------------------------------------- placement


async def test_cpu_requests_are_reservations_and_a_full_node_is_not_chosen(app: sc.App) -> None:
    eng = await swarm_engine()
    eng.cluster.config = attrs.evolve(eng.cluster.config, placement_timeout=3.0)
    made: list[sc.Sandbox] = []
    try:
        # Each ordinary node has 2 CPUs: a 1.5 CPU request fills one, so the second goes to the other node and a
        # third fits nowhere.
        for _ in range(2):
            made.append(await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), cpu=1.5))
        assert {(await node_of(sb)).index for sb in made} == {0, 1}
        t0 = time.monotonic()
        with pytest.raises(exc.ResourceExhaustedError, match="no swarm node had room"):
            await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), cpu=1.5)
        assert 3 <= time.monotonic() - t0 < 10
        assert [s async for s in sc.Sandbox.list(app_id=app.app_id)] != []  # the refused one left nothing running
        await made.pop().terminate(wait=True)
        made.append(await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), cpu=1.5))  # room again
    finally:
        eng.cluster.config = attrs.evolve(eng.cluster.config, placement_timeout=30.0)
        for sb in made:
            await sb.terminate()


async def test_block_network_sandboxes_run_in_the_no_network_pool_and_only_they(app: sc.App) -> None:
    blocked = await sc.Sandbox.create("sleep", "60", app=app, block_network=True)
    normal = await sc.Sandbox.create("sleep", "60", app=app)
    try:
        assert (await node_of(blocked)).index == 2
        assert (await node_of(normal)).index in (0, 1)
        p = await blocked.exec("ls", "/sys/class/net")
        assert (await p.stdout.read()).split() == ["lo"]
    finally:
        await blocked.terminate()
        await normal.terminate()


async def test_what_a_service_cannot_do_is_refused_with_the_reason() -> None:
    eng = await swarm_engine()
    base = ContainerSpec(image=BUSYBOX, labels=L.owned(L.KIND_SANDBOX, **{"sandbox-core.test-run": RUN_ID}))
    refused = {
        "another container's network namespace": attrs.evolve(base, network_mode="container:abc"),
        "publishing ports": attrs.evolve(base, ports=(PortBinding(80),)),
        "a swap limit": attrs.evolve(base, memory_bytes=1 << 26, memory_swap_bytes=1 << 27),
        "the runtime 'kata'": attrs.evolve(base, runtime="kata"),
        "the tmpfs option 'noexec'": attrs.evolve(base, tmpfs={"/t": "noexec"}),
    }
    for what, spec in refused.items():
        with pytest.raises(exc.InvalidError, match=f"{what}.*not available on a swarm cluster"):
            await eng.containers.create(spec)
    # No pool for it: gVisor needs nodes labelled sandbox-core.runtime=runsc.
    with pytest.raises(exc.ResourceExhaustedError, match=r"sandbox-core\.runtime=runsc"):
        await eng.containers.create(attrs.evolve(base, runtime="runsc"))
    assert not _manager().request(
        "GET", "services", params=[("filters", json.dumps({"label": [f"sandbox-core.test-run={RUN_ID}"]}))]
    )


async def test_a_pool_node_that_is_not_what_its_label_says_is_refused(app: sc.App) -> None:
    eng = await swarm_engine()
    node = mode.current().nodes[1]
    mode.current().label_node(1, {NETWORK_POOL_LABEL: "none"})
    eng.cluster.nodes._caps.clear()
    try:
        with paused(mode.current().nodes[2]):
            await eng.cluster.nodes.all(max_age=0)
            with pytest.raises(
                exc.InvalidError, match=f"{node.name} is labelled {NETWORK_POOL_LABEL}=none but has a bridge"
            ):
                await sc.Sandbox.create(app=app, block_network=True)
    finally:
        doc = _manager().request("GET", f"nodes/{node.node_id}")
        spec = dict(doc["Spec"])
        spec["Labels"] = {k: v for k, v in spec["Labels"].items() if k != NETWORK_POOL_LABEL}
        _manager().request(
            "POST", f"nodes/{node.node_id}/update", params=[("version", str(doc["Version"]["Index"]))], body=spec
        )
        await eng.cluster.nodes.all(max_age=0)


async def test_nodes_without_no_new_privileges_get_no_sandbox(app: sc.App) -> None:
    eng = await swarm_engine()
    cluster = mode.current()
    plain = await asyncio.to_thread(cluster.add_node)  # dockerd without --no-new-privileges (nor its engine label)
    try:
        with paused(*ordinary_nodes()):
            await eng.cluster.nodes.all(max_age=0)
            with pytest.raises(exc.InvalidError, match=r"enforces no-new-privileges.*--no-new-privileges"):
                await sc.Sandbox.create(app=app)
    finally:
        await asyncio.to_thread(harness.remove_node, cluster.instance, plain.index)
        _manager().request("DELETE", f"nodes/{plain.node_id}", params=[("force", "1")])


async def test_no_new_privileges_reaches_sandboxes_on_every_node(app: sc.App) -> None:
    for node in ordinary_nodes():
        with paused(*(n for n in ordinary_nodes() if n != node)):
            sb = await sc.Sandbox.create("sh", "-c", "grep NoNewPrivs /proc/self/status", app=app)
        try:
            assert (await node_of(sb)).index == node.index
            assert (await sb.stdout.read()).split() == ["NoNewPrivs:", "1"]
        finally:
            await sb.terminate()


async def test_the_gvisor_pool_runs_runsc_sandboxes_and_only_them() -> None:
    runsc = shutil.which("runsc")
    if runsc is None:
        pytest.skip("runsc (gVisor) is not installed")
    eng = await swarm_engine()
    wrapper = f"/run/sbxsw/{mode.current().instance}/runsc-host-network"  # removed with the instance
    with open(wrapper, "w") as f:  # gVisor's own network stack does not start here: the host's serves it
        f.write(f'#!/bin/sh\nexec {runsc} --network=host "$@"\n')
    os.chmod(wrapper, 0o755)
    labels = L.owned(L.KIND_SANDBOX, **{"sandbox-core.test-run": RUN_ID, L.SANDBOX_ID: "sb-gvisorpooltest"})
    image = await eng.images.inspect(BUSYBOX)
    assert image is not None
    spec = ContainerSpec(image=image.id, labels=labels, cmd=("sleep", "60"), runtime="runsc")
    async with own_node("--add-runtime", f"runsc={wrapper}", "--default-runtime", "runsc") as node:
        await asyncio.to_thread(mode.current().label_node, node.index, {RUNTIME_POOL_LABEL: "runsc"})
        await eng.cluster.nodes.all(max_age=0)
        ref = await eng.containers.create(spec)
        try:
            await eng.containers.start(ref)
            stream = await eng.execs.start(await eng.execs.create(ref, ExecSpec(cmd=("dmesg",))), tty=False)
            out = b""
            while (frame := await stream.read_frame()) is not None:
                out += frame[1]
            await stream.close()
            assert b"gVisor" in out
            placed = (await asyncio.to_thread(mode.locate, "sb-gvisorpooltest"))[0]
            assert placed.index == node.index
            plain = await sc.Sandbox.create("sleep", "30", app=await sc.App.lookup(app_name(), create_if_missing=True))
            assert (await node_of(plain)).index != node.index  # runc sandboxes stay out of the gVisor pool
            await plain.terminate()
        finally:
            await eng.containers.remove(ref)


# ---------------------------------------------------------------------------------------- what differs, clearly


async def test_entrypoint_stdin_works_but_its_eof_is_refused_with_the_reason(app: sc.App) -> None:
    sb = await sc.Sandbox.create("cat", app=app)
    try:
        sb.stdin.write("hello\n")
        await sb.stdin.drain()
        assert await asyncio.wait_for(sb.stdout.readline(), 20) == "hello\n"
        sb.stdin.write_eof()
        with pytest.raises(exc.UnimplementedError, match=r"StdinOnce.*pty=True"):
            await sb.stdin.drain()
        assert await sb.poll() is None
    finally:
        await sb.terminate()


async def test_an_unconfigured_or_wrong_manager_is_a_clear_error(run_py) -> None:  # type: ignore[no-untyped-def]
    code = """
import asyncio, os, sandbox_core as sc
async def main(url):
    os.environ["SANDBOX_CORE_SWARM_MANAGER"] = url
    try:
        await sc.App.lookup("x")
    except sc.exception.Error as e:
        print(type(e).__name__, "|", e)
asyncio.run(main({url!r}))
"""
    gone = run_py(code.format(url="unix:///nonexistent/docker.sock")).stdout
    assert gone.startswith("ConnectionError | cannot reach the swarm manager at unix:///nonexistent/docker.sock")
    worker = run_py(code.format(url=mode.current().nodes[1].engine_url)).stdout
    assert worker.startswith("InvalidError | ") and "is not a swarm manager" in worker
    bad = run_py(
        code.replace(
            'os.environ["SANDBOX_CORE_SWARM_MANAGER"] = url', 'os.environ["SANDBOX_CORE_CLUSTER"] = url'
        ).format(url="k8s")
    ).stdout
    assert bad.startswith("InvalidError | SANDBOX_CORE_CLUSTER must be empty (one engine) or 'swarm'")


# ----------------------------------------------------------------------------------------------------- faults


async def test_a_drained_node_ends_its_sandbox_with_the_reason(app: sc.App) -> None:
    async with own_node() as node:
        with paused(*ordinary_nodes()):
            sb = await sc.Sandbox.create("sleep", "600", app=app)
        assert (await node_of(sb)).index == node.index
        t0 = time.monotonic()
        await asyncio.to_thread(set_availability, node, "drain")
        with pytest.raises(exc.SandboxTerminatedError, match="drained"):
            await asyncio.wait_for(sb.wait(), 60)
        assert sb.returncode == 137
        assert time.monotonic() - t0 < 15
        again = await sc.Sandbox.from_id(sb.object_id)
        assert again.returncode == 137
        assert [s.object_id async for s in sc.Sandbox.list(app_id=app.app_id)] == []


async def test_a_node_engine_stopped_mid_exec_ends_the_exec_with_an_error_and_the_sandbox_as_lost(app: sc.App) -> None:
    async with own_node() as node:
        with paused(*ordinary_nodes()):
            sb = await sc.Sandbox.create("sleep", "600", app=app)
        assert (await node_of(sb)).index == node.index
        p = await sb.exec("sh", "-c", "echo started; sleep 600")
        assert await p.stdout.readline() == "started\n"
        await asyncio.to_thread(mode.current().stop_engine, node.index)
        with pytest.raises(exc.Error) as caught:  # the stream's end is not taken for an exit
            await asyncio.wait_for(p.wait(), 30)
        assert node.name in str(caught.value) or "lost" in str(caught.value), caught.value
        t0 = time.monotonic()
        with pytest.raises(exc.SandboxTerminatedError, match="down"):
            await asyncio.wait_for(sb.wait(), 60)  # reported ended once the manager declares the node down
        assert sb.returncode == 137
        assert time.monotonic() - t0 < 30
        other = await sc.Sandbox.from_id(sb.object_id)  # every client sees the same
        assert other.returncode == 137
        with pytest.raises(exc.ConflictError, match="already finished"):
            await other.exec("true")


async def test_a_manager_restart(app: sc.App) -> None:
    manager = mode.current().manager
    with paused(manager):
        sb = await sc.Sandbox.create("sleep", "600", app=app)
    try:
        assert (await node_of(sb)).index != 0
        await asyncio.to_thread(mode.current().stop_engine, 0)
        try:
            # The node's engine keeps serving the sandbox; cluster calls fail clearly until the manager is back.
            p = await sb.exec("echo", "still here")
            assert await p.stdout.read() == "still here\n" and await p.wait() == 0
            assert await sb.poll() is None
            with pytest.raises(exc.ConnectionError):
                await sc.Sandbox.create(app=app)
        finally:
            await asyncio.to_thread(mode.current().start_engine, 0)
        await ordinary_nodes_ready()
        again = await sc.Sandbox.from_id(sb.object_id)
        assert await again.poll() is None
        fresh = await sc.Sandbox.create("echo", "after", app=app)
        assert await fresh.stdout.read() == "after\n"
        await fresh.wait()
    finally:
        await sb.terminate()


# ---------------------------------------------------------------------------------------------------- scale


async def test_fifty_sandboxes_spread_over_the_nodes_and_nothing_is_left_behind() -> None:
    app = await sc.App.lookup(app_name("burst"), create_if_missing=True)
    await ordinary_nodes_ready()  # the premise of a spread: both nodes can take tasks
    t0 = time.monotonic()
    made = await asyncio.gather(*(sc.Sandbox.create("sleep", "600", app=app, cpu=0.02) for _ in range(50)))
    took = time.monotonic() - t0
    try:
        nodes = [(await node_of(sb)).index for sb in made]
        assert sorted(set(nodes)) == [0, 1], nodes  # spread, and never on the no-network node
        assert min(nodes.count(0), nodes.count(1)) >= 15, nodes
        procs = await asyncio.gather(*(sb.exec("echo", sb.object_id) for sb in made))
        assert [await p.stdout.read() for p in procs] == [f"{sb.object_id}\n" for sb in made]
        assert len([s async for s in sc.Sandbox.list(app_id=app.app_id)]) == 50
        print(f"50 sandboxes running in {took:.1f} s: {nodes.count(0)} on n0, {nodes.count(1)} on n1")
    finally:
        await asyncio.gather(*(sb.terminate() for sb in made))
    await sc.sweep(app_id=app.app_id, everything=True)
    assert mode.leftovers({app.app_id}, RUN_ID, running_only=False) == []


# ---------------------------------------------------------------------------------------------------- images


async def test_an_image_the_builder_made_runs_on_every_node() -> None:
    eng = await swarm_engine()
    app = await sc.App.lookup(app_name("images"), create_if_missing=True)
    labels = {"sandbox-core.test-run": RUN_ID, "sandbox-core.test": "swarm-builder"}
    defn = ImageDefinition(FromImage(BUSYBOX), labels=labels).add(RunCommands(("echo built once > /built",)))
    built = await builder.build(eng, defn)  # on the manager's engine, the cluster's image store
    image = sc.Image.from_id("im-" + built.image_id.removeprefix("sha256:"))
    try:
        for node in ordinary_nodes():
            with paused(*(n for n in ordinary_nodes() if n != node)):
                sb = await sc.Sandbox.create("cat", "/built", app=app, image=image)
            assert (await node_of(sb)).index == node.index
            assert await sb.stdout.read() == "built once\n"
        copies = [(n, t) for n, i, t in eng.cluster.images.copied if i == built.image_id]
        assert [n for n, _ in copies] == [ordinary_nodes()[1].node_id]  # n0 is the store; n1 got one copy
        print(f"image copied to a node in {copies[0][1]:.2f} s")
    finally:
        await sc.sweep(app_id=app.app_id, everything=True)
        for node in mode.current().nodes:
            engine = await eng.cluster.nodes.engine(node.node_id)
            await builder.remove_images(engine, labels)


# ----------------------------------------------------------------------------------------- the same program


def test_the_same_program_runs_unchanged_on_one_engine_and_on_the_swarm() -> None:
    script = os.path.join(REPO, "examples", "sandboxes_anywhere.py")
    single = {k: v for k, v in os.environ.items() if k not in ("SANDBOX_CORE_CLUSTER", "SANDBOX_CORE_SWARM_MANAGER")}
    outputs = {}
    for where, env in (("one engine", single), ("swarm", dict(os.environ))):
        proc = subprocess.run(
            [sys.executable, script, app_name("example")],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            cwd=REPO,
        )
        assert proc.returncode == 0, (where, proc.stderr)
        outputs[where] = proc.stdout
    assert outputs["one engine"] == outputs["swarm"]
    assert "sandboxes: 3 | still tagged worker: 2" in outputs["swarm"]
