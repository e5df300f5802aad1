"""``Sandbox``: lifecycle, lookup, tags, and the entry points for exec, stdio and the filesystem.

State lives in the engine, not in this object: the container (labels hold the immutable facts: id, app, name,
deadline), its logs (the entrypoint's output), and records (``EngineAPI.records``: tags, why it ended). Any
process can therefore pick up any sandbox with ``from_id``/``from_name``/``list``.
"""

from __future__ import annotations

import asyncio
import builtins
import datetime
import functools
import os
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Mapping, Sequence
from typing import Any, Literal, overload

from . import _create, _lifecycle, _sidecar_policy, file_io
from ._agent import sessions as agent_sessions
from ._engine import get_engine
from ._engine import labels as L
from ._engine.errors import NoSuchContainer
from ._exec.select import exec_backend
from ._fs.ops import FileOps
from ._ids import SANDBOX_ID_RE
from ._link import SandboxLink
from ._logs_manager import SandboxLogsManager, logs_manager
from ._pool import records as pool_records
from ._sandbox_images import SandboxImages
from ._sandbox_network import SandboxNetworking
from ._stdio import EntrypointStdio
from ._tunnel import Tunnel
from ._validation import check_environment_name, check_tags, reject_client
from .app import App
from .client import Client
from .end_reason import EndReason
from .exception import (
    InvalidError,
    NotFoundError,
    SandboxTerminatedError,
    SandboxTimeoutError,
    deprecation_warning,
)
from .file_io import FileIO
from .filesystem import FileWatchEvent, FileWatchEventType, SandboxFilesystem, sandbox_filesystem
from .image import Image
from .limits import Limits
from .probe import Probe
from .process import ContainerProcess, start_exec
from .secret import Secret
from .sidecars import SidecarContainer, SidecarManager, sidecar_manager
from .streams import StreamReader, StreamType, StreamWriter
from .volume import Volume

__all__ = ["Probe", "Sandbox", "SidecarContainer", "SidecarManager"]


