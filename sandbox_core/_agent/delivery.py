"""The create step that gives every new sandbox the agent: a read-only mount of the volume that holds the binary
(``volume.py``), and the label ``sandbox-core.agent`` that tells every process the sandbox has it.

Costs nothing measurable at create time once the volume exists (the first sandbox of a build on an engine fills it,
~0.1-0.2 s, once). A sandbox gets no agent — and is then served through the engine's exec API — when
``SANDBOX_CORE_AGENT=0``, when there is no agent build for the engine's architecture, or when the binary is
missing from this installation (a source checkout that has not run ``scripts/build-agent.sh``; logged once).
"""

from __future__ import annotations

import logging

import attrs

from .. import exception as exc
from .._engine import EngineAPI
from .._engine import labels as L
from .._engine.values import ContainerSpec
from .binary import agent_binary
from .sessions import agent_enabled
from .volume import agent_mount, ensure_agent_volume

logger = logging.getLogger("sandbox_core")

_warned: set[str] = set()


async def agent_volume(eng: EngineAPI, helper_image: str) -> str | None:
    """The volume to mount so that a new sandbox has the agent (made and filled on first use), or None when new
    sandboxes get no agent (see the module docstring). ``helper_image``: any local image (the sandbox's), from
    which the one-time fill container is created (never started)."""
    if not agent_enabled():
        return None
    try:
        binary = agent_binary(await eng.architecture())
    except (exc.NotFoundError, exc.UnimplementedError) as e:
        if str(e) not in _warned:
            _warned.add(str(e))
            logger.warning("sandboxes get no agent (execs and files go through the engine's exec API): %s", e)
        return None
    try:
        return await ensure_agent_volume(eng, binary, helper_image=helper_image)
    except exc.Error as e:
        logger.warning("could not prepare the agent volume; this sandbox gets no agent: %s", e)
        return None


async def equip(eng: EngineAPI, spec: ContainerSpec, helper_image: str) -> ContainerSpec:
    """``spec`` with the agent mounted and labelled (unchanged when new sandboxes get no agent)."""
    volume = await agent_volume(eng, helper_image)
    if volume is None:
        return spec
    return attrs.evolve(spec, labels={**spec.labels, L.AGENT: volume}, mounts=(*spec.mounts, agent_mount(volume)))
