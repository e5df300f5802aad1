"""Containers: create/start/inspect/list/kill/rename/remove/wait/resize, and the main process's stdio."""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from ... import exception as exc
from ..api import ExecStream, FrameSource
from ..errors import ContainerNotRunning, NoSuchContainer, RemovalInProgress
from ..values import ContainerInfo, ContainerSpec, ContainerSummary, LabelQuery, LogRecord, Mount, PortBinding
from . import cgroup, output, parse
from .http import DockerClient, filters_param, label_filters, lines


def _host_config(spec: ContainerSpec) -> dict[str, Any]:
    host: dict[str, Any] = {
        "Init": spec.init,
        "CapDrop": list(spec.cap_drop),
        "SecurityOpt": ["no-new-privileges"] if spec.no_new_privileges else [],
        # Explicit json-file keeps the entrypoint's output replayable through the logs API whatever the daemon's
        # default driver is; the size bound keeps a chatty sandbox from filling the disk.
        "LogConfig": {
            "Type": "json-file",
            "Config": {"max-size": spec.log_max_size, "max-file": str(spec.log_max_files)},
        },
    }
    if spec.network_disabled:
        host["NetworkMode"] = "none"
    elif spec.network_mode is not None:
        host["NetworkMode"] = spec.network_mode
    for key, value in (
        ("NanoCpus", spec.nano_cpus),
        ("CpuShares", spec.cpu_shares),
        ("Memory", spec.memory_bytes),
        ("MemorySwap", spec.memory_swap_bytes),
        ("MemoryReservation", spec.memory_reservation_bytes),
        ("PidsLimit", spec.pids_limit),
        ("ShmSize", spec.shm_size_bytes),
        ("Runtime", spec.runtime),
    ):
        if value is not None:
            host[key] = value
    for key, items in (("CapAdd", list(spec.cap_add)), ("Dns", list(spec.dns)), ("Tmpfs", dict(spec.tmpfs))):
        if items:
            host[key] = items
    if spec.nofile_limit is not None:
        host["Ulimits"] = [{"Name": "nofile", "Soft": spec.nofile_limit, "Hard": spec.nofile_limit}]
    if spec.read_only_rootfs:
        host["ReadonlyRootfs"] = True
    if spec.mounts:
        host["Mounts"] = [_mount(m) for m in spec.mounts]
    if spec.ports:
        host["PortBindings"] = _port_bindings(spec.ports)
    return host


def _mount(m: Mount) -> dict[str, Any]:
    out: dict[str, Any] = {"Type": m.type, "Source": m.source, "Target": m.target, "ReadOnly": m.read_only}
    if m.no_copy:
        out["VolumeOptions"] = {"NoCopy": True}
    return out


