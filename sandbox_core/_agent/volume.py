"""Getting the agent into sandboxes: a read-only mount of a labelled named volume that holds the binary.

The volume is named after the binary's hash, so each build is filled once per engine and then shared by every
sandbox (mounting it costs nothing measurable at create time; it works on read-only root filesystems, shell-less
images, any USER, and remote engines, since it is filled through the API).

Concurrency: creating a volume by name is atomic and first-writer-wins (a second create returns the first one's
labels). The creator, recognised by the random nonce it put in the labels, fills the volume and then creates a
second, empty *ready* volume; everyone else waits for that one to exist. A filler that dies leaves no ready
volume: after ``fill_timeout`` a waiter fills the volume itself (the contents are the same bytes).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Mapping

from .._engine.api import EngineAPI
from .._engine.tar import tar_header, tar_padding
from .._engine.values import ContainerSpec, Mount
from .binary import AgentBinary

#: Where sandboxes see the volume, and the agent inside it.
MOUNT_DIR = "/.sandbox-core-agent"
AGENT_PATH = MOUNT_DIR + "/sandbox-agent"

LABEL_KIND = "sandbox-core.kind"
KIND_AGENT = "agent-binary"
KIND_FILL = "agent-fill"
LABEL_SHA = "sandbox-core.agent-sha256"
LABEL_NONCE = "sandbox-core.agent-nonce"
OWNER_LABELS = {"sandbox-core.owner": "sandbox-core"}
#: Where the fill container sees the volume.
_FILL_DIR = "/fill"


def volume_name(binary: AgentBinary, prefix: str = "sandbox-core-agent") -> str:
    """The volume holding ``binary``: one per build."""
    return f"{prefix}-{binary.sha256[:24]}"


def agent_mount(volume: str) -> Mount:
    """The mount that puts the agent at ``AGENT_PATH``, read-only, without copy-up."""
    return Mount(type="volume", source=volume, target=MOUNT_DIR, read_only=True, no_copy=True)


async def put_file(
    eng: EngineAPI,
    volume: str,
    name: str,
    data: bytes,
    mode: int,
    *,
    helper_image: str,
    labels: Mapping[str, str] | None = None,
) -> None:
    """Write ``data`` as file ``name`` (mode ``mode``) at the root of ``volume``, through the archive API of a
    helper container that mounts it (created from ``helper_image``, which must exist locally; never started,
    removed after)."""
    spec = ContainerSpec(
        image=helper_image,
        labels={**OWNER_LABELS, LABEL_KIND: KIND_FILL, **(labels or {})},
        entrypoint=("/sandbox-core-agent-fill",),
        cmd=(),
        network_disabled=True,
        open_stdin=False,
        mounts=(Mount(type="volume", source=volume, target=_FILL_DIR),),
    )
    ref = await eng.containers.create(spec, f"sandbox-core-agent-fill-{secrets.token_hex(6)}")
    try:

        async def tar() -> AsyncIterator[bytes]:
            yield tar_header(name.encode(), size=len(data), mode=mode)
            yield data
            yield tar_padding(len(data)) + b"\0" * 1024

        await eng.archive.put(ref, _FILL_DIR.encode(), tar())
    finally:
        await eng.containers.remove(ref)


#: Volume name -> when this process last saw it ready (monotonic). Looked at again after ``READY_TTL`` seconds: the
#: supervisor removes volumes of old builds nothing uses, and a name mounted after its volume was removed would be
#: re-created empty by the engine.
_ready: dict[str, float] = {}
_locks: dict[str, asyncio.Lock] = {}
READY_TTL = 600.0


def _known_ready(name: str) -> bool:
    seen = _ready.get(name)
    return seen is not None and time.monotonic() - seen < READY_TTL


async def ensure_agent_volume(
    eng: EngineAPI,
    binary: AgentBinary,
    *,
    helper_image: str,
    prefix: str = "sandbox-core-agent",
    extra_labels: Mapping[str, str] | None = None,
    fill_timeout: float = 30.0,
    poll: float = 0.05,
) -> str:
    """Make sure the volume holding ``binary`` exists and is filled; return its name. Idempotent and safe to
    call concurrently from many tasks and processes; after the first success a process answers from memory.
    ``helper_image`` (any local image) is what the fill container is created from; ``extra_labels`` go on the
    volumes and the fill container."""
    name = volume_name(binary, prefix)
    if _known_ready(name):
        return name
    lock = _locks.setdefault(name, asyncio.Lock())
    async with lock:
        if _known_ready(name):
            return name
        ready = name + ".ready"
        if await eng.volumes.inspect(ready) is None or await eng.volumes.inspect(name) is None:
            await _fill_or_wait(eng, binary, name, ready, helper_image, extra_labels or {}, fill_timeout, poll)
        _ready[name] = time.monotonic()
    return name


async def _fill_or_wait(
    eng: EngineAPI,
    binary: AgentBinary,
    name: str,
    ready: str,
    helper_image: str,
    extra: Mapping[str, str],
    fill_timeout: float,
    poll: float,
) -> None:
    nonce = secrets.token_hex(8)
    labels = {**OWNER_LABELS, **extra, LABEL_KIND: KIND_AGENT, LABEL_SHA: binary.sha256}
    held = await eng.volumes.create(name, {**labels, LABEL_NONCE: nonce})
    if held.labels.get(LABEL_NONCE) != nonce:
        deadline = time.monotonic() + fill_timeout
        while time.monotonic() < deadline:
            if await eng.volumes.inspect(ready) is not None:
                return
            await asyncio.sleep(poll)
    await put_file(eng, name, "sandbox-agent", binary.read(), 0o755, helper_image=helper_image, labels=extra)
    await eng.volumes.create(ready, labels)
