"""Images reach the nodes that need them through the engines, without a registry.

The manager's engine is the cluster's image store: ``ImagesAPI`` (inspect, pull, build, import, tag, list, remove)
works there, so the image builder's chain of step images lives in one place. Before a sandbox is placed,
``ensure`` copies its image from there into every node of its pool that lacks it (``docker save | docker load``,
streamed, once per node and image even when many sandboxes start together). Image ids are content digests, so the
copy has the same id everywhere and the service names the image by id (a name would make each node try a pull).

Why not a registry service in the cluster: the per-node cost is the same as a pull for the images measured
(tests/cluster/SWARM-NOTES.md §1), while a registry needs registry-prefixed names, ``--insecure-registry`` or TLS on
every node, and a push through a node anyway. What a registry would save is sending layers a node already has (a
save always carries all of them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence

from ... import exception as exc
from ..docker.engine import DockerEngine
from ..errors import NoSuchImage
from .model import NodeView
from .nodes import NodeDirectory

log = logging.getLogger("sandbox_core.engine")

#: Seconds a node is trusted to still hold an image it was seen with.
PRESENT_TTL = 60.0


class ImageDistribution:
    """Copies images from the manager's engine into nodes' engines."""

    __slots__ = ("_copies", "_manager", "_nodes", "_present", "copied")

    def __init__(self, manager: DockerEngine, nodes: NodeDirectory) -> None:
        self._manager = manager
        self._nodes = nodes
        self._present: dict[tuple[str, str], float] = {}
        self._copies: dict[tuple[str, str], asyncio.Task[None]] = {}
        #: (node id, image id, seconds) of the latest copies made, for tests and benchmarks.
        self.copied: deque[tuple[str, str, float]] = deque(maxlen=256)

    async def ensure(self, image_id: str, nodes: Sequence[NodeView]) -> None:
        """Make ``image_id`` present on every node of ``nodes``. ``NoSuchImage`` when the manager lacks it."""
        await asyncio.gather(*(self._ensure_on(image_id, node) for node in nodes))

    def forget(self, node_id: str, image_id: str) -> None:
        """The node turned out to lack the image (someone removed it): check again next time."""
        self._present.pop((node_id, image_id), None)

    async def _ensure_on(self, image_id: str, node: NodeView) -> None:
        key = (node.id, image_id)
        seen = self._present.get(key)
        if seen is not None and time.monotonic() - seen < PRESENT_TTL:
            return
        task = self._copies.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._copy(image_id, node), name=f"copy-image-{node.id}")
            self._copies[key] = task
            task.add_done_callback(lambda _: self._copies.pop(key, None))
        await asyncio.shield(task)
        self._present[key] = time.monotonic()

    async def _copy(self, image_id: str, node: NodeView) -> None:
        target = await self._nodes.engine(node.id)
        if target is self._manager or await target.images.inspect(image_id) is not None:
            return
        info = await self._manager.images.inspect(image_id)
        if info is None:
            raise NoSuchImage(f"the image {image_id} is not on the swarm manager's engine (the cluster's image store)")
        t0 = time.monotonic()
        # By its tags when it has some, so that the node knows it by the same names (and by id alone otherwise).
        async with self._manager.images.export(list(info.repo_tags) or [image_id]) as tarball:
            await target.images.load(tarball)
        if await target.images.inspect(image_id) is None:
            raise exc.ServiceError(f"copying image {image_id} to the swarm node {node.hostname} did not produce it")
        elapsed = time.monotonic() - t0
        self.copied.append((node.id, image_id, elapsed))
        log.info("copied image %s to swarm node %s in %.2f s", image_id[:19], node.hostname, elapsed)
