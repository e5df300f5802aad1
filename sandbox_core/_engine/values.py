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


def split_image_ref(ref: str) -> tuple[str, str]:
    """An image reference ``repo[:tag]`` or ``repo@digest`` as (repo, tag or digest); the tag defaults to
    ``latest``."""
    name, _, digest = ref.partition("@")
    if digest:
        return name, digest
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, "latest"


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


_MOUNT_TYPES = ("volume", "bind")
_PROTOCOLS = ("tcp", "udp", "sctp")
_CAP_RE = re.compile(r"^(ALL|[A-Z][A-Z_]*)$")


def _absolute_path(_inst: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"{attribute.name} must be an absolute path, got {value!r}")


def _port_number(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 65535:
        raise ValueError(f"{attribute.name} must be a port number (0-65535), got {value!r}")


def _capabilities(_inst: object, attribute: attrs.Attribute[tuple[str, ...]], value: tuple[str, ...]) -> None:
    for cap in value:
        if not _CAP_RE.match(cap):
            raise ValueError(f"{attribute.name}: {cap!r} is not a capability name (e.g. NET_ADMIN, or ALL)")


@attrs.frozen
class Mount:
    """A volume or a host path mounted into a container at ``target``.

    ``type`` ``volume``: ``source`` is a volume name (created on first use when missing); ``no_copy`` keeps the
    engine from copying the image's files at ``target`` into a new, empty volume. ``type`` ``bind``: ``source`` is
    an absolute host path.
    """

    type: str = attrs.field(validator=attrs.validators.in_(_MOUNT_TYPES))
    source: str = attrs.field(
        validator=attrs.validators.and_(attrs.validators.instance_of(str), attrs.validators.min_len(1))
    )
    target: str = attrs.field(validator=_absolute_path)
    read_only: bool = False
    no_copy: bool = False

    def __attrs_post_init__(self) -> None:
        if self.type == "bind" and not self.source.startswith("/"):
            raise ValueError(f"a bind mount's source must be an absolute host path, got {self.source!r}")
        if self.no_copy and self.type != "volume":
            raise ValueError("no_copy applies to volume mounts only")


@attrs.frozen
class PortBinding:
    """Publish ``container_port``/``protocol`` on the host at ``host_ip``:``host_port`` (0: a free port the engine
    picks; ``host_ip`` empty: every address)."""

    container_port: int = attrs.field(validator=_port_number)
    protocol: str = attrs.field(default="tcp", validator=attrs.validators.in_(_PROTOCOLS))
    host_ip: str = ""
    host_port: int = attrs.field(default=0, validator=_port_number)

    def __attrs_post_init__(self) -> None:
        if self.container_port == 0:
            raise ValueError("container_port must be a port number (1-65535), got 0")


def _mounts(value: Iterable[Mount] | None) -> tuple[Mount, ...]:
    return tuple(value or ())


def _ports(value: Iterable[PortBinding] | None) -> tuple[PortBinding, ...]:
    return tuple(value or ())


@attrs.frozen
class ContainerSpec:
    """Everything the engine needs to create one container. Policy (the hardening values) is chosen above.

    ``network_mode``: None for the engine's default network, ``"none"``, a network's name, or
    ``"container:<ref>"`` to join another container's network namespace (which then owns ports and DNS: such a
    spec may set neither). ``cmd``/``entrypoint``: None keeps the image's. ``tmpfs``: mount point -> mount options.
    ``log_max_size``/``log_max_files`` bound the json-file log the engine keeps of the main process.
    ``runtime``: the engine's container runtime by name (None: the engine's default). ``shm_size_bytes``: the size
    of ``/dev/shm`` (None: the engine's default); ``nofile_limit``: the open-files limit (soft and hard) of every
    process (None: the engine's default).
    """

    image: str = attrs.field(
        validator=attrs.validators.and_(attrs.validators.instance_of(str), attrs.validators.min_len(1))
    )
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    cmd: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_str_tuple)
    entrypoint: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_str_tuple)
    env: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    workdir: str | None = None
    tty: bool = False
    open_stdin: bool = True
    network_disabled: bool = False
    network_mode: str | None = None
    ports: tuple[PortBinding, ...] = attrs.field(default=(), converter=_ports)
    dns: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)
    mounts: tuple[Mount, ...] = attrs.field(default=(), converter=_mounts)
    tmpfs: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    read_only_rootfs: bool = False
    runtime: str | None = None
    nano_cpus: int | None = None
    cpu_shares: int | None = None
    memory_bytes: int | None = None
    #: Memory plus swap; None: the engine's default (twice ``memory_bytes``), equal to ``memory_bytes``: no swap.
    memory_swap_bytes: int | None = None
    memory_reservation_bytes: int | None = None
    pids_limit: int | None = None
    shm_size_bytes: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.gt(0)))
    nofile_limit: int | None = attrs.field(default=None, validator=attrs.validators.optional(attrs.validators.gt(0)))
    cap_drop: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple, validator=_capabilities)
    cap_add: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple, validator=_capabilities)
    no_new_privileges: bool = True
    init: bool = True
    log_max_size: str = "64m"
    log_max_files: int = attrs.field(default=2, validator=attrs.validators.ge(1))

    def __attrs_post_init__(self) -> None:
        mode = self.network_mode
        if mode is not None and not mode:
            raise ValueError("network_mode must be None or a non-empty network mode")
        if self.network_disabled and mode not in (None, "none"):
            raise ValueError(f"network_disabled conflicts with network_mode {mode!r}")
        if mode is not None and (mode == "none" or mode.startswith("container:")):
            if mode.startswith("container:") and not mode.removeprefix("container:"):
                raise ValueError("network_mode 'container:' needs the container's ref")
            if self.ports or self.dns:
                raise ValueError(f"a container with network_mode {mode!r} cannot publish ports or set DNS servers")
        for path in (*self.tmpfs, *(m.target for m in self.mounts)):
            if not path.startswith("/"):
                raise ValueError(f"mount points must be absolute paths, got {path!r}")
        if self.memory_swap_bytes is not None and (
            self.memory_bytes is None or self.memory_swap_bytes < self.memory_bytes
        ):
            raise ValueError("memory_swap_bytes needs memory_bytes and must be at least as large")


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
    ``exit_code`` is meaningful once it is not running; ``pid`` is a host pid (0 when not running).

    ``lost_reason`` is set when the engine lost the container with the machine that ran it (a cluster node the
    manager declared down): the container counts as ended (``exited``), whatever it may still be doing out of
    reach, and the text says what happened. A single engine never sets it.
    """

    status: str
    running: bool
    exit_code: int
    started_at: float | None
    finished_at: float | None
    oom_killed: bool
    pid: int
    lost_reason: str | None = None

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
    """One mount of a container (``type`` bind, volume, tmpfs…; ``name`` for volumes). A ``tmpfs`` mount exists
    inside the container only: the engine's archive API reads and writes the directory underneath it."""

    type: str
    source: str
    destination: str
    read_only: bool
    name: str = ""


