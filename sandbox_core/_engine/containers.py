"""Container operations: create/start/inspect/list/kill/rename/remove/wait, from a typed spec."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .. import exception as exc
from .client import Engine


@attrs.frozen
class ContainerSpec:
    """Everything the engine needs to create one sandbox container. Policy (hardening values) is chosen above."""

    image: str
    labels: Mapping[str, str]
    cmd: Sequence[str] | None = None
    env: Mapping[str, str] = attrs.field(factory=dict)
    workdir: str | None = None
    tty: bool = False
    open_stdin: bool = True
    network_disabled: bool = False
    nano_cpus: int | None = None
    cpu_shares: int | None = None
    memory_bytes: int | None = None
    memory_reservation_bytes: int | None = None
    pids_limit: int | None = None
    cap_drop: Sequence[str] = ()
    no_new_privileges: bool = True
    init: bool = True
    log_max_size: str = "64m"

    def to_body(self) -> dict[str, Any]:
        """The JSON body of ``POST /containers/create``."""
        host: dict[str, Any] = {
            "Init": self.init,
            "CapDrop": list(self.cap_drop),
            "SecurityOpt": ["no-new-privileges"] if self.no_new_privileges else [],
            # Explicit json-file keeps the entrypoint's output replayable through the logs API whatever the
            # daemon's default driver is; the size bound keeps a chatty sandbox from filling the disk.
            "LogConfig": {"Type": "json-file", "Config": {"max-size": self.log_max_size, "max-file": "2"}},
        }
        if self.network_disabled:
            host["NetworkMode"] = "none"
        if self.nano_cpus is not None:
            host["NanoCpus"] = self.nano_cpus
        if self.cpu_shares is not None:
            host["CpuShares"] = self.cpu_shares
        if self.memory_bytes is not None:
            host["Memory"] = self.memory_bytes
        if self.memory_reservation_bytes is not None:
            host["MemoryReservation"] = self.memory_reservation_bytes
        if self.pids_limit is not None:
            host["PidsLimit"] = self.pids_limit
        body: dict[str, Any] = {
            "Image": self.image,
            "Labels": dict(self.labels),
            "Env": [f"{k}={v}" for k, v in self.env.items()],
            "Tty": self.tty,
            "OpenStdin": self.open_stdin,
            # StdinOnce: the stdin attach that half-closes delivers EOF to PID 1 (the only way to send EOF).
            "StdinOnce": self.open_stdin,
            "AttachStdin": False,
            "AttachStdout": False,
            "AttachStderr": False,
            "NetworkDisabled": self.network_disabled,
            "HostConfig": host,
        }
        if self.cmd is not None:
            body["Cmd"] = list(self.cmd)
        if self.workdir is not None:
            body["WorkingDir"] = self.workdir
        return body


async def create(eng: Engine, spec: ContainerSpec, name: str) -> str:
    """Create a container named ``name``; returns its engine id.

    Raises ``ConflictError`` (engine_status 409) when the name is taken, ``NotFoundError`` when the image is missing.
    """
    res = await eng.request_json(
        "POST", "containers/create", f"create container {name}", params={"name": name}, body=spec.to_body()
    )
    return str(res["Id"])


async def start(eng: Engine, cid: str) -> None:
    """Start a created container."""
    await eng.request_json("POST", f"containers/{cid}/start", f"start container {cid[:12]}")


async def inspect(eng: Engine, cid: str) -> dict[str, Any]:
    """The engine's inspect document. Raises ``NotFoundError`` for an unknown container."""
    res: dict[str, Any] = await eng.request_json("GET", f"containers/{cid}/json", f"inspect container {cid[:12]}")
    return res


async def list_(eng: Engine, filters: Mapping[str, Sequence[str]], *, all: bool) -> list[dict[str, Any]]:
    """Containers matching ``filters`` (engine filter syntax); ``all=False`` means running ones only."""
    params = {"filters": json.dumps({k: list(v) for k, v in filters.items()}), "all": "1" if all else "0"}
    res: list[dict[str, Any]] = await eng.request_json("GET", "containers/json", "list containers", params=params)
    return res


async def kill(eng: Engine, cid: str, signal: str = "KILL") -> bool:
    """Send ``signal``; returns False when the container was not running (nothing to kill)."""
    try:
        await eng.request_json(
            "POST", f"containers/{cid}/kill", f"kill container {cid[:12]}", params={"signal": signal}
        )
    except exc.ConflictError:
        return False
    return True


async def rename(eng: Engine, cid: str, name: str) -> None:
    """Rename a container (names are the engine's atomic uniqueness primitive)."""
    await eng.request_json("POST", f"containers/{cid}/rename", f"rename container {cid[:12]}", params={"name": name})


async def remove(eng: Engine, cid: str) -> bool:
    """Force-remove a container and its anonymous volumes; returns False if it was already gone."""
    try:
        await eng.request_json(
            "DELETE", f"containers/{cid}", f"remove container {cid[:12]}", params={"force": "1", "v": "1"}
        )
    except exc.NotFoundError:
        return False
    except exc.ConflictError as e:
        # "removal already in progress" means someone else is removing it: the outcome we want.
        if "already in progress" in str(e):
            return False
        raise
    return True


async def wait_not_running(eng: Engine, cid: str) -> int:
    """Block (no deadline) until the container is not running; returns its exit code."""
    res = await eng.request_json(
        "POST",
        f"containers/{cid}/wait",
        f"wait for container {cid[:12]}",
        params={"condition": "not-running"},
        timeout=float("inf"),
    )
    return int(res["StatusCode"])
