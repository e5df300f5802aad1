"""The supervisor's view of agent activity, for ``idle_timeout``.

Execs and file operations through the agent leave no trace in the engine (one engine exec per *session*, not per
operation), so the supervisor cannot learn them from engine events. Instead it keeps a **monitor** session
(``sandbox-agent monitor``: activity and info only, a handful of pids) with each running sandbox that has an agent
and an idle timeout, and samples the agent's sandbox-wide census every ``sample_interval(idle_timeout)`` seconds:

- an exec of any session still has a process (its shim is alive): active now;
- the other sessions' I/O counter moved since the last sample: there was activity in between (an exec started or
  ended, output or input flowed, a file was read or written, a watch reported an event, a client pinged); it is
  dated at the sample that saw it, so a sandbox ends at most one interval late, never early;
- neither: idle since the last sample that saw activity (the first sample counts as activity: what happened
  before it is unknown).

This works whichever process drives the sandbox, and also after that process died (its execs keep running under
their shims). A sandbox whose agent cannot run is served through the engine, whose events the supervisor counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time

from .. import exception as exc
from .._engine import EngineAPI
from .client import Agent
from .transport import open_agent_stream

log = logging.getLogger("sandbox_core.supervisor")


def sample_interval(idle_timeout: float) -> float:
    """Seconds between two samples: a tenth of the idle timeout, within [0.2, 30]."""
    return min(max(idle_timeout / 10, 0.2), 30.0)


class Monitor:
    """The monitor session with one sandbox and what its samples found. ``last`` is the Unix time of the last
    activity seen (None before the first sample), ``busy`` whether an exec still ran at the last sample, and
    ``unavailable`` is set when no monitor can run there (then only engine events count)."""

    def __init__(self, ref: str, idle_timeout: float) -> None:
        self.ref = ref
        self.interval = sample_interval(idle_timeout)
        self.last: float | None = None
        self.busy = False
        self.unavailable = False
        self._agent: Agent | None = None
        self._io: tuple[int, int] | None = None
        self._task: asyncio.Task[None] | None = None

    async def open(self, eng: EngineAPI) -> None:
        """Start the monitor (one engine exec, which the supervisor, like every agent session, does not count as
        activity), take the first sample, then sample in the background."""
        try:
            self._agent = await Agent.connect(await open_agent_stream(eng, self.ref, mode="monitor"))
            await self.sample()
        except (exc.Error, TimeoutError) as e:
            log.info("no agent monitor for %s (%s): its engine events alone count", self.ref[:12], e)
            self.unavailable = True
            await self.close()
            return
        self._task = asyncio.create_task(self._run(), name=f"agent-monitor-{self.ref[:12]}")

    async def sample(self) -> None:
        """Ask the agent now; ``AgentLostError`` once the monitor session ended (the sandbox stopped)."""
        assert self._agent is not None
        a = await self._agent.activity(sandbox=True)
        now = time.time()
        io = (a.peer_io or 0, a.peers or 0)
        self.busy = bool(a.sandbox_running)
        if self.busy or self.last is None or io != self._io:
            self.last = now
        self._io = io

    async def _run(self) -> None:
        with contextlib.suppress(exc.Error):
            while True:
                await asyncio.sleep(self.interval)
                await self.sample()
        self.unavailable = True  # the session ended: the sandbox stopped, or its agent was killed

    def idle_since(self) -> float | None:
        """The Unix time the sandbox's agents have been idle since; None while an exec runs or before the first
        sample; ``-inf`` when the monitor is unavailable (no agent activity to add)."""
        if self.unavailable:
            return -math.inf
        if self.busy or self.last is None:
            return None
        return self.last

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        agent, self._agent = self._agent, None
        if agent is not None:
            await agent.close()


class Monitors:
    """The supervisor's monitors, by container ref."""

    def __init__(self) -> None:
        self._monitors: dict[str, Monitor] = {}

    async def idle_since(self, eng: EngineAPI, ref: str, idle_timeout: float, *, fresh: bool) -> float | None:
        """When the agents of sandbox ``ref`` became idle (see ``Monitor.idle_since``), starting its monitor on
        first use. With ``fresh`` a sample is taken now (before a decision to end the sandbox)."""
        m = self._monitors.get(ref)
        if m is None:
            m = self._monitors[ref] = Monitor(ref, idle_timeout)
            await m.open(eng)
        elif fresh and not m.unavailable:
            try:
                await m.sample()
            except exc.Error:
                m.unavailable = True
        return m.idle_since()

    async def forget(self, live: set[str]) -> None:
        """Close the monitors of sandboxes not in ``live`` (ended, or no longer idle-limited)."""
        for ref in [r for r in self._monitors if r not in live]:
            await self._monitors.pop(ref).close()

    async def close(self) -> None:
        await self.forget(set())
