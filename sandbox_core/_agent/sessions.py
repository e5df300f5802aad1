"""This process's agent sessions: one per (event loop, sandbox), shared by every handle, exec and file operation.

A sandbox created with the agent (label ``sandbox-core.agent``) gets an ``AgentSlot`` here on first use. The slot
opens the session lazily (one engine exec, ~50 ms), reopens it after a loss, and decides **once** whether this
sandbox uses the agent at all: if the very first session cannot be established although the sandbox runs (an
image where the binary cannot execute, a volume that holds no agent), the slot falls back to the engine's exec API
for good. ``SANDBOX_CORE_AGENT=0`` disables the agent everywhere (new sandboxes get no mount, existing ones are used
through the engine).

A session ends when the last attached handle of this process that used it detaches, when the sandbox is
terminated, and when its event loop closes (``loop.close`` is wrapped, as the engine's is), so nothing is left
open or reported unclosed.

A sandbox under its own kernel (gVisor) can stop while the engine keeps the session's exec stream open (its kernel
killed, the engine's exec stays attached): its session is watched, and closed ``GONE_GRACE`` seconds after the
container stopped, so that what waits on the agent learns that the sandbox finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import weakref
from collections.abc import Callable

from .. import exception as exc
from .._engine import get_engine
from .._engine.errors import ContainerNotRunning, NoSuchContainer
from .._link import SandboxLink
from .client import Agent
from .protocol import AgentLostError, AgentProtocolError
from .transport import open_agent_stream

logger = logging.getLogger("sandbox_core")

#: Environment variable: ``0`` (or ``false``/``no``/``off``) disables the agent.
AGENT_ENV = "SANDBOX_CORE_AGENT"
#: Seconds the first HELLO may take (the agent starts in well under a second even on a loaded machine).
CONNECT_TIMEOUT = 15.0
_FINISHED = "Sandbox already finished"
#: Seconds a gVisor sandbox's session may stay open after the container stopped: longer than an exec's own grace
#: (``process.GONE_GRACE``), so that a running exec ends as killed with its sandbox rather than as a lost session.
GONE_GRACE = 3.0


def agent_enabled() -> bool:
    """False when ``SANDBOX_CORE_AGENT`` disables the agent."""
    return os.environ.get(AGENT_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


class AgentSlot:
    """This process's session with one sandbox's agent (see the module docstring). ``uses_engine`` is True once
    the sandbox was found unable to run its agent."""

    __slots__ = (
        "_agent",
        "_had_session",
        "_lock",
        "_users",
        "_watch",
        "ref",
        "sandbox_id",
        "userspace_kernel",
        "uses_engine",
    )

    def __init__(self, ref: str, sandbox_id: str, *, userspace_kernel: bool = False) -> None:
        self.ref = ref
        self.sandbox_id = sandbox_id
        self.userspace_kernel = userspace_kernel  # gVisor: its session is watched (see the module docstring)
        self.uses_engine = False
        self._watch: asyncio.Task[None] | None = None
        self._agent: Agent | None = None
        self._had_session = False
        self._lock = asyncio.Lock()
        self._users: weakref.WeakSet[SandboxLink] = weakref.WeakSet()

    @property
    def live(self) -> Agent | None:
        """The session if it is open and alive now (no I/O)."""
        a = self._agent
        return a if a is not None and a.alive else None

    def use(self, link: SandboxLink) -> None:
        """Note that ``link`` (an attached handle) uses this session: it stays open until no such handle is left."""
        self._users.add(link)

    async def get(self) -> Agent | None:
        """The live session, opened (or reopened) now if needed; None when this sandbox uses the engine's exec API.

        Raises ``ConflictError`` when the sandbox is not running, ``ConnectionError`` when a session that worked
        before cannot be established again."""
        agent = self.live
        if agent is not None:
            return agent
        if self.uses_engine:
            return None
        async with self._lock:
            agent = self.live
            if agent is None and not self.uses_engine:
                if self._agent is not None:  # a session that was lost: release it before opening the next
                    dead, self._agent = self._agent, None
                    await dead.close()
                agent = await self._open()
            return agent

    async def _open(self) -> Agent | None:
        eng = await get_engine()
        try:
            transport = await open_agent_stream(eng, self.ref)
        except (ContainerNotRunning, NoSuchContainer):
            raise exc.ConflictError(_FINISHED) from None
        try:
            agent = await Agent.connect(transport, timeout=CONNECT_TIMEOUT)
        except (AgentProtocolError, AgentLostError, TimeoutError) as e:
            if not await _running(self.ref):
                raise exc.ConflictError(_FINISHED) from None
            if self._had_session:
                why = f"the agent of sandbox {self.sandbox_id} could not be reached again: {e}"
                raise exc.ConnectionError(why) from e
            tail = b"".join(transport.stderr_tail).decode("utf-8", "replace").strip()
            logger.info(
                "sandbox %s: the agent cannot run (%s%s); using the engine's exec API",
                self.sandbox_id,
                e,
                f": {tail[-300:]}" if tail else "",
            )
            self.uses_engine = True
            return None
        self._agent = agent
        self._had_session = True
        if self.userspace_kernel:
            if self._watch is not None:
                self._watch.cancel()
            self._watch = asyncio.get_running_loop().create_task(
                self._end_with_container(agent), name=f"agent-watch-{self.sandbox_id}"
            )
        return agent

    async def _end_with_container(self, agent: Agent) -> None:
        """Close ``agent`` (this slot's session) ``GONE_GRACE`` seconds after the container stopped."""
        with contextlib.suppress(exc.Error):
            await (await get_engine()).containers.wait(self.ref)
        await asyncio.sleep(GONE_GRACE)
        if self._agent is agent:
            self._agent = None
            await agent.close()

    async def sandbox_gone(self) -> bool:
        """True when the sandbox no longer runs (one inspect)."""
        return not await _running(self.ref)

    async def release(self, link: SandboxLink) -> None:
        """``link`` was detached: close the session if no other attached handle of this process uses it."""
        self._users.discard(link)
        if not any(not u.detached for u in self._users):
            await self.close()

    async def close(self) -> None:
        """End the session (running execs through it lose their output; their processes keep running).
        A later ``get`` opens a new one. Idempotent."""
        agent, self._agent = self._agent, None
        watch, self._watch = self._watch, None
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()
        if agent is not None:
            await agent.close()


async def _running(ref: str) -> bool:
    try:
        info = await (await get_engine()).containers.inspect(ref)
    except NoSuchContainer:
        return False
    return info.state.running


class _Registry:
    """The slots of one event loop, by container ref."""

    __slots__ = ("slots",)

    def __init__(self) -> None:
        self.slots: dict[str, AgentSlot] = {}

    async def close_all(self) -> None:
        slots, self.slots = list(self.slots.values()), {}
        for slot in slots:
            with contextlib.suppress(Exception):
                await slot.close()


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Registry] = weakref.WeakKeyDictionary()


