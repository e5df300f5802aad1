"""``DockerEngine``: the ``EngineAPI`` of one Docker engine, bound to one event loop."""

from __future__ import annotations

from ..values import EngineInfo
from . import parse
from .archive import DockerArchive
from .containers import DockerContainers
from .events import DockerEvents
from .execs import DockerExecs
from .http import DockerClient, EngineAddress, negotiate
from .images import DockerImages
from .peer import socket_peer_started_at
from .records import DockerRecords
from .storage import DockerNetworks, DockerVolumes

#: Engine endpoint -> its architecture (it never changes while the engine runs).
_architectures: dict[str, str] = {}


class DockerEngine:
    """The Docker implementation of ``EngineAPI``, bound to the loop it was opened in (``dialects.open_engine``)."""

    __slots__ = (
        "_archive",
        "_containers",
        "_events",
        "_execs",
        "_images",
        "_networks",
        "_records",
        "_volumes",
        "client",
    )

    #: Which engine this class speaks to (``Negotiated.dialect``).
    dialect = "docker"

    def __init__(self, client: DockerClient) -> None:
        self.client = client
        self._containers = self._make_containers(client)
        self._execs = self._make_execs(client, self._containers)
        self._archive = self._make_archive(client)
        self._images = self._make_images(client)
        self._records = DockerRecords(client)
        self._events = self._make_events(client)
        self._volumes = DockerVolumes(client)
        self._networks = DockerNetworks(client)

    # The parts whose behaviour differs between engines; a dialect's subclass overrides these.
    def _make_containers(self, client: DockerClient) -> DockerContainers:
        return DockerContainers(client)

    def _make_execs(self, client: DockerClient, containers: DockerContainers) -> DockerExecs:
        return DockerExecs(client, containers)

    def _make_archive(self, client: DockerClient) -> DockerArchive:
        return DockerArchive(client)

    def _make_images(self, client: DockerClient) -> DockerImages:
        return DockerImages(client)

    def _make_events(self, client: DockerClient) -> DockerEvents:
        return DockerEvents(client)

    @classmethod
    async def open(cls) -> DockerEngine:
        """Connect to the engine ``DOCKER_HOST`` names (API version negotiated once per host) with this class.
        ``docker.dialects.open_engine`` picks the class for the engine that answers.

        Raises ``ConnectionError`` when it cannot be reached.
        """
        return await cls.open_at(EngineAddress.from_env())

    @classmethod
    async def open_at(cls, address: EngineAddress) -> DockerEngine:
        """Connect to the engine at ``address``. Raises ``ConnectionError`` when it cannot be reached."""
        return cls(DockerClient(address, (await negotiate(address)).api_version))

    @property
    def containers(self) -> DockerContainers:
        return self._containers

    @property
    def execs(self) -> DockerExecs:
        return self._execs

    @property
    def archive(self) -> DockerArchive:
        return self._archive

    @property
    def images(self) -> DockerImages:
        return self._images

    @property
    def records(self) -> DockerRecords:
        return self._records

    @property
    def events(self) -> DockerEvents:
        return self._events

    @property
    def volumes(self) -> DockerVolumes:
        return self._volumes

    @property
    def networks(self) -> DockerNetworks:
        return self._networks

    @property
    def endpoint(self) -> str:
        return self.client.address.url

    @property
    def joins_network_namespaces(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self.client.closed

    async def info(self) -> EngineInfo:
        return parse.engine_info(await self.client.request_json("GET", "info", "read the engine's description"))

    async def started_at(self) -> float | None:
        path = self.client.address.socket_path
        return None if path is None else await socket_peer_started_at(path)

    async def architecture(self) -> str:
        arch = _architectures.get(self.endpoint)
        if arch is None:
            raw = await self.client.request_json("GET", "version", "read the engine's version")
            arch = _architectures[self.endpoint] = parse.engine_architecture(raw)
        return arch

    def child_environment(self) -> dict[str, str]:
        return {"DOCKER_HOST": self.client.address.url}

    async def close(self) -> None:
        await self.client.close()
