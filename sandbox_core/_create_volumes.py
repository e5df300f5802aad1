"""The volume step of ``Sandbox.create``: hydrate the volumes (``NotFoundError`` for a missing one), check that no
volume is mounted twice (by id), make the engine mounts, and once the sandbox runs check its ``sub_path`` mounts
again (``_volumes.mounts`` says why)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence

import attrs

from ._engine import EngineAPI
from ._engine import labels as L
from ._engine.values import Mount
from ._volumes import mounts as M
from .volume import Volume, mount_requests


@attrs.frozen
class VolumeStep:
    """The volumes of one sandbox being created: what to mount, and the labels that record it."""

    requests: tuple[M.MountRequest, ...]

    @property
    def labels(self) -> Mapping[str, str]:
        return M.sandbox_labels(self.requests)

    async def engine_mounts(self, eng: EngineAPI) -> tuple[Mount, ...]:
        return tuple(await M.engine_mounts(eng, self.requests))


async def prepare(eng: EngineAPI, validated: Sequence[tuple[str, Volume]]) -> VolumeStep:
    """Hydrate ``validated`` (from ``validate_volumes``) and check their ids."""
    requests = await mount_requests(validated)
    M.check_unique_ids(requests)
    return VolumeStep(tuple(requests))


async def verify_started(eng: EngineAPI, step: VolumeStep, sandbox_id: str) -> None:
    """After the start: the ``sub_path`` check again; on failure the sandbox is removed and the error raised."""
    if not any(r.sub_path for r in step.requests):
        return
    try:
        await M.verify_sub_paths(eng, step.requests)
    except BaseException:

        async def remove() -> None:
            with contextlib.suppress(Exception):
                for item in await eng.containers.list({L.SANDBOX_ID: sandbox_id}, all=True):
                    await eng.containers.remove(item.id)

        await asyncio.shield(remove())
        raise
