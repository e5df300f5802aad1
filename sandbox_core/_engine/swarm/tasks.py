"""The task behind each sandbox's service: where its container runs, and waiting for it to start.

A sandbox's service has exactly one task (one replica, never restarted), so once the task has a container its
placement (node, container id) never changes and is cached for the life of the engine. Waiting uses one shared
poller of the manager's task list for every waiter (the manager emits no task events): creating fifty sandboxes at
once costs one request per poll, not fifty.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
from collections.abc import Callable, Iterable

from ... import exception as exc
from ..docker.http import DockerClient
from ..errors import NoSuchContainer
from . import parse
from .model import Placement, TaskView

#: Seconds between two polls of the task list while someone waits.
POLL_INTERVAL = 0.02

Done = Callable[[TaskView | None], bool]


def newest(tasks: Iterable[TaskView]) -> dict[str, TaskView]:
    """service id -> its newest task."""
    out: dict[str, TaskView] = {}
    for t in tasks:
        if t.service_id not in out or t.created_at > out[t.service_id].created_at:
            out[t.service_id] = t
    return out


class _Waiter:
    __slots__ = ("done", "future", "service_id")

    def __init__(self, service_id: str, done: Done) -> None:
        self.service_id = service_id
        self.done = done
        self.future: asyncio.Future[TaskView | None] = asyncio.get_running_loop().create_future()


class Tasks:
    """Task lookups and waits against one manager."""

    __slots__ = ("_manager", "_placements", "_poller", "_waiters")

    def __init__(self, manager: DockerClient) -> None:
        self._manager = manager
        self._placements: dict[str, Placement] = {}
        self._waiters: list[_Waiter] = []
        self._poller: asyncio.Task[None] | None = None

    async def list(self, service_ids: Iterable[str] | None = None, labels: list[str] | None = None) -> list[TaskView]:
        """Tasks of ``service_ids`` (``NoSuchContainer`` when one of them is gone), or carrying service ``labels``."""
        filters: dict[str, list[str]] = {}
        if service_ids is not None:
            filters["service"] = sorted(set(service_ids))
        if labels is not None:
            filters["label"] = labels
        try:
            raw = await self._manager.request_json(
                "GET", "tasks", "list swarm tasks", params={"filters": json.dumps(filters)}
            )
        except exc.NotFoundError as e:
            raise NoSuchContainer(str(e)) from None
        tasks = [parse.task_view(t) for t in raw or ()]
        for t in tasks:
            self._remember(t)
        return tasks

    async def of_service(self, service_id: str) -> TaskView | None:
        """The service's task (None before swarm made one). ``NoSuchContainer`` when the service is gone."""
        return newest(await self.list([service_id])).get(service_id)

    def _remember(self, task: TaskView) -> None:
        if task.container_id and task.node_id and task.service_id not in self._placements:
            self._placements[task.service_id] = Placement(task.node_id, task.container_id)

    def cached(self, service_id: str) -> Placement | None:
        """The placement of a service whose container has been seen, without asking anyone."""
        return self._placements.get(service_id)

    async def placement(self, service_id: str) -> Placement | None:
        """Where the service's container runs; None while it has none. ``NoSuchContainer`` when the service is
        gone."""
        found = self._placements.get(service_id)
        if found is None:
            await self.of_service(service_id)
            found = self._placements.get(service_id)
        return found

    def forget(self, service_id: str) -> None:
        self._placements.pop(service_id, None)

    async def wait_for(self, service_id: str, done: Done, timeout: float) -> TaskView | None:
        """The service's newest task (None: none yet) once ``done`` accepts it. ``TimeoutError`` after ``timeout``
        seconds, ``NoSuchContainer`` when the service goes away meanwhile."""
        waiter = _Waiter(service_id, done)
        self._waiters.append(waiter)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll(), name="swarm-task-poller")
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(waiter.future)
        finally:
            waiter.future.cancel()  # nobody will read it any more (a no-op once it has a result)
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    async def _poll(self) -> None:
        while self._waiters:
            await self._poll_once([w for w in self._waiters if not w.future.done()])
            await asyncio.sleep(POLL_INTERVAL)

    async def _poll_once(self, waiting: builtins.list[_Waiter]) -> None:
        try:
            found = newest(await self.list(w.service_id for w in waiting))
        except NoSuchContainer:
            await self._fail_gone(waiting)
            return
        except exc.ConnectionError:
            return  # the manager is restarting: keep polling until the waiters' own deadlines
        except exc.Error as e:
            for w in waiting:
                if not w.future.done():
                    w.future.set_exception(e)
            return
        for w in waiting:
            task = found.get(w.service_id)
            if not w.future.done() and w.done(task):
                w.future.set_result(task)

    async def _fail_gone(self, waiting: builtins.list[_Waiter]) -> None:
        """Some waited-for service is gone: find which, fail its waiters."""
        for w in waiting:
            try:
                await self.of_service(w.service_id)
            except NoSuchContainer as e:
                if not w.future.done():
                    w.future.set_exception(e)
            except exc.Error:
                pass

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
