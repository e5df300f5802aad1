"""The engine's JSON into ``values``: every key of the Docker API that the library reads is read here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..values import (
    ContainerInfo,
    ContainerState,
    ContainerSummary,
    EngineEvent,
    ExecInfo,
    ImageInfo,
    MountInfo,
    NetworkInfo,
    PublishedPort,
    VolumeInfo,
    parse_engine_time,
)

Json = Mapping[str, Any]


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _env(pairs: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, _, value = pair.partition("=")
        out[key] = value
    return out


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def _state(raw: Json) -> ContainerState:
    return ContainerState(
        status=str(raw.get("Status") or ""),
        running=bool(raw.get("Running")),
        exit_code=_int(raw.get("ExitCode"), -1),
        started_at=parse_engine_time(raw.get("StartedAt")),
        finished_at=parse_engine_time(raw.get("FinishedAt")),
        oom_killed=bool(raw.get("OOMKilled")),
        pid=_int(raw.get("Pid")),
    )


def _ports(raw: Json | None) -> tuple[PublishedPort, ...]:
    out: list[PublishedPort] = []
    for key, bindings in (raw or {}).items():
        port, _, protocol = str(key).partition("/")
        for b in bindings or ():
            out.append(
                PublishedPort(_int(port), protocol or "tcp", str(b.get("HostIp") or ""), _int(b.get("HostPort")))
            )
    return tuple(out)


def _mounts(raw: Sequence[Json] | None) -> tuple[MountInfo, ...]:
    return tuple(
        MountInfo(
            type=str(m.get("Type") or ""),
            source=str(m.get("Source") or ""),
            destination=str(m.get("Destination") or ""),
            read_only=not m.get("RW", True),
            name=str(m.get("Name") or ""),
        )
        for m in raw or ()
    )


def container_info(raw: Json) -> ContainerInfo:
    """``GET /containers/{id}/json``."""
    config: Json = raw.get("Config") or {}
    host: Json = raw.get("HostConfig") or {}
    network: Json = raw.get("NetworkSettings") or {}
    return ContainerInfo(
        id=str(raw["Id"]),
        name=str(raw.get("Name") or "").lstrip("/"),
        labels=_labels(config.get("Labels")),
        image_id=str(raw.get("Image") or ""),
        created_at=parse_engine_time(raw.get("Created")) or 0.0,
        user=str(config.get("User") or ""),
        tty=bool(config.get("Tty")),
        workdir=str(config.get("WorkingDir") or ""),
        cmd=config.get("Cmd"),
        entrypoint=config.get("Entrypoint"),
        env=_env(config.get("Env")),
        state=_state(raw.get("State") or {}),
        network_mode=str(host.get("NetworkMode") or ""),
        ports=_ports(network.get("Ports")),
        mounts=_mounts(raw.get("Mounts")),
    )


def container_summary(raw: Json) -> ContainerSummary:
    """One item of ``GET /containers/json``."""
    names = raw.get("Names") or [""]
    return ContainerSummary(
        id=str(raw["Id"]),
        name=str(names[0]).lstrip("/"),
        labels=_labels(raw.get("Labels")),
        status=str(raw.get("State") or ""),
        created_at=float(raw.get("Created") or 0),
    )


def exec_info(raw: Json) -> ExecInfo:
    """``GET /exec/{id}/json``."""
    code = raw.get("ExitCode")
    return ExecInfo(
        running=bool(raw.get("Running")), exit_code=None if code is None else int(code), pid=_int(raw.get("Pid"))
    )


def image_info(raw: Json) -> ImageInfo:
    """``GET /images/{ref}/json``."""
    config: Json = raw.get("Config") or {}
    return ImageInfo(
        id=str(raw["Id"]),
        repo_tags=raw.get("RepoTags") or (),
        labels=_labels(config.get("Labels")),
        cmd=config.get("Cmd"),
        entrypoint=config.get("Entrypoint"),
        user=str(config.get("User") or ""),
        workdir=str(config.get("WorkingDir") or ""),
        env=_env(config.get("Env")),
        created_at=parse_engine_time(raw.get("Created")),
        size=_int(raw.get("Size")),
    )


def volume_info(raw: Json) -> VolumeInfo:
    """``GET /volumes/{name}`` or one item of ``GET /volumes``."""
    return VolumeInfo(
        name=str(raw["Name"]),
        labels=_labels(raw.get("Labels")),
        created_at=parse_engine_time(raw.get("CreatedAt")),
        driver=str(raw.get("Driver") or ""),
    )


def volumes(raw: Json | None) -> list[VolumeInfo]:
    """``GET /volumes``."""
    return [volume_info(v) for v in (raw or {}).get("Volumes") or ()]


def network_info(raw: Json) -> NetworkInfo:
    """One item of ``GET /networks``."""
    return NetworkInfo(
        id=str(raw["Id"]),
        name=str(raw.get("Name") or ""),
        labels=_labels(raw.get("Labels")),
        driver=str(raw.get("Driver") or ""),
    )


def event(raw: Json) -> EngineEvent:
    """One line of ``GET /events``."""
    actor: Json = raw.get("Actor") or {}
    action = str(raw.get("Action") or raw.get("status") or "")
    time_nano = _int(raw.get("timeNano"))
    return EngineEvent(
        type=str(raw.get("Type") or ""),
        action=action.partition(":")[0].strip(),
        actor_id=str(actor.get("ID") or raw.get("id") or ""),
        attributes=_labels(actor.get("Attributes")),
        time=time_nano / 1e9 if time_nano else float(raw.get("time") or 0),
    )


def event_time_ns(raw: Json) -> int:
    """The nanosecond time of one line of ``GET /events`` (0 when missing)."""
    return _int(raw.get("timeNano"))


def top_pids(raw: Json | None) -> list[int]:
    """The ``PID`` column of ``GET /containers/{id}/top``."""
    titles: list[str] = (raw or {}).get("Titles") or []
    if "PID" not in titles:
        return []
    col = titles.index("PID")
    return [int(row[col]) for row in (raw or {}).get("Processes") or [] if row[col].isdigit()]
