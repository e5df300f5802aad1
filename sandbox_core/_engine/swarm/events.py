"""Events on a swarm: the container events of every node's engine, merged, with each container's service id as
the actor (the sandbox's ref).

The manager emits no task events and none of other nodes' containers, so each node is followed on its own engine.
The node list is looked at every ``REFRESH`` seconds: nodes that joined are followed from then on, nodes that are
down stop being followed until they are ready again (then from where they were left, so nothing is missed).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence

import attrs

from ... import exception as exc
from ..values import EngineEvent, LabelQuery
from .nodes import NodeDirectory

log = logging.getLogger("sandbox_core.engine")

#: Seconds between two looks at the node list.
REFRESH = 5.0
SERVICE_ID_ATTRIBUTE = "com.docker.swarm.service.id"


class _Follower:
    """One node's event stream, feeding the merged queue; remembers when its last event happened."""

    __slots__ = ("last", "task")

    def __init__(self, since: float) -> None:
        self.last = since
        self.task: asyncio.Task[None] | None = None


class SwarmEvents:
    """``EventsAPI`` on a swarm."""

    __slots__ = ("_nodes",)

    def __init__(self, nodes: NodeDirectory) -> None:
        self._nodes = nodes

    async def follow(
        self, *, types: Sequence[str], labels: LabelQuery, since: float | None = None
    ) -> AsyncIterator[EngineEvent]:
        queue: asyncio.Queue[EngineEvent] = asyncio.Queue()
        followers: dict[str, _Follower] = {}
        start = time.time() if since is None else since
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self._sync(followers, queue, types, labels, start)
                until = loop.time() + REFRESH
                while (left := until - loop.time()) > 0:
                    try:
                        event = await asyncio.wait_for(queue.get(), left)
                    except TimeoutError:
                        break
                    yield event
        finally:
            for f in followers.values():
                if f.task is not None:
                    f.task.cancel()
            await asyncio.gather(*(f.task for f in followers.values() if f.task is not None), return_exceptions=True)

    async def _sync(
        self,
        followers: dict[str, _Follower],
        queue: asyncio.Queue[EngineEvent],
        types: Sequence[str],
        labels: LabelQuery,
        start: float,
    ) -> None:
        """Follow every ready node not yet followed; stop following nodes that are not ready."""
        try:
            nodes = await self._nodes.all(max_age=REFRESH / 2)
        except exc.Error as e:
            log.debug("swarm events: cannot list nodes (%s)", e)
            return
        ready = {n.id for n in nodes if n.state == "ready" and n.engine_url}
        for node_id, f in followers.items():
            if node_id not in ready and f.task is not None:
                f.task.cancel()
                f.task = None
        for node_id in ready:
            f = followers.setdefault(node_id, _Follower(start))
            if f.task is None or f.task.done():
                f.task = asyncio.get_running_loop().create_task(
                    self._follow_node(node_id, f, queue, types, labels), name=f"swarm-events-{node_id}"
                )

    async def _follow_node(
        self,
        node_id: str,
        f: _Follower,
        queue: asyncio.Queue[EngineEvent],
        types: Sequence[str],
        labels: LabelQuery,
    ) -> None:
        try:
            engine = await self._nodes.engine(node_id)
        except exc.Error as e:
            log.debug("swarm events: node %s unreachable (%s)", node_id[:12], e)
            return  # the next sync tries again
        async for ev in engine.events.follow(types=types, labels=labels, since=f.last):
            f.last = max(f.last, ev.time)
            service = ev.attributes.get(SERVICE_ID_ATTRIBUTE)
            if service:
                queue.put_nowait(attrs.evolve(ev, actor_id=service))
