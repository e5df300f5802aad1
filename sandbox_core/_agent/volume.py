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
from collections.abc import Mapping
from typing import Any, Protocol

from .binary import AgentBinary

#: Where sandboxes see the volume, and the agent inside it.
MOUNT_DIR = "/.sandbox-core-agent"
AGENT_PATH = MOUNT_DIR + "/sandbox-agent"

LABEL_KIND = "sandbox-core.kind"
KIND_AGENT = "agent-binary"
LABEL_SHA = "sandbox-core.agent-sha256"
LABEL_NONCE = "sandbox-core.agent-nonce"
OWNER_LABELS = {"sandbox-core.owner": "sandbox-core"}


class VolumeEngine(Protocol):
    """What ``ensure_agent_volume`` needs from the engine (``engine_calls.EngineVolumeCalls`` implements it)."""

    async def create_volume(self, name: str, labels: Mapping[str, str]) -> Mapping[str, str]:
        """Create volume ``name`` unless it exists; return the labels it actually holds."""
        ...

    async def volume_exists(self, name: str) -> bool:
        """Whether volume ``name`` exists."""
        ...

    async def put_file(self, volume: str, name: str, data: bytes, mode: int) -> None:
        """Write ``data`` as file ``name`` (mode ``mode``) at the root of ``volume``."""
        ...


def volume_name(binary: AgentBinary, prefix: str = "sandbox-core-agent") -> str:
    """The volume holding ``binary``: one per build."""
    return f"{prefix}-{binary.sha256[:24]}"


def agent_mount(volume: str) -> dict[str, Any]:
    """The engine ``Mounts`` entry that puts the agent at ``AGENT_PATH``, read-only, without copy-up."""
    return {
        "Type": "volume",
        "Source": volume,
        "Target": MOUNT_DIR,
        "ReadOnly": True,
        "VolumeOptions": {"NoCopy": True},
    }


_ready: dict[str, str] = {}
_locks: dict[str, asyncio.Lock] = {}


async def ensure_agent_volume(
    engine: VolumeEngine,
    binary: AgentBinary,
    *,
    prefix: str = "sandbox-core-agent",
    extra_labels: Mapping[str, str] | None = None,
    fill_timeout: float = 30.0,
    poll: float = 0.05,
) -> str:
    """Make sure the volume holding ``binary`` exists and is filled; return its name. Idempotent and safe to
    call concurrently from many tasks and processes; after the first success a process answers from memory."""
    name = volume_name(binary, prefix)
    if name in _ready:
        return name
    lock = _locks.setdefault(name, asyncio.Lock())
    async with lock:
        if name in _ready:
            return name
        ready = name + ".ready"
        if not await engine.volume_exists(ready):
            await _fill_or_wait(engine, binary, name, ready, extra_labels or {}, fill_timeout, poll)
        _ready[name] = name
    return name


async def _fill_or_wait(
    engine: VolumeEngine,
    binary: AgentBinary,
    name: str,
    ready: str,
    extra: Mapping[str, str],
    fill_timeout: float,
    poll: float,
) -> None:
    nonce = secrets.token_hex(8)
    labels = {**OWNER_LABELS, **extra, LABEL_KIND: KIND_AGENT, LABEL_SHA: binary.sha256}
    held = await engine.create_volume(name, {**labels, LABEL_NONCE: nonce})
    if held.get(LABEL_NONCE) != nonce:
        deadline = time.monotonic() + fill_timeout
        while time.monotonic() < deadline:
            if await engine.volume_exists(ready):
                return
            await asyncio.sleep(poll)
    await engine.put_file(name, "sandbox-agent", binary.read(), 0o755)
    await engine.create_volume(ready, labels)
