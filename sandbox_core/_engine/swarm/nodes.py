"""The cluster's nodes as the manager reports them, the engine of each node, and what each node's engine offers.

- ``all()`` is the manager's node list, shared by every caller for ``max_age`` seconds; while the manager cannot be
  reached (a restart), the last list is used, so that sandboxes on reachable nodes keep working.
- ``engine(node_id)`` is a Docker engine client for the URL in the node's ``sandbox-core.engine`` label (one per
  URL, opened on first use).
- ``check_pool`` makes sure the nodes a sandbox may land on are what the pool needs before it is placed there:
  schedulable, with an engine URL, no-new-privileges set, and the pool's runtime or network setting.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from ... import exception as exc
from ..docker.engine import DockerEngine
from ..docker.http import DockerClient
from . import parse
from .config import SwarmConfig
from .model import NodeCaps, NodeView
from .spec import GVISOR, NETWORK_POOL_LABEL, NO_NEW_PRIVILEGES_LABEL, RUNTIME_POOL_LABEL, Pool

log = logging.getLogger("sandbox_core.engine")

#: Seconds a node's capabilities (its engine's settings) are trusted before they are read again.
CAPS_TTL = 60.0


def _retrieve(task: asyncio.Future[None]) -> None:
    """Mark a background read's failure as seen (its caller may be gone; the next caller reads again)."""
    if not task.cancelled():
        task.exception()


def lost_reason(node: NodeView | None, node_id: str) -> str | None:
    """Why a task on ``node`` has ended with its node (None while the node is not down)."""
    if node is None:
        return f"the swarm node {node_id[:12]} that ran it has left the cluster"
    if node.down:
        return f"the swarm node {node.hostname or node.id[:12]} that ran it is down (lost)"
    return None


def shutdown_reason(node: NodeView | None, node_id: str) -> str:
    """Why swarm shut down a task on ``node`` (a task in state ``shutdown`` or ``orphaned``: never our doing)."""
    if node is None or node.down:
        return lost_reason(node, node_id) or ""
    if node.availability == "drain":
        return f"the swarm node {node.hostname} that ran it was drained"
    return f"swarm shut it down on node {node.hostname}"


