"""What every part of the swarm implementation shares: the manager, the nodes, the tasks, names and images, and
the way to a sandbox's container (``route``)."""

from __future__ import annotations

import contextlib
import re

import attrs

from ... import exception as exc
from ..._tasks import TaskSet
from ..docker.engine import DockerEngine
from ..errors import ContainerNotRunning, NoSuchContainer
from . import parse
from .config import SwarmConfig
from .configs import Configs
from .distribute import ImageDistribution
from .homes import VolumeHomes
from .model import Placement, ServiceView
from .names import Names
from .nodes import NodeDirectory, lost_reason
from .tasks import Tasks

#: Swarm object ids: 25 lowercase alphanumerics. Anything else given as a container ref is a name.
_SWARM_ID = re.compile(r"^[a-z0-9]{25}$")


class NodeUnreachable(exc.ConnectionError):
    """The engine of the node that runs a sandbox does not answer."""


@attrs.define
class Cluster:
    """The shared state of one ``SwarmEngine``."""

    config: SwarmConfig
    manager: DockerEngine
    nodes: NodeDirectory
    tasks: Tasks
    configs: Configs
    names: Names
    images: ImageDistribution
    homes: VolumeHomes
    background: TaskSet = attrs.field(factory=TaskSet)
    fenced: set[str] = attrs.field(factory=set)

    @classmethod
    def of(cls, config: SwarmConfig, manager: DockerEngine) -> Cluster:
        nodes = NodeDirectory(manager, config)
        configs = Configs(manager.client)
        return cls(
            config,
            manager,
            nodes,
            Tasks(manager.client),
            configs,
            Names(configs),
            ImageDistribution(manager, nodes),
            VolumeHomes(configs, nodes, manager),
        )

    async def service(self, ref: str) -> ServiceView:
        """The service ``ref`` (an id, or a service name). ``NoSuchContainer`` when it does not exist."""
        try:
            raw = await self.manager.client.request_json("GET", f"services/{ref}", f"inspect sandbox service {ref}")
        except exc.NotFoundError:
            raise NoSuchContainer(f"no sandbox service {ref}") from None
        return parse.service_view(raw)

    async def resolve(self, ref: str) -> str:
        """The service id of container ref ``ref``: a service id as handed out, or a container name (a claim)."""
        if _SWARM_ID.match(ref):
            return ref
        holder = await self.names.holder(ref)
        try:
            return (await self.service(holder)).id
        except NoSuchContainer:
            await self.names.drop_if_stale(ref)
            raise

    async def node_engine(self, node_id: str, what: str) -> DockerEngine:
        """The engine of ``node_id``; the error of ``unreachable`` when it does not answer."""
        try:
            return await self.nodes.engine(node_id)
        except exc.ConnectionError as e:
            raise await self.unreachable(node_id, what, e) from None

    async def unreachable(self, node_id: str, what: str, error: Exception) -> exc.Error:
        """The error for a node engine that failed ``what`` with ``error``: ``ContainerNotRunning`` when the manager
        has declared the node lost (its sandboxes have ended), else ``NodeUnreachable``."""
        node = None
        with contextlib.suppress(exc.Error):
            node = await self.nodes.get(node_id, max_age=0.0)
        reason = lost_reason(node, node_id) if node is not None else None
        if reason is not None:
            return ContainerNotRunning(f"{what}: {reason}")
        where = node.hostname if node is not None else node_id[:12]
        return NodeUnreachable(f"{what}: the engine of the swarm node {where} does not answer ({error})")

    async def lost(self, node_id: str) -> str | None:
        """Why ``node_id``'s tasks have ended, or None (also when the manager cannot be asked)."""
        try:
            return lost_reason(await self.nodes.get(node_id), node_id)
        except exc.Error:
            return None

    async def route(self, ref: str, what: str) -> tuple[DockerEngine, Placement]:
        """The engine of the node running sandbox service ``ref`` and the container's place there.
        ``ContainerNotRunning`` while the service has no container yet or once its node was declared lost;
        ``NoSuchContainer`` when it is gone."""
        placement = await self.tasks.placement(await self.resolve(ref))
        if placement is None:
            raise ContainerNotRunning(f"{what}: the sandbox's task has not started on a node yet")
        reason = await self.lost(placement.node_id)
        if reason is not None:
            raise ContainerNotRunning(f"{what}: {reason}")
        return await self.node_engine(placement.node_id, what), placement

    def fence(self, service_id: str) -> None:
        """A sandbox whose node was declared lost has ended: make sure it is not running on unseen if its node
        still (or again) answers. Once per sandbox, in the background."""
        if service_id in self.fenced:
            return
        self.fenced.add(service_id)
        self.background.spawn(self._fence(service_id), f"fence-{service_id}")

    async def _fence(self, service_id: str) -> None:
        with contextlib.suppress(exc.Error):
            placement = await self.tasks.placement(service_id)
            if placement is not None:
                engine = await self.nodes.engine(placement.node_id)
                await engine.containers.kill(placement.container_id)

    async def close(self) -> None:
        await self.background.cancel_all()
        await self.tasks.close()
        await self.nodes.close()
        await self.manager.close()