@attrs.frozen
class NetworkEndpoint:
    """A container's attachment to one network: its addresses there (empty when it has none)."""

    network: str
    ip_address: str
    ipv6_address: str


def _endpoints(value: Iterable[NetworkEndpoint] | None) -> tuple[NetworkEndpoint, ...]:
    return tuple(value or ())


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
    #: The networks the container is attached to (none for ``network_mode`` ``none`` or ``container:<ref>``).
    networks: tuple[NetworkEndpoint, ...] = attrs.field(default=(), converter=_endpoints)
    #: The container runtime it runs under, by the engine's name for it (``runc``, ``runsc`` …).
    runtime: str = ""

    def endpoint(self, network: str) -> NetworkEndpoint | None:
        """The attachment to ``network``, or None."""
        return next((e for e in self.networks if e.network == network), None)

    @property
    def tmpfs_paths(self) -> tuple[str, ...]:
        """Mount points of the container's tmpfs mounts."""
        return tuple(m.destination for m in self.mounts if m.type == "tmpfs")

    @property
    def runs_as_root(self) -> bool:
        """True when processes start as root (the user is empty, ``0`` or ``root``, whatever the group)."""
        return self.user.split(":", 1)[0] in ("", "0", "root")


@attrs.frozen
class ContainerSummary:
    """One container as listed (cheaper than ``ContainerInfo``): ``status`` as in ``ContainerState.status``;
    ``image`` the image as the container was created from it (a reference, or an id when that reference has since
    moved), ``image_id`` the engine's id of that image."""

    id: str
    name: str
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    status: str
    created_at: float
    image: str = ""
    image_id: str = ""


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
    #: The shell of shell-form ``RUN`` lines built on it (Dockerfile ``SHELL``); None: the default.
    shell: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_str_tuple)


