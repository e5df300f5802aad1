"""Execs and archives on a swarm: routed to the engine of the node that runs the sandbox (the manager serves
neither). An exec id is ``<node id>.<the node engine's exec id>``, so later calls find the node without a lookup."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator

from ... import exception as exc
from ..api import ArchiveDownload, ExecStream
from ..docker.engine import DockerEngine
from ..errors import ContainerNotRunning, NoSuchContainer, NoSuchExec
from ..values import ExecInfo, ExecSpec, PathStat
from .cluster import Cluster


def _split(exec_id: str) -> tuple[str, str]:
    node_id, dot, engine_exec = exec_id.partition(".")
    if not dot or not node_id or not engine_exec:
        raise NoSuchExec(f"no exec {exec_id!r} on this swarm")
    return node_id, engine_exec


class SwarmExecs:
    """``ExecsAPI`` on a swarm."""

    __slots__ = ("_c",)

    def __init__(self, cluster: Cluster) -> None:
        self._c = cluster

    async def _node(self, exec_id: str, what: str) -> tuple[DockerEngine, str, str]:
        node_id, engine_exec = _split(exec_id)
        return await self._c.node_engine(node_id, what), node_id, engine_exec

    async def create(self, ref: str, spec: ExecSpec) -> str:
        engine, placement = await self._c.route(ref, "start a process in the sandbox")
        return f"{placement.node_id}.{await engine.execs.create(placement.container_id, spec)}"

    async def start(self, exec_id: str, *, tty: bool) -> ExecStream:
        engine, _, engine_exec = await self._node(exec_id, "start a process in the sandbox")
        return await engine.execs.start(engine_exec, tty=tty)

    async def inspect(self, exec_id: str) -> ExecInfo:
        engine, node_id, engine_exec = await self._node(exec_id, "look at a process in the sandbox")
        try:
            return await engine.execs.inspect(engine_exec)
        except exc.ConnectionError as e:
            raise await self._c.unreachable(node_id, "look at a process in the sandbox", e) from None

    async def exit_code(self, exec_id: str) -> int | None:
        """See ``ExecsAPI.exit_code``. A stream that ended because the node's engine went away is not an exit:
        ``NodeUnreachable`` says so (and whether the manager declared the node lost)."""
        engine, node_id, engine_exec = await self._node(exec_id, "learn how a process in the sandbox ended")
        try:
            return await engine.execs.exit_code(engine_exec)
        except exc.ConnectionError as e:
            raise await self._c.unreachable(node_id, "learn how a process in the sandbox ended", e) from None

    async def resize(self, exec_id: str, *, rows: int, cols: int) -> None:
        engine, _, engine_exec = await self._node(exec_id, "resize a process's terminal")
        await engine.execs.resize(engine_exec, rows=rows, cols=cols)

    async def note_activity(self, ref: str) -> None:
        engine, placement = await self._c.route(ref, "note activity in the sandbox")
        await engine.execs.note_activity(placement.container_id)

    async def kill_marked(self, ref: str, key: str, value: str, *, root_pid: int | None = None) -> None:
        """See ``ExecsAPI.kill_marked``. Node pids are not this host's: only the marker counts."""
        try:
            engine, placement = await self._c.route(ref, "stop a process in the sandbox")
        except (ContainerNotRunning, NoSuchContainer):
            return
        await engine.execs.kill_marked(placement.container_id, key, value)


class SwarmArchive:
    """``ArchiveAPI`` on a swarm."""

    __slots__ = ("_c",)

    def __init__(self, cluster: Cluster) -> None:
        self._c = cluster

    async def stat(self, ref: str, path: bytes) -> PathStat:
        engine, placement = await self._c.route(ref, "read a file's metadata in the sandbox")
        return await engine.archive.stat(placement.container_id, path)

    @contextlib.asynccontextmanager
    async def get(self, ref: str, path: bytes) -> AsyncIterator[ArchiveDownload]:
        engine, placement = await self._c.route(ref, "read files from the sandbox")
        async with engine.archive.get(placement.container_id, path) as download:
            yield download

    async def put(
        self, ref: str, dest: bytes, body: AsyncIterable[bytes], *, no_overwrite_dir_non_dir: bool = True
    ) -> None:
        """See ``ArchiveAPI.put``. A swarm sandbox's container exists only once a node runs it: there is no
        created-but-not-started container to copy files into before its first instruction (``ContainerNotRunning``
        says so)."""
        engine, placement = await self._c.route(
            ref, "write files into the sandbox (a swarm task has no container before it runs)"
        )
        await engine.archive.put(placement.container_id, dest, body, no_overwrite_dir_non_dir=no_overwrite_dir_non_dir)
