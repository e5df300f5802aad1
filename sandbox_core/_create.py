"""``Sandbox.create`` as named steps: the argument checks in Modal's order, then image (``resolve_image``), labels,
container spec, and a start that cleans up after itself.

To add a capability (volumes, ports, a readiness probe, a network policy): put its check at its place in ``CHECKS``
(Modal's order, which the tests check), let it contribute to ``sandbox_labels``/``container_spec`` where it shapes
the container, and add a step around ``start_container`` where it needs one (with its own cleanup).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any

import attrs

from . import _caps, _create_volumes, _lifecycle
from ._agent import delivery as agent_delivery
from ._cpulimit import fit_cpu_limit
from ._creator import abandoned, this_creator
from ._engine import EngineAPI, get_engine
from ._engine import labels as L
from ._engine.errors import NameConflict, NoSuchContainer, NoSuchImage, RemovalInProgress
from ._engine.values import ContainerSpec, ImageInfo, Mount
from ._ids import is_valid_object_name, new_id
from ._imagebuild.mounts import mount_layers
from ._ingress import create as ingress_create
from ._ingress import spec as ingress
from ._netplan import NetworkPlan, plan_network
from ._netsetup import NetworkSetup, discard_after
from ._testhooks import pause_point
from ._validation import (
    check_env_keys,
    check_flag,
    check_seconds,
    check_tags,
    check_workdir,
    is_real,
    pty_from_info,
    pty_info_window,
    reject_client,
    validate_argv,
)
from ._volumes.mounts import validate_network_file_systems
from .app import App, app_labels, is_running, running_app_id
from .client import Client
from .exception import AlreadyExistsError, Error, InvalidError, deprecation_warning
from .image import Image, ResolvedImage, forget_resolution, resolve_image
from .probe import Probe
from .secret import Secret, check_env_args, known_keys, resolve_env
from .volume import Volume, validate_volumes

logger = logging.getLogger("sandbox_core")

#: Bounds of ``cpu`` (cores, request or limit): finite and at most a million cores. Within them a limit outside what
#: the engine can set (below 0.01, above the host's CPUs) is fitted at launch with a ``LocalBackendWarning``
#: (``_cpulimit``), as Modal programs ask for limits sized for Modal's machines.
CPU_BOUNDS = (0.0, 1e6)
#: Bounds of ``memory`` (MiB, request or limit): the engine's minimum (6 MB), and 16 TiB.
MEMORY_BOUNDS_MIB = (6, 1 << 24)
#: Capabilities dropped from the engine's default set: raw sockets (spoofing), device nodes, audit log writes.
DROPPED_CAPABILITIES = ("NET_RAW", "MKNOD", "AUDIT_WRITE")
#: The command of a sandbox given none whose image has none either: stay alive, as Modal's default does.
IDLE_COMMAND = ("sleep", "172800")


@attrs.define(kw_only=True)
class CreateRequest:
    """The arguments of one ``Sandbox.create`` as given. The checks normalise some in place (``pty`` from
    ``pty_info``, ``outbound_cidr_allowlist`` from ``cidr_allowlist``) and fill in what they derive."""

    args: tuple[str, ...]
    app: App | None
    name: str | None
    tags: dict[str, str] | None
    image: Image | None
    env: dict[str, str | None] | None
    secrets: Collection[Secret] | None
    network_file_systems: dict[Any, Any]
    timeout: int
    idle_timeout: int | None
    workdir: str | None
    gpu: str | None
    cloud: str | None
    region: str | Sequence[str] | None
    cpu: float | tuple[float, float] | None
    memory: int | tuple[int, int] | None
    block_network: bool
    outbound_cidr_allowlist: Sequence[str] | None
    outbound_domain_allowlist: Sequence[str] | None
    inbound_cidr_allowlist: Sequence[str] | None
    volumes: dict[Any, Any]
    pty: bool
    encrypted_ports: Sequence[int]
    h2_ports: Sequence[int]
    unencrypted_ports: Sequence[int]
    custom_domain: str | None
    proxy: Any
    include_oidc_identity_token: bool
    readiness_probe: Any
    verbose: bool
    experimental_options: dict[str, Any] | None
    experimental_enable_snapshot: bool
    client: Client | None
    environment_name: str | None
    pty_info: Any
    cidr_allowlist: Sequence[str] | None
    pids_limit: int | None
    limits: Any = None
    runtime: Any = None
    # derived by the checks
    merged_env: dict[str, str] = attrs.field(factory=dict)
    validated_volumes: list[tuple[str, Volume]] = attrs.field(factory=list)
    # derived at launch
    mounts: tuple[Mount, ...] = ()
    cpu_shares: int | None = None
    nano_cpus: int | None = None
    caps: _caps.Caps | None = None
    #: The engine's name of the runtime asked for (None: the engine's default), learnt at launch.
    engine_runtime: str | None = None
    network: NetworkPlan = attrs.field(factory=NetworkPlan)
    declared_ports: dict[int, ingress.PortKind] = attrs.field(factory=dict)
    probe: Probe | None = None


def _not_supported(param: str, why: str = "it needs Modal's cloud infrastructure") -> InvalidError:
    return InvalidError(f"`{param}` is not supported by the local backend: {why}")


def _positive(value: Any) -> bool:
    return is_real(value) and value > 0


# ------------------------------------------------------------------------------------- the checks, in order


def check_deprecations(r: CreateRequest) -> None:
    """1. Deprecated parameters warn (and map onto their successors)."""
    if r.environment_name is not None:
        deprecation_warning(
            datetime.date(2025, 7, 16),
            "Passing `environment_name` to `Sandbox.create` is deprecated and will be removed in a future release. "
            "A sandbox's environment is determined by the app it is associated with.",
        )
    # pty_info's window size (winsz_rows/winsz_cols) is applied once the sandbox runs, but checked now
    r.pty = pty_from_info(r.pty, r.pty_info)
    pty_info_window(r.pty_info)
    if r.cidr_allowlist is not None:
        if r.outbound_cidr_allowlist is not None:
            raise InvalidError("Cannot specify both `cidr_allowlist` and `outbound_cidr_allowlist`.")
        deprecation_warning(
            datetime.date(2026, 5, 11),
            "The `cidr_allowlist` parameter has been renamed to `outbound_cidr_allowlist`. "
            "`cidr_allowlist` will be removed in a future release.",
        )
        r.outbound_cidr_allowlist = r.cidr_allowlist


def check_env(r: CreateRequest) -> None:
    """2. ``env`` folded into ``secrets`` (env wins); the keys known now must be environment variable names (those of
    stored secrets and ``.env`` files are checked once read, at ``launch``)."""
    check_env_args(r.secrets, r.env)
    check_env_keys(known_keys(r.secrets, r.env))


def check_argv(r: CreateRequest) -> None:
    """3. The entrypoint's arguments."""
    validate_argv(r.args)


