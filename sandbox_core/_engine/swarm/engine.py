"""``SwarmEngine``: the ``EngineAPI`` of a Docker Swarm, bound to one event loop.

Cluster calls (services, tasks, nodes, configs) and images go to the manager's engine; a sandbox's exec, attach,
logs and archives go to the engine of the node that runs it. See ``containers.py`` for how a sandbox maps onto a
service, ``config.py`` for the configuration.
"""

from __future__ import annotations

from ... import exception as exc
from ..docker.engine import DockerEngine
from ..docker.storage import DockerNetworks
from ..values import EngineInfo
from . import parse
from .cluster import Cluster
from .config import MANAGER_ENV, SwarmConfig
from .containers import SwarmContainers
from .events import SwarmEvents
from .execs import SwarmArchive, SwarmExecs
from .images import SwarmImages
from .records import SwarmRecords
from .volumes import SwarmVolumes


class SwarmEngine:
    """The swarm implementation of ``EngineAPI``. Open it with ``SwarmEngine.open()`` inside the loop it serves."""

    __slots__ = (
        "_archive",
        "_containers",
        "_events",
        "_execs",
        "_images",
        "_records",
        "_volumes",
        "cluster",
        "cluster_id",
    )

    def __init__(self, cluster: Cluster, cluster_id: str) -> None:
        self.cluster = cluster
        self.cluster_id = cluster_id
        self._containers = SwarmContainers(cluster)
        self._execs = SwarmExecs(cluster)
        self._archive = SwarmArchive(cluster)
        self._images = SwarmImages(cluster)
        self._records = SwarmRecords(cluster.configs)
        self._events = SwarmEvents(cluster.nodes)
        self._volumes = SwarmVolumes(cluster.manager, cluster.nodes, cluster.homes)

    @classmethod
    async def open(cls, config: SwarmConfig | None = None) -> SwarmEngine:
        """Connect to the manager the configuration names (``SwarmConfig.from_env()`` by default).

        Raises ``ConnectionError`` when it cannot be reached, ``InvalidError`` when it is not a swarm manager.
        """
        config = config or SwarmConfig.from_env()
        try:
            manager = await DockerEngine.open_at(config.address(config.manager_url, MANAGER_ENV))
        except exc.ConnectionError as e:
            raise exc.ConnectionError(
                f"cannot reach the swarm manager at {config.manager_url} ({MANAGER_ENV}): {e}"
            ) from None
        try:
            info = await manager.client.request_json("GET", "info", "read the swarm manager's state")
            cluster_id = parse.cluster_id(info)
            if cluster_id is None:
                raise exc.InvalidError(
                    f"the engine at {config.manager_url} is not a swarm manager (its swarm state is "
                    f"{parse.swarm_state(info)}): set {MANAGER_ENV} to a manager's engine"
                )
        except BaseException:
            await manager.close()
            raise
        return cls(Cluster.of(config, manager), cluster_id)

    @property
    def containers(self) -> SwarmContainers:
        return self._containers

    @property
    def execs(self) -> SwarmExecs:
        return self._execs

    @property
    def archive(self) -> SwarmArchive:
        return self._archive

    @property
    def images(self) -> SwarmImages:
        return self._images

    @property
    def records(self) -> SwarmRecords:
        return self._records

    @property
    def events(self) -> SwarmEvents:
        return self._events

    @property
    def volumes(self) -> SwarmVolumes:
        return self._volumes

    @property
    def networks(self) -> DockerNetworks:
        return self.cluster.manager.networks

    @property
    def endpoint(self) -> str:
        return f"swarm://{self.cluster_id}"

    @property
    def joins_network_namespaces(self) -> bool:
        return False  # a service's task cannot join a container's network namespace

    @property
    def closed(self) -> bool:
        return self.cluster.manager.closed

    async def started_at(self) -> float | None:
        """None: a cluster has no single engine whose restart would stop every sandbox (a node's restart is a
        lost node)."""
        return None

    async def info(self) -> EngineInfo:
        """The manager's engine (nodes of one cluster are expected to share its architecture)."""
        return await self.cluster.manager.info()

    async def architecture(self) -> str:
        """Refused: the in-sandbox agent's binary reaches a sandbox through a named volume on the engine that runs
        it, which a service's task on another node cannot mount. Sandboxes of a swarm get no agent and are served
        through the exec API (``_agent/delivery.py`` falls back on this error)."""
        raise exc.UnimplementedError("the in-sandbox agent is not delivered to sandboxes of a swarm")

    def child_environment(self) -> dict[str, str]:
        return self.cluster.config.child_environment()

    async def close(self) -> None:
        await self.cluster.close()
