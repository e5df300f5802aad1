"""What the engine layer takes and returns: frozen attrs values, parsed once, here.

Public code reads these, never an engine's JSON. Times are Unix seconds (``float``), parsed by the one engine-time
parser below; ``None`` where the engine reports its zero time ("never"). Mappings handed out are read-only views.
"""

from __future__ import annotations

import calendar
import re
import stat as statmod
import types
from collections.abc import Iterable, Mapping

import attrs

_TIME_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?\d*(Z|[+-]\d\d:\d\d)")


def engine_time_ns(text: str | None) -> int | None:
    """Nanoseconds since the epoch of an engine timestamp (RFC 3339, up to nanoseconds, ``Z`` or an offset).

    Returns None for an empty value, the engine's zero time (``0001-01-01T00:00:00Z``) and text in any other shape.
    """
    if not text or text.startswith("0001-01-01"):
        return None
    m = _TIME_RE.fullmatch(text)
    if m is None:
        return None
    seconds = calendar.timegm((*(int(m.group(i)) for i in range(1, 7)), 0, 0, 0))
    zone = m.group(8)
    if zone != "Z":
        offset = int(zone[1:3]) * 3600 + int(zone[4:6]) * 60
        seconds -= offset if zone[0] == "+" else -offset
    return seconds * 1_000_000_000 + int((m.group(7) or "").ljust(9, "0"))


def parse_engine_time(text: str | None) -> float | None:
    """Unix time (seconds) of an engine timestamp; None when ``engine_time_ns`` gives None."""
    ns = engine_time_ns(text)
    return None if ns is None else ns / 1e9


def _frozen_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return types.MappingProxyType(dict(value or {}))


def _str_tuple(value: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(value or ())


def _optional_str_tuple(value: Iterable[str] | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(value)


#: Label selectors: ``{key: value}`` matches objects whose label ``key`` is ``value``; ``{key: None}`` matches objects
#: that carry ``key`` at all. The engine layer adds the ownership label to every query.
LabelQuery = Mapping[str, str | None]


# ------------------------------------------------------------------------------------------------ what goes in


@attrs.frozen
class ContainerSpec:
    """Everything the engine needs to create one sandbox container. Policy (the hardening values) is chosen above."""

    image: str = attrs.field(
        validator=attrs.validators.and_(attrs.validators.instance_of(str), attrs.validators.min_len(1))
    )
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    cmd: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_str_tuple)
    env: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    workdir: str | None = None
    tty: bool = False
    open_stdin: bool = True
    network_disabled: bool = False
    nano_cpus: int | None = None
    cpu_shares: int | None = None
    memory_bytes: int | None = None
    memory_reservation_bytes: int | None = None
    pids_limit: int | None = None
    cap_drop: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    no_new_privileges: bool = True
    init: bool = True
    log_max_size: str = "64m"


@attrs.frozen
class ExecSpec:
    """One command to run in a container, with stdin, stdout and stderr attached."""

    cmd: tuple[str, ...] = attrs.field(converter=_str_tuple, validator=attrs.validators.min_len(1))
    env: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    workdir: str | None = None
    tty: bool = False
    #: ``None``: the container's user.
    user: str | None = None


# ----------------------------------------------------------------------------------------------- what comes out


@attrs.frozen
class ContainerState:
    """A container's run state. ``status`` is one of created, running, paused, restarting, removing, exited, dead;
    ``exit_code`` is meaningful once it is not running; ``pid`` is a host pid (0 when not running)."""

    status: str
    running: bool
    exit_code: int
    started_at: float | None
    finished_at: float | None
    oom_killed: bool
    pid: int

    @property
    def is_live(self) -> bool:
        """True while the container has not finished: created, running, restarting or paused."""
        return self.running or self.status in ("created", "running", "restarting", "paused")


@attrs.frozen
class PublishedPort:
    """A container port published on the host (``host_port`` 0: not bound yet)."""

    container_port: int
    protocol: str
    host_ip: str
    host_port: int


@attrs.frozen
class MountInfo:
    """One mount of a container (``type`` bind, volume, tmpfs…; ``name`` for volumes)."""

    type: str
    source: str
    destination: str
    read_only: bool
    name: str = ""


@attrs.frozen
class ContainerInfo:
    """One container, as the engine describes it (a full inspect)."""

    id: str
    name: str
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    image_id: str
    created_at: float
    user: str
    tty: bool
    workdir: str
    cmd: tuple[str, ...] | None = attrs.field(converter=_optional_str_tuple)
    entrypoint: tuple[str, ...] | None = attrs.field(converter=_optional_str_tuple)
    env: Mapping[str, str] = attrs.field(converter=_frozen_map)
    state: ContainerState
    network_mode: str
    ports: tuple[PublishedPort, ...] = ()
    mounts: tuple[MountInfo, ...] = ()

    @property
    def runs_as_root(self) -> bool:
        """True when processes start as root (the user is empty, ``0`` or ``root``, whatever the group)."""
        return self.user.split(":", 1)[0] in ("", "0", "root")


@attrs.frozen
class ContainerSummary:
    """One container as listed (cheaper than ``ContainerInfo``): ``status`` as in ``ContainerState.status``."""

    id: str
    name: str
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    status: str
    created_at: float


@attrs.frozen
class ExecInfo:
    """An exec's state: ``exit_code`` is None until it is known; ``pid`` is a host pid (0 when unknown)."""

    running: bool
    exit_code: int | None
    pid: int


@attrs.frozen
class ImageInfo:
    """A local image. ``cmd``/``entrypoint`` are None when the image sets none."""

    id: str
    repo_tags: tuple[str, ...] = attrs.field(converter=_str_tuple)
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    cmd: tuple[str, ...] | None = attrs.field(converter=_optional_str_tuple)
    entrypoint: tuple[str, ...] | None = attrs.field(converter=_optional_str_tuple)
    user: str
    workdir: str
    env: Mapping[str, str] = attrs.field(converter=_frozen_map)
    created_at: float | None
    size: int


@attrs.frozen
class RecordInfo:
    """A record (``RecordsAPI``): its ``name`` as given to ``put``, its labels, when it was written."""

    name: str
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    created_at: float | None


@attrs.frozen
class VolumeInfo:
    """A volume."""

    name: str
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    created_at: float | None
    driver: str


@attrs.frozen
class NetworkInfo:
    """A network."""

    id: str
    name: str
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    driver: str


@attrs.frozen
class EngineEvent:
    """One engine event. ``action`` is the verb only (``exec_create``, ``die`` …: the engine may append ``: <detail>``,
    which is dropped); ``actor_id`` is the object's id (a container id for container events)."""

    type: str
    action: str
    actor_id: str
    attributes: Mapping[str, str] = attrs.field(converter=_frozen_map)
    time: float


@attrs.frozen
class PathStat:
    """What the engine reports for a path in a container (``lstat`` of the last component).

    ``mode`` is a POSIX ``st_mode``; ``link_target`` is a symlink's target *fully resolved inside the container root*
    (absolute), not the raw link text; empty for non-links.
    """

    name: str
    size: int
    mode: int
    mtime: float
    link_target: str

    @property
    def is_dir(self) -> bool:
        return statmod.S_ISDIR(self.mode)

    @property
    def is_symlink(self) -> bool:
        return statmod.S_ISLNK(self.mode)