class NodeDirectory:
    """Nodes, their engines and their capabilities, for one ``SwarmEngine``."""

    __slots__ = ("_caps", "_config", "_engines", "_fetched", "_lock", "_manager", "_manager_engine", "_nodes")

    def __init__(self, manager_engine: DockerEngine, config: SwarmConfig) -> None:
        self._manager_engine = manager_engine
        self._manager: DockerClient = manager_engine.client
        self._config = config
        self._nodes: dict[str, NodeView] = {}
        self._fetched = -math.inf
        self._lock = asyncio.Lock()
        self._engines: dict[str, DockerEngine] = {}
        self._caps: dict[str, tuple[float, NodeCaps]] = {}

    async def all(self, max_age: float = 2.0) -> list[NodeView]:
        """Every node of the cluster, as the manager reported it at most ``max_age`` seconds ago (or, while the
        manager does not answer, as it last did)."""
        if time.monotonic() - self._fetched > max_age:
            async with self._lock:
                if time.monotonic() - self._fetched > max_age:
                    # Shielded: a caller that gives up (a race it lost) must not cancel a read others wait for.
                    refresh = asyncio.ensure_future(self._refresh())
                    refresh.add_done_callback(_retrieve)
                    await asyncio.shield(refresh)
        return list(self._nodes.values())

    async def _refresh(self) -> None:
        try:
            raw = await self._manager.request_json("GET", "nodes", "list the swarm's nodes")
        except exc.ConnectionError:
            if not self._nodes:
                raise
            log.debug("the swarm manager does not answer: using the node list of %.0f s ago", self.age)
            return
        self._nodes = {n.id: n for n in (parse.node_view(item) for item in raw or ())}
        self._fetched = time.monotonic()

    @property
    def age(self) -> float:
        """Seconds since the node list was read."""
        return time.monotonic() - self._fetched

    async def get(self, node_id: str, max_age: float = 2.0) -> NodeView | None:
        nodes = {n.id: n for n in await self.all(max_age)}
        return nodes.get(node_id)

    async def engine(self, node_id: str) -> DockerEngine:
        """The engine of node ``node_id``. ``InvalidError`` when the node has no engine label, ``NotFoundError``
        when the node is no longer in the cluster, ``ConnectionError`` when its engine does not answer."""
        node = await self.get(node_id, max_age=60.0)
        if node is None:
            node = await self.get(node_id, max_age=0.0)
        if node is None:
            raise exc.NotFoundError(f"the swarm node {node_id[:12]} is no longer in the cluster")
        if not node.engine_url:
            raise exc.InvalidError(
                f"the swarm node {node.hostname} has no {parse.ENGINE_LABEL} label: label every node with the URL "
                f"of its engine (docker node update --label-add {parse.ENGINE_LABEL}=tcp://<address>:2376 "
                f"{node.hostname})"
            )
        return await self.engine_at(node.engine_url)

    async def engine_at(self, url: str) -> DockerEngine:
        """The engine at ``url`` (the manager's own client when it is the same URL)."""
        if url == self._config.manager_url:
            return self._manager_engine
        engine = self._engines.get(url)
        if engine is None or engine.closed:
            engine = await DockerEngine.open_at(self._config.address(url, f"the {parse.ENGINE_LABEL} label"))
            if (other := self._engines.get(url)) is not None and not other.closed:
                await engine.close()  # another caller opened it meanwhile
                return other
            self._engines[url] = engine
        return engine

    async def caps(self, node: NodeView) -> NodeCaps:
        """What ``node``'s engine offers (cached for ``CAPS_TTL``)."""
        cached = self._caps.get(node.id)
        if cached is not None and time.monotonic() - cached[0] < CAPS_TTL:
            return cached[1]
        engine = await self.engine(node.id)
        info = await engine.client.request_json("GET", "info", f"read the engine settings of {node.hostname}")
        has_bridge = await engine.networks.inspect("bridge") is not None
        caps = parse.node_caps(info, has_bridge)
        self._caps[node.id] = (time.monotonic(), caps)
        return caps

    async def check_pool(self, pool: Pool) -> list[NodeView]:
        """The ready nodes of ``pool`` (where swarm may place its sandbox, now or once a paused node is active
        again), each checked to be what the pool needs. ``InvalidError`` naming the node and the fix when one is
        not; ``ResourceExhaustedError`` when none of them is active. A verdict against the shared node list is
        checked once more against a fresh one before it is given (the list may be seconds old)."""
        fetched = self._fetched
        try:
            return await self._check_pool(pool, max_age=2.0)
        except (exc.InvalidError, exc.ResourceExhaustedError):
            if self._fetched != fetched:
                raise  # the list was read for this very check
            self._caps.clear()
            return await self._check_pool(pool, max_age=0.0)

    async def _check_pool(self, pool: Pool, max_age: float) -> list[NodeView]:
        nodes = [n for n in await self.all(max_age) if n.state == "ready" and pool.admits(n.labels)]
        if not any(n.schedulable for n in nodes):
            raise exc.ResourceExhaustedError(
                f"no swarm node is ready and active in {pool.describe()}: add one, or label a node "
                f"(docker node update --label-add …)"
            )
        if pool.no_new_privileges:
            nodes = [n for n in nodes if n.engine_labels.get(NO_NEW_PRIVILEGES_LABEL) == "true"]
            if not any(n.schedulable for n in nodes):
                raise exc.InvalidError(
                    f"no ready swarm node in {pool.describe()} enforces no-new-privileges, which every sandbox needs "
                    "and a service spec cannot ask for: run the nodes' dockerd with --no-new-privileges and the "
                    f'engine label {NO_NEW_PRIVILEGES_LABEL}=true (daemon.json: "no-new-privileges": true, '
                    f'"labels": ["{NO_NEW_PRIVILEGES_LABEL}=true"])'
                )
        caps = await asyncio.gather(*(self.caps(n) for n in nodes))
        for node, cap in zip(nodes, caps, strict=True):
            _check_node(node, cap, pool)
        return nodes

    async def close(self) -> None:
        engines, self._engines = list(self._engines.values()), {}
        for engine in engines:
            await engine.close()


def _check_node(node: NodeView, cap: NodeCaps, pool: Pool) -> None:
    if pool.runtime == GVISOR and cap.default_runtime != GVISOR:
        raise exc.InvalidError(
            f"the swarm node {node.hostname} is labelled {RUNTIME_POOL_LABEL}={GVISOR} but its default runtime is "
            f"{cap.default_runtime}: start its dockerd with --add-runtime runsc=… --default-runtime runsc"
        )
    if pool.runtime is None and cap.default_runtime != "runc":
        raise exc.InvalidError(
            f"the swarm node {node.hostname} runs {cap.default_runtime} by default but carries no "
            f"{RUNTIME_POOL_LABEL} label: label it ({RUNTIME_POOL_LABEL}={cap.default_runtime}) or use runc"
        )
    if pool.no_network and cap.has_bridge:
        raise exc.InvalidError(
            f"the swarm node {node.hostname} is labelled {NETWORK_POOL_LABEL}=none but has a bridge network: start "
            "its dockerd with --bridge=none, where a service without networks has only loopback"
        )
