"""Mount layers (Modal's ``add_local_*(copy=False)``) on the local engine: copied into each container before it
starts.

The engine cannot attach local files to a container as a layer, and a bind mount would expose the host directory
live (and read-write) to the sandbox. So a container created from an image with mount layers gets the files
through the archive API while it is still *created* (not started): one streamed, deterministic tar extracted at
``/``, each source under its remote path, parents created as needed. The sandbox sees them from its first
instruction on; they live in the container's writable layer (a copy: later local edits are not seen, edits in the
sandbox do not reach the host), and they never change the image or its content address.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from .._engine.api import EngineAPI
from .steps import LocalSource
from .tarstream import Entry, stream_tar


def mount_entries(mounts: Sequence[LocalSource]) -> list[Entry]:
    """The tar entries of ``mounts``, named relative to ``/`` (blocking: reads and digests the files)."""
    out: list[Entry] = []
    for source in mounts:
        out += source.entries(source.remote.strip("/"))
    return out


async def apply_mounts(eng: EngineAPI, container_id: str, mounts: Sequence[LocalSource]) -> None:
    """Copy ``mounts`` into the (created, not yet started) container ``container_id``."""
    if not mounts:
        return
    entries = await asyncio.to_thread(mount_entries, mounts)
    await eng.archive.put(container_id, b"/", stream_tar(entries), no_overwrite_dir_non_dir=False)


def mount_layers(eng: EngineAPI, mounts: Sequence[LocalSource]) -> Callable[[str], Awaitable[None]] | None:
    """The step that copies ``mounts`` into a created container (for ``start_container``), or None without any."""
    if not mounts:
        return None

    async def apply(container_id: str) -> None:
        await apply_mounts(eng, container_id, mounts)

    return apply