def check_sandbox_name(name: Any) -> None:
    """``InvalidError`` unless ``name`` is None or a valid sandbox name (Modal's message)."""
    if name is not None and (not isinstance(name, str) or not is_valid_object_name(name)):
        raise InvalidError(
            f"Invalid Sandbox name: '{name}'. Names may contain only alphanumeric characters, dashes, periods, "
            "and underscores, must be shorter than 64 characters, and cannot conflict with App ID strings."
        )


def check_deadlines(timeout: Any, idle_timeout: Any) -> None:
    """``InvalidError`` unless ``timeout`` is positive and ``idle_timeout`` None or positive, each finite and at most
    ``MAX_TIMEOUT_SECONDS`` (Modal's 24 hours)."""
    check_seconds(timeout, "timeout")
    check_seconds(idle_timeout, "idle_timeout", optional=True)


def check_name(r: CreateRequest) -> None:
    """4. The sandbox name."""
    check_sandbox_name(r.name)


def check_open_ports(r: CreateRequest) -> None:
    """5. Open ports contradict ``block_network``."""
    check_flag(r.block_network, "block_network")
    if r.block_network and (r.encrypted_ports or r.h2_ports or r.unencrypted_ports):
        raise InvalidError("Cannot specify open ports when `block_network` is enabled")


