"""Where a volume lives on a swarm: one node, its *home*.

A named local volume exists per node, so two sandboxes on two nodes mounting "the same" volume would each see
their own node's copy, and the volume file API another. So each volume gets one home node, chosen the first time
something mounts it (among the nodes where that sandbox may run) and recorded as a swarm config (first writer
wins, so concurrent first uses agree); from then on every sandbox mounting it, and every helper of the volume file
API, is placed on that node. A sandbox that cannot run there (another node pool, volumes with different homes) is
refused with ``InvalidError`` saying why; while the home is not ready, ``ResourceExhaustedError``.

A ``sub_path`` mount binds a directory of the volume by its path on the home node, which ``SwarmVolumes.inspect``
gives, and is placed there like a whole volume.

The volume file API's helpers go wherever the volume lives, whatever that node's network: they run only the
library's own busybox script, with paths as arguments.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence

from ... import exception as exc
from ..docker.engine import DockerEngine
from ..labels import KIND, OWNER, OWNER_VALUE, PREFIX
from ..values import ContainerSpec
from . import parse
from .configs import Configs, name_for
from .model import NodeView
from .nodes import NodeDirectory

CONFIG_PREFIX = "sandbox-core-volume-home"
KIND_VOLUME_HOME = "volume-home"
VOLUME_LABEL = PREFIX + "volume"
NODE_LABEL = PREFIX + "home-node"
#: The kind label of the volume file API's helper containers (``sandbox_core/_volumes/store.py``).
HELPER_KIND = "volume-helper"


#: A bind mount of a directory inside a local volume (a ``sub_path`` mount): ``<data root>/volumes/<name>/_data/…``,
#: a path on the volume's home node (``SwarmVolumes.inspect`` answers from there).
_IN_VOLUME = re.compile(r"/volumes/([^/]+)/_data(?:/|$)")


def volumes_of(spec: ContainerSpec) -> list[str]:
    """The engine names of the named volumes ``spec`` mounts, whole or a directory of them."""
    names = {m.source for m in spec.mounts if m.type == "volume" and m.source}
    for m in spec.mounts:
        found = _IN_VOLUME.search(m.source) if m.type == "bind" else None
        if found is not None:
            names.add(found.group(1))
    return sorted(names)


def is_helper(spec: ContainerSpec) -> bool:
    return spec.labels.get(KIND) == HELPER_KIND


class VolumeHomes:
    """Home nodes of volumes (see the module docstring)."""

    __slots__ = ("_configs", "_manager", "_nodes")

    def __init__(self, configs: Configs, nodes: NodeDirectory, manager: DockerEngine) -> None:
        self._configs = configs
        self._nodes = nodes
        self._manager = manager

    async def home(self, volume: str) -> str | None:
        """The node id ``volume`` lives on; None before its first use."""
        found = await self._configs.inspect(name_for(CONFIG_PREFIX, volume))
        return None if found is None else parse.config_labels(found).get(NODE_LABEL) or None

    async def place(self, volumes: Sequence[str], candidates: Sequence[NodeView], needs: str) -> str | None:
        """The node every container mounting ``volumes`` must run on (None: no volumes), among ``candidates``
        (the ready nodes it may run on; ``needs`` says which, for errors). Volumes not used before get their home
        here: the pinned volumes' node, else one of the schedulable candidates."""
        if not volumes:
            return None
        homes = {v: await self.home(v) for v in volumes}
        pinned = {h for h in homes.values() if h is not None}
        if len(pinned) > 1:
            raise exc.InvalidError(
                f"the volumes {', '.join(volumes)} live on different swarm nodes (each volume lives on the node "
                "where it was first mounted), so no sandbox can mount them all: mount them in separate sandboxes"
            )
        node_id = pinned.pop() if pinned else self._choose(candidates, needs)
        await self._check_home(node_id, [v for v, h in homes.items() if h is not None], candidates, needs)
        for volume in (v for v, h in homes.items() if h is None):
            won = await self._pin(volume, node_id)
            if won != node_id:  # another client's first use came first: follow it
                return await self.place(volumes, candidates, needs)
        return node_id

    def _choose(self, candidates: Sequence[NodeView], needs: str) -> str:
        usable = [n for n in candidates if n.schedulable]
        if not usable:
            raise exc.ResourceExhaustedError(f"no swarm node is ready and active in {needs} to hold the volume")
        return secrets.choice(usable).id

    async def _check_home(self, node_id: str, pinned: list[str], candidates: Sequence[NodeView], needs: str) -> None:
        if any(n.id == node_id for n in candidates):
            return
        node = await self._nodes.get(node_id, max_age=0.0)
        where = node.hostname if node is not None else node_id[:12]
        if node is None or node.state != "ready":
            state = "gone from the swarm" if node is None else node.state
            raise exc.ResourceExhaustedError(
                f"the volume {', '.join(pinned)} lives on the swarm node {where}, which is {state}: a sandbox "
                "mounting it can run only there"
            )
        raise exc.InvalidError(
            f"the volume {', '.join(pinned)} lives on the swarm node {where} (the node where it was first mounted), "
            f"which is not in {needs} that this sandbox needs: a sandbox mounting it can run only there"
        )

    async def _pin(self, volume: str, node_id: str) -> str | None:
        """Record ``node_id`` as ``volume``'s home unless someone did first; the home that holds."""
        labels = await self._volume_labels(volume)
        record = {**labels, OWNER: OWNER_VALUE, KIND: KIND_VOLUME_HOME, VOLUME_LABEL: volume, NODE_LABEL: node_id}
        if await self._configs.create(name_for(CONFIG_PREFIX, volume), record) is None:
            return await self.home(volume)
        engine = await self._nodes.engine(node_id)
        if await engine.volumes.inspect(volume) is None:  # a node that joined after the volume was made
            await engine.volumes.create(volume, labels)
        return node_id

    async def _volume_labels(self, volume: str) -> Mapping[str, str]:
        info = await self._manager.volumes.inspect(volume)
        if info is None:
            raise exc.NotFoundError(f"the volume {volume} does not exist on the swarm")
        return {k: v for k, v in info.labels.items() if k != KIND}

    async def release(self, volume: str) -> None:
        """Forget ``volume``'s home (the volume was removed)."""
        await self._configs.remove(name_for(CONFIG_PREFIX, volume))
