"""Volumes on a swarm: a named local volume exists per node, and a service that mounts one gets (or creates, empty)
the volume of the node it lands on. So ``create`` and ``remove`` act on every ready node, ``inspect``/``list``
answer from the manager's engine (the cluster's reference copy, as for images), and each volume's data lives on
one node, its home (``homes.py``), where everything mounting it runs; ``remove`` forgets the home."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from ... import exception as exc
from ..docker.engine import DockerEngine
from ..values import LabelQuery, VolumeInfo
from .homes import VolumeHomes
from .nodes import NodeDirectory


class SwarmVolumes:
    """``VolumesAPI`` on a swarm."""

    __slots__ = ("_homes", "_manager", "_nodes")

    def __init__(self, manager: DockerEngine, nodes: NodeDirectory, homes: VolumeHomes) -> None:
        self._manager = manager
        self._nodes = nodes
        self._homes = homes

    async def _engines(self) -> list[DockerEngine]:
        nodes = [n for n in await self._nodes.all() if n.state == "ready" and n.engine_url]
        engines = await asyncio.gather(*(self._nodes.engine(n.id) for n in nodes), return_exceptions=True)
        out = [e for e in engines if isinstance(e, DockerEngine) and e is not self._manager]
        return [self._manager, *out]

    async def create(
        self, name: str, labels: Mapping[str, str], *, driver: str = "local", options: Mapping[str, str] | None = None
    ) -> VolumeInfo:
        engines = await self._engines()
        made = await asyncio.gather(
            *(e.volumes.create(name, labels, driver=driver, options=options) for e in engines), return_exceptions=True
        )
        for result in made:
            if isinstance(result, BaseException):
                raise result
        first = made[0]
        assert isinstance(first, VolumeInfo)
        return first

    async def inspect(self, name: str) -> VolumeInfo | None:
        """The volume as its home node's engine has it (its ``mountpoint`` is a path there), else as the manager's
        engine has it."""
        home = await self._homes.home(name)
        if home is not None:
            engine = await self._nodes.engine(home)
            found = await engine.volumes.inspect(name)
            if found is not None:
                return found
        return await self._manager.volumes.inspect(name)

    async def list(self, labels: LabelQuery) -> list[VolumeInfo]:
        return await self._manager.volumes.list(labels)

    async def remove(self, name: str) -> bool:
        removed = await asyncio.gather(*(e.volumes.remove(name) for e in await self._engines()), return_exceptions=True)
        errors = [r for r in removed if isinstance(r, exc.Error) and not isinstance(r, exc.ConnectionError)]
        if errors:
            raise errors[0]
        await self._homes.release(name)
        return any(r is True for r in removed)