def check_mounts_and_placement(r: CreateRequest) -> None:
    """6. Network file systems (Modal's checks, then refused: there is no NetworkFileSystem type locally; use a
    Volume), GPUs, the working directory, volumes (paths, types, one object mounted once), cloud and region."""
    validate_network_file_systems(r.network_file_systems)
    if isinstance(r.gpu, list):
        raise InvalidError(
            "Sandboxes do not support configuring a list of GPUs. Specify a single GPU configuration, e.g. gpu='a10g'"
        )
    if r.gpu is not None:
        raise InvalidError("GPUs are not available in the local backend (`gpu` must be None)")
    check_workdir(r.workdir)
    r.validated_volumes = validate_volumes(r.volumes)
    if r.cloud is not None:
        raise _not_supported("cloud", "there is no placement on a single local engine")
    if r.region is not None:
        raise _not_supported("region", "there is no placement on a single local engine")


def check_app(r: CreateRequest) -> None:
    """7. An App is required."""
    if r.app is None:
        raise InvalidError(
            "Sandboxes require an App when created outside of a Modal container.\n\n"
            "Run an ephemeral App (`with app.run(): ...`), or reference a deployed App using `App.lookup`:\n\n"
            "```\n"
            'app = modal.App.lookup("sandbox-app", create_if_missing=True)\n'
            "sb = modal.Sandbox.create(..., app=app)\n"
            "```",
        )
    if not isinstance(r.app, App):
        raise InvalidError(f"app must be an App, got {type(r.app).__name__}")
    running_app_id(r.app)


def check_network(r: CreateRequest) -> None:
    """8c. The allowlists (their conflicts with ``block_network`` first) and the declared ports become the
    network plan."""
    r.network = plan_network(
        block_network=r.block_network,
        outbound_cidr_allowlist=r.outbound_cidr_allowlist,
        outbound_domain_allowlist=r.outbound_domain_allowlist,
        inbound_cidr_allowlist=r.inbound_cidr_allowlist,
        ports=ingress.port_bindings(r.declared_ports),
    )


def check_cloud_only(r: CreateRequest) -> None:
    """8. The cloud-only features."""
    for param, given in (
        ("custom_domain", r.custom_domain is not None),
        ("proxy", r.proxy is not None),
        ("include_oidc_identity_token", bool(r.include_oidc_identity_token)),
    ):
        if given:
            raise _not_supported(param)
    if r.experimental_options:
        options = r.experimental_options
        known = sorted(options, key=repr) if isinstance(options, dict) else None
        raise InvalidError(f"Unknown experimental_options {known or repr(options)}: the local backend supports none")
    if r.experimental_enable_snapshot:
        raise _not_supported("_experimental_enable_snapshot", "memory snapshots need gVisor checkpointing")


def check_ingress(r: CreateRequest) -> None:
    """8b. The open ports (a port number each, in one list only) and the readiness probe (a ``Probe``)."""
    r.declared_ports = ingress.declared_ports(r.encrypted_ports, r.h2_ports, r.unencrypted_ports)
    r.probe = ingress.check_probe(r.readiness_probe)


def check_limits(r: CreateRequest) -> None:
    """9. ``client``, the deadlines, tags, CPU, then the hard caps (``memory``, ``pids_limit``, ``limits``) and the
    runtime, turned into engine settings (``_caps``)."""
    reject_client(r.client)
    check_flag(r.pty, "pty")
    check_deadlines(r.timeout, r.idle_timeout)
    if r.tags is not None:
        check_tags(r.tags)
    r.cpu_shares, r.nano_cpus = _cpu_settings(r.cpu)
    request, limit = (
        (None, None) if r.memory is None else _request_and_limit(r.memory, "memory", "MiB", "memory", MEMORY_BOUNDS_MIB)
    )
    r.caps = _caps.resolve(r.limits, r.pids_limit, r.runtime, request, limit)


def _request_and_limit(
    value: Any, param: str, unit: str, noun: str, bounds: tuple[float, float]
) -> tuple[float, float | None]:
    """(request, limit or None) of the ``cpu``/``memory`` argument ``param`` (``noun``: "CPU" or "memory"), each
    within ``bounds`` (finite: inf, nan and huge integers are refused before any arithmetic)."""
    title = noun[0].upper() + noun[1:]
    low, high = bounds

    def in_bounds(v: float, what: str) -> None:
        if not low <= v <= high:
            raise InvalidError(f"{title} {what} must be between {low} and {high} {unit}s, got {v!r}")

    if isinstance(value, tuple):
        if len(value) != 2:
            raise InvalidError(f"{param} must be a number of {unit}s or a (request, limit) tuple, got {value!r}")
        request, limit = value
        if not _positive(request):
            raise InvalidError(f"{title} request must be a positive number")
        if not _positive(limit):
            raise InvalidError(f"{title} limit must be a positive number")
        if limit < request:
            raise InvalidError(f"Cannot specify a {noun} limit lower than request: {limit} < {request}")
        in_bounds(request, "request")
        in_bounds(limit, "limit")
        return request, limit
    if not _positive(value):
        raise InvalidError(f"{title} request must be a positive number")
    in_bounds(value, "request")
    return value, None


