"""The engine's JSON into ``values``: every key of the Docker API that the library reads is read here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..values import (
    AddressPool,
    ContainerInfo,
    ContainerState,
    ContainerSummary,
    EngineEvent,
    EngineInfo,
    ExecInfo,
    ImageInfo,
    ImageSummary,
    MountInfo,
    NetworkEndpoint,
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


#: Podman's container states that Docker names differently.
_STATUS_AS_DOCKER = {"stopped": "exited", "configured": "created", "stopping": "running"}
#: Podman's event actions that Docker names differently (its exec events carry no ``execID``).
_ACTION_AS_DOCKER = {"exec": "exec_start", "exec_died": "exec_die", "remove": "destroy"}
#: Go's architecture names (Podman reports them) as the kernel's, which Docker reports.
_ARCH_AS_DOCKER = {"amd64": "x86_64", "arm64": "aarch64", "386": "i686"}


def _state(raw: Json) -> ContainerState:
    status = str(raw.get("Status") or "")
    return ContainerState(
        status=_STATUS_AS_DOCKER.get(status, status),
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


def _mounts(raw: Sequence[Json] | None, tmpfs: Json | None) -> tuple[MountInfo, ...]:
    """``Mounts``, plus the ``HostConfig.Tmpfs`` mounts (which the engine leaves out of ``Mounts``)."""
    listed = tuple(
        MountInfo(
            type=str(m.get("Type") or ""),
            source=str(m.get("Source") or ""),
            destination=str(m.get("Destination") or ""),
            read_only=not m.get("RW", True),
            name=str(m.get("Name") or ""),
        )
        for m in raw or ()
    )
    extra = tuple(
        MountInfo(type="tmpfs", source="", destination=str(path), read_only="ro" in str(opts).split(","))
        for path, opts in (tmpfs or {}).items()
    )
    return listed + extra


def _endpoints(raw: Json | None) -> tuple[NetworkEndpoint, ...]:
    return tuple(
        NetworkEndpoint(str(name), str(e.get("IPAddress") or ""), str(e.get("GlobalIPv6Address") or ""))
        for name, e in (raw or {}).items()
    )


def container_info(raw: Json) -> ContainerInfo:
    """``GET /containers/{id}/json``."""
    config: Json = raw.get("Config") or {}
    host: Json = raw.get("HostConfig") or {}
    network: Json = raw.get("NetworkSettings") or {}
    network_mode = str(host.get("NetworkMode") or "")
    # A container in another's network namespace has no endpoint of its own (Podman lists the other's).
    endpoints = () if network_mode.startswith("container:") else _endpoints(network.get("Networks"))
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
        network_mode=network_mode,
        ports=_ports(network.get("Ports")),
        mounts=_mounts(raw.get("Mounts"), host.get("Tmpfs")),
        networks=endpoints,
        runtime=str(host.get("Runtime") or ""),
    )


def size_rw(raw: Json) -> int:
    """``SizeRw`` of ``GET /containers/{id}/json?size=1``: bytes in the writable layer (0 when not reported)."""
    return max(0, _int(raw.get("SizeRw")))


def container_summary(raw: Json) -> ContainerSummary:
    """One item of ``GET /containers/json``."""
    names = raw.get("Names") or [""]
    status = str(raw.get("State") or "")
    return ContainerSummary(
        id=str(raw["Id"]),
        name=str(names[0]).lstrip("/"),
        labels=_labels(raw.get("Labels")),
        status=_STATUS_AS_DOCKER.get(status, status),
        created_at=float(raw.get("Created") or 0),
        image=str(raw.get("Image") or ""),
        image_id=str(raw.get("ImageID") or ""),
    )


def exec_info(raw: Json) -> ExecInfo:
    """``GET /exec/{id}/json``."""
    code = raw.get("ExitCode")
    return ExecInfo(
        running=bool(raw.get("Running")), exit_code=None if code is None else int(code), pid=_int(raw.get("Pid"))
    )


def _tags(raw: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(str(t) for t in raw or () if t != "<none>:<none>")


def image_info(raw: Json) -> ImageInfo:
    """``GET /images/{ref}/json``."""
    config: Json = raw.get("Config") or {}
    return ImageInfo(
        id=str(raw["Id"]),
        repo_tags=_tags(raw.get("RepoTags")),
        labels=_labels(config.get("Labels")),
        cmd=config.get("Cmd"),
        entrypoint=config.get("Entrypoint"),
        user=str(config.get("User") or ""),
        workdir=str(config.get("WorkingDir") or ""),
        env=_env(config.get("Env")),
        created_at=parse_engine_time(raw.get("Created")),
        size=_int(raw.get("Size")),
        shell=config.get("Shell") or None,
    )


def repo_digests(raw: Json) -> list[str]:
    """The digests (``sha256:…``) of ``GET /images/{ref}/json``'s ``RepoDigests``."""
    return [d.partition("@")[2] for d in raw.get("RepoDigests") or () if "@" in d]


