"""Pool members: made like any sandbox (``_create.launch``, with the pool's labels), agent-ready, watched until
claimed or removed."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import attrs

from .. import _create, _lifecycle
from .._agent import sessions
from .._engine import get_engine
from .._engine import labels as L
from .._link import SandboxLink
from . import records

logger = logging.getLogger("sandbox_core")


@attrs.define(eq=False)
class Member:
    """A started member: its container, labels, and the link that holds its agent session in this process
    (``agent`` False: the sandbox has no agent, or its agent cannot run: execs go through the engine)."""

    container_id: str
    labels: dict[str, str]
    link: SandboxLink
    agent: bool

    @property
    def sandbox_id(self) -> str:
        return self.labels[L.SANDBOX_ID]

    def alive(self) -> bool:
        """False once its agent session ended (the container stopped, or the agent was killed). Without an agent:
        True (no signal is free; a claim of a member that died finds it out at first use, as a cold sandbox
        would)."""
        if not self.agent:
            return True
        slot = sessions.existing_slot(self.container_id)
        return slot is not None and slot.live is not None


async def make_member(req: _create.CreateRequest, pool_id: str) -> Member:
    """Create and start one member with the pool's spec, then open its agent session. Failed or cancelled midway,
    it is removed."""
    extra = {L.POOL: pool_id, L.POOL_OWNER: records.owner_label()}
    cid, labels = await _create.launch(req, extra_labels=extra)
    try:
        link = SandboxLink.from_labels(cid, labels)
        slot = sessions.slot_for(link)
        agent = slot is not None and await slot.get() is not None
        return Member(cid, labels, link, agent)
    except BaseException:
        await asyncio.shield(remove_member(cid, labels[L.SANDBOX_ID]))
        raise


async def remove_member(container_id: str, sandbox_id: str) -> None:
    """Remove an unclaimed member at once (it never was a sandbox to anyone) and close its session here."""
    with contextlib.suppress(Exception):
        await sessions.end(container_id)
    with contextlib.suppress(Exception):
        await _lifecycle.remove_sandbox(await get_engine(), sandbox_id, container_id)


async def watch_member(member: Member, on_gone: asyncio.Event) -> None:
    """Wait until ``member``'s agent session ends (its container stopped), then set ``on_gone``."""
    slot = sessions.existing_slot(member.container_id)
    agent = None if slot is None else slot.live
    if agent is None:
        return
    await agent.closed.wait()
    on_gone.set()
