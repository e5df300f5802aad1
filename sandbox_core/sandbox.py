"""``Sandbox``: lifecycle, lookup, tags, and the entry points for exec, stdio and the filesystem.

State lives in the engine, not in this object: the container (labels hold the immutable facts: id, app, name,
deadline), its logs (the entrypoint's output), and records (``_engine/records.py``: tags, why it ended). Any
process can therefore pick up any sandbox with ``from_id``/``from_name``/``list``.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import datetime
import logging
import os
import re
import shutil
import time
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Mapping, Sequence
from typing import Any, Literal, overload

from . import _lifecycle, file_io
from ._engine import EngineAPI, get_engine
from ._engine import labels as L
from ._engine.errors import NameConflict, NoSuchContainer
from ._engine.values import ContainerSpec
from ._fs.ops import FileOps
from ._ids import SANDBOX_ID_RE, is_valid_object_name, new_id
from ._link import SandboxLink
from ._stdio import EntrypointStdio
from ._validation import validate_argv
from .app import App
from .exception import (
    AlreadyExistsError,
    InvalidError,
    NotFoundError,
    SandboxTerminatedError,
    SandboxTimeoutError,
    deprecation_warning,
)
from .file_io import FileIO
from .filesystem import FileWatchEvent, FileWatchEventType, SandboxFilesystem
from .image import Image
from .process import ContainerProcess, start_exec
from .secret import Secret, merge_env
from .streams import StreamReader, StreamType, StreamWriter

logger = logging.getLogger("sandbox_core")

#: Seconds a finished sandbox stays inspectable (wait/poll/returncode from any process) before it is removed.
DEFAULT_RETENTION = 600
DEFAULT_PIDS_LIMIT = 4096
#: Capabilities dropped from the engine's default set: raw sockets (spoofing), device nodes, audit log writes.
DROPPED_CAPABILITIES = ("NET_RAW", "MKNOD", "AUDIT_WRITE")
_ENV_KEY_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _validate_env_keys(env: Mapping[str, str]) -> None:
    for key in env:
        if key == "":
            raise InvalidError("Secret key name cannot be empty")
        if not _ENV_KEY_RE.match(key):
            raise InvalidError(
                f"Secret key name {key!r} is invalid for environment variables. "
                "Only letters, numbers, and underscores are allowed."
            )


def _positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _cpu_settings(cpu: float | tuple[float, float] | None) -> tuple[int | None, int | None]:
    """(cpu_shares, nano_cpus): a request maps to CPU shares (1024 per core), a limit to a hard CFS quota."""
    if cpu is None:
        return None, None
    if isinstance(cpu, tuple):
        if len(cpu) != 2:
            raise InvalidError(f"cpu must be a number or a (request, limit) tuple, got {cpu!r}")
        request, limit = cpu
        if not _positive(request):
            raise InvalidError("CPU request must be a positive number")
        if not _positive(limit):
            raise InvalidError("CPU limit must be a positive number")
        if limit < request:
            raise InvalidError(f"Cannot specify a CPU limit lower than request: {limit} < {request}")
        return max(2, int(1024 * request)), int(limit * 1e9)
    if not _positive(cpu):
        raise InvalidError("CPU request must be a positive number")
    return max(2, int(1024 * cpu)), None


def _memory_settings(memory: int | tuple[int, int] | None) -> tuple[int | None, int | None]:
    """(reservation_bytes, limit_bytes) from MiB: a request is a soft reservation, a limit is enforced."""
    if memory is None:
        return None, None
    mib = 1024 * 1024
    if isinstance(memory, tuple):
        if len(memory) != 2:
            raise InvalidError(f"memory must be a number of MiB or a (request, limit) tuple, got {memory!r}")
        request, limit = memory
        if not _positive(request):
            raise InvalidError("Memory request must be a positive number")
        if not _positive(limit):
            raise InvalidError("Memory limit must be a positive number")
        if limit < request:
            raise InvalidError(f"Cannot specify a memory limit lower than request: {limit} < {request}")
        return int(request * mib), int(limit * mib)
    if not _positive(memory):
        raise InvalidError("Memory request must be a positive number")
    return int(memory * mib), None


def _not_supported(param: str, why: str = "it needs Modal's cloud infrastructure") -> InvalidError:
    return InvalidError(f"`{param}` is not supported by the local backend: {why}")


def _window_size(pty_info: Any) -> tuple[int, int]:
    """The PTY size to apply: ``pty_info``'s ``winsz_rows``/``winsz_cols`` if given, else the caller's terminal
    (as Modal does), else (0, 0) for the engine's default."""
    rows, cols = getattr(pty_info, "winsz_rows", 0) or 0, getattr(pty_info, "winsz_cols", 0) or 0
    if not (rows and cols) and os.isatty(0):
        size = shutil.get_terminal_size()
        rows, cols = size.lines, size.columns
    if not (isinstance(rows, int) and isinstance(cols, int) and rows >= 0 and cols >= 0):
        raise InvalidError(f"pty_info window size must be non-negative integers, got {rows!r} x {cols!r}")
    return rows, cols