def _close_with_loop(loop: asyncio.AbstractEventLoop, registry: _Registry) -> None:
    """Close the loop's sessions when it closes, before the engine they run on (whose close hook this one wraps,
    being installed later)."""
    original: Callable[[], None] = loop.close

    def close() -> None:
        if registry.slots and not loop.is_closed() and not loop.is_running():
            with contextlib.suppress(Exception):
                loop.run_until_complete(registry.close_all())
        _registries.pop(loop, None)
        original()

    with contextlib.suppress(AttributeError, TypeError):
        loop.close = close  # type: ignore[method-assign]


def _registry() -> _Registry:
    loop = asyncio.get_running_loop()
    reg = _registries.get(loop)
    if reg is None:
        reg = _registries[loop] = _Registry()
        _close_with_loop(loop, reg)
    return reg


def slot_for(link: SandboxLink) -> AgentSlot | None:
    """The agent slot of ``link``'s sandbox in this loop (``link`` counted among its users), or None when the
    sandbox has no agent (created without it) or the agent is disabled. Must run on the event loop."""
    if not link.agent or not agent_enabled():
        return None
    reg = _registry()
    slot = reg.slots.get(link.container_id)
    if slot is None:
        slot = reg.slots[link.container_id] = AgentSlot(
            link.container_id, link.sandbox_id, userspace_kernel=link.userspace_kernel
        )
    slot.use(link)
    return slot


def existing_slot(container_id: str) -> AgentSlot | None:
    """The slot of ``container_id`` in this loop if one was made (no side effect)."""
    reg = _registries.get(asyncio.get_running_loop())
    return None if reg is None else reg.slots.get(container_id)


async def release(link: SandboxLink) -> None:
    """``link`` was detached: its sandbox's session ends unless another attached handle of this process uses it."""
    slot = existing_slot(link.container_id)
    if slot is not None:
        await slot.release(link)
        if slot.live is None:
            _registries[asyncio.get_running_loop()].slots.pop(link.container_id, None)


async def end(container_id: str) -> None:
    """The sandbox is ending (terminated): close this process's session with it and forget the slot."""
    reg = _registries.get(asyncio.get_running_loop())
    slot = None if reg is None else reg.slots.pop(container_id, None)
    if slot is not None:
        await slot.close()


async def close_sessions() -> None:
    """Close every session of the running loop (tests, and processes that close their engine early)."""
    reg = _registries.get(asyncio.get_running_loop())
    if reg is not None:
        await reg.close_all()
