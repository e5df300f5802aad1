"""Container events on Podman, with the exec ids Docker's carry (docs/podman.md, section 2).

Podman's ``exec`` and ``exec_died`` events name neither the exec nor its command, so a reader cannot tell which exec
started or ended: the supervisor would count a long-lived exec (an agent session, which it must ignore) as a running
one for good, and a sandbox with an idle timeout would never be idle. Here each such event is replaced by what
changed in the container's execs since the last one (``ExecIDs`` of its inspect, each new or running exec
inspected): an ``exec_start`` per exec found running, an ``exec_die`` per exec found ended, with ``execID`` and the
command line as Docker gives them. An event that shows no change still marks activity, as an ``exec_create``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any, cast

import attrs

from .... import exception as exc
from ... import errors as E
from ...values import EngineEvent, LabelQuery
from ..events import DockerEvents

log = logging.getLogger("sandbox_core.engine")

_EXEC_ACTIONS = ("exec_start", "exec_die")
#: How often, and how far apart, an ``exec_died`` whose exec still looks running is looked at again.
_SETTLE_TRIES = 40
_SETTLE_INTERVAL = 0.05
#: Containers whose execs are tracked by one ``follow`` (the oldest forgotten first).
_TRACKED = 1024


def _command(raw: Mapping[str, Any]) -> str:
    process = raw.get("ProcessConfig") or {}
    return " ".join([str(process.get("entrypoint") or ""), *map(str, process.get("arguments") or ())]).strip()


class _Execs:
    """What one ``follow`` knows of one container's execs: exec id -> running."""

    def __init__(self) -> None:
        self.running: dict[str, bool] = {}
        self.baseline = True  # the first look: execs that ended before it are history, not events
        self.ends_owed = 0  # ends reported before Podman's own exec_died events for them arrived


class PodmanEvents(DockerEvents):
    """``EventsAPI`` on Podman."""

    __slots__ = ()

    async def follow(
        self, *, types: Sequence[str], labels: LabelQuery, since: float | None = None
    ) -> AsyncIterator[EngineEvent]:
        tracked: dict[str, _Execs] = {}
        # An async generator (the base's ``follow``), typed as the protocol's iterator.
        stream = cast(AsyncGenerator[EngineEvent, None], super().follow(types=types, labels=labels, since=since))
        async with contextlib.aclosing(stream) as events:
            async for ev in events:
                if ev.type != "container" or ev.action not in _EXEC_ACTIONS or "execID" in ev.attributes:
                    if ev.action == "destroy":
                        tracked.pop(ev.actor_id, None)
                    yield ev
                    continue
                for out in await self._changes_for(ev, tracked):
                    yield out

    async def _changes_for(self, ev: EngineEvent, tracked: dict[str, _Execs]) -> list[EngineEvent]:
        """What ``ev`` (an exec event without an id) stands for: the changes since the last look, at least an
        activity mark. Ends found before their own ``exec_died`` arrived are owed to it; an ``exec_died`` that
        finds no end and is owed none is looked at again (Podman says an exec died before its inspect does)."""
        changes = await self._exec_changes(ev, tracked)
        execs = tracked[ev.actor_id]
        ends = sum(c.action == "exec_die" for c in changes)
        if ev.action == "exec_die":
            if ends == 0 and execs.ends_owed > 0:
                execs.ends_owed -= 1
            else:
                for _ in range(_SETTLE_TRIES):
                    if ends:
                        break
                    await asyncio.sleep(_SETTLE_INTERVAL)
                    more = await self._exec_changes(ev, tracked)
                    ends = sum(c.action == "exec_die" for c in more)
                    changes += more
                execs.ends_owed += max(0, ends - 1)
        else:
            execs.ends_owed += ends
        return changes or [attrs.evolve(ev, action="exec_create")]

    async def _exec_changes(self, ev: EngineEvent, tracked: dict[str, _Execs]) -> list[EngineEvent]:
        """The exec starts and ends of ``ev``'s container since its last look, as Docker's events (none when
        nothing changed)."""
        execs = tracked.pop(ev.actor_id, None) or _Execs()
        tracked[ev.actor_id] = execs  # most recently seen last
        while len(tracked) > _TRACKED:
            tracked.pop(next(iter(tracked)))
        out: list[EngineEvent] = []
        try:
            raw = await self._client.request_json(
                "GET", f"containers/{ev.actor_id}/json", f"list the execs of {ev.actor_id[:12]}"
            )
            for exec_id in map(str, raw.get("ExecIDs") or ()):
                was = execs.running.get(exec_id)
                if was is False:
                    continue  # ended, and said so
                info = await self._client.request_json("GET", f"exec/{exec_id}/json", f"inspect exec {exec_id[:12]}")
                running = bool(info.get("Running"))
                if not running and not info.get("CanRemove"):
                    continue  # created, not started yet (an ended one "can be removed"): looked at next time
                execs.running[exec_id] = running
                if was is None and (running or not execs.baseline):
                    out.append(_exec_event(ev, "exec_start", exec_id, _command(info)))
                if not running and (was is True or (was is None and not execs.baseline)):
                    out.append(_exec_event(ev, "exec_die", exec_id, ""))
        except (E.NoSuchContainer, E.NoSuchExec):
            pass  # gone meanwhile: what was found stands
        except exc.Error as e:  # the stream must go on: what was found stands, the event still marks activity
            log.warning("could not read the execs of %s (%s)", ev.actor_id[:12], e)
        execs.baseline = False
        return out


def _exec_event(ev: EngineEvent, action: str, exec_id: str, command: str) -> EngineEvent:
    return attrs.evolve(ev, action=action, detail=command, attributes={**ev.attributes, "execID": exec_id})