def _port_bindings(ports: tuple[PortBinding, ...]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for p in ports:
        out.setdefault(f"{p.container_port}/{p.protocol}", []).append(
            {"HostIp": p.host_ip, "HostPort": str(p.host_port) if p.host_port else ""}
        )
    return out


def create_body(spec: ContainerSpec) -> dict[str, Any]:
    """The JSON body of ``POST /containers/create`` for ``spec``."""
    body: dict[str, Any] = {
        "Image": spec.image,
        "Labels": dict(spec.labels),
        "Env": [f"{k}={v}" for k, v in spec.env.items()],
        "Tty": spec.tty,
        "OpenStdin": spec.open_stdin,
        # StdinOnce: the stdin attach that half-closes delivers EOF to PID 1 (the only way to send EOF).
        "StdinOnce": spec.open_stdin,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "NetworkDisabled": spec.network_disabled,
        "HostConfig": _host_config(spec),
    }
    if spec.cmd is not None:
        body["Cmd"] = list(spec.cmd)
    if spec.entrypoint is not None:
        body["Entrypoint"] = list(spec.entrypoint)
    if spec.workdir is not None:
        body["WorkingDir"] = spec.workdir
    if spec.ports:
        body["ExposedPorts"] = {key: {} for key in _port_bindings(spec.ports)}
    return body


#: container ref -> its cgroup files (a container keeps its cgroups while it runs); the oldest dropped first.
_cgroup_files: dict[str, cgroup.CgroupFiles] = {}
_CGROUP_FILES_KEPT = 256


class DockerContainers:
    """``ContainersAPI`` on the Docker engine; a ref is the engine's container id."""

    __slots__ = ("_client",)

    def __init__(self, client: DockerClient) -> None:
        self._client = client

    async def cgroup_files(self, ref: str) -> cgroup.CgroupFiles | None:
        """The running container's cgroup files where this host sees them (cached while it runs), else None."""
        cached = _cgroup_files.get(ref)
        if cached is not None:
            if cgroup.alive(cached):
                return cached
            _cgroup_files.pop(ref, None)  # that container ended (a name may now be another's): look again
        try:
            state = (await self.inspect(ref)).state
        except NoSuchContainer:
            return None
        if not state.running or not state.pid:
            return None
        files = cgroup.files_of(state.pid)
        if files is not None:
            if len(_cgroup_files) >= _CGROUP_FILES_KEPT:
                _cgroup_files.pop(next(iter(_cgroup_files)))
            _cgroup_files[ref] = files
        return files

    async def _cgroup_pids(self, ref: str) -> builtins.list[int] | None:
        """The container's pids from its cgroup, None when its cgroup is not visible (or it is not running)."""
        files = await self.cgroup_files(ref)
        return None if files is None else cgroup.read_pids(files.procs)

    async def create(self, spec: ContainerSpec, name: str | None = None) -> str:
        res = await self._client.request_json(
            "POST",
            "containers/create",
            f"create container {name or 'from ' + spec.image}",
            params={"name": name} if name else None,
            body=create_body(spec),
        )
        return str(res["Id"])

    async def start(self, ref: str) -> None:
        await self._client.request_json("POST", f"containers/{ref}/start", f"start container {ref[:12]}")

    async def inspect(self, ref: str) -> ContainerInfo:
        res = await self._client.request_json("GET", f"containers/{ref}/json", f"inspect container {ref[:12]}")
        return parse.container_info(res)

    async def list(self, labels: LabelQuery, *, all: bool) -> list[ContainerSummary]:
        params = {"filters": filters_param(label=label_filters(labels)), "all": "1" if all else "0"}
        res = await self._client.request_json("GET", "containers/json", "list containers", params=params)
        return [parse.container_summary(item) for item in res or ()]

    async def kill(self, ref: str, signal: str = "KILL") -> bool:
        try:
            await self._client.request_json(
                "POST", f"containers/{ref}/kill", f"kill container {ref[:12]}", params={"signal": signal}
            )
        except ContainerNotRunning:
            return False
        return True

    async def rename(self, ref: str, name: str) -> None:
        await self._client.request_json(
            "POST", f"containers/{ref}/rename", f"rename container {ref[:12]}", params={"name": name}
        )

    async def remove(self, ref: str) -> bool:
        try:
            await self._client.request_json(
                "DELETE", f"containers/{ref}", f"remove container {ref[:12]}", params={"force": "1", "v": "1"}
            )
        except (NoSuchContainer, RemovalInProgress):
            return False  # gone, or someone else is removing it: the outcome we want
        return True

    async def wait(self, ref: str) -> int:
        res = await self._client.request_json(
            "POST",
            f"containers/{ref}/wait",
            f"wait for container {ref[:12]}",
            params={"condition": "not-running"},
            timeout=float("inf"),
        )
        return int(res["StatusCode"])

    async def resize(self, ref: str, *, rows: int, cols: int) -> None:
        await self._client.request_json(
            "POST", f"containers/{ref}/resize", f"resize container {ref[:12]}", params={"h": str(rows), "w": str(cols)}
        )

    async def follow_output(self, ref: str, *, fd: int | None, tty: bool) -> FrameSource:
        return await output.follow_logs(self._client, ref, fd=fd, tty=tty)

    def read_logs(
        self,
        ref: str,
        *,
        tty: bool,
        fd: int | None,
        since_ns: int | None = None,
        until_ns: int | None = None,
        tail: int | None = None,
    ) -> AsyncIterator[LogRecord]:
        return output.read_logs(self._client, ref, tty=tty, fd=fd, since_ns=since_ns, until_ns=until_ns, tail=tail)

    async def attach_stdin(self, ref: str, *, tty: bool) -> ExecStream:
        return await output.attach_stdin(self._client, ref, tty=tty)

    async def writable_size(self, ref: str) -> int:
        res = await self._client.request_json(
            "GET", f"containers/{ref}/json", f"measure the writable layer of {ref[:12]}", params={"size": "1"}
        )
        return parse.size_rw(res)

    async def first_oom_kill(self, ref: str, since: float, *, within: float = 0.0) -> float | None:
        # A bounded query of the engine's event log (``until`` makes it end): the kernel's OOM kill of any process
        # in the container's memory cgroup is reported as an ``oom`` event of the container. An ``until`` in the
        # future keeps the stream open for live events until then.
        what = f"read the OOM events of {ref[:12]}"
        params = {
            "since": f"{since:.9f}",
            "until": f"{time.time() + max(within, 0.001):.9f}",
            "filters": filters_param(type=["container"], container=[ref], event=["oom"]),
        }
        resp = await self._client.open_stream("GET", "events", what, params=params)
        try:
            async for line in lines(resp, what):
                ev = parse.event(json.loads(line))
                if ev.action == "oom":
                    return ev.time
        finally:
            resp.close()
        return None

    async def host_pids(self, ref: str) -> builtins.list[int]:
        """Host pids of every process in the container; [] if it is not running. From its cgroup where this host
        sees it (see ``cgroup``: it answers under pid exhaustion), else ``GET /containers/{id}/top``."""
        if self._client.address.is_local:
            pids = await self._cgroup_pids(ref)
            if pids is not None:
                return pids
        try:
            res = await self._client.request_json("GET", f"containers/{ref}/top", f"list processes of {ref[:12]}")
        except (ContainerNotRunning, NoSuchContainer, exc.ServiceError):
            return []  # not running (the engine answers 409 or 500 depending on version): nothing to list
        return parse.top_pids(res)