#: The kernel's largest CPU weight (cgroup v1 ``cpu.shares``).
MAX_CPU_SHARES = 262144


def _cpu_settings(cpu: float | tuple[float, float] | None) -> tuple[int | None, int | None]:
    """(cpu_shares, nano_cpus): a request maps to CPU shares (1024 per core), a limit to a hard CFS quota."""
    if cpu is None:
        return None, None
    request, limit = _request_and_limit(cpu, "cpu", "core", "CPU", CPU_BOUNDS)
    # Shares are a relative weight; the kernel's range is [2, 262144] (a request of 256 cores or more is the most
    # weight any container can have).
    shares = min(MAX_CPU_SHARES, max(2, int(1024 * request)))
    return shares, None if limit is None else int(limit * 1e9)


#: Modal's order of the argument checks (the tests check it).
CHECKS: tuple[Callable[[CreateRequest], None], ...] = (
    check_deprecations,
    check_env,
    check_argv,
    check_name,
    check_open_ports,
    check_mounts_and_placement,
    check_app,
    check_cloud_only,
    check_ingress,
    check_network,
    check_limits,
)


def validate(r: CreateRequest) -> None:
    """Run ``CHECKS`` in order: the first failing one raises."""
    for check in CHECKS:
        check(r)


# ------------------------------------------------------------------------------------ from checks to a container


def sandbox_labels(r: CreateRequest, app: App, sandbox_id: str) -> dict[str, str]:
    """The container's labels: every immutable fact about the sandbox (see ``_engine/labels.py`` and
    ``_caps.cap_labels``)."""
    assert r.caps is not None  # check_limits
    labels = L.owned(
        L.KIND_SANDBOX,
        **{
            L.SANDBOX_ID: sandbox_id,
            **app_labels(app),
            L.DEADLINE: f"{time.time() + r.timeout:.3f}",
            L.RETENTION: str(_lifecycle.retention_seconds()),
            L.PTY: "1" if r.pty else "0",
            L.CREATED_BY: this_creator(),
        },
    )
    labels.update(_caps.cap_labels(r.caps))
    if r.name:
        labels[L.NAME] = r.name
    if r.idle_timeout is not None:
        labels[L.IDLE_TIMEOUT] = str(r.idle_timeout)
    for k, v in (r.tags or {}).items():
        labels[L.TAG_PREFIX + k] = v
    labels.update(ingress.ingress_labels(r.declared_ports, r.probe))
    return labels


def holder_labels(sandbox: dict[str, str]) -> dict[str, str]:
    """The labels a sandbox's cold holder takes from the sandbox's: its app and its creator."""
    keep = (L.APP_ID, L.APP_NAME, L.CREATED_BY)
    return {k: v for k, v in sandbox.items() if k in keep}


def container_spec(r: CreateRequest, image: ImageInfo, labels: dict[str, str]) -> ContainerSpec:
    """The hardened container: the engine's init as PID 1, no new privileges, ``DROPPED_CAPABILITIES``, the hard
    caps (``_caps.spec_settings``), CPU settings, no network with ``block_network``, the declared ports published
    on loopback, the engine runtime ``r.engine_runtime`` (None: the engine's default)."""
    assert r.caps is not None  # check_limits
    cmd = r.args or (None if image.cmd or image.entrypoint else IDLE_COMMAND)
    return ContainerSpec(
        image=image.id,
        labels=labels,
        cmd=cmd,
        env=r.merged_env,
        workdir=r.workdir,
        tty=r.pty,
        network_disabled=r.block_network,
        ports=ingress.port_bindings(r.declared_ports),
        nano_cpus=r.nano_cpus,
        cpu_shares=r.cpu_shares,
        cap_drop=DROPPED_CAPABILITIES,
        runtime=r.engine_runtime,
        mounts=r.mounts,
        **_caps.spec_settings(r.caps),
    )