class Sandbox(SandboxNetworking, SandboxImages):
    """A sandbox: a hardened container running one entrypoint, with exec, stdio, tags and a filesystem API.

    Obtain one with ``Sandbox.create``, ``Sandbox.from_id``, ``Sandbox.from_name`` or ``Sandbox.list``; direct
    construction raises ``InvalidError``.
    """

    __slots__ = ("__weakref__", "_files", "_filesystem", "_link", "_stdio")

    _link: SandboxLink
    _stdio: EntrypointStdio
    _files: FileOps  # shared by ``filesystem`` and the deprecated file API
    _filesystem: SandboxFilesystem | None
    _tunnels: dict[int, Tunnel] | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise InvalidError(f"Class {type(self).__name__} has no constructor. Use class constructor methods instead.")

    @classmethod
    def _from_container(
        cls, container_id: str, lbl: Mapping[str, str], *, claim: pool_records.Claim | None = None
    ) -> Sandbox:
        """A handle on container ``container_id`` from its labels (and, for a claimed pool member, its claim)."""
        obj = object.__new__(cls)
        obj._link = SandboxLink.from_labels(
            container_id, lbl, idle_timeout=None if claim is None else claim.idle_timeout
        )
        obj._stdio = EntrypointStdio(obj._link)
        obj._files = FileOps(obj._link)
        obj._filesystem = None
        obj._tunnels = None
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
        volumes: dict[str | os.PathLike[str], Volume] = {},  # noqa: B006 - Modal's signature
        pty: bool = False,
        encrypted_ports: Sequence[int] = [],
        h2_ports: Sequence[int] = [],
        unencrypted_ports: Sequence[int] = [],
        custom_domain: str | None = None,
        proxy: Any = None,
        include_oidc_identity_token: bool = False,
        readiness_probe: Probe | None = None,
        verbose: bool = False,
        experimental_options: dict[str, Any] | None = None,
        _experimental_enable_snapshot: bool = False,
        client: Client | None = None,
        environment_name: str | None = None,
        pty_info: Any = None,
        cidr_allowlist: Sequence[str] | None = None,
        pids_limit: int | None = None,
        limits: Limits | None = None,
        runtime: str | None = None,
    ) -> Sandbox:
        """Create and start a sandbox running ``args`` (or the image's CMD; ``sleep 172800`` if it has none).

        Returns once the container runs. Checks arguments in Modal's order and raises ``InvalidError`` (bad or
        unsupported arguments, each naming the parameter), ``AlreadyExistsError`` (``name`` taken by a running
        sandbox of the app), ``NotFoundError`` (image neither local nor pullable). Hardened by default: no new
        privileges, NET_RAW/MKNOD/AUDIT_WRITE dropped, the engine's init as PID 1 (reaps zombies), and hard caps
        on memory, processes, disk, ``/tmp``, ``/dev/shm`` and open files (``limits``: a ``Limits``, each field
        defaulting process-wide; ``pids_limit`` is ``Limits.pids``); ``block_network=True`` gives no network at
        all. ``runtime="gvisor"`` runs the sandbox under gVisor (``runsc``: a user-space kernel between the
        sandbox and the host's), ``"runc"`` as an ordinary container; the default is ``SANDBOX_CORE_RUNTIME``,
        else runc; ``InvalidError`` when the engine does not offer the runtime. ``timeout``/``idle_timeout`` are
        enforced by a supervisor process even if this process dies; a running exec, writes to ``stdin`` and traffic
        through tunnels and connect tokens are activity for ``idle_timeout``.

        ``encrypted_ports``/``h2_ports``/``unencrypted_ports`` are published on the host's loopback and served by
        the supervisor (see ``tunnels``); ``readiness_probe`` runs there from the start (see ``wait_until_ready``).
        """
        req = _create.CreateRequest(
            args=args,
            app=app,
            name=name,
            tags=tags,
            image=image,
            env=env,
            secrets=secrets,
            network_file_systems=network_file_systems,
            timeout=timeout,
            idle_timeout=idle_timeout,
            workdir=workdir,
            gpu=gpu,
            cloud=cloud,
            region=region,
            cpu=cpu,
            memory=memory,
            block_network=block_network,
            outbound_cidr_allowlist=outbound_cidr_allowlist,
            outbound_domain_allowlist=outbound_domain_allowlist,
            inbound_cidr_allowlist=inbound_cidr_allowlist,
            volumes=volumes,
            pty=pty,
            encrypted_ports=encrypted_ports,
            h2_ports=h2_ports,
            unencrypted_ports=unencrypted_ports,
            custom_domain=custom_domain,
            proxy=proxy,
            include_oidc_identity_token=include_oidc_identity_token,
            readiness_probe=readiness_probe,
            verbose=verbose,
            experimental_options=experimental_options,
            experimental_enable_snapshot=_experimental_enable_snapshot,
            client=client,
            environment_name=environment_name,
            pty_info=pty_info,
            cidr_allowlist=cidr_allowlist,
            pids_limit=pids_limit,
            limits=limits,
            runtime=runtime,
        )
        _create.validate(req)
        sb = Sandbox._from_container(*await _create.launch(req))
        if req.pty:
            rows, cols = _create.window_size(req.pty_info)
            if rows and cols:
                await sb._stdio.resize(rows, cols)
        return sb

    # -------------------------------------------------------------------------------------------------- lookup

    @staticmethod
    async def from_id(sandbox_id: str, client: Client | None = None) -> Sandbox:
        """The sandbox ``sandbox_id``, running or finished (``returncode`` set if finished).

        Raises ``InvalidError`` for an id not shaped ``sb-…``, ``NotFoundError`` for an unknown (or already
        removed) sandbox.
        """
        if not isinstance(sandbox_id, str) or not sandbox_id.startswith("sb-"):
            raise InvalidError(f"Object {sandbox_id} does not start with sb")
        reject_client(client)
        eng = await get_engine()
        found = (
            await eng.containers.list({L.SANDBOX_ID: sandbox_id}, all=True) if SANDBOX_ID_RE.match(sandbox_id) else []
        )
        claim = None
        if found and L.POOL in found[0].labels:
            claim = await pool_records.claim_of(eng, sandbox_id)  # an unclaimed pool member is no sandbox yet
        if not found or (L.POOL in found[0].labels and claim is None):
            raise NotFoundError(f"Sandbox with id {sandbox_id} not found")
        sb = Sandbox._from_container(found[0].id, found[0].labels, claim=claim)
        await sb._link.refresh()
        return sb

    @staticmethod
    async def from_name(
        app_name: str, name: str, *, environment_name: str | None = None, client: Client | None = None
    ) -> Sandbox:
        """The **running** sandbox called ``name`` in deployed app ``app_name`` (``App.lookup``/``deploy``; as in
        Modal, sandboxes of ephemeral ``app.run()`` apps are not found by name). Raises ``NotFoundError`` if none
        runs. ``client``/``environment_name`` as in ``App.lookup``."""
        check_environment_name(environment_name)
        reject_client(client)
        eng = await get_engine()
        found, claims = await asyncio.gather(
            eng.containers.list({L.APP_NAME: app_name, L.NAME: name, L.KIND: L.KIND_SANDBOX}, all=False),
            pool_records.named(eng, app_name, name),  # pool members get their name when claimed
        )
        if found:
            return Sandbox._from_container(found[0].id, found[0].labels)
        for claim in claims:
            for item in await eng.containers.list({L.SANDBOX_ID: claim.sandbox_id}, all=False):
                return Sandbox._from_container(item.id, item.labels, claim=claim)
        raise NotFoundError(f"Sandbox with name '{name}' not found in App '{app_name}'")

    @staticmethod
    async def list(
        *, app_id: str | None = None, tags: dict[str, str] | None = None, client: Client | None = None
    ) -> AsyncGenerator[Sandbox, None]:
        """Yield the **running** sandboxes (of ``app_id`` if given) having at least the ``tags`` given, newest first."""
        reject_client(client)
        if tags is not None:
            check_tags(tags)
        eng = await get_engine()
        query: dict[str, str | None] = {L.KIND: L.KIND_SANDBOX}
        if app_id is not None:
            query[L.APP_ID] = app_id
        running = await eng.containers.list(query, all=False)
        overrides = await _lifecycle.latest_tag_records(eng) if tags else {}
        members = any(L.POOL in item.labels for item in running)
        claims = await pool_records.claims(eng) if members else {}
        for item in sorted(running, key=lambda c: c.created_at, reverse=True):
            claim = claims.get(item.labels.get(L.SANDBOX_ID, ""))
            if L.POOL in item.labels and claim is None:
                continue  # an unclaimed pool member is no sandbox yet
            if tags:
                current = overrides.get(item.labels[L.SANDBOX_ID])
                if current is None:
                    current = _lifecycle.tags_from_labels(item.labels)
                if any(current.get(k) != v for k, v in tags.items()):
                    continue
            yield Sandbox._from_container(item.id, item.labels, claim=claim)

    # ------------------------------------------------------------------------------------------ object model

    @property
    def object_id(self) -> str:
        """The sandbox id, ``sb-`` + 22 alphanumerics."""
        return self._link.sandbox_id

    @property
    def is_hydrated(self) -> bool:
        """Always True: every handle is bound to an existing sandbox."""
        return True

    async def hydrate(self, client: Client | None = None) -> Sandbox:
        """No-op for sandboxes (always hydrated); returns ``self``."""
        return self

    def _check_attached(self) -> None:
        self._link.check_attached()

    def __repr__(self) -> str:
        return f"Sandbox({self._link.sandbox_id})"

    # ------------------------------------------------------------------------------------------------ status

    @property
    def returncode(self) -> int | None:
        """The exit code once known (updated by ``wait``/``poll``/``from_id``): 137 after ``terminate`` (or when
        the cluster node that ran it was lost), 124 after the lifetime ``timeout``, otherwise the entrypoint's code;
        None while running. Works after detach."""
        return self._link.result

    @property
    def end_reason(self) -> EndReason | None:
        """Why the sandbox ended, once ``returncode`` is known (None before): e.g. ``EndReason.OOM`` for a
        137 that the memory limit caused, ``EndReason.DISK_LIMIT`` or ``EndReason.ENGINE_RESTART`` for a sandbox
        stopped from outside. Works after detach."""
        return None if self._link.status is None else EndReason(self._link.status)

    async def poll(self) -> int | None:
        """Return the returncode without blocking (None while running). Never raises for timeout/termination."""
        self._check_attached()
        return await self._link.refresh()

    async def wait(self, raise_on_termination: bool = True) -> None:
        """Block until the sandbox finishes. Works after detach.

        Raises ``SandboxTimeoutError`` if it passed its lifetime ``timeout`` (always), ``SandboxTerminatedError``
        if it was stopped from outside (``terminate()``, its disk cap, an engine restart: the message says which)
        and ``raise_on_termination``. A non-zero exit does not raise (``end_reason`` tells an OOM kill apart).
        """
        link = self._link
        while await link.refresh() is None:
            eng = await get_engine()
            try:
                await eng.containers.wait(link.container_id)
            except NoSuchContainer:
                pass  # removed meanwhile: refresh reports it
        outcome = link.outcome
        assert outcome is not None
        if outcome.reason == _lifecycle.TIMEOUT:
            raise SandboxTimeoutError()
        if outcome.reason == _lifecycle.NODE_LOST and raise_on_termination:
            raise SandboxTerminatedError(f"Sandbox {link.sandbox_id} ended: {outcome.detail or 'its node was lost'}")
        if outcome.reason in _lifecycle.TERMINATIONS and raise_on_termination:
            raise SandboxTerminatedError(_lifecycle.termination_message(outcome))

    @overload
    async def terminate(self, *, wait: Literal[True]) -> int: ...
    @overload
    async def terminate(self, *, wait: Literal[False] = False) -> None: ...
    async def terminate(self, *, wait: bool = False) -> int | None:
        """Stop the sandbox (SIGKILL; returncode 137). No-op when it already finished.

        With ``wait=True`` waits and returns the returncode (``SandboxTimeoutError`` if it had timed out).
        """
        link = self._link
        link.check_attached()
        ended_here = await link.refresh() is None
        if ended_here:
            eng = await get_engine()
            await _lifecycle.end_sandbox(eng, link.sandbox_id, link.ref, link.app_id, _lifecycle.TERMINATED)
            await _sidecar_policy.end_all(eng, sandbox_id=link.sandbox_id)
        await agent_sessions.end(link.container_id)
        if wait:
            try:
                await self.wait(raise_on_termination=False)
            except NotFoundError:
                if not ended_here:
                    raise
                # Removed before we looked (retention 0): its end is the one this call recorded.
                link.outcome = _lifecycle.Outcome(_lifecycle.TERMINATED, 137)
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
        await agent_sessions.release(self._link)

    # --------------------------------------------------------------------------------------------------- tags

    async def get_tags(self) -> dict[str, str]:
        """The sandbox's current tags (as last set by ``create`` or ``set_tags`` from any process)."""
        self._check_attached()
        eng = await get_engine()
        rec = await _lifecycle.latest_tag_records(eng, self._link.sandbox_id)
        if self._link.sandbox_id in rec:
            return rec[self._link.sandbox_id]
        info = await eng.containers.inspect(self._link.container_id)
        return _lifecycle.tags_from_labels(info.labels)

    async def set_tags(self, tags: dict[str, str], *, client: Client | None = None) -> None:
        """Replace the sandbox's tags (``{}`` clears them). Visible to every process at once.

        Raises ``InvalidError`` unless ``tags`` is a ``dict[str, str]``.
        """
        self._check_attached()
        if client is not None:
            deprecation_warning(
                datetime.date(2025, 9, 18),
                "The `client` parameter of `set_tags` is deprecated; set the client at creation instead.",
            )
            reject_client(client)
        check_tags(tags)
        eng = await get_engine()
        await _lifecycle.write_tags(eng, self._link.sandbox_id, self._link.app_id, tags)

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
        link = self._link
        return await start_exec(
            link.ref,  # ClientClosed first, on a detached handle
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
            backend=functools.partial(exec_backend, link),
            watch_container=link.userspace_kernel,
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

    # -------------------------------------------------------------------------------------------- volumes, logs

    async def reload_volumes(self, *, timeout: int = 55) -> None:
        """Make changes to the mounted volumes visible: nothing to do locally, every mount sees every write at once
        (see ``sandbox_core.volume``). Checks ``timeout`` as Modal does, and that the handle is attached."""
        self._check_attached()
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
            raise InvalidError("The `timeout` argument to `reload_volumes` must be positive.")

    @property
    def logs(self) -> SandboxLogsManager:
        """The entrypoint's output as timestamped entries (``fetch``, ``tail``); exec output is not included.
        Works after ``detach``, and after the sandbox ended for as long as it is kept."""
        return logs_manager(self._link.sandbox_id, self._link.container_id, self._link.pty)

    @property
    def _experimental_sidecars(self) -> SidecarManager:
        """Manage sidecar containers running in this Sandbox (Modal's experimental API; see ``sidecars``)."""
        self._check_attached()
        return sidecar_manager(self._link)

    # ----------------------------------------------------------------------------------------------- files

    @property
    def filesystem(self) -> SandboxFilesystem:
        """File operations on the sandbox (``read_bytes``, ``write_text``, ``list_files``, ``watch``, …)."""
        self._check_attached()
        if self._filesystem is None:
            self._filesystem = sandbox_filesystem(self._files)
        return self._filesystem

    async def open(self, path: str, mode: str = "r") -> FileIO[Any]:
        """Deprecated: open a file in the sandbox (use ``filesystem``)."""
        self._check_attached()
        return await file_io.open_file(self._files, path, mode)

    async def ls(self, path: str) -> builtins.list[str]:
        """Deprecated: names of the entries of directory ``path`` (use ``filesystem.list_files``)."""
        self._check_attached()
        return await file_io.legacy_ls(self._files, path)

    async def mkdir(self, path: str, parents: bool = False) -> None:
        """Deprecated: create directory ``path`` (use ``filesystem.make_directory``)."""
        self._check_attached()
        await file_io.legacy_mkdir(self._files, path, parents)

    async def rm(self, path: str, recursive: bool = False) -> None:
        """Deprecated: remove ``path`` (use ``filesystem.remove``)."""
        self._check_attached()
        await file_io.legacy_rm(self._files, path, recursive)

    async def watch(
        self,
        path: str,
        filter: builtins.list[FileWatchEventType] | None = None,
        recursive: bool | None = None,
        timeout: int | None = None,
    ) -> AsyncIterator[FileWatchEvent]:
        """Deprecated: watch ``path`` for changes (use ``filesystem.watch``)."""
        self._check_attached()
        async for event in file_io.legacy_watch(self._files, path, filter, recursive, timeout):
            yield event
