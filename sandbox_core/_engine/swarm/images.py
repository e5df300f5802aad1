"""Images on a swarm: the manager's engine is the cluster's image store (``distribute.py``), and every image
operation goes there, except ``commit``: a sandbox's container is on the engine of the node that runs it, so the
commit is made there and the image then copied into the store (and removed from that node, which gets it back
from the store like any other image when a sandbox needs it there)."""

from __future__ import annotations

from ... import exception as exc
from ..docker.images import DockerImages
from ..values import ImageConfig
from .cluster import Cluster


class SwarmImages(DockerImages):
    """``ImagesAPI`` on a swarm (see the module docstring)."""

    __slots__ = ("_cluster",)

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(cluster.manager.client)
        self._cluster = cluster

    async def commit(self, container: str, config: ImageConfig, *, repo: str, tag: str, pause: bool = True) -> str:
        """Commit the sandbox service ``container``'s container on its node into ``repo:tag`` in the store.
        ``ContainerNotRunning`` when it has no container (not started, or its node was lost)."""
        engine, placement = await self._cluster.route(container, "commit the sandbox's filesystem")
        image_id = await engine.images.commit(placement.container_id, config, repo=repo, tag=tag, pause=pause)
        if engine is self._cluster.manager:
            return image_id
        reference = f"{repo}:{tag}"
        try:
            async with engine.images.export([reference]) as tarball:
                await self.load(tarball)
        finally:
            await engine.images.remove(reference)
        if await self.inspect(image_id) is None:
            raise exc.ServiceError(f"the committed image {image_id} did not reach the swarm's image store")
        return image_id