def container_name(sandbox_id: str, app_id: str, name: str | None) -> str:
    """Named sandboxes hold an engine container name derived from (app, name): the engine enforces uniqueness
    atomically, which a check-then-create on labels could not."""
    return f"sandbox-core.{app_id}.{name}" if name else sandbox_id


async def release_finished_holder(eng: EngineAPI, cname: str, name: str) -> None:
    """Container name ``cname`` (sandbox ``name``'s) is taken: rename its holder away if that sandbox finished,
    remove it if it was created but abandoned before its start (``_creator.abandoned``: it never ran, so there is
    nothing to keep). ``AlreadyExistsError`` when it is running or being started; returns when the name may be free
    now."""
    try:
        holder = await eng.containers.inspect(cname)
    except NoSuchContainer:
        return  # released meanwhile: retry
    if holder.state.status == "created" and abandoned(holder.labels, holder.created_at, time.time()):
        with contextlib.suppress(NoSuchContainer, RemovalInProgress):
            await eng.containers.remove(holder.id)
        return
    if holder.state.running or holder.state.status == "created":
        raise AlreadyExistsError(f"Sandbox with name '{name}' already exists") from None
    with contextlib.suppress(NameConflict, NoSuchContainer):
        await eng.containers.rename(holder.id, holder.labels.get(L.SANDBOX_ID) or holder.id[:12])


async def _create_claiming_name(eng: EngineAPI, spec: ContainerSpec, cname: str, name: str | None) -> str:
    """Create the container; for a named sandbox, take the name over from a *finished* holder."""
    for _ in range(5):
        await pause_point("create")
        try:
            return await eng.containers.create(spec, cname)
        except NameConflict:
            if name is None:
                raise
            await pause_point("claim")
            await release_finished_holder(eng, cname, name)
    raise AlreadyExistsError(f"Sandbox with name '{name}' already exists")


async def _remove_by_sandbox_id(eng: EngineAPI, sandbox_id: str) -> None:
    with contextlib.suppress(Exception):
        for item in await eng.containers.list({L.SANDBOX_ID: sandbox_id}, all=True):
            await eng.containers.remove(item.id)


async def start_container(
    eng: EngineAPI,
    spec: ContainerSpec,
    name: str | None,
    sandbox_id: str,
    cname: str,
    before_start: Callable[[str], Awaitable[None]] | None = None,
) -> str:
    """Create and start the container (``before_start(ref)`` runs between the two); returns its ref.
    ``AlreadyExistsError`` when ``name`` is held by a running sandbox of the app.

    Failed or cancelled midway, nothing is left behind: a create request already sent completes on the engine even
    if we stop waiting, so it is let finish, then whatever carries this sandbox's id is removed — shielded, so that
    the cancellation itself cannot leak a container.
    """
    creating = asyncio.ensure_future(_create_claiming_name(eng, spec, cname, name))
    try:
        try:
            cid = await asyncio.shield(creating)
            if before_start is not None:
                await before_start(cid)
            await pause_point("start")
            await eng.containers.start(cid)
            await pause_point("started")
        except Error as e:
            raise _workdir_error(e, spec.workdir) or e from None
    except BaseException:

        async def cleanup() -> None:
            with contextlib.suppress(BaseException):
                await creating
            await _remove_by_sandbox_id(eng, sandbox_id)

        await asyncio.shield(cleanup())
        raise
    return cid


#: What the engine says when the working directory cannot be one (a file, or a path under one, or under /proc).
_WORKDIR_FAILURES = ("not a directory", "no such file or directory", "cannot mkdir")


def _workdir_error(error: Error, workdir: str | None) -> InvalidError | None:
    """The ``InvalidError`` for a create or start the engine refused because of ``workdir`` (its message names the
    engine's own paths, which a user must not see), else None."""
    msg = str(error).lower()
    if workdir is None or workdir.lower() not in msg or not any(f in msg for f in _WORKDIR_FAILURES):
        return None
    return InvalidError(f"workdir {workdir!r} cannot be the working directory: it is not a directory in the image")


