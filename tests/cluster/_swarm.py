"""Test-side helpers for raw swarm calls (aiodocker against the harness): specs, bounded waits, routing.

Not library code: this pins what the engine does, so the cluster backend can be built on known behaviour.
Every object a test makes is named ``<prefix>-…`` and labelled ``sandbox-core.test=<prefix>`` and
``sandbox-core.test-run=<run id>``; ``remove_leftovers`` removes it, ``leftovers`` finds what a run left.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import aiodocker

from . import harness
from ._http import UnixEngine

BUSYBOX = "sandbox-core/busybox:1"
OWNER_LABEL = "sandbox-core.owner"
TEST_RUN_LABEL = "sandbox-core.test-run"
TEST_LABEL = "sandbox-core.test"
FINAL_STATES = ("complete", "failed", "shutdown", "rejected", "orphaned", "remove")
T = TypeVar("T")
MEASURED: dict[str, object] = {}  # numbers tests measured; printed in the terminal summary


class Swarm:
    """Clients for one test: the manager, and each node's engine found through its ``sandbox-core.engine`` label."""

    def __init__(self, cluster: harness.Cluster, *, prefix: str, run_id: str) -> None:
        self.cluster = cluster
        self.prefix = prefix
        self.run_id = run_id
        self.manager = aiodocker.Docker(url=f"unix://{cluster.manager.socket}")
        self._engines: dict[str, aiodocker.Docker] = {}

    def name(self, suffix: str) -> str:
        return f"{self.prefix}-{suffix}"

    def labels(self, **extra: str) -> dict[str, str]:
        return {OWNER_LABEL: "sandbox-core", TEST_RUN_LABEL: self.run_id, TEST_LABEL: self.prefix, **extra}

    def spec(
        self,
        suffix: str,
        cmd: Sequence[str],
        *,
        image: str = BUSYBOX,
        node: int | None = None,
        container: Mapping[str, Any] | None = None,
        **task_template: Any,
    ) -> dict[str, Any]:
        """A sandbox as a service: one replica, never restarted, killed at once on removal, labelled twice."""
        placement = {"Constraints": [f"node.labels.{harness.NODE_LABEL}==n{node}"]} if node is not None else {}
        return {
            "Name": self.name(suffix),
            "Labels": self.labels(),
            "Mode": {"Replicated": {"Replicas": 1}},
            "TaskTemplate": {
                "ContainerSpec": {
                    "Image": image,
                    "Labels": self.labels(),
                    "Command": list(cmd),
                    "OpenStdin": True,
                    "Init": True,
                    "StopSignal": "SIGKILL",
                    "StopGracePeriod": 0,
                    **(container or {}),
                },
                "RestartPolicy": {"Condition": "none"},
                "Placement": placement,
                **task_template,
            },
        }

    async def create(self, spec: Mapping[str, Any]) -> str:
        """``POST /services/create`` with the spec as given (aiodocker's ``services.create`` rewrites ``Env``)."""
        res = await self.manager._query_json("services/create", method="POST", data=json.dumps(spec))
        return str(res["ID"])

    async def tasks(self, service_id: str) -> list[dict[str, Any]]:
        """The service's tasks (all tasks filtered here: the ``service`` filter answers 404 once it is removed)."""
        every: list[dict[str, Any]] = await self.manager._query_json("tasks")
        return [t for t in every if t["ServiceID"] == service_id]

    async def wait_task(self, service_id: str, states: Sequence[str], timeout: float = 30.0) -> dict[str, Any]:
        """Poll (10 ms) until the service's newest task is in one of ``states``; AssertionError on timeout."""
        last: Any = None

        async def probe() -> dict[str, Any] | None:
            nonlocal last
            tasks = sorted(await self.tasks(service_id), key=lambda t: t["CreatedAt"])
            last = [(t["Status"]["State"], t["DesiredState"], t["Status"].get("Err")) for t in tasks]
            return tasks[-1] if tasks and tasks[-1]["Status"]["State"] in states else None

        return await poll(probe, timeout, lambda: f"task of {service_id} not in {states}: {last}", 0.01)

    async def engine_for(self, node_id: str) -> aiodocker.Docker:
        """The engine of the node ``node_id``, reached through the URL in its ``sandbox-core.engine`` label."""
        node = await self.manager.nodes.inspect(node_id=node_id)
        url = node["Spec"]["Labels"][harness.ENGINE_LABEL]
        if url not in self._engines:
            self._engines[url] = aiodocker.Docker(url=url)
        return self._engines[url]

    async def container_of(self, task: Mapping[str, Any]) -> tuple[aiodocker.Docker, str]:
        """(the engine of the task's node, the task's container id)."""
        return await self.engine_for(task["NodeID"]), str(task["Status"]["ContainerStatus"]["ContainerID"])

    async def node_index(self, node_id: str) -> int:
        node = await self.manager.nodes.inspect(node_id=node_id)
        return int(node["Spec"]["Labels"][harness.NODE_LABEL][1:])

    async def node_state(self, index: int) -> tuple[str, str]:
        """(status, availability) of node ``index`` as the manager reports it."""
        node = await self.manager.nodes.inspect(node_id=self.cluster.nodes[index].node_id)
        return node["Status"]["State"], node["Spec"]["Availability"]

    async def wait_healthy(self, timeout: float = 60.0) -> None:
        """Every node of the cluster ready and active (a test that broke a node must have restored it)."""

        async def probe() -> bool | None:
            nodes = await self.manager.nodes.list()
            ours = {n.node_id for n in self.cluster.nodes}
            good = {n["ID"] for n in nodes if n["Status"]["State"] == "ready" and n["Spec"]["Availability"] == "active"}
            return True if ours <= good else None

        await poll(probe, timeout, lambda: "swarm nodes not all ready/active", 0.1)

    async def close(self) -> None:
        for engine in [self.manager, *self._engines.values()]:
            await engine.close()


