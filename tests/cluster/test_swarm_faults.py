"""Faults as the manager and the node engines show them: drain, a node's engine stopped or killed mid-exec, a
network partition, a manager restart. Every wait is bounded; every test leaves the cluster healthy.

Defaults of swarm are kept (dispatcher heartbeat 5 s): a lost node is reported ``down`` after ≈ 10-14 s, so the
crash and partition cases (≈ 16 s each, beyond what the backend needs pinned by default) are marked slow.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiodocker
import pytest

from ._swarm import Swarm, exec_output, poll

pytestmark = pytest.mark.timeout(180)
NODE_LOSS_BOUND = 40.0  # seconds until the manager reports a lost node down (measured 10-14 s)


async def _set_availability(swarm: Swarm, index: int, availability: str) -> None:
    node_id = swarm.cluster.nodes[index].node_id
    node = await swarm.manager.nodes.inspect(node_id=node_id)
    spec = {**node["Spec"], "Availability": availability}
    await swarm.manager.nodes.update(node_id=node_id, version=node["Version"]["Index"], spec=spec)


async def test_drain_shuts_the_task_down_and_nothing_replaces_it(swarm: Swarm) -> None:
    sid = await swarm.create(swarm.spec("drain", ["sleep", "600"], node=1))
    task = await swarm.wait_task(sid, ["running"])
    try:
        await _set_availability(swarm, 1, "drain")
        done = await swarm.wait_task(sid, ["shutdown"], timeout=20)
        assert done["ID"] == task["ID"] and done["Status"]["ContainerStatus"]["ExitCode"] == 137
        await asyncio.sleep(1.0)
        assert [t["ID"] for t in await swarm.tasks(sid)] == [task["ID"]], "restart condition none: no new task"
    finally:
        await _set_availability(swarm, 1, "active")


async def _open_exec(swarm: Swarm, task: dict[str, Any]) -> tuple[Any, aiodocker.Docker]:
    """Start ``echo started; sleep 60`` as an exec in the task's container; (its open stream, the node engine)."""
    engine, cid = await swarm.container_of(task)
    ex = await engine.containers.container(cid).exec(["sh", "-c", "echo started; sleep 60"], stdout=True)
    stream = ex.start(detach=False)
    await stream._init()
    return stream, engine


@pytest.mark.parametrize(
    ("fault", "state", "exit_code"),
    [("stop", "shutdown", 0), pytest.param("crash", "failed", 255, marks=pytest.mark.slow)],
)
async def test_a_node_engine_lost_mid_exec(swarm: Swarm, fault: str, state: str, exit_code: int) -> None:
    sid = await swarm.create(swarm.spec(fault, ["sleep", "600"], node=1))
    task = await swarm.wait_task(sid, ["running"])
    stream, engine = await _open_exec(swarm, task)
    lose: Callable[[int], None] = swarm.cluster.stop_engine if fault == "stop" else swarm.cluster.crash_node
    try:
        assert (await stream.read_out()).data == b"started\n"
        await asyncio.to_thread(lose, 1)
        assert await asyncio.wait_for(stream.read_out(), 10) is None, "the exec stream just ends: EOF, no error"
        with pytest.raises(aiodocker.DockerError) as err:
            await engine.containers.get(task["Status"]["ContainerStatus"]["ContainerID"])
        assert err.value.status == 900, "the node engine is unreachable"
        await poll(lambda: _state_is(swarm, 1, "down"), NODE_LOSS_BOUND, lambda: "node 1 never reported down", 0.2)
        stale = (await swarm.tasks(sid))[0]
        assert (stale["Status"]["State"], stale["DesiredState"]) == ("running", "shutdown"), "state is stale"
    finally:
        await stream.close()
        await asyncio.to_thread(swarm.cluster.start_engine, 1)
    done = await swarm.wait_task(sid, [state], timeout=30)
    assert done["ID"] == task["ID"] and done["Status"]["ContainerStatus"]["ExitCode"] == exit_code


async def _state_is(swarm: Swarm, index: int, state: str) -> bool | None:
    return True if (await swarm.node_state(index))[0] == state else None


@pytest.mark.slow
async def test_a_partitioned_node_keeps_running_until_it_returns(swarm: Swarm) -> None:
    sid = await swarm.create(swarm.spec("part", ["sleep", "600"], node=1))
    task = await swarm.wait_task(sid, ["running"])
    engine, cid = await swarm.container_of(task)
    try:
        swarm.cluster.set_link(1, False)
        await poll(lambda: _state_is(swarm, 1, "down"), NODE_LOSS_BOUND, lambda: "node 1 never reported down", 0.2)
        assert (await swarm.tasks(sid))[0]["DesiredState"] == "shutdown"
        assert await exec_output(engine, cid, ["echo", "alive"]) == (b"alive\n", 0), "its engine still serves it"
    finally:
        swarm.cluster.set_link(1, True)
    done = await swarm.wait_task(sid, ["shutdown"], timeout=30)
    assert done["Status"]["ContainerStatus"]["ExitCode"] == 137, "back in touch, the node kills the orphan"


async def test_a_manager_restart(swarm: Swarm) -> None:
    on_worker = await swarm.create(swarm.spec("w", ["sleep", "600"], node=1))
    on_manager = await swarm.create(swarm.spec("m", ["sleep", "600"], node=0))
    task = await swarm.wait_task(on_worker, ["running"])
    await swarm.wait_task(on_manager, ["running"])
    engine, cid = await swarm.container_of(task)
    try:
        await asyncio.to_thread(swarm.cluster.stop_engine, 0)
        with pytest.raises(aiodocker.DockerError) as err:
            await swarm.manager.services.list()
        assert err.value.status == 900, "no cluster calls without the manager"
        assert await exec_output(engine, cid, ["echo", "ok"]) == (b"ok\n", 0), "node engines keep serving"
    finally:
        await asyncio.to_thread(swarm.cluster.start_engine, 0)
    assert {
        s["ID"] for s in await swarm.manager.services.list(filters={"label": f"sandbox-core.test={swarm.prefix}"})
    } == {
        on_worker,
        on_manager,
    }, "cluster calls answer as soon as the manager's engine does"
    assert (await swarm.tasks(on_worker))[0]["Status"]["State"] == "running"
    gone = await swarm.wait_task(on_manager, ["failed", "shutdown", "complete"], timeout=30)
    assert gone["Status"]["State"] != "running", "the manager's own tasks ended with its engine"
