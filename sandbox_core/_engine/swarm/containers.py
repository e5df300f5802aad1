"""Containers on a swarm: each sandbox is a service with one task, and its ref is the service's id.

- ``create`` checks the sandbox's node pool, copies its image to the pool's nodes, claims its name (``names.py``)
  and creates the service; swarm starts the task as soon as it has placed it (there is no "created but not
  started" service), and ``start`` waits until the task runs (or ended, or was rejected), for at most the placement
  timeout: a sandbox no node has room for raises ``ResourceExhaustedError``.
- ``inspect`` asks the engine of the task's node (exact, also while the manager restarts) and the manager's node
  list: a task on a node the manager declared down has ended (``ContainerState.lost_reason``), and is killed if its
  engine still answers (``Cluster.fence``), so it cannot go on unseen.
- ``list`` reads services and tasks from the manager (two requests, whatever the number of nodes).
- Everything else goes to the node's engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import secrets
from collections.abc import AsyncIterator

import attrs

from ... import exception as exc
from ..api import ExecStream, FrameSource
from ..docker.http import filters_param, label_filters
from ..errors import NoSuchContainer, NoSuchImage
from ..values import ContainerInfo, ContainerSpec, ContainerState, ContainerSummary, LabelQuery, LogRecord
from . import homes, parse
from . import spec as specs
from .cluster import Cluster, NodeUnreachable
from .model import NodeView, Placement, ServiceView, TaskView
from .nodes import lost_reason, shutdown_reason
from .stdin import SwarmStdin
from .tasks import newest

SERVICE_NAME_LABEL = "com.docker.swarm.service.name"
#: Seconds between two looks at the manager's node list while waiting on a node's container.
NODE_WATCH_INTERVAL = 2.0
#: Seconds the manager gets to report the end of a task whose container has exited.
FINAL_TASK_WAIT = 3.0


def _started(task: TaskView | None) -> bool:
    return task is not None and not task.pending


def _info_from_service(service: ServiceView, state: ContainerState) -> ContainerInfo:
    return ContainerInfo(
        id=service.id,
        name=service.name,
        labels=service.labels,
        image_id=service.image,
        created_at=service.created_at,
        user="",
        tty=service.tty,
        workdir=service.workdir,
        cmd=service.args,
        entrypoint=service.command,
        env=service.env,
        state=state,
        network_mode="",
    )


class SwarmContainers:
    """``ContainersAPI`` on a swarm (see the module docstring)."""

    __slots__ = ("_c",)

    def __init__(self, cluster: Cluster) -> None:
        self._c = cluster

    # ------------------------------------------------------------------------------------------------ creation

    async def create(self, spec: ContainerSpec, name: str | None = None) -> str:
        specs.check(spec)
        image = await self._c.manager.images.inspect(spec.image)
        if image is None:
            raise NoSuchImage(f"the image {spec.image} is not on the swarm manager's engine (the cluster's images)")
        pool, nodes = await self._placement(spec)
        await self._c.images.ensure(image.id, nodes)
        service_name = "sbx-" + secrets.token_hex(10)
        body = specs.service_spec(attrs.evolve(spec, image=image.id), service_name, pool)
        claim = await self._c.names.claim(name, service_name, spec.labels) if name is not None else None
        try:
            res = await self._c.manager.client.request_json(
                "POST", "services/create", f"create sandbox service for {name or spec.image}", body=body
            )
        except BaseException:
            if claim is not None:
                await asyncio.shield(self._c.names.release_claim(claim))
            raise
        service_id = parse.created_id(res)
        if homes.is_helper(spec):
            # The volume file API uses a created helper at once, for archive operations that a service's task serves
            # only once it has a container: swarm starts it anyway (its command is ``true`` or the helper's script).
            await self._started(service_id, None)
        return service_id

    async def _placement(self, spec: ContainerSpec) -> tuple[specs.Pool, list[NodeView]]:
        """The pool ``spec`` runs in and its nodes: one node when it mounts volumes (their home: ``homes.py``).
        A helper of the volume file API goes to its volume's home, whichever pool that node is in (a volume's
        first use by a helper puts it in the default pool, where sandboxes that have a network run)."""
        volumes = homes.volumes_of(spec)
        pool = specs.pool_of(spec)
        if homes.is_helper(spec):
            pool = specs.Pool(no_network=False, runtime=None, no_new_privileges=spec.no_new_privileges)
            home = await self._c.homes.home(volumes[0]) if volumes else None
            node = await self._c.nodes.get(home, max_age=0.0) if home is not None else None
            if node is not None:
                pool = specs.pool_of_node(node.labels, spec.no_new_privileges)
        nodes = await self._c.nodes.check_pool(pool)
        node_id = await self._c.homes.place(volumes, nodes, pool.describe())
        if node_id is None:
            return pool, nodes
        return attrs.evolve(pool, node_id=node_id), [n for n in nodes if n.id == node_id]

    async def start(self, ref: str) -> None:
        task = await self._started(ref, None)
        if task.state == "rejected" and "no such image" in task.error.lower():
            # The node joined (or lost the image) after the copy: copy it now and let swarm try again, once.
            await self._recopy_image(ref, task)
            task = await self._started(ref, task.id)
        if task.state == "rejected":
            if "no such image" in task.error.lower():
                raise NoSuchImage(f"the swarm node lacked the sandbox's image: {task.error}")
            raise exc.ServiceError(f"the swarm rejected the sandbox's task: {task.error}")

    async def _started(self, ref: str, replaced: str | None) -> TaskView:
        """The service's task once it has left the pending states (not task ``replaced``), within the placement
        timeout; ``ResourceExhaustedError`` when no node had room, ``TimeoutError`` otherwise."""
        timeout = self._c.config.placement_timeout
        try:
            task = await self._c.tasks.wait_for(
                ref, lambda t: _started(t) and t is not None and t.id != replaced, timeout
            )
        except TimeoutError:
            task = await self._c.tasks.of_service(ref)
            why = f"task {task.state}: {task.error or task.message}" if task is not None else "no task yet"
            if task is not None and "no suitable node" in task.error:
                raise exc.ResourceExhaustedError(
                    f"no swarm node had room for the sandbox within {timeout:.0f} s ({why}); its cpu and memory "
                    "requests are reserved on the node it runs on"
                ) from None
            raise exc.TimeoutError(f"the swarm did not start the sandbox within {timeout:.0f} s ({why})") from None
        assert task is not None
        return task

    async def _recopy_image(self, ref: str, task: TaskView) -> None:
        raw = await self._c.manager.client.request_json("GET", f"services/{ref}", "inspect sandbox service")
        service = parse.service_view(raw)
        node = await self._c.nodes.get(task.node_id, max_age=0.0)
        if node is None:
            return
        self._c.images.forget(node.id, service.image)
        await self._c.images.ensure(service.image, [node])
        version, spec = parse.forced_update(raw)
        await self._c.manager.client.request_json(
            "POST", f"services/{ref}/update", "retry the sandbox's task", params={"version": version}, body=spec
        )

    # ------------------------------------------------------------------------------------------------- reading

    async def inspect(self, ref: str) -> ContainerInfo:
        service_id = await self._c.resolve(ref)
        placement = await self._c.tasks.placement(service_id)
        if placement is not None:
            info = await self._inspect_on_node(service_id, placement)
            if info is not None:
                return info
        service = await self._c.service(service_id)
        task = await self._c.tasks.of_service(service_id)
        return _info_from_service(service, parse.task_state(task, await self._lost(task)))

    async def _inspect_on_node(self, service_id: str, placement: Placement) -> ContainerInfo | None:
        """The container as its node's engine describes it; None when that engine cannot tell (gone, unreachable)."""
        try:
            engine = await self._c.nodes.engine(placement.node_id)
            info = await engine.containers.inspect(placement.container_id)
        except (NoSuchContainer, exc.ConnectionError, exc.NotFoundError):
            return None
        state = info.state
        if state.running:
            reason = await self._c.lost(placement.node_id)
            if reason is not None:
                self._c.fence(service_id)
                state = attrs.evolve(state, status="exited", running=False, exit_code=137, lost_reason=reason)
        elif not state.is_live:
            # Whether swarm ended it (a drain) is in the task, which the manager updates a few hundred ms after the
            # container's exit: wait for that (bounded) rather than report the exit as the sandbox's own.
            with contextlib.suppress(exc.Error, TimeoutError):
                task = await self._c.tasks.wait_for(service_id, lambda t: t is None or t.final, FINAL_TASK_WAIT)
                state = attrs.evolve(state, lost_reason=await self._lost(task))
        name = info.labels.get(SERVICE_NAME_LABEL, info.name)
        return attrs.evolve(info, id=service_id, name=name, state=state)

    async def writable_size(self, ref: str) -> int:
        """Measured by the engine of the node the sandbox's task runs on; 0 before it has a container there."""
        service_id = await self._c.resolve(ref)
        placement = await self._c.tasks.placement(service_id)
        if placement is None:
            return 0
        engine = await self._c.nodes.engine(placement.node_id)
        return await engine.containers.writable_size(placement.container_id)

    async def first_oom_kill(self, ref: str, since: float, *, within: float = 0.0) -> float | None:
        """Asked of the engine of the node the sandbox's task runs on; None when it cannot tell."""
        service_id = await self._c.resolve(ref)
        placement = await self._c.tasks.placement(service_id)
        if placement is None:
            return None
        try:
            engine = await self._c.nodes.engine(placement.node_id)
            return await engine.containers.first_oom_kill(placement.container_id, since, within=within)
        except (NoSuchContainer, exc.ConnectionError, exc.NotFoundError):
            return None

    async def _lost(self, task: TaskView | None) -> str | None:
        """Why the sandbox of ``task`` ended with its node (lost, drained), or None."""
        if task is None or not task.node_id:
            return None
        if task.state in ("running", "starting"):
            return await self._c.lost(task.node_id)
        if task.state in ("shutdown", "orphaned"):
            try:
                return shutdown_reason(await self._c.nodes.get(task.node_id), task.node_id)
            except exc.Error:
                return "swarm shut it down"
        return None

    async def list(self, labels: LabelQuery, *, all: bool) -> list[ContainerSummary]:
        query = label_filters(labels)
        raw = await self._c.manager.client.request_json(
            "GET", "services", "list sandbox services", params={"filters": filters_param(label=query)}
        )
        services = [parse.service_view(s) for s in raw or ()]
        if not services:
            return []
        tasks = newest(await self._c.tasks.list(labels=query))
        nodes = {n.id: n for n in await self._c.nodes.all()}
        out: list[ContainerSummary] = []
        for s in services:
            task = tasks.get(s.id)
            reason = None
            if task is not None and task.state == "running":
                reason = lost_reason(nodes.get(task.node_id), task.node_id)
            if reason is not None:
                self._c.fence(s.id)
            state = parse.task_state(task, reason)
            if all or state.running:
                out.append(ContainerSummary(s.id, s.name, s.labels, state.status, s.created_at, s.image, s.image))
        return out

    # ---------------------------------------------------------------------------------------------- changing

    async def kill(self, ref: str, signal: str = "KILL") -> bool:
        service_id = await self._c.resolve(ref)
        placement = await self._c.tasks.placement(service_id)
        if placement is None or await self._c.lost(placement.node_id) is not None:
            return False
        engine = await self._c.node_engine(placement.node_id, "kill the sandbox")
        try:
            killed = await engine.containers.kill(placement.container_id, signal)
        except NoSuchContainer:
            return False
        except exc.ConnectionError as e:
            raise await self._c.unreachable(placement.node_id, "kill the sandbox", e) from None
        if killed and signal == "KILL":
            # The manager learns of the exit a few tens of ms later: wait for it, so that what any client lists
            # right after agrees with what this call did.
            with contextlib.suppress(TimeoutError, exc.Error):
                await self._c.tasks.wait_for(service_id, lambda t: t is None or t.state != "running", 2.0)
        return killed

    async def rename(self, ref: str, name: str) -> None:
        service = await self._c.service(await self._c.resolve(ref))
        await self._c.names.rename(service.name, name, service.labels)

    async def remove(self, ref: str) -> bool:
        try:
            service = await self._c.service(await self._c.resolve(ref))
        except NoSuchContainer:
            return False
        placement = self._c.tasks.cached(service.id)
        if placement is None:
            with contextlib.suppress(exc.Error):
                placement = await self._c.tasks.placement(service.id)
        try:
            await self._c.manager.client.request_json("DELETE", f"services/{service.id}", "remove sandbox service")
        except exc.NotFoundError:
            return False
        self._c.tasks.forget(service.id)
        self._c.fenced.discard(service.id)
        await self._c.names.release(service.name)
        if placement is not None:
            # Swarm removes the container itself, a second or two later; removing it now frees the node sooner.
            with contextlib.suppress(exc.Error):
                engine = await self._c.nodes.engine(placement.node_id)
                await engine.containers.remove(placement.container_id)
        return True

    # ------------------------------------------------------------------------------------------------- waiting

    async def wait(self, ref: str) -> int:
        service_id = await self._c.resolve(ref)
        while True:
            task = await self._c.tasks.wait_for(service_id, _started, math.inf)
            placement = self._c.tasks.cached(service_id)
            if placement is None:
                return parse.task_state(task, None).exit_code
            code = await self._wait_on_node(service_id, placement)
            if code is not None:
                return code

    async def _wait_on_node(self, service_id: str, placement: Placement) -> int | None:
        """The container's exit code, waited for on its node while watching the manager's verdict on the node
        (137 once it is declared lost); None to try again."""
        waiting = asyncio.ensure_future(self._node_wait(placement))
        watching = asyncio.ensure_future(self._until_lost(placement.node_id))
        try:
            done, _ = await asyncio.wait({waiting, watching}, return_when=asyncio.FIRST_COMPLETED)
            if waiting in done and isinstance(waiting.exception(), exc.ConnectionError | exc.NotFoundError):
                # The node's engine went away: give the manager's verdict on the node a moment to come.
                await asyncio.wait({watching}, timeout=NODE_WATCH_INTERVAL)
        finally:
            for t in (waiting, watching):
                t.cancel()
            await asyncio.gather(waiting, watching, return_exceptions=True)
        if watching.done() and not watching.cancelled() and watching.exception() is None:
            self._c.fence(service_id)
            return 137
        try:
            return waiting.result()
        except NoSuchContainer:
            # Swarm removed the container (a drained node): its task has the exit code.
            task = await self._c.tasks.of_service(service_id)
            return parse.task_state(task, await self._lost(task)).exit_code
        except (exc.ConnectionError, exc.NotFoundError, asyncio.CancelledError):
            return None  # the node's engine does not answer, and the manager has not given up on the node yet

    async def _node_wait(self, placement: Placement) -> int:
        engine = await self._c.nodes.engine(placement.node_id)
        return await engine.containers.wait(placement.container_id)

    async def _until_lost(self, node_id: str) -> str:
        while True:
            reason = await self._c.lost(node_id)
            if reason is not None:
                return reason
            await asyncio.sleep(NODE_WATCH_INTERVAL)

    # ------------------------------------------------------------------------------------ the main process's I/O

    async def resize(self, ref: str, *, rows: int, cols: int) -> None:
        engine, placement = await self._c.route(ref, "resize the sandbox's terminal")
        await engine.containers.resize(placement.container_id, rows=rows, cols=cols)

    async def follow_output(self, ref: str, *, fd: int | None, tty: bool) -> FrameSource:
        engine, placement = await self._c.route(ref, "read the sandbox's output")
        return await engine.containers.follow_output(placement.container_id, fd=fd, tty=tty)

    async def attach_stdin(self, ref: str, *, tty: bool) -> ExecStream:
        engine, placement = await self._c.route(ref, "attach to the sandbox's stdin")
        return SwarmStdin(await engine.containers.attach_stdin(placement.container_id, tty=tty))

    async def read_logs(
        self,
        ref: str,
        *,
        tty: bool,
        fd: int | None,
        since_ns: int | None = None,
        until_ns: int | None = None,
        tail: int | None = None,
    ) -> AsyncIterator[LogRecord]:
        engine, placement = await self._c.route(ref, "read the sandbox's log")
        records = engine.containers.read_logs(
            placement.container_id, tty=tty, fd=fd, since_ns=since_ns, until_ns=until_ns, tail=tail
        )
        async for record in records:
            yield record


__all__ = ["NodeUnreachable", "SwarmContainers"]