async def poll(probe: Callable[[], Awaitable[T | None]], timeout: float, what: Callable[[], str], every: float) -> T:
    """Call ``probe`` until it returns non-None; AssertionError (with ``what()``) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = await probe()
        except aiodocker.DockerError:
            got = None
        if got is not None:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what()}")
        await asyncio.sleep(every)


async def exec_output(engine: aiodocker.Docker, cid: str, cmd: Sequence[str]) -> tuple[bytes, int]:
    """Run ``cmd`` in container ``cid`` on ``engine``; (stdout+stderr, exit code)."""
    container = engine.containers.container(cid)
    ex = await container.exec(list(cmd), stdout=True, stderr=True)
    out = b""
    async with ex.start(detach=False) as stream:
        while (msg := await stream.read_out()) is not None:
            out += msg.data
    return out, int((await ex.inspect())["ExitCode"])


def half_close(stream: Any) -> None:
    """Half-close an aiodocker attach/exec stream's write side, as the library's ``HijackedStream.close_write``."""
    transport = stream._resp.connection.transport
    assert transport is not None and transport.can_write_eof()
    transport.write_eof()


async def remove_leftovers(sw: Swarm, timeout: float = 60.0) -> None:
    """Remove what the test made (services, configs, networks labelled with its prefix) and wait until no
    container of it remains on any node."""
    label = f"{TEST_LABEL}={sw.prefix}"
    m = sw.manager
    for svc in await m.services.list(filters={"label": label}):
        await m.services.delete(svc["ID"])
    for kind in ("configs", "networks"):
        for obj in await m._query_json(kind, params={"filters": json.dumps({"label": [label]})}):
            async with m._query(f"{kind}/{obj.get('ID') or obj['Id']}", method="DELETE"):
                pass

    async def gone() -> bool | None:
        for node in sw.cluster.nodes:
            engine = await sw.engine_for(node.node_id)
            if await engine.containers.list(all=True, filters={"label": [label]}):
                return None
        return True

    await poll(gone, timeout, lambda: f"containers labelled {label} still present", 0.1)


def leftovers(cluster: harness.Cluster, run_id: str) -> list[str]:
    """Everything labelled for this test run still in the cluster (services, configs, networks, containers)."""
    label = json.dumps({"label": [f"{TEST_RUN_LABEL}={run_id}"]})
    found: list[str] = []
    manager = UnixEngine(cluster.manager.socket)
    for kind in ("services", "configs", "networks"):
        for obj in manager.request("GET", kind, params=[("filters", label)]):
            found.append(f"{kind[:-1]} {obj.get('Spec', {}).get('Name') or obj.get('Name')}")
    for node in cluster.nodes:
        for c in UnixEngine(node.socket).request("GET", "containers/json", params=[("all", "1"), ("filters", label)]):
            found.append(f"container {c['Names'][0]} on {node.name}")
    return found


@contextlib.asynccontextmanager
async def extra_node(sw: Swarm, dockerd_args: tuple[str, ...]) -> AsyncIterator[harness.Node]:
    """One more worker started with ``dockerd_args`` for the test; killed and removed from the swarm after it."""
    node = await asyncio.to_thread(sw.cluster.add_node, extra_args=dockerd_args)
    try:
        yield node
    finally:
        await asyncio.to_thread(harness.remove_node, sw.cluster.instance, node.index)
        # force: the manager still sees it ready for a heartbeat period or two
        async with sw.manager._query(f"nodes/{node.node_id}", method="DELETE", params={"force": "1"}):
            pass