def image_summary(raw: Json) -> ImageSummary:
    """One item of ``GET /images/json``."""
    created = raw.get("Created")
    return ImageSummary(
        id=str(raw["Id"]),
        repo_tags=_tags(raw.get("RepoTags")),
        labels=_labels(raw.get("Labels")),
        size=_int(raw.get("Size")),
        created_at=None if created is None else float(created),
    )


def volume_info(raw: Json) -> VolumeInfo:
    """``GET /volumes/{name}`` or one item of ``GET /volumes``."""
    return VolumeInfo(
        name=str(raw["Name"]),
        labels=_labels(raw.get("Labels")),
        created_at=parse_engine_time(raw.get("CreatedAt")),
        driver=str(raw.get("Driver") or ""),
        options=_labels(raw.get("Options")),
        mountpoint=str(raw.get("Mountpoint") or ""),
    )


def volumes(raw: Json | None) -> list[VolumeInfo]:
    """``GET /volumes``."""
    return [volume_info(v) for v in (raw or {}).get("Volumes") or ()]


def network_info(raw: Json) -> NetworkInfo:
    """``GET /networks/{id}`` or one item of ``GET /networks``."""
    pools = [
        AddressPool(str(c.get("Subnet")), str(c.get("Gateway") or ""))
        for c in (raw.get("IPAM") or {}).get("Config") or ()
        if c.get("Subnet")
    ]
    return NetworkInfo(
        id=str(raw["Id"]),
        name=str(raw.get("Name") or ""),
        labels=_labels(raw.get("Labels")),
        driver=str(raw.get("Driver") or ""),
        pools=pools,
    )


def engine_architecture(raw: Json) -> str:
    """``GET /version``: the engine host's architecture (Go's name: ``amd64``, ``arm64`` …)."""
    return str(raw.get("Arch") or "")


def engine_info(raw: Json) -> EngineInfo:
    """``GET /info``."""
    arch = str(raw.get("Architecture") or "")
    return EngineInfo(
        architecture=_ARCH_AS_DOCKER.get(arch, arch),
        runtimes=sorted(raw.get("Runtimes") or {}),
        cpus=_int(raw.get("NCPU")),
    )


@attrs.frozen
class StreamMessage:
    """One message of the JSON stream a build, an import or a pull answers with. ``error`` is set when the
    operation failed; ``stream`` is build output (any part of a line, or several lines); ``image_id`` the id a
    build reports (``aux``) at its end; ``status``/``layer``/``progress`` a pull's or an import's progress (an
    import reports the new image's id as ``status``)."""

    error: str | None
    stream: str | None
    image_id: str | None
    status: str
    layer: str
    progress: str


def stream_message(raw: Json) -> StreamMessage:
    """One message of ``POST /build`` or ``POST /images/create``."""
    error: str | None = None
    if "error" in raw or "errorDetail" in raw:
        detail: Json = raw.get("errorDetail") or {}
        error = str(raw.get("error") or detail.get("message") or "unknown error").strip()
    aux = raw.get("aux")
    stream = raw.get("stream")
    return StreamMessage(
        error=error,
        stream=None if stream is None else str(stream),
        image_id=str(aux["ID"]) if isinstance(aux, Mapping) and "ID" in aux else None,
        status=str(raw.get("status") or ""),
        layer=str(raw.get("id") or ""),
        progress=str(raw.get("progress") or ""),
    )


def event(raw: Json) -> EngineEvent:
    """One line of ``GET /events``."""
    actor: Json = raw.get("Actor") or {}
    action, _, detail = str(raw.get("Action") or raw.get("status") or "").partition(":")
    action = action.strip()
    time_nano = _int(raw.get("timeNano"))
    attributes = _labels(actor.get("Attributes"))
    kind = str(raw.get("Type") or "")
    actor_id = str(actor.get("ID") or raw.get("id") or "")
    if not actor_id and kind == "volume":  # Podman names the volume only in the attributes; Docker's ID is its name
        actor_id = attributes.get("name", "")
    return EngineEvent(
        type=kind,
        action=_ACTION_AS_DOCKER.get(action, action),
        detail=detail.strip(),
        actor_id=actor_id,
        attributes=attributes,
        time=time_nano / 1e9 if time_nano else float(raw.get("time") or 0),
    )


def event_time_ns(raw: Json) -> int:
    """The nanosecond time of one line of ``GET /events`` (0 when missing)."""
    return _int(raw.get("timeNano"))


def top_pids(raw: Json | None, column: str = "PID") -> list[int]:
    """The host pids of ``GET /containers/{id}/top``: its ``column`` (Docker: ``PID``; Podman asked for
    ``ps_args=hpid``: ``HPID``)."""
    titles: list[str] = (raw or {}).get("Titles") or []
    if column not in titles:
        return []
    col = titles.index(column)
    return [int(row[col]) for row in (raw or {}).get("Processes") or [] if row[col].isdigit()]
