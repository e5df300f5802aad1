"""Which backend serves a sandbox's execs in this process: the agent when the sandbox has one that runs (decided
once per sandbox by its ``AgentSlot``), the engine's exec API otherwise."""

from __future__ import annotations

from .._agent.sessions import slot_for
from .._link import SandboxLink
from .agent import AgentBackend
from .base import ExecBackend
from .engine import ENGINE


async def exec_backend(link: SandboxLink) -> ExecBackend:
    """The backend for ``link``'s sandbox, opening its agent session on first use (~50 ms, once per process).
    ``ConflictError`` when the sandbox is not running, ``ClientClosed`` after detach."""
    link.check_attached()
    slot = slot_for(link)
    if slot is None or await slot.get() is None:
        return ENGINE
    return AgentBackend(slot)
