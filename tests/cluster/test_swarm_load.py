"""How fast a sandbox-as-a-service starts and how to notice it, and a burst of 50 placed by reservations."""

from __future__ import annotations

import asyncio
import collections
import json
import statistics
import time
from typing import Any

import aiodocker
import aiohttp
import pytest

from ._swarm import MEASURED, Swarm, poll

pytestmark = pytest.mark.timeout(240)


async def _node_events(engine: aiodocker.Docker, queue: asyncio.Queue[tuple[float, dict[str, Any]]]) -> None:
    params = {"filters": json.dumps({"type": ["container"], "event": ["start", "die"]})}
    async with engine._query("events", params=params, timeout=aiohttp.ClientTimeout()) as resp:
        try:
            async for line in resp.content:
                queue.put_nowait((time.monotonic(), json.loads(line)))
        finally:
            resp.close()  # aiodocker leaves closing a streamed response to the caller


async def _event_for(queue: asyncio.Queue[tuple[float, dict[str, Any]]], sid: str, action: str) -> tuple[float, Any]:
    while True:
        at, event = await asyncio.wait_for(queue.get(), 30)
        attrs = event["Actor"]["Attributes"]
        if attrs.get("com.docker.swarm.service.id") == sid and event["Action"] == action:
            return at, attrs


async def test_create_to_running_by_events_and_by_task_polling(swarm: Swarm) -> None:
    queue: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()
    engines = [await swarm.engine_for(n.node_id) for n in swarm.cluster.nodes]
    listeners = [asyncio.create_task(_node_events(e, queue)) for e in engines]
    image = (await swarm.manager.images.inspect("sandbox-core/busybox:1"))["Id"]
    rows: dict[str, list[float]] = collections.defaultdict(list)
    try:
        await asyncio.sleep(0.2)  # the event streams are open
        for i in range(6):
            t0 = time.monotonic()
            sid = await swarm.create(swarm.spec(f"lat{i}", ["sh", "-c", "read x; exit 3"], image=image))
            rows["create_call"].append(time.monotonic() - t0)
            task = await swarm.wait_task(sid, ["running"])
            rows["running_by_task_poll"].append(time.monotonic() - t0)
            started, _ = await _event_for(queue, sid, "start")
            rows["running_by_node_event"].append(started - t0)
            engine, cid = await swarm.container_of(task)
            stream = engine.containers.container(cid).attach(stdin=True)
            await stream._init()
            t1 = time.monotonic()
            await stream.write_in(b"go\n")
            died, attrs = await _event_for(queue, sid, "die")
            rows["exit_by_node_event"].append(died - t1)
            done = await swarm.wait_task(sid, ["failed"], timeout=10)
            rows["exit_by_task_poll"].append(time.monotonic() - t1)
            await stream.close()
            assert attrs["exitCode"] == "3" and done["Status"]["ContainerStatus"]["ExitCode"] == 3
    finally:
        for listener in listeners:
            listener.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
    medians = {k: round(statistics.median(v), 3) for k, v in rows.items()}
    MEASURED["latency medians of 6 (s)"] = medians
    assert medians["running_by_node_event"] <= medians["running_by_task_poll"], "the node sees it first"
    assert max(rows["running_by_task_poll"]) < 10 and max(rows["exit_by_task_poll"]) < 5, rows


async def test_fifty_sandboxes_spread_by_reservations(swarm: Swarm) -> None:
    nodes = await swarm.manager.nodes.list()
    cpus = {n["ID"]: n["Description"]["Resources"]["NanoCPUs"] for n in nodes}
    each = min(cpus.values()) // 28  # 28 fit on a node, so 50 need both nodes
    reserve = {"Reservations": {"NanoCPUs": each, "MemoryBytes": 64 << 20}}
    t0 = time.monotonic()
    sids = await asyncio.gather(
        *(swarm.create(swarm.spec(f"b{i}", ["sleep", "600"], Resources=reserve)) for i in range(50))
    )
    ours = set(sids)

    async def all_running() -> list[dict[str, Any]] | None:
        tasks = [t for t in await swarm.manager._query_json("tasks") if t["ServiceID"] in ours]
        return tasks if sum(t["Status"]["State"] == "running" for t in tasks) == 50 else None

    tasks = await poll(all_running, 120, lambda: "50 sandboxes not all running", 0.1)
    elapsed = time.monotonic() - t0
    per_node = collections.Counter(t["NodeID"] for t in tasks)
    MEASURED["50 sandboxes: create → all running (s)"] = round(elapsed, 2)
    assert len(per_node) == 2 and max(per_node.values()) <= 28, per_node
    big = await swarm.create(swarm.spec("big", ["sleep", "600"], Resources={"Reservations": {"NanoCPUs": 10 * each}}))
    pending = await swarm.wait_task(big, ["pending"], timeout=10)
    await asyncio.sleep(1.0)
    pending = (await swarm.tasks(big))[0]
    assert pending["Status"]["State"] == "pending"
    assert "insufficient resources on 2 nodes" in pending["Status"]["Err"], "a full node is never chosen"
    t0 = time.monotonic()
    await asyncio.gather(*(swarm.manager.services.delete(s) for s in [*sids, big]))
    engines = [await swarm.engine_for(n.node_id) for n in swarm.cluster.nodes]

    async def containers_gone() -> bool | None:
        label = [f"sandbox-core.test={swarm.prefix}"]
        counts = [len(await e.containers.list(all=True, filters={"label": label})) for e in engines]
        return True if sum(counts) == 0 else None

    await poll(containers_gone, 120, lambda: "containers of removed services remain", 0.2)
    MEASURED["51 services: remove → no container left (s)"] = round(time.monotonic() - t0, 2)
