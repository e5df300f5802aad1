"""``PodmanEngine``: ``DockerEngine`` with Podman's containers, execs, archive, images and events."""

from __future__ import annotations

import attrs

from ...values import EngineInfo
from ..archive import DockerArchive
from ..containers import DockerContainers
from ..engine import DockerEngine
from ..events import DockerEvents
from ..execs import DockerExecs
from ..http import DockerClient
from ..images import DockerImages
from .archive import PodmanArchive
from .containers import PodmanContainers, default_runtime
from .events import PodmanEvents
from .execs import PodmanExecs
from .images import PodmanImages


class PodmanEngine(DockerEngine):
    """``EngineAPI`` on Podman's Docker-compatible service."""

    __slots__ = ()

    dialect = "podman"

    def _make_containers(self, client: DockerClient) -> DockerContainers:
        return PodmanContainers(client)

    def _make_execs(self, client: DockerClient, containers: DockerContainers) -> DockerExecs:
        return PodmanExecs(client, containers)

    def _make_archive(self, client: DockerClient) -> DockerArchive:
        return PodmanArchive(client)

    def _make_images(self, client: DockerClient) -> DockerImages:
        return PodmanImages(client)

    def _make_events(self, client: DockerClient) -> DockerEvents:
        return PodmanEvents(client)

    async def info(self) -> EngineInfo:
        """As on Docker, but the only runtime offered is the default one: Podman lists every runtime it knows
        of, and its compatible create ignores the one asked for."""
        info = await super().info()
        return attrs.evolve(info, runtimes=(await default_runtime(self.client),))
