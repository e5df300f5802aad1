"""What getting the agent into sandboxes can leave behind, and its removal (the supervisor runs this now and then):

- **fill helpers** (containers of kind ``agent-fill``, created-not-started while a volume is filled) whose filler
  died: removed once ``FILL_AGE`` old (a fill takes well under a second);
- **agent volumes of other builds** (kind ``agent-binary``, with their ``.ready`` marker): removed once
  ``VOLUME_AGE`` old if no container (running or not) mounts them. The engine refuses to remove a volume in use, so a
  sandbox never loses its agent; a process that still believes such a volume ready re-checks within
  ``volume.READY_TTL`` and fills a new one.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping

import attrs

from .. import exception as exc
from .._engine import EngineAPI
from .._engine import labels as L
from .binary import agent_binary
from .volume import KIND_AGENT, KIND_FILL, LABEL_SHA

log = logging.getLogger("sandbox_core.supervisor")

#: Seconds after which a fill helper is a leftover.
FILL_AGE = 300.0
#: Seconds an unused volume of another build is kept (another installation may still be using it).
VOLUME_AGE = 6 * 3600.0


@attrs.frozen
class AgentSweep:
    """What one sweep removed."""

    fill_helpers: int
    volumes: int


async def sweep_agent_leftovers(
    eng: EngineAPI, now: float, *, scope: Mapping[str, str] | None = None, current: str | None = None
) -> AgentSweep:
    """Remove leftover fill helpers, and unused agent volumes of other builds than ``current`` (a SHA-256; default:
    this installation's binary for the engine, and no volume when it has none). ``scope``: only objects carrying
    these labels too."""
    extra = dict(scope or {})
    helpers = 0
    for item in await eng.containers.list({L.KIND: KIND_FILL, **extra}, all=True):
        if now - item.created_at > FILL_AGE and await eng.containers.remove(item.id):
            helpers += 1
    if current is None:
        try:
            current = agent_binary(await eng.architecture()).sha256
        except (exc.NotFoundError, exc.UnimplementedError):
            return AgentSweep(helpers, 0)
    volumes = 0
    for vol in await eng.volumes.list({L.KIND: KIND_AGENT, **extra}):
        sha = vol.labels.get(LABEL_SHA, "")
        if vol.name.endswith(".ready") or not sha or sha == current:
            continue
        if vol.created_at is None or now - vol.created_at < VOLUME_AGE:
            continue
        with contextlib.suppress(exc.ConflictError):  # in use: a sandbox still mounts it
            if await eng.volumes.remove(vol.name):
                await eng.volumes.remove(vol.name + ".ready")
                volumes += 1
                log.info("removed the agent volume %s of an older build", vol.name)
    return AgentSweep(helpers, volumes)