@attrs.frozen
class ImageConfig:
    """The configuration an image made from a container's filesystem gets (``ImagesAPI.commit``): its command,
    entrypoint and environment for new containers, its working directory and user, and its labels. None for
    ``cmd``/``entrypoint`` means none."""

    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    cmd: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_str_tuple)
    entrypoint: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_str_tuple)
    env: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    workdir: str = ""
    user: str = ""
    #: Dockerfile ``SHELL``; None: the default (or, on a commit, the container's).
    shell: tuple[str, ...] | None = attrs.field(default=None, converter=_optional_str_tuple)


@attrs.frozen
class ImageSummary:
    """A local image as listed (cheaper than ``ImageInfo``); ``repo_tags`` without the engine's ``<none>:<none>``."""

    id: str
    repo_tags: tuple[str, ...] = attrs.field(converter=_str_tuple)
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    size: int
    created_at: float | None


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
    #: The driver's options the volume was created with.
    options: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    #: Where the volume's data lives on the engine's host (a path there, not here; empty when the driver does not
    #: say). Meaningful to the engine only, e.g. as the source of a bind mount.
    mountpoint: str = ""


@attrs.frozen
class LogRecord:
    """One entry of a container's log (its main process's output): ``fd`` ``STDOUT`` or ``STDERR`` (a TTY container
    logs everything as ``STDOUT``), when the engine received it (``time_ns``, nanoseconds since the epoch) and the
    bytes (a line with its newline, or a piece of a longer line)."""

    fd: int
    time_ns: int
    data: bytes


@attrs.frozen
class AddressPool:
    """One address range of a network: ``subnet`` in CIDR notation and its ``gateway`` (empty when the engine
    reports none)."""

    subnet: str
    gateway: str


def _pools(value: Iterable[AddressPool] | None) -> tuple[AddressPool, ...]:
    return tuple(value or ())


@attrs.frozen
class NetworkInfo:
    """A network; ``pools`` are its address ranges (IPv4 and IPv6), as inspected (a listing may leave them out)."""

    id: str
    name: str
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    driver: str
    pools: tuple[AddressPool, ...] = attrs.field(default=(), converter=_pools)


@attrs.frozen
class EngineInfo:
    """The engine host: its CPU ``architecture`` as the engine reports it (``x86_64``, ``aarch64`` …), the
    container ``runtimes`` it offers (``runc``, ``runsc`` …) and the ``cpus`` a container may use at most (0:
    unknown)."""

    architecture: str
    runtimes: tuple[str, ...] = attrs.field(converter=_str_tuple)
    cpus: int = 0


@attrs.frozen
class EngineEvent:
    """One engine event. ``action`` is the verb only (``exec_create``, ``die`` …); ``detail`` what the engine
    appended to it after ``:`` (an exec's command line for ``exec_create``/``exec_start``), else ``""``;
    ``actor_id`` is the object's id (a container id for container events)."""

    type: str
    action: str
    actor_id: str
    attributes: Mapping[str, str] = attrs.field(converter=_frozen_map)
    time: float
    detail: str = ""


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