def _container_name(sandbox_id: str, app_id: str, name: str | None) -> str:
    # Named sandboxes hold an engine container name derived from (app, name): the engine enforces uniqueness
    # atomically, which a check-then-create on labels could not.
    return f"sandbox-core.{app_id}.{name}" if name else sandbox_id


class Sandbox:
    """A sandbox: a hardened container running one entrypoint, with exec, stdio, tags and a filesystem API.

    Obtain one with ``Sandbox.create``, ``Sandbox.from_id``, ``Sandbox.from_name`` or ``Sandbox.list``; direct
    construction raises ``InvalidError``.
    """

    __slots__ = ("__weakref__", "_filesystem", "_link", "_name", "_object_id", "_stdio")

    _object_id: str
    _name: str | None
    _link: SandboxLink
    _stdio: EntrypointStdio
    _filesystem: SandboxFilesystem | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise InvalidError(f"Class {type(self).__name__} has no constructor. Use class constructor methods instead.")

    @classmethod
    def _from_container(cls, container_id: str, lbl: Mapping[str, str]) -> Sandbox:
        """A handle on container ``container_id`` from its labels."""
        obj = object.__new__(cls)
        obj._link = SandboxLink.from_labels(container_id, lbl)
        obj._object_id = obj._link.sandbox_id
        obj._name = lbl.get(L.NAME) or None
        obj._stdio = EntrypointStdio(obj._link)
        obj._filesystem = None
        return obj

    # ----------------------------------------------------------------------------------------------- creation

    @staticmethod
    async def create(
        *args: str,
        app: App | None = None,
        name: str | None = None,
        tags: dict[str, str] | None = None,
        image: Image | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        network_file_systems: dict[str | os.PathLike[str], Any] = {},  # noqa: B006 - Modal's signature
        timeout: int = 300,
        idle_timeout: int | None = None,
        workdir: str | None = None,
        gpu: str | None = None,
        cloud: str | None = None,
        region: str | Sequence[str] | None = None,
        cpu: float | tuple[float, float] | None = None,
        memory: int | tuple[int, int] | None = None,
        block_network: bool = False,
        outbound_cidr_allowlist: Sequence[str] | None = None,
        outbound_domain_allowlist: Sequence[str] | None = None,
        inbound_cidr_allowlist: Sequence[str] | None = None,
        volumes: dict[str | os.PathLike[str], Any] = {},  # noqa: B006 - Modal's signature
        pty: bool = False,
        encrypted_ports: Sequence[int] = [],
        h2_ports: Sequence[int] = [],
        unencrypted_ports: Sequence[int] = [],
        custom_domain: str | None = None,
        proxy: Any = None,
        include_oidc_identity_token: bool = False,
        readiness_probe: Any = None,
        verbose: bool = False,
        experimental_options: dict[str, Any] | None = None,
        _experimental_enable_snapshot: bool = False,
        client: None = None,
        environment_name: str | None = None,
        pty_info: Any = None,
        cidr_allowlist: Sequence[str] | None = None,
        pids_limit: int = DEFAULT_PIDS_LIMIT,
    ) -> Sandbox:
        """Create and start a sandbox running ``args`` (or the image's CMD; ``sleep 172800`` if it has none).

        Returns once the container runs. Checks arguments in Modal's order and raises ``InvalidError`` (bad or
        unsupported arguments, each naming the parameter), ``AlreadyExistsError`` (``name`` taken by a running
        sandbox of the app), ``NotFoundError`` (image neither local nor pullable). Hardened by default: no new
        privileges, NET_RAW/MKNOD/AUDIT_WRITE dropped, ``pids_limit`` processes, the engine's init as PID 1
        (reaps zombies); ``block_network=True`` gives no network at all. ``timeout``/``idle_timeout`` are
        enforced by a supervisor process even if this process dies; a running exec and writes to ``stdin`` are
        activity for ``idle_timeout``.
        """
        # 1. deprecations
        if environment_name is not None:
            deprecation_warning(
                datetime.date(2025, 7, 16),
                "The `environment_name` argument is no longer used and will be removed; "
                "the environment is taken from the App.",
            )
        if pty_info is not None:
            deprecation_warning(datetime.date(2025, 9, 12), "The `pty_info` parameter is deprecated; use `pty=True`.")
            pty = True  # its window size (winsz_rows/winsz_cols) is applied once the sandbox runs
        if cidr_allowlist is not None:
            deprecation_warning(
                datetime.date(2026, 5, 11),
                "The `cidr_allowlist` parameter is deprecated; use `outbound_cidr_allowlist` instead.",
            )
            if outbound_cidr_allowlist is not None:
                raise InvalidError("Cannot specify both `cidr_allowlist` and `outbound_cidr_allowlist`.")
            outbound_cidr_allowlist = cidr_allowlist
        # 2. env folded into secrets (env wins)
        merged_env = merge_env(secrets, env)
        _validate_env_keys(merged_env)
        # 3. argv
        validate_argv(args)
        # 4. name
        if name is not None and (not isinstance(name, str) or not is_valid_object_name(name)):
            raise InvalidError(
                f"Invalid Sandbox name: '{name}'. Names may contain only alphanumeric characters, dashes, periods, "
                "and underscores, must be shorter than 64 characters, and cannot conflict with App ID strings."
            )
        # 5. block_network + ports
        if block_network and (encrypted_ports or h2_ports or unencrypted_ports):
            raise InvalidError("Cannot specify open ports when `block_network` is enabled")
        # 6. NFS, GPU, workdir, volumes, region
        if network_file_systems:
            raise _not_supported("network_file_systems", "use a Docker volume mounted by the image instead")
        if isinstance(gpu, list):
            raise InvalidError(
                "Sandboxes do not support configuring a list of GPUs. "
                "Specify a single GPU configuration, e.g. gpu='a10g'"
            )
        if gpu is not None:
            raise InvalidError("GPUs are not available in the local backend (`gpu` must be None)")
        if workdir is not None and (not isinstance(workdir, str) or not workdir.startswith("/")):
            raise InvalidError(f"workdir must be an absolute path, got: {workdir}")
        if volumes:
            raise _not_supported("volumes", "Volumes are not implemented yet")
        if cloud is not None:
            raise _not_supported("cloud", "there is no placement on a single local engine")
        if region is not None:
            raise _not_supported("region", "there is no placement on a single local engine")
        # 7. app
        if app is None:
            raise InvalidError(
                "Sandboxes require an App when created outside of a Modal container.\n\n"
                "Run an ephemeral App (`with app.run(): ...`), or reference a deployed App using `App.lookup`: "
                "app = App.lookup('my-app', create_if_missing=True)"
            )
        if not isinstance(app, App):
            raise InvalidError(f"app must be an App (from App.lookup), got {type(app).__name__}")
        # 9. allowlists with block_network, then everything the local backend cannot honour
        for param, value in (
            ("outbound_cidr_allowlist", outbound_cidr_allowlist),
            ("outbound_domain_allowlist", outbound_domain_allowlist),
            ("inbound_cidr_allowlist", inbound_cidr_allowlist),
        ):
            if value is not None and block_network:
                raise InvalidError(f"`{param}` cannot be used when `block_network` is enabled")
            if value is not None:
                raise _not_supported(param, "egress/ingress allowlists need a firewall the local backend lacks")
        for param, ports in (
            ("encrypted_ports", encrypted_ports),
            ("h2_ports", h2_ports),
            ("unencrypted_ports", unencrypted_ports),
        ):
            if ports:
                raise _not_supported(param, "tunnels are not implemented yet")
        if custom_domain is not None:
            raise _not_supported("custom_domain")
        if proxy is not None:
            raise _not_supported("proxy")
        if include_oidc_identity_token:
            raise _not_supported("include_oidc_identity_token")
        if readiness_probe is not None:
            raise _not_supported("readiness_probe", "readiness probes are not implemented yet")
        if experimental_options:
            raise InvalidError(
                f"Unknown experimental_options {sorted(experimental_options)}: the local backend supports none"
            )
        if _experimental_enable_snapshot:
            raise _not_supported("_experimental_enable_snapshot", "memory snapshots need gVisor checkpointing")
        if client is not None:
            raise InvalidError("client is not supported by the local backend")
        if not _positive(timeout):
            raise InvalidError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if idle_timeout is not None and not _positive(idle_timeout):
            raise InvalidError(f"idle_timeout must be a positive number of seconds or None, got {idle_timeout!r}")
        if not isinstance(pids_limit, int) or isinstance(pids_limit, bool) or pids_limit <= 0:
            raise InvalidError(f"pids_limit must be a positive integer, got {pids_limit!r}")
        if tags is not None and not (
            isinstance(tags, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
        ):
            raise InvalidError("tags must be a dict[str, str]")
        cpu_shares, nano_cpus = _cpu_settings(cpu)
        memory_reservation, memory_limit = _memory_settings(memory)

        t0 = time.monotonic()
        eng = await get_engine()
        img = image if image is not None else Image._default()
        if not isinstance(img, Image):
            raise InvalidError(f"image must be an Image, got {type(img).__name__}")
        image_info = await img._resolve(eng)
        t_image = time.monotonic()

        cmd: list[str] | None = list(args) if args else None
        if cmd is None and not image_info.cmd and not image_info.entrypoint:
            cmd = ["sleep", "172800"]
        sandbox_id = new_id("sb")
        retention = _lifecycle.retention_seconds()
        sb_labels = L.owned(
            L.KIND_SANDBOX,
            **{
                L.SANDBOX_ID: sandbox_id,
                L.APP_ID: app.app_id,
                L.APP_NAME: app.name,
                L.DEADLINE: f"{time.time() + timeout:.3f}",
                L.RETENTION: str(retention),
                L.PTY: "1" if pty else "0",
                L.CREATED_BY: f"{os.uname().nodename}:{os.getpid()}",
            },
        )
        if name:
            sb_labels[L.NAME] = name
        if idle_timeout is not None:
            sb_labels[L.IDLE_TIMEOUT] = str(idle_timeout)
        for k, v in (tags or {}).items():
            sb_labels[L.TAG_PREFIX + k] = v
        spec = ContainerSpec(
            image=image_info.id,
            labels=sb_labels,
            cmd=cmd,
            env=merged_env,
            workdir=workdir,
            tty=pty,
            network_disabled=block_network,
            nano_cpus=nano_cpus,
            cpu_shares=cpu_shares,
            memory_bytes=memory_limit,
            memory_reservation_bytes=memory_reservation,
            pids_limit=pids_limit,
            cap_drop=DROPPED_CAPABILITIES,
        )
        cname = _container_name(sandbox_id, app.app_id, name)
        creating = asyncio.ensure_future(_create_claiming_name(eng, spec, cname, name))
        try:
            cid = await asyncio.shield(creating)
            await eng.containers.start(cid)
        except BaseException:
            # Failed or cancelled midway. A create request already sent completes on the engine even if we stop
            # waiting, so let it finish, then remove whatever carries this sandbox's id; shielded, so that the
            # cancellation itself cannot leak a container.
            async def cleanup() -> None:
                with contextlib.suppress(BaseException):
                    await creating
                await _remove_by_sandbox_id(eng, sandbox_id)

            await asyncio.shield(cleanup())
            raise
        _lifecycle.ensure_supervisor(eng)
        sb = Sandbox._from_container(cid, sb_labels)
        if pty:
            rows, cols = _window_size(pty_info)
            if rows and cols:
                await sb._stdio.resize(rows, cols)
        if verbose:
            logger.setLevel(min(logger.level or logging.DEBUG, logging.DEBUG))
        logger.debug(
            "Sandbox %s created in %.2fs (image %s: %.2fs; container %s)",
            sandbox_id,
            time.monotonic() - t0,
            img,
            t_image - t0,
            cid[:12],
        )
        return sb

    # -------------------------------------------------------------------------------------------------- lookup

    @staticmethod
    async def from_id(sandbox_id: str, client: None = None) -> Sandbox:
        """The sandbox ``sandbox_id``, running or finished (``returncode`` set if finished).

        Raises ``InvalidError`` for an id not shaped ``sb-…``, ``NotFoundError`` for an unknown (or already
        removed) sandbox.
        """
        if not isinstance(sandbox_id, str) or not sandbox_id.startswith("sb-"):
            raise InvalidError(f"Object {sandbox_id} does not start with sb")
        if client is not None:
            raise InvalidError("client is not supported by the local backend")
        eng = await get_engine()
        found = (
            await eng.containers.list({L.SANDBOX_ID: sandbox_id}, all=True) if SANDBOX_ID_RE.match(sandbox_id) else []
        )
        if not found:
            raise NotFoundError(f"Sandbox with id {sandbox_id} not found")
        sb = Sandbox._from_container(found[0].id, found[0].labels)
        await sb._refresh()
        return sb

    @staticmethod
    async def from_name(
        app_name: str, name: str, *, environment_name: str | None = None, client: None = None
    ) -> Sandbox:
        """The **running** sandbox called ``name`` in app ``app_name``. Raises ``NotFoundError`` if none runs."""
        if environment_name is not None:
            raise InvalidError("environment_name is not supported by the local backend (there are no environments)")
        if client is not None:
            raise InvalidError("client is not supported by the local backend")
        eng = await get_engine()
        found = await eng.containers.list({L.APP_NAME: app_name, L.NAME: name, L.KIND: L.KIND_SANDBOX}, all=False)
        if not found:
            raise NotFoundError(f"Sandbox with name '{name}' not found in App '{app_name}'")
        return Sandbox._from_container(found[0].id, found[0].labels)

    @staticmethod
    async def list(
        *, app_id: str | None = None, tags: dict[str, str] | None = None, client: None = None
    ) -> AsyncGenerator[Sandbox, None]:
        """Yield the **running** sandboxes (of ``app_id`` if given) having at least the ``tags`` given, newest first."""
        if client is not None:
            raise InvalidError("client is not supported by the local backend")
        if tags is not None and not (
            isinstance(tags, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
        ):
            raise InvalidError("tags must be a dict[str, str]")
        eng = await get_engine()
        query: dict[str, str | None] = {L.KIND: L.KIND_SANDBOX}
        if app_id is not None:
            query[L.APP_ID] = app_id
        running = await eng.containers.list(query, all=False)
        overrides = await _lifecycle.latest_tag_records(eng) if tags else {}
        for item in sorted(running, key=lambda c: c.created_at, reverse=True):
            if tags:
                current = overrides.get(item.labels[L.SANDBOX_ID])
                if current is None:
                    current = _lifecycle.tags_from_labels(item.labels)
                if any(current.get(k) != v for k, v in tags.items()):
                    continue
            yield Sandbox._from_container(item.id, item.labels)

    # ------------------------------------------------------------------------------------------ object model

    @property
    def object_id(self) -> str:
        """The sandbox id, ``sb-`` + 22 alphanumerics."""
        return self._object_id

    @property
    def is_hydrated(self) -> bool:
        """Always True: every handle is bound to an existing sandbox."""
        return True

    async def hydrate(self, client: None = None) -> Sandbox:
        """No-op for sandboxes (always hydrated); returns ``self``."""
        return self

    def _check_attached(self) -> None:
        self._link.check_attached()

    def __repr__(self) -> str:
        return f"Sandbox({self._object_id})"

    # ------------------------------------------------------------------------------------------------ status

    async def _refresh(self) -> int | None:
        return await self._link.refresh()

    @property
    def returncode(self) -> int | None:
        """The exit code once known (updated by ``wait``/``poll``/``from_id``): 137 after ``terminate``, 124
        after the lifetime ``timeout``, otherwise the entrypoint's code; None while running. Works after detach."""
        return self._link.result

    async def poll(self) -> int | None:
        """Return the returncode without blocking (None while running). Never raises for timeout/termination."""
        self._check_attached()
        return await self._refresh()

    async def wait(self, raise_on_termination: bool = True) -> None:
        """Block until the sandbox finishes. Works after detach.

        Raises ``SandboxTimeoutError`` if it passed its lifetime ``timeout`` (always), ``SandboxTerminatedError``
        if it was terminated and ``raise_on_termination``. A non-zero exit does not raise.
        """
        link = self._link
        while await link.refresh() is None:
            eng = await get_engine()
            try:
                await eng.containers.wait(link.container_id)
            except NoSuchContainer:
                pass  # removed meanwhile: refresh reports it
        if link.status == _lifecycle.TIMEOUT:
            raise SandboxTimeoutError()
        if link.status == _lifecycle.TERMINATED and raise_on_termination:
            raise SandboxTerminatedError()

    @overload
    async def terminate(self, *, wait: Literal[True]) -> int: ...
    @overload
    async def terminate(self, *, wait: Literal[False] = False) -> None: ...
    async def terminate(self, *, wait: bool = False) -> int | None:
        """Stop the sandbox (SIGKILL; returncode 137). No-op when it already finished.

        With ``wait=True`` waits and returns the returncode (``SandboxTimeoutError`` if it had timed out).
        """
        link = self._link
        if await link.refresh() is None:
            eng = await get_engine()
            await _lifecycle.end_sandbox(eng, link.sandbox_id, link.ref, link.app_id, _lifecycle.TERMINATED)
        if wait:
            await self.wait(raise_on_termination=False)
            assert link.result is not None
            return link.result
        return None

    async def detach(self) -> None:
        """Release this handle's connections; afterwards only ``wait``, ``returncode`` and ``detach`` work (others
        raise ``ClientClosed``). Idempotent. The sandbox keeps running; ``from_id`` reconnects."""
        if self._link.detached:
            return
        self._link.detached = True
        await self._stdio.close()

    # --------------------------------------------------------------------------------------------------- tags

    async def get_tags(self) -> dict[str, str]:
        """The sandbox's current tags (as last set by ``create`` or ``set_tags`` from any process)."""
        self._check_attached()
        eng = await get_engine()
        rec = await _lifecycle.latest_tag_records(eng, self._object_id)
        if self._object_id in rec:
            return rec[self._object_id]
        info = await eng.containers.inspect(self._link.container_id)
        return _lifecycle.tags_from_labels(info.labels)

    async def set_tags(self, tags: dict[str, str], *, client: None = None) -> None:
        """Replace the sandbox's tags (``{}`` clears them). Visible to every process at once.

        Raises ``InvalidError`` unless ``tags`` is a ``dict[str, str]``.
        """
        self._check_attached()
        if client is not None:
            deprecation_warning(
                datetime.date(2025, 9, 18),
                "The `client` parameter of `set_tags` is deprecated; set the client at creation instead.",
            )
        if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise InvalidError("tags must be a dict[str, str]")
        eng = await get_engine()
        await _lifecycle.write_tags(eng, self._object_id, self._link.app_id, tags)

    # ------------------------------------------------------------------------------------------ exec & stdio

    @overload
    async def exec(
        self,
        *args: str,
        stdout: StreamType = StreamType.PIPE,
        stderr: StreamType = StreamType.PIPE,
        timeout: int | None = None,
        workdir: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        text: Literal[True] = True,
        bufsize: Literal[-1, 1] = -1,
        pty: bool = False,
        _pty_info: Any = None,
        pty_info: Any = None,
    ) -> ContainerProcess[str]: ...
    @overload
    async def exec(
        self,
        *args: str,
        stdout: StreamType = StreamType.PIPE,
        stderr: StreamType = StreamType.PIPE,
        timeout: int | None = None,
        workdir: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        text: Literal[False],
        bufsize: Literal[-1, 1] = -1,
        pty: bool = False,
        _pty_info: Any = None,
        pty_info: Any = None,
    ) -> ContainerProcess[bytes]: ...
    async def exec(
        self,
        *args: str,
        stdout: StreamType = StreamType.PIPE,
        stderr: StreamType = StreamType.PIPE,
        timeout: int | None = None,
        workdir: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        text: bool = True,
        bufsize: Literal[-1, 1] = -1,
        pty: bool = False,
        _pty_info: Any = None,
        pty_info: Any = None,
    ) -> ContainerProcess[Any]:
        """Run ``args`` in the sandbox; returns a ``ContainerProcess`` (``str`` streams if ``text`` else ``bytes``).

        See ``process.start_exec`` for the checks (Modal's order) and the exec ``timeout`` contract.
        """
        return await start_exec(
            self._link.ref,  # ClientClosed first, on a detached handle
            args,
            stdout=stdout,
            stderr=stderr,
            timeout=timeout,
            workdir=workdir,
            env=env,
            secrets=secrets,
            text=text,
            bufsize=bufsize,
            pty=pty,
            pty_info=pty_info if pty_info is not None else _pty_info,
        )

    @property
    def stdout(self) -> StreamReader[str]:
        """The entrypoint's stdout as text lines, replayed from the beginning for every new handle."""
        self._check_attached()
        return self._stdio.stdout

    @property
    def stderr(self) -> StreamReader[str]:
        """The entrypoint's stderr as text lines (empty with ``pty=True``)."""
        self._check_attached()
        return self._stdio.stderr

    @property
    def stdin(self) -> StreamWriter:
        """The entrypoint's stdin."""
        self._check_attached()
        return self._stdio.stdin

    # ----------------------------------------------------------------------------------------------- files

    @property
    def filesystem(self) -> SandboxFilesystem:
        """File operations on the sandbox (``read_bytes``, ``write_text``, ``list_files``, ``watch``, …)."""
        self._check_attached()
        if self._filesystem is None:
            self._filesystem = SandboxFilesystem._new(FileOps(self._link))
        return self._filesystem

    @property
    def _files(self) -> FileOps:
        """The file operations ``filesystem`` and the deprecated file API share. ``ClientClosed`` after detach."""
        return self.filesystem._ops

    async def open(self, path: str, mode: str = "r") -> FileIO[Any]:
        """Deprecated: open a file in the sandbox (use ``filesystem``)."""
        return await file_io.open_file(self._files, path, mode)

    async def ls(self, path: str) -> builtins.list[str]:
        """Deprecated: names of the entries of directory ``path`` (use ``filesystem.list_files``)."""
        return await file_io.legacy_ls(self._files, path)

    async def mkdir(self, path: str, parents: bool = False) -> None:
        """Deprecated: create directory ``path`` (use ``filesystem.make_directory``)."""
        await file_io.legacy_mkdir(self._files, path, parents)

    async def rm(self, path: str, recursive: bool = False) -> None:
        """Deprecated: remove ``path`` (use ``filesystem.remove``)."""
        await file_io.legacy_rm(self._files, path, recursive)

    async def watch(
        self,
        path: str,
        filter: builtins.list[FileWatchEventType] | None = None,
        recursive: bool | None = None,
        timeout: int | None = None,
    ) -> AsyncIterator[FileWatchEvent]:
        """Deprecated: watch ``path`` for changes (use ``filesystem.watch``)."""
        async for event in file_io.legacy_watch(self._files, path, filter, recursive, timeout):
            yield event


async def _remove_by_sandbox_id(eng: EngineAPI, sandbox_id: str) -> None:
    with contextlib.suppress(Exception):
        for item in await eng.containers.list({L.SANDBOX_ID: sandbox_id}, all=True):
            await eng.containers.remove(item.id)


async def _create_claiming_name(eng: EngineAPI, spec: ContainerSpec, cname: str, name: str | None) -> str:
    """Create the container; for a named sandbox, take the name over from a *finished* holder."""
    for _ in range(5):
        try:
            return await eng.containers.create(spec, cname)
        except NameConflict:
            if name is None:
                raise
            try:
                holder = await eng.containers.inspect(cname)
            except NoSuchContainer:
                continue  # released meanwhile: retry
            if holder.state.running or holder.state.status == "created":
                raise AlreadyExistsError(f"Sandbox with name '{name}' already exists") from None
            try:
                await eng.containers.rename(holder.id, holder.labels.get(L.SANDBOX_ID) or holder.id[:12])
            except (NameConflict, NoSuchContainer):
                continue
    raise AlreadyExistsError(f"Sandbox with name '{name}' already exists")