async def start_with_image(
    eng: EngineAPI,
    r: CreateRequest,
    net: NetworkSetup,
    acquiring: asyncio.Future[None],
    sandbox_id: str,
    labels: dict[str, str],
) -> tuple[str, ResolvedImage, float]:
    """Resolve the image, join the network setup ``acquiring`` started, create and start the container; once
    more if the image was removed since it was resolved. Returns the container's ref, the image, and when the
    image was ready (``time.monotonic()``)."""
    assert r.app is not None  # check_app
    for attempt in (1, 2):
        image = await resolve_image(r.image, eng, verbose=r.verbose)
        t_image = time.monotonic()
        await acquiring
        await net.recheck()
        labels.update(net.sandbox_labels())
        spec = await agent_delivery.equip(eng, net.apply(container_spec(r, image.info, labels)), image.info.id)
        labels.update(spec.labels)
        cname = container_name(sandbox_id, labels[L.APP_ID], r.name)
        try:
            cid = await start_container(eng, spec, r.name, sandbox_id, cname, before_start(eng, image, net))
            return cid, image, t_image
        except NoSuchImage:
            if attempt == 2:
                raise
            forget_resolution(r.image)  # removed since it was resolved (sweep, docker rmi): resolve it again
    raise AssertionError("unreachable")


async def _outlive_no_run(eng: EngineAPI, app: App, sandbox_id: str) -> None:
    """Remove the new sandbox and raise when its app's ``run()`` block exited while it was being started (the run's
    end terminated the sandboxes it found; this one came too late to be found)."""
    if not is_running(app):
        await asyncio.shield(_remove_by_sandbox_id(eng, sandbox_id))
        running_app_id(app)


async def launch(r: CreateRequest, *, extra_labels: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """The steps after the checks: runtime, image, labels, spec, the agent, start (with cleanup), supervisor.
    Returns the container's ref and labels. ``extra_labels`` go on the container too (a warm pool's member
    labels)."""
    assert r.app is not None  # check_app
    assert r.caps is not None  # check_limits
    if r.verbose:
        logger.setLevel(min(logger.level or logging.DEBUG, logging.DEBUG))
    t0 = time.monotonic()
    eng = await get_engine()
    r.engine_runtime = await _caps.engine_runtime(eng, r.caps.runtime)
    ingress_create.check_host(eng, r.declared_ports, r.probe)
    r.nano_cpus = await fit_cpu_limit(eng, r.nano_cpus)
    r.merged_env = await resolve_env(r.secrets, r.env)  # stored secrets, .env files: NotFoundError here
    check_env_keys(r.merged_env)
    volumes = await _create_volumes.prepare(eng, r.validated_volumes)
    sandbox_id = new_id("sb")
    labels = {**sandbox_labels(r, r.app, sandbox_id), **volumes.labels, **(extra_labels or {})}
    r.mounts = await volumes.engine_mounts(eng)
    net = NetworkSetup(eng, r.network, sandbox_id, holder_labels(labels))
    acquiring = asyncio.ensure_future(net.acquire())  # overlaps the image's resolution
    # Before the container exists: a client killed at any later step leaves a sandbox whose deadline a supervisor
    # enforces (one flock when it already runs).
    _lifecycle.ensure_supervisor(eng)
    try:
        cid, image, t_image = await start_with_image(eng, r, net, acquiring, sandbox_id, labels)
    except BaseException:
        await asyncio.shield(discard_after(acquiring, net))
        raise
    await _create_volumes.verify_started(eng, volumes, sandbox_id)
    await _outlive_no_run(eng, r.app, sandbox_id)
    logger.debug(
        "Sandbox %s created in %.2fs (image %s: %.2fs; container %s)",
        sandbox_id,
        time.monotonic() - t0,
        image.info.id[:19],
        t_image - t0,
        cid[:12],
    )
    return cid, labels


def before_start(eng: EngineAPI, image: ResolvedImage, net: NetworkSetup) -> Callable[[str], Awaitable[None]]:
    """What runs between the container's create and start: the image's mount layers copied in, then the network
    policy in force."""
    layers = mount_layers(eng, image.mounts)

    async def run(ref: str) -> None:
        if layers is not None:
            await layers(ref)
        await net.ready()

    return run


def window_size(pty_info: Any) -> tuple[int, int]:
    """The PTY size to apply: ``pty_info``'s ``winsz_rows``/``winsz_cols`` if given, else the caller's terminal
    (as Modal does), else (0, 0) for the engine's default."""
    rows, cols = pty_info_window(pty_info)
    if not (rows and cols) and os.isatty(0):
        size = shutil.get_terminal_size()
        rows, cols = size.lines, size.columns
    return rows, cols
