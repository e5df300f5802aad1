# GENERATED from `sandbox_core` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen
# Check:      python -m sandbox_core_sync._codegen --check
# Generator sha256: 7fbd7b6caeeba36f
"""Blocking facade of ``sandbox_core`` (generated; see ``sandbox_core_sync._codegen``).

Every async method ``m`` of the implementation is ``obj.m(...)`` (blocking) and ``await obj.m.aio(...)``.
"""

# Mutable defaults are copied verbatim from the implementation's signatures.
# ruff: noqa: B006

from __future__ import annotations

import builtins
import typing
from collections.abc import AsyncGenerator, AsyncIterator, Collection, Generator, Iterable, Iterator, Sequence
from os import PathLike
from types import TracebackType
from typing import Any, Literal

import sandbox_core._sweep as _i__sweep
import sandbox_core.app as _i_app
import sandbox_core.file_io as _i_file_io
import sandbox_core.filesystem as _i_filesystem
import sandbox_core.process as _i_process
import sandbox_core.sandbox as _i_sandbox
import sandbox_core.streams as _i_streams
import sandbox_core_sync._runtime as _rt
from sandbox_core._lifecycle import SweepResult
from sandbox_core.end_reason import EndReason
from sandbox_core.filesystem import FileWatchEvent, FileWatchEventType
from sandbox_core.image import Image
from sandbox_core.limits import Limits
from sandbox_core.secret import Secret
from sandbox_core.streams import StreamType, T
from sandbox_core.types import FileInfo

__all__ = ["App", "ContainerProcess", "FileIO", "Sandbox", "SandboxFilesystem", "StreamReader", "StreamWriter", "sweep"]

# Warnings name the user's line: frames of these packages are skipped when looking for it.
_rt.register_library_packages("sandbox_core", "sandbox_core_sync")


class _App_lookup(_rt.Function):
    """The app called ``name``; created when missing if ``create_if_missing``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self, name: str, *, create_if_missing: bool = False, environment_name: str | None = None, client: None = None
    ) -> App:
        """The app called ``name``; created when missing if ``create_if_missing``.

        Raises ``NotFoundError`` when it does not exist and may not be created, ``InvalidError`` for a bad name
        or for ``environment_name``/``client`` (Modal environments and clients do not exist locally).
        """
        _r = _rt.run_sync(
            _i_app.App.lookup(
                name, create_if_missing=create_if_missing, environment_name=environment_name, client=client
            )
        )
        return App._from_impl(_r)

    async def aio(
        self, name: str, *, create_if_missing: bool = False, environment_name: str | None = None, client: None = None
    ) -> App:
        _r = await _rt.run_async(
            _i_app.App.lookup(
                name, create_if_missing=create_if_missing, environment_name=environment_name, client=client
            )
        )
        return App._from_impl(_r)


class App(_rt.Wrapper):
    """A named app on the local engine; its id (``ap-…``) is the same in every process."""

    __slots__ = ()
    _impl: _i_app.App

    @classmethod
    def _from_impl(cls, impl: _i_app.App) -> App:
        return _rt.wrap_cached(cls, impl)

    lookup: typing.ClassVar[_App_lookup] = _App_lookup()

    @property
    def app_id(self) -> str:
        """The app's id, ``ap-`` + 22 alphanumerics."""
        return self._impl.app_id

    @property
    def name(self) -> str:
        """The app's name."""
        return self._impl.name


class _Sandbox_create(_rt.Function):
    """Create and start a sandbox running ``args`` (or the image's CMD; ``sleep 172800`` if it has none).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        *args: str,
        app: App | None = None,
        name: str | None = None,
        tags: dict[str, str] | None = None,
        image: Image | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        network_file_systems: dict[str | PathLike[str], Any] = {},
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
        volumes: dict[str | PathLike[str], Any] = {},
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
        enforced by a supervisor process even if this process dies; a running exec and writes to ``stdin`` are
        activity for ``idle_timeout``.
        """
        _r = _rt.run_sync(
            _i_sandbox.Sandbox.create(
                *args,
                app=_rt.unwrap(app),
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
                _experimental_enable_snapshot=_experimental_enable_snapshot,
                client=client,
                environment_name=environment_name,
                pty_info=pty_info,
                cidr_allowlist=cidr_allowlist,
                pids_limit=pids_limit,
                limits=limits,
                runtime=runtime,
            )
        )
        return Sandbox._from_impl(_r)

    async def aio(
        self,
        *args: str,
        app: App | None = None,
        name: str | None = None,
        tags: dict[str, str] | None = None,
        image: Image | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        network_file_systems: dict[str | PathLike[str], Any] = {},
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
        volumes: dict[str | PathLike[str], Any] = {},
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
        pids_limit: int | None = None,
        limits: Limits | None = None,
        runtime: str | None = None,
    ) -> Sandbox:
        _r = await _rt.run_async(
            _i_sandbox.Sandbox.create(
                *args,
                app=_rt.unwrap(app),
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
                _experimental_enable_snapshot=_experimental_enable_snapshot,
                client=client,
                environment_name=environment_name,
                pty_info=pty_info,
                cidr_allowlist=cidr_allowlist,
                pids_limit=pids_limit,
                limits=limits,
                runtime=runtime,
            )
        )
        return Sandbox._from_impl(_r)


class _Sandbox_from_id(_rt.Function):
    """The sandbox ``sandbox_id``, running or finished (``returncode`` set if finished).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, sandbox_id: str, client: None = None) -> Sandbox:
        """The sandbox ``sandbox_id``, running or finished (``returncode`` set if finished).

        Raises ``InvalidError`` for an id not shaped ``sb-…``, ``NotFoundError`` for an unknown (or already
        removed) sandbox.
        """
        _r = _rt.run_sync(_i_sandbox.Sandbox.from_id(sandbox_id, client))
        return Sandbox._from_impl(_r)

    async def aio(self, sandbox_id: str, client: None = None) -> Sandbox:
        _r = await _rt.run_async(_i_sandbox.Sandbox.from_id(sandbox_id, client))
        return Sandbox._from_impl(_r)


class _Sandbox_from_name(_rt.Function):
    """The **running** sandbox called ``name`` in app ``app_name``. Raises ``NotFoundError`` if none runs.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self, app_name: str, name: str, *, environment_name: str | None = None, client: None = None
    ) -> Sandbox:
        """The **running** sandbox called ``name`` in app ``app_name``. Raises ``NotFoundError`` if none runs."""
        _r = _rt.run_sync(
            _i_sandbox.Sandbox.from_name(app_name, name, environment_name=environment_name, client=client)
        )
        return Sandbox._from_impl(_r)

    async def aio(
        self, app_name: str, name: str, *, environment_name: str | None = None, client: None = None
    ) -> Sandbox:
        _r = await _rt.run_async(
            _i_sandbox.Sandbox.from_name(app_name, name, environment_name=environment_name, client=client)
        )
        return Sandbox._from_impl(_r)


class _Sandbox_list(_rt.Function):
    """Yield the **running** sandboxes (of ``app_id`` if given) having at least the ``tags`` given, newest first.

    Call it to block; ``.aio(...)`` is the async generator.
    """

    __slots__ = ()

    def __call__(
        self, *, app_id: str | None = None, tags: dict[str, str] | None = None, client: None = None
    ) -> Generator[Sandbox, None, None]:
        """Yield the **running** sandboxes (of ``app_id`` if given) having at least the ``tags`` given, newest first."""
        return _rt.iter_sync(
            lambda: _i_sandbox.Sandbox.list(app_id=app_id, tags=tags, client=client), Sandbox._from_impl, name="list"
        )

    def aio(
        self, *, app_id: str | None = None, tags: dict[str, str] | None = None, client: None = None
    ) -> AsyncGenerator[Sandbox, None]:
        return _rt.iter_async(
            lambda: _i_sandbox.Sandbox.list(app_id=app_id, tags=tags, client=client), Sandbox._from_impl
        )


class _Sandbox_hydrate(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """No-op for sandboxes (always hydrated); returns ``self``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, client: None = None) -> Sandbox:
        """No-op for sandboxes (always hydrated); returns ``self``."""
        _r = _rt.run_sync(self._impl.hydrate(client))
        return Sandbox._from_impl(_r)

    async def aio(self, client: None = None) -> Sandbox:
        _r = await _rt.run_async(self._impl.hydrate(client))
        return Sandbox._from_impl(_r)


class _Sandbox_poll(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Return the returncode without blocking (None while running). Never raises for timeout/termination.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> int | None:
        """Return the returncode without blocking (None while running). Never raises for timeout/termination."""
        return _rt.run_sync(self._impl.poll())

    async def aio(self) -> int | None:
        return await _rt.run_async(self._impl.poll())


class _Sandbox_wait(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Block until the sandbox finishes. Works after detach.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, raise_on_termination: bool = True) -> None:
        """Block until the sandbox finishes. Works after detach.

        Raises ``SandboxTimeoutError`` if it passed its lifetime ``timeout`` (always), ``SandboxTerminatedError``
        if it was stopped from outside (``terminate()``, its disk cap, an engine restart: the message says which)
        and ``raise_on_termination``. A non-zero exit does not raise (``end_reason`` tells an OOM kill apart).
        """
        _rt.run_sync(self._impl.wait(raise_on_termination))

    async def aio(self, raise_on_termination: bool = True) -> None:
        await _rt.run_async(self._impl.wait(raise_on_termination))


class _Sandbox_terminate(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Stop the sandbox (SIGKILL; returncode 137). No-op when it already finished.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    @typing.overload
    def __call__(self, *, wait: Literal[True]) -> int: ...

    @typing.overload
    def __call__(self, *, wait: Literal[False] = False) -> None: ...

    def __call__(self, *, wait: bool = False) -> int | None:
        """Stop the sandbox (SIGKILL; returncode 137). No-op when it already finished.

        With ``wait=True`` waits and returns the returncode (``SandboxTimeoutError`` if it had timed out).
        """
        _r: int | None = _rt.run_sync(typing.cast(typing.Any, self._impl).terminate(wait=wait))
        return _r

    @typing.overload
    async def aio(self, *, wait: Literal[True]) -> int: ...

    @typing.overload
    async def aio(self, *, wait: Literal[False] = False) -> None: ...

    async def aio(self, *, wait: bool = False) -> int | None:
        _r: int | None = await _rt.run_async(typing.cast(typing.Any, self._impl).terminate(wait=wait))
        return _r


class _Sandbox_detach(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Release this handle's connections; afterwards only ``wait``, ``returncode`` and ``detach`` work (others

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Release this handle's connections; afterwards only ``wait``, ``returncode`` and ``detach`` work (others
        raise ``ClientClosed``). Idempotent. The sandbox keeps running; ``from_id`` reconnects.
        """
        _rt.run_sync(self._impl.detach())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.detach())


class _Sandbox_get_tags(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """The sandbox's current tags (as last set by ``create`` or ``set_tags`` from any process).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> dict[str, str]:
        """The sandbox's current tags (as last set by ``create`` or ``set_tags`` from any process)."""
        return _rt.run_sync(self._impl.get_tags())

    async def aio(self) -> dict[str, str]:
        return await _rt.run_async(self._impl.get_tags())


class _Sandbox_set_tags(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Replace the sandbox's tags (``{}`` clears them). Visible to every process at once.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, tags: dict[str, str], *, client: None = None) -> None:
        """Replace the sandbox's tags (``{}`` clears them). Visible to every process at once.

        Raises ``InvalidError`` unless ``tags`` is a ``dict[str, str]``.
        """
        _rt.run_sync(self._impl.set_tags(tags, client=client))

    async def aio(self, tags: dict[str, str], *, client: None = None) -> None:
        await _rt.run_async(self._impl.set_tags(tags, client=client))


class _Sandbox_exec(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Run ``args`` in the sandbox; returns a ``ContainerProcess`` (``str`` streams if ``text`` else ``bytes``).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    @typing.overload
    def __call__(
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

    @typing.overload
    def __call__(
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

    def __call__(
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
        _r = _rt.run_sync(
            typing.cast(typing.Any, self._impl).exec(
                *args,
                stdout=stdout,
                stderr=stderr,
                timeout=timeout,
                workdir=workdir,
                env=env,
                secrets=secrets,
                text=text,
                bufsize=bufsize,
                pty=pty,
                _pty_info=_pty_info,
                pty_info=pty_info,
            )
        )
        return ContainerProcess._from_impl(_r)

    @typing.overload
    async def aio(
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

    @typing.overload
    async def aio(
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

    async def aio(
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
        _r = await _rt.run_async(
            typing.cast(typing.Any, self._impl).exec(
                *args,
                stdout=stdout,
                stderr=stderr,
                timeout=timeout,
                workdir=workdir,
                env=env,
                secrets=secrets,
                text=text,
                bufsize=bufsize,
                pty=pty,
                _pty_info=_pty_info,
                pty_info=pty_info,
            )
        )
        return ContainerProcess._from_impl(_r)


class _Sandbox_open(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Deprecated: open a file in the sandbox (use ``filesystem``).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, path: str, mode: str = "r") -> FileIO[Any]:
        """Deprecated: open a file in the sandbox (use ``filesystem``)."""
        _r = _rt.run_sync(self._impl.open(path, mode))
        return FileIO._from_impl(_r)

    async def aio(self, path: str, mode: str = "r") -> FileIO[Any]:
        _r = await _rt.run_async(self._impl.open(path, mode))
        return FileIO._from_impl(_r)


class _Sandbox_ls(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Deprecated: names of the entries of directory ``path`` (use ``filesystem.list_files``).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, path: str) -> builtins.list[str]:
        """Deprecated: names of the entries of directory ``path`` (use ``filesystem.list_files``)."""
        return _rt.run_sync(self._impl.ls(path))

    async def aio(self, path: str) -> builtins.list[str]:
        return await _rt.run_async(self._impl.ls(path))


class _Sandbox_mkdir(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Deprecated: create directory ``path`` (use ``filesystem.make_directory``).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, path: str, parents: bool = False) -> None:
        """Deprecated: create directory ``path`` (use ``filesystem.make_directory``)."""
        _rt.run_sync(self._impl.mkdir(path, parents))

    async def aio(self, path: str, parents: bool = False) -> None:
        await _rt.run_async(self._impl.mkdir(path, parents))


class _Sandbox_rm(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Deprecated: remove ``path`` (use ``filesystem.remove``).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, path: str, recursive: bool = False) -> None:
        """Deprecated: remove ``path`` (use ``filesystem.remove``)."""
        _rt.run_sync(self._impl.rm(path, recursive))

    async def aio(self, path: str, recursive: bool = False) -> None:
        await _rt.run_async(self._impl.rm(path, recursive))


class _Sandbox_watch(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Deprecated: watch ``path`` for changes (use ``filesystem.watch``).

    Call it to block; ``.aio(...)`` is the async generator.
    """

    __slots__ = ()

    def __call__(
        self,
        path: str,
        filter: builtins.list[FileWatchEventType] | None = None,
        recursive: bool | None = None,
        timeout: int | None = None,
    ) -> Generator[FileWatchEvent, None, None]:
        """Deprecated: watch ``path`` for changes (use ``filesystem.watch``)."""
        return _rt.iter_sync(lambda: self._impl.watch(path, filter, recursive, timeout), name="watch")

    def aio(
        self,
        path: str,
        filter: builtins.list[FileWatchEventType] | None = None,
        recursive: bool | None = None,
        timeout: int | None = None,
    ) -> AsyncGenerator[FileWatchEvent, None]:
        return _rt.iter_async(lambda: self._impl.watch(path, filter, recursive, timeout))


class Sandbox(_rt.Wrapper):
    """A sandbox: a hardened container running one entrypoint, with exec, stdio, tags and a filesystem API.

    Obtain one with ``Sandbox.create``, ``Sandbox.from_id``, ``Sandbox.from_name`` or ``Sandbox.list``; direct
    construction raises ``InvalidError``.
    """

    __slots__ = ()
    _impl: _i_sandbox.Sandbox

    @classmethod
    def _from_impl(cls, impl: _i_sandbox.Sandbox) -> Sandbox:
        return _rt.wrap_cached(cls, impl)

    create: typing.ClassVar[_Sandbox_create] = _Sandbox_create()
    from_id: typing.ClassVar[_Sandbox_from_id] = _Sandbox_from_id()
    from_name: typing.ClassVar[_Sandbox_from_name] = _Sandbox_from_name()
    list: typing.ClassVar[_Sandbox_list] = _Sandbox_list()

    @property
    def object_id(self) -> str:
        """The sandbox id, ``sb-`` + 22 alphanumerics."""
        return self._impl.object_id

    @property
    def is_hydrated(self) -> bool:
        """Always True: every handle is bound to an existing sandbox."""
        return self._impl.is_hydrated

    @property
    def hydrate(self) -> _Sandbox_hydrate:
        """No-op for sandboxes (always hydrated); returns ``self``."""
        return _Sandbox_hydrate(self)

    @property
    def returncode(self) -> int | None:
        """The exit code once known (updated by ``wait``/``poll``/``from_id``): 137 after ``terminate``, 124
        after the lifetime ``timeout``, otherwise the entrypoint's code; None while running. Works after detach.
        """
        return self._impl.returncode

    @property
    def end_reason(self) -> EndReason | None:
        """Why the sandbox ended, once ``returncode`` is known (None before): e.g. ``EndReason.OOM`` for a
        137 that the memory limit caused, ``EndReason.DISK_LIMIT`` or ``EndReason.ENGINE_RESTART`` for a sandbox
        stopped from outside. Works after detach.
        """
        return self._impl.end_reason

    @property
    def poll(self) -> _Sandbox_poll:
        """Return the returncode without blocking (None while running). Never raises for timeout/termination."""
        return _Sandbox_poll(self)

    @property
    def wait(self) -> _Sandbox_wait:
        """Block until the sandbox finishes. Works after detach.

        Raises ``SandboxTimeoutError`` if it passed its lifetime ``timeout`` (always), ``SandboxTerminatedError``
        if it was stopped from outside (``terminate()``, its disk cap, an engine restart: the message says which)
        and ``raise_on_termination``. A non-zero exit does not raise (``end_reason`` tells an OOM kill apart).
        """
        return _Sandbox_wait(self)

    @property
    def terminate(self) -> _Sandbox_terminate:
        """Stop the sandbox (SIGKILL; returncode 137). No-op when it already finished.

        With ``wait=True`` waits and returns the returncode (``SandboxTimeoutError`` if it had timed out).
        """
        return _Sandbox_terminate(self)

    @property
    def detach(self) -> _Sandbox_detach:
        """Release this handle's connections; afterwards only ``wait``, ``returncode`` and ``detach`` work (others
        raise ``ClientClosed``). Idempotent. The sandbox keeps running; ``from_id`` reconnects.
        """
        return _Sandbox_detach(self)

    @property
    def get_tags(self) -> _Sandbox_get_tags:
        """The sandbox's current tags (as last set by ``create`` or ``set_tags`` from any process)."""
        return _Sandbox_get_tags(self)

    @property
    def set_tags(self) -> _Sandbox_set_tags:
        """Replace the sandbox's tags (``{}`` clears them). Visible to every process at once.

        Raises ``InvalidError`` unless ``tags`` is a ``dict[str, str]``.
        """
        return _Sandbox_set_tags(self)

    @property
    def exec(self) -> _Sandbox_exec:
        """Run ``args`` in the sandbox; returns a ``ContainerProcess`` (``str`` streams if ``text`` else ``bytes``).

        See ``process.start_exec`` for the checks (Modal's order) and the exec ``timeout`` contract.
        """
        return _Sandbox_exec(self)

    @property
    def stdout(self) -> StreamReader[str]:
        """The entrypoint's stdout as text lines, replayed from the beginning for every new handle."""
        self._check()
        _r = _rt.call_sync(lambda: self._impl.stdout)
        return StreamReader._from_impl(_r)

    @property
    def stderr(self) -> StreamReader[str]:
        """The entrypoint's stderr as text lines (empty with ``pty=True``)."""
        self._check()
        _r = _rt.call_sync(lambda: self._impl.stderr)
        return StreamReader._from_impl(_r)

    @property
    def stdin(self) -> StreamWriter:
        """The entrypoint's stdin."""
        self._check()
        _r = _rt.call_sync(lambda: self._impl.stdin)
        return StreamWriter._from_impl(_r)

    @property
    def filesystem(self) -> SandboxFilesystem:
        """File operations on the sandbox (``read_bytes``, ``write_text``, ``list_files``, ``watch``, …)."""
        self._check()
        _r = _rt.call_sync(lambda: self._impl.filesystem)
        return SandboxFilesystem._from_impl(_r)

    @property
    def open(self) -> _Sandbox_open:
        """Deprecated: open a file in the sandbox (use ``filesystem``)."""
        return _Sandbox_open(self)

    @property
    def ls(self) -> _Sandbox_ls:
        """Deprecated: names of the entries of directory ``path`` (use ``filesystem.list_files``)."""
        return _Sandbox_ls(self)

    @property
    def mkdir(self) -> _Sandbox_mkdir:
        """Deprecated: create directory ``path`` (use ``filesystem.make_directory``)."""
        return _Sandbox_mkdir(self)

    @property
    def rm(self) -> _Sandbox_rm:
        """Deprecated: remove ``path`` (use ``filesystem.remove``)."""
        return _Sandbox_rm(self)

    @property
    def watch(self) -> _Sandbox_watch:
        """Deprecated: watch ``path`` for changes (use ``filesystem.watch``)."""
        return _Sandbox_watch(self)


class _ContainerProcess_poll(_rt.BoundMethod[_i_process.ContainerProcess[T]]):
    """The return code if the process has ended (cached), else None. ``-1`` once past the exec ``timeout``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> int | None:
        """The return code if the process has ended (cached), else None. ``-1`` once past the exec ``timeout``."""
        return _rt.run_sync(self._impl.poll())

    async def aio(self) -> int | None:
        return await _rt.run_async(self._impl.poll())


class _ContainerProcess_wait(_rt.BoundMethod[_i_process.ContainerProcess[T]]):
    """Wait for the process to end; returns its return code (``-1`` past the exec ``timeout``; never raises

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> int:
        """Wait for the process to end; returns its return code (``-1`` past the exec ``timeout``; never raises
        ``ExecTimeoutError``). Output nobody has read is kept meanwhile. Raises ``InvalidError("Unexpected exit
        status")`` when the engine reports none. Cancelling the caller does not affect the process.
        """
        return _rt.run_sync(self._impl.wait())

    async def aio(self) -> int:
        return await _rt.run_async(self._impl.wait())


class _ContainerProcess_resize(_rt.BoundMethod[_i_process.ContainerProcess[T]]):
    """Set the window size of a ``pty=True`` process. Raises ``InvalidError`` without a PTY.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, rows: int, cols: int) -> None:
        """Set the window size of a ``pty=True`` process. Raises ``InvalidError`` without a PTY."""
        _rt.run_sync(self._impl.resize(rows, cols))

    async def aio(self, rows: int, cols: int) -> None:
        await _rt.run_async(self._impl.resize(rows, cols))


class _ContainerProcess_attach(_rt.BoundMethod[_i_process.ContainerProcess[T]]):
    """Interactive terminal bridge (``modal shell``): not supported by the local backend.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Interactive terminal bridge (``modal shell``): not supported by the local backend."""
        _rt.run_sync(self._impl.attach())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.attach())


class ContainerProcess(_rt.Wrapper, typing.Generic[T]):
    """A command running in a sandbox: its streams, and its exit status once known.

    Return codes: the exit code as is; ``128 + n`` when killed by signal ``n``; ``-1`` once the exec ``timeout``
    passed. ``end_reason`` tells a 137 of the kernel's OOM killer apart.
    """

    __slots__ = ()
    _impl: _i_process.ContainerProcess[T]

    @classmethod
    def _from_impl(cls, impl: _i_process.ContainerProcess[T]) -> ContainerProcess[T]:
        return _rt.wrap_cached(cls, impl)

    @property
    def stdout(self) -> StreamReader[T]:
        """The command's stdout (with ``pty=True``, stdout and stderr together)."""
        self._check()
        _r = self._impl.stdout
        return StreamReader._from_impl(_r)

    @property
    def stderr(self) -> StreamReader[T]:
        """The command's stderr (empty with ``pty=True``)."""
        self._check()
        _r = self._impl.stderr
        return StreamReader._from_impl(_r)

    @property
    def stdin(self) -> StreamWriter:
        """The command's stdin. ``write_eof`` + ``drain`` deliver EOF while its output is still being read."""
        self._check()
        _r = self._impl.stdin
        return StreamWriter._from_impl(_r)

    @property
    def end_reason(self) -> EndReason | None:
        """Why the process ended, once its return code is known (None before): ``EndReason.TIMEOUT`` past the exec
        ``timeout`` (-1), ``EndReason.OOM`` when the kernel killed it for the sandbox's memory limit (137; an
        OOM kill of another process of the sandbox during this one's run counts too), else ``EndReason.EXITED``.
        """
        return self._impl.end_reason

    @property
    def returncode(self) -> int:
        """The return code. Raises ``InvalidError`` until ``wait()`` returned or ``poll()`` saw the process end."""
        return self._impl.returncode

    @property
    def poll(self) -> _ContainerProcess_poll[T]:
        """The return code if the process has ended (cached), else None. ``-1`` once past the exec ``timeout``."""
        return _ContainerProcess_poll(self)

    @property
    def wait(self) -> _ContainerProcess_wait[T]:
        """Wait for the process to end; returns its return code (``-1`` past the exec ``timeout``; never raises
        ``ExecTimeoutError``). Output nobody has read is kept meanwhile. Raises ``InvalidError("Unexpected exit
        status")`` when the engine reports none. Cancelling the caller does not affect the process.
        """
        return _ContainerProcess_wait(self)

    @property
    def resize(self) -> _ContainerProcess_resize[T]:
        """Set the window size of a ``pty=True`` process. Raises ``InvalidError`` without a PTY."""
        return _ContainerProcess_resize(self)

    @property
    def attach(self) -> _ContainerProcess_attach[T]:
        """Interactive terminal bridge (``modal shell``): not supported by the local backend."""
        return _ContainerProcess_attach(self)


class _StreamReader_read(_rt.BoundMethod[_i_streams.StreamReader[T]]):
    """Read until EOF (``n`` < 0, the default), or at most ``n`` bytes (characters for text) once some arrived.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, n: int = -1) -> T:
        """Read until EOF (``n`` < 0, the default), or at most ``n`` bytes (characters for text) once some arrived.

        Returns an empty value at EOF, so a second ``read()`` returns ``""``/``b""``. Raises ``ValueError``
        (DEVNULL), ``InvalidError`` (STDOUT), ``UnicodeDecodeError`` (text that is not UTF-8).
        """
        return _rt.run_sync(self._impl.read(n))

    async def aio(self, n: int = -1) -> T:
        return await _rt.run_async(self._impl.read(n))


class _StreamReader_readline(_rt.BoundMethod[_i_streams.StreamReader[T]]):
    """Read one line, through ``"\\n"`` (split on bytes, then decoded); the unterminated rest at EOF; empty

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> T:
        """Read one line, through ``"\\n"`` (split on bytes, then decoded); the unterminated rest at EOF; empty
        at EOF.
        """
        return _rt.run_sync(self._impl.readline())

    async def aio(self) -> T:
        return await _rt.run_async(self._impl.readline())


class _StreamReader_readexactly(_rt.BoundMethod[_i_streams.StreamReader[T]]):
    """Read exactly ``n`` bytes (characters for text).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, n: int) -> T:
        """Read exactly ``n`` bytes (characters for text).

        Raises ``asyncio.IncompleteReadError`` (``.partial`` holds what was read) if EOF comes first.
        """
        return _rt.run_sync(self._impl.readexactly(n))

    async def aio(self, n: int) -> T:
        return await _rt.run_async(self._impl.readexactly(n))


class _StreamReader_aclose(_rt.BoundMethod[_i_streams.StreamReader[T]]):
    """Stop reading: drop buffered and future output (the process is no longer held back by this reader).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Stop reading: drop buffered and future output (the process is no longer held back by this reader)."""
        _rt.run_sync(self._impl.aclose())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.aclose())


class StreamReader(_rt.Wrapper, typing.Generic[T]):
    """The output of a process (exec or the sandbox's entrypoint): ``str`` when text, else ``bytes``.

    Not constructed by users: obtain it from ``ContainerProcess.stdout``/``stderr`` or ``Sandbox.stdout``/``stderr``.
    Output is consumed once: what one call returned is not returned again. Text is decoded as strict UTF-8,
    incrementally (a character split across chunks is reassembled; invalid UTF-8 raises ``UnicodeDecodeError``).
    A ``StreamType.DEVNULL`` reader raises ``ValueError`` on every read; a ``StreamType.STDOUT`` reader prints as
    output arrives and raises ``InvalidError`` on every read.
    """

    __slots__ = ()
    _impl: _i_streams.StreamReader[T]

    @classmethod
    def _from_impl(cls, impl: _i_streams.StreamReader[T]) -> StreamReader[T]:
        return _rt.wrap_cached(cls, impl)

    @property
    def file_descriptor(self) -> int:
        """1 for stdout, 2 for stderr."""
        return self._impl.file_descriptor

    @property
    def read(self) -> _StreamReader_read[T]:
        """Read until EOF (``n`` < 0, the default), or at most ``n`` bytes (characters for text) once some arrived.

        Returns an empty value at EOF, so a second ``read()`` returns ``""``/``b""``. Raises ``ValueError``
        (DEVNULL), ``InvalidError`` (STDOUT), ``UnicodeDecodeError`` (text that is not UTF-8).
        """
        return _StreamReader_read(self)

    @property
    def readline(self) -> _StreamReader_readline[T]:
        """Read one line, through ``"\\n"`` (split on bytes, then decoded); the unterminated rest at EOF; empty
        at EOF.
        """
        return _StreamReader_readline(self)

    @property
    def readexactly(self) -> _StreamReader_readexactly[T]:
        """Read exactly ``n`` bytes (characters for text).

        Raises ``asyncio.IncompleteReadError`` (``.partial`` holds what was read) if EOF comes first.
        """
        return _StreamReader_readexactly(self)

    def at_eof(self) -> bool:
        """True when EOF was fed and everything buffered was read."""
        self._check()
        _r: bool = _rt.call_sync(self._impl.at_eof)
        return _r

    def __iter__(self) -> Iterator[T]:
        self._check()
        return _rt.iter_sync(self._impl.__aiter__)

    def __aiter__(self) -> AsyncIterator[T]:
        self._check()
        return _rt.iter_async(self._impl.__aiter__)

    def __next__(self) -> T:
        self._check()
        return _rt.next_sync(self._impl)

    async def __anext__(self) -> T:
        self._check()
        return await _rt.next_async(self._impl)

    @property
    def aclose(self) -> _StreamReader_aclose[T]:
        """Stop reading: drop buffered and future output (the process is no longer held back by this reader)."""
        return _StreamReader_aclose(self)


class _StreamWriter_drain(_rt.BoundMethod[_i_streams.StreamWriter]):
    """Send the buffer, then the EOF if ``write_eof`` was called. Waits while the process does not read.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Send the buffer, then the EOF if ``write_eof`` was called. Waits while the process does not read."""
        _rt.run_sync(self._impl.drain())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.drain())


class StreamWriter(_rt.Wrapper):
    """The stdin of a process (exec or the sandbox's entrypoint).

    ``write`` only buffers; ``drain`` sends the buffer (and the EOF requested by ``write_eof``). The buffer is
    cleared only once sent, so a failed ``drain`` can be retried.
    """

    __slots__ = ()
    _impl: _i_streams.StreamWriter

    @classmethod
    def _from_impl(cls, impl: _i_streams.StreamWriter) -> StreamWriter:
        return _rt.wrap_cached(cls, impl)

    def write(self, data: bytes | bytearray | memoryview | str) -> None:
        """Buffer ``data`` (a ``str`` is UTF-8 encoded) until the next ``drain``.

        Raises ``TypeError`` for other types, ``ValueError`` after ``write_eof``, ``BufferError`` when the buffer
        would exceed its limit (drain first).
        """
        self._check()
        self._impl.write(data)

    def writelines(self, data: Iterable[bytes | bytearray | memoryview | str]) -> None:
        """``write`` each item in turn (same errors)."""
        self._check()
        self._impl.writelines(data)

    def write_eof(self) -> None:
        """Close stdin after what is buffered: the process sees EOF once the next ``drain`` sent it."""
        self._check()
        self._impl.write_eof()

    def can_write_eof(self) -> bool:
        """Always True (asyncio.StreamWriter compatibility)."""
        self._check()
        _r: bool = self._impl.can_write_eof()
        return _r

    def is_closing(self) -> bool:
        """True once ``write_eof`` was called."""
        self._check()
        _r: bool = self._impl.is_closing()
        return _r

    @property
    def drain(self) -> _StreamWriter_drain:
        """Send the buffer, then the EOF if ``write_eof`` was called. Waits while the process does not read."""
        return _StreamWriter_drain(self)


class _SandboxFilesystem_read_bytes(_rt.BoundMethod[_i_filesystem.SandboxFilesystem]):
    """The whole content of the file ``remote_path`` (links followed).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, remote_path: str) -> bytes:
        """The whole content of the file ``remote_path`` (links followed).

        Raises ``SandboxFilesystemNotFoundError`` (missing), ``…IsADirectoryError``, ``…PermissionError`` (the
        sandbox's user may not read it), ``SandboxFilesystemError`` otherwise.
        """
        return _rt.run_sync(self._impl.read_bytes(remote_path))

    async def aio(self, remote_path: str) -> bytes:
        return await _rt.run_async(self._impl.read_bytes(remote_path))


class _SandboxFilesystem_read_text(_rt.BoundMethod[_i_filesystem.SandboxFilesystem]):
    """The file decoded as strict UTF-8 (``UnicodeDecodeError`` if it is not). Errors as ``read_bytes``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, remote_path: str) -> str:
        """The file decoded as strict UTF-8 (``UnicodeDecodeError`` if it is not). Errors as ``read_bytes``."""
        return _rt.run_sync(self._impl.read_text(remote_path))

    async def aio(self, remote_path: str) -> str:
        return await _rt.run_async(self._impl.read_text(remote_path))


class _SandboxFilesystem_copy_to_local(_rt.BoundMethod[_i_filesystem.SandboxFilesystem]):
    """Download ``remote_path`` to ``local_path`` atomically: the data streams into a temporary file next to

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, remote_path: str, local_path: str | PathLike[str]) -> None:
        """Download ``remote_path`` to ``local_path`` atomically: the data streams into a temporary file next to
        it (``.modal-sandbox-fs-tmp-XXXXXX``), renamed over ``local_path`` only when complete. On any failure the
        temporary file is removed and an existing ``local_path`` is untouched.

        Creates local parent directories. ``IsADirectoryError`` if ``local_path`` is a directory; remote errors as
        ``read_bytes``.
        """
        _rt.run_sync(self._impl.copy_to_local(remote_path, local_path))

    async def aio(self, remote_path: str, local_path: str | PathLike[str]) -> None:
        await _rt.run_async(self._impl.copy_to_local(remote_path, local_path))


class _SandboxFilesystem_write_bytes(_rt.BoundMethod[_i_filesystem.SandboxFilesystem]):
    """Write ``data`` to ``remote_path``, creating parent directories and replacing an existing file.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, data: bytes | bytearray | memoryview, remote_path: str) -> None:
        """Write ``data`` to ``remote_path``, creating parent directories and replacing an existing file.

        Raises ``TypeError("data must be bytes-like")``; ``SandboxFilesystemNotADirectoryError`` (an ancestor is a
        file), ``…IsADirectoryError`` (the target is a directory), ``…PermissionError``, ``SandboxFilesystemError``
        (an ancestor is a symlink: writes never follow links).
        """
        _rt.run_sync(self._impl.write_bytes(data, remote_path))

    async def aio(self, data: bytes | bytearray | memoryview, remote_path: str) -> None:
        await _rt.run_async(self._impl.write_bytes(data, remote_path))


class _SandboxFilesystem_write_text(_rt.BoundMethod[_i_filesystem.SandboxFilesystem]):
    """Write ``data`` encoded as UTF-8 (``TypeError("data must be str")`` otherwise). As ``write_bytes``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, data: str, remote_path: str) -> None:
        """Write ``data`` encoded as UTF-8 (``TypeError("data must be str")`` otherwise). As ``write_bytes``."""
        _rt.run_sync(self._impl.write_text(data, remote_path))

    async def aio(self, data: str, remote_path: str) -> None:
        await _rt.run_async(self._impl.write_text(data, remote_path))


class _SandboxFilesystem_copy_from_local(_rt.BoundMethod[_i_filesystem.SandboxFilesystem]):
    """Upload the local file ``local_path`` to ``remote_path``, streamed. The local file is opened first, so

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, local_path: str | PathLike[str], remote_path: str) -> None:
        """Upload the local file ``local_path`` to ``remote_path``, streamed. The local file is opened first, so
        ``FileNotFoundError``/``IsADirectoryError``/``PermissionError`` come from it natively; remote errors as
        ``write_bytes``.
        """
        _rt.run_sync(self._impl.copy_from_local(local_path, remote_path))

    async def aio(self, local_path: str | PathLike[str], remote_path: str) -> None:
        await _rt.run_async(self._impl.copy_from_local(local_path, remote_path))


class _SandboxFilesystem_make_directory(_rt.BoundMethod[_i_filesystem.SandboxFilesystem]):
    """Create the directory ``remote_path``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, remote_path: str, *, create_parents: bool = True) -> None:
        """Create the directory ``remote_path``.

        ``create_parents=True`` behaves as ``mkdir -p`` (no error if it already is a directory). Raises
        ``SandboxFilesystemPathAlreadyExistsError`` (the path exists as a file, or as a directory without
        ``create_parents``), ``…NotFoundError`` (missing parent without ``create_parents``),
        ``…NotADirectoryError`` (an ancestor is a file), ``…PermissionError``; ``SandboxFilesystemError`` when an
        ancestor is a symlink.
        """
        _rt.run_sync(self._impl.make_directory(remote_path, create_parents=create_parents))

    async def aio(self, remote_path: str, *, create_parents: bool = True) -> None:
        await _rt.run_async(self._impl.make_directory(remote_path, create_parents=create_parents))


class _SandboxFilesystem_stat(_rt.BoundMethod[_i_filesystem.SandboxFilesystem]):
    """Metadata of ``remote_path`` itself (``lstat``: a symlink describes itself, even dangling).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, remote_path: str) -> FileInfo:
        """Metadata of ``remote_path`` itself (``lstat``: a symlink describes itself, even dangling).

        ``name`` is the last component, ``path`` the given string. Raises ``SandboxFilesystemNotFoundError``,
        ``…NotADirectoryError`` (an ancestor is a file), ``…PermissionError``.
        """
        return _rt.run_sync(self._impl.stat(remote_path))

    async def aio(self, remote_path: str) -> FileInfo:
        return await _rt.run_async(self._impl.stat(remote_path))


class _SandboxFilesystem_list_files(_rt.BoundMethod[_i_filesystem.SandboxFilesystem]):
    """The entries of directory ``remote_path`` (not recursive), sorted by name, each described by ``lstat``;

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, remote_path: str) -> builtins.list[FileInfo]:
        """The entries of directory ``remote_path`` (not recursive), sorted by name, each described by ``lstat``;
        ``entry.path`` is ``remote_path`` joined with the name. A symlink to a directory is followed.

        Raises ``SandboxFilesystemNotFoundError``, ``…NotADirectoryError`` (a file, or an ancestor is one),
        ``…PermissionError``. Needs ``/bin/sh`` in the image.
        """
        return _rt.run_sync(self._impl.list_files(remote_path))

    async def aio(self, remote_path: str) -> builtins.list[FileInfo]:
        return await _rt.run_async(self._impl.list_files(remote_path))


class _SandboxFilesystem_remove(_rt.BoundMethod[_i_filesystem.SandboxFilesystem]):
    """Remove a file, symlink (never followed) or empty directory; a non-empty directory only with

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, remote_path: str, *, recursive: bool = False) -> None:
        """Remove a file, symlink (never followed) or empty directory; a non-empty directory only with
        ``recursive=True``.

        Raises ``SandboxFilesystemNotFoundError``, ``…DirectoryNotEmptyError``, ``…PermissionError``. Needs
        ``/bin/sh`` in the image.
        """
        _rt.run_sync(self._impl.remove(remote_path, recursive=recursive))

    async def aio(self, remote_path: str, *, recursive: bool = False) -> None:
        await _rt.run_async(self._impl.remove(remote_path, recursive=recursive))


class _SandboxFilesystem_watch(_rt.BoundMethod[_i_filesystem.SandboxFilesystem]):
    """Yield changes under ``remote_path`` (a file, or a directory's entries; all descendants with

    Call it to block; ``.aio(...)`` is the async generator.
    """

    __slots__ = ()

    def __call__(
        self,
        remote_path: str,
        *,
        filter: builtins.list[FileWatchEventType] | None = None,
        recursive: bool = False,
        timeout: int | None = None,
    ) -> Generator[FileWatchEvent, None, None]:
        """Yield changes under ``remote_path`` (a file, or a directory's entries; all descendants with
        ``recursive=True``) until ``timeout`` seconds pass (then it ends without raising), the iterator is
        closed (``break``), or the sandbox ends.

        ``filter=None`` passes everything, ``filter=[]`` nothing. Renames are ``Modify`` events with
        ``[src, dst]``. Raises ``SandboxFilesystemNotFoundError``/``…PermissionError`` at the start. Needs
        ``/bin/sh`` in the image; see the module docstring for the polling approximation.
        """
        return _rt.iter_sync(
            lambda: self._impl.watch(remote_path, filter=filter, recursive=recursive, timeout=timeout), name="watch"
        )

    def aio(
        self,
        remote_path: str,
        *,
        filter: builtins.list[FileWatchEventType] | None = None,
        recursive: bool = False,
        timeout: int | None = None,
    ) -> AsyncGenerator[FileWatchEvent, None]:
        return _rt.iter_async(
            lambda: self._impl.watch(remote_path, filter=filter, recursive=recursive, timeout=timeout)
        )


class SandboxFilesystem(_rt.Wrapper):
    """File operations on one sandbox (``sb.filesystem``). Every method takes an absolute ``remote_path``.

    See the module docstring for how operations reach the sandbox, and the guarantees on links and names.
    """

    __slots__ = ()
    _impl: _i_filesystem.SandboxFilesystem

    @classmethod
    def _from_impl(cls, impl: _i_filesystem.SandboxFilesystem) -> SandboxFilesystem:
        return _rt.wrap_cached(cls, impl)

    @property
    def read_bytes(self) -> _SandboxFilesystem_read_bytes:
        """The whole content of the file ``remote_path`` (links followed).

        Raises ``SandboxFilesystemNotFoundError`` (missing), ``…IsADirectoryError``, ``…PermissionError`` (the
        sandbox's user may not read it), ``SandboxFilesystemError`` otherwise.
        """
        return _SandboxFilesystem_read_bytes(self)

    @property
    def read_text(self) -> _SandboxFilesystem_read_text:
        """The file decoded as strict UTF-8 (``UnicodeDecodeError`` if it is not). Errors as ``read_bytes``."""
        return _SandboxFilesystem_read_text(self)

    @property
    def copy_to_local(self) -> _SandboxFilesystem_copy_to_local:
        """Download ``remote_path`` to ``local_path`` atomically: the data streams into a temporary file next to
        it (``.modal-sandbox-fs-tmp-XXXXXX``), renamed over ``local_path`` only when complete. On any failure the
        temporary file is removed and an existing ``local_path`` is untouched.

        Creates local parent directories. ``IsADirectoryError`` if ``local_path`` is a directory; remote errors as
        ``read_bytes``.
        """
        return _SandboxFilesystem_copy_to_local(self)

    @property
    def write_bytes(self) -> _SandboxFilesystem_write_bytes:
        """Write ``data`` to ``remote_path``, creating parent directories and replacing an existing file.

        Raises ``TypeError("data must be bytes-like")``; ``SandboxFilesystemNotADirectoryError`` (an ancestor is a
        file), ``…IsADirectoryError`` (the target is a directory), ``…PermissionError``, ``SandboxFilesystemError``
        (an ancestor is a symlink: writes never follow links).
        """
        return _SandboxFilesystem_write_bytes(self)

    @property
    def write_text(self) -> _SandboxFilesystem_write_text:
        """Write ``data`` encoded as UTF-8 (``TypeError("data must be str")`` otherwise). As ``write_bytes``."""
        return _SandboxFilesystem_write_text(self)

    @property
    def copy_from_local(self) -> _SandboxFilesystem_copy_from_local:
        """Upload the local file ``local_path`` to ``remote_path``, streamed. The local file is opened first, so
        ``FileNotFoundError``/``IsADirectoryError``/``PermissionError`` come from it natively; remote errors as
        ``write_bytes``.
        """
        return _SandboxFilesystem_copy_from_local(self)

    @property
    def make_directory(self) -> _SandboxFilesystem_make_directory:
        """Create the directory ``remote_path``.

        ``create_parents=True`` behaves as ``mkdir -p`` (no error if it already is a directory). Raises
        ``SandboxFilesystemPathAlreadyExistsError`` (the path exists as a file, or as a directory without
        ``create_parents``), ``…NotFoundError`` (missing parent without ``create_parents``),
        ``…NotADirectoryError`` (an ancestor is a file), ``…PermissionError``; ``SandboxFilesystemError`` when an
        ancestor is a symlink.
        """
        return _SandboxFilesystem_make_directory(self)

    @property
    def stat(self) -> _SandboxFilesystem_stat:
        """Metadata of ``remote_path`` itself (``lstat``: a symlink describes itself, even dangling).

        ``name`` is the last component, ``path`` the given string. Raises ``SandboxFilesystemNotFoundError``,
        ``…NotADirectoryError`` (an ancestor is a file), ``…PermissionError``.
        """
        return _SandboxFilesystem_stat(self)

    @property
    def list_files(self) -> _SandboxFilesystem_list_files:
        """The entries of directory ``remote_path`` (not recursive), sorted by name, each described by ``lstat``;
        ``entry.path`` is ``remote_path`` joined with the name. A symlink to a directory is followed.

        Raises ``SandboxFilesystemNotFoundError``, ``…NotADirectoryError`` (a file, or an ancestor is one),
        ``…PermissionError``. Needs ``/bin/sh`` in the image.
        """
        return _SandboxFilesystem_list_files(self)

    @property
    def remove(self) -> _SandboxFilesystem_remove:
        """Remove a file, symlink (never followed) or empty directory; a non-empty directory only with
        ``recursive=True``.

        Raises ``SandboxFilesystemNotFoundError``, ``…DirectoryNotEmptyError``, ``…PermissionError``. Needs
        ``/bin/sh`` in the image.
        """
        return _SandboxFilesystem_remove(self)

    @property
    def watch(self) -> _SandboxFilesystem_watch:
        """Yield changes under ``remote_path`` (a file, or a directory's entries; all descendants with
        ``recursive=True``) until ``timeout`` seconds pass (then it ends without raising), the iterator is
        closed (``break``), or the sandbox ends.

        ``filter=None`` passes everything, ``filter=[]`` nothing. Renames are ``Modify`` events with
        ``[src, dst]``. Raises ``SandboxFilesystemNotFoundError``/``…PermissionError`` at the start. Needs
        ``/bin/sh`` in the image; see the module docstring for the polling approximation.
        """
        return _SandboxFilesystem_watch(self)


class _FileIO_read(_rt.BoundMethod[_i_file_io.FileIO[T]]):
    """Up to ``n`` bytes/characters' worth of data (the rest with ``None``); empty at end of file.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, n: int | None = None) -> T:
        """Up to ``n`` bytes/characters' worth of data (the rest with ``None``); empty at end of file.

        ``ValueError`` for ``n`` above 100 MiB or a closed file; ``io.UnsupportedOperation`` if not readable.
        """
        return _rt.run_sync(self._impl.read(n))

    async def aio(self, n: int | None = None) -> T:
        return await _rt.run_async(self._impl.read(n))


class _FileIO_readline(_rt.BoundMethod[_i_file_io.FileIO[T]]):
    """One line including its ``"\\n"`` (the last line may lack one); empty at end of file.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> T:
        """One line including its ``"\\n"`` (the last line may lack one); empty at end of file."""
        return _rt.run_sync(self._impl.readline())

    async def aio(self) -> T:
        return await _rt.run_async(self._impl.readline())


class _FileIO_readlines(_rt.BoundMethod[_i_file_io.FileIO[T]]):
    """The remaining lines, each with its ``"\\n"`` (the last may lack one).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> Sequence[T]:
        """The remaining lines, each with its ``"\\n"`` (the last may lack one)."""
        return _rt.run_sync(self._impl.readlines())

    async def aio(self) -> Sequence[T]:
        return await _rt.run_async(self._impl.readlines())


class _FileIO_write(_rt.BoundMethod[_i_file_io.FileIO[T]]):
    """Write ``data`` at the current position (at the end in append mode); it reaches the sandbox on

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, data: bytes | str) -> None:
        """Write ``data`` at the current position (at the end in append mode); it reaches the sandbox on
        ``flush``/``close``.

        ``TypeError`` for ``str`` in binary mode / ``bytes`` in text mode; ``ValueError`` above 1 GiB or on a
        closed file; ``io.UnsupportedOperation`` if not writable.
        """
        _rt.run_sync(self._impl.write(data))

    async def aio(self, data: bytes | str) -> None:
        await _rt.run_async(self._impl.write(data))


class _FileIO_flush(_rt.BoundMethod[_i_file_io.FileIO[T]]):
    """Upload this handle's writes (the whole file) to the sandbox. ``io.UnsupportedOperation`` if not

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Upload this handle's writes (the whole file) to the sandbox. ``io.UnsupportedOperation`` if not
        writable.
        """
        _rt.run_sync(self._impl.flush())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.flush())


class _FileIO_seek(_rt.BoundMethod[_i_file_io.FileIO[T]]):
    """Move the position: ``whence`` 0 (start), 1 (current), 2 (end); ``ValueError`` for any other value.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, offset: int, whence: int = 0) -> None:
        """Move the position: ``whence`` 0 (start), 1 (current), 2 (end); ``ValueError`` for any other value."""
        _rt.run_sync(self._impl.seek(offset, whence))

    async def aio(self, offset: int, whence: int = 0) -> None:
        await _rt.run_async(self._impl.seek(offset, whence))


class _FileIO_close(_rt.BoundMethod[_i_file_io.FileIO[T]]):
    """Flush pending writes and close; further operations raise ``ValueError``. Idempotent.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Flush pending writes and close; further operations raise ``ValueError``. Idempotent."""
        _rt.run_sync(self._impl.close())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.close())


class FileIO(_rt.Wrapper, typing.Generic[T]):
    """A file in the sandbox opened with the deprecated ``Sandbox.open`` (``str`` in text mode, ``bytes`` in
    binary mode). Use it as a context manager (``async with``, or ``with`` through the blocking facade).

    Not safe for concurrent use from several tasks. Reads see the file as it was when opened (plus this handle's
    own writes); writes reach the sandbox on ``flush``/``close``.
    """

    __slots__ = ()
    _impl: _i_file_io.FileIO[T]

    @classmethod
    def _from_impl(cls, impl: _i_file_io.FileIO[T]) -> FileIO[T]:
        return _rt.wrap_cached(cls, impl)

    @property
    def read(self) -> _FileIO_read[T]:
        """Up to ``n`` bytes/characters' worth of data (the rest with ``None``); empty at end of file.

        ``ValueError`` for ``n`` above 100 MiB or a closed file; ``io.UnsupportedOperation`` if not readable.
        """
        return _FileIO_read(self)

    @property
    def readline(self) -> _FileIO_readline[T]:
        """One line including its ``"\\n"`` (the last line may lack one); empty at end of file."""
        return _FileIO_readline(self)

    @property
    def readlines(self) -> _FileIO_readlines[T]:
        """The remaining lines, each with its ``"\\n"`` (the last may lack one)."""
        return _FileIO_readlines(self)

    @property
    def write(self) -> _FileIO_write[T]:
        """Write ``data`` at the current position (at the end in append mode); it reaches the sandbox on
        ``flush``/``close``.

        ``TypeError`` for ``str`` in binary mode / ``bytes`` in text mode; ``ValueError`` above 1 GiB or on a
        closed file; ``io.UnsupportedOperation`` if not writable.
        """
        return _FileIO_write(self)

    @property
    def flush(self) -> _FileIO_flush[T]:
        """Upload this handle's writes (the whole file) to the sandbox. ``io.UnsupportedOperation`` if not
        writable.
        """
        return _FileIO_flush(self)

    @property
    def seek(self) -> _FileIO_seek[T]:
        """Move the position: ``whence`` 0 (start), 1 (current), 2 (end); ``ValueError`` for any other value."""
        return _FileIO_seek(self)

    @property
    def close(self) -> _FileIO_close[T]:
        """Flush pending writes and close; further operations raise ``ValueError``. Idempotent."""
        return _FileIO_close(self)

    def __enter__(self) -> FileIO[T]:
        self._check()
        _r = _rt.run_sync(self._impl.__aenter__())
        return FileIO._from_impl(_r)

    async def __aenter__(self) -> FileIO[T]:
        self._check()
        _r = await _rt.run_async(self._impl.__aenter__())
        return FileIO._from_impl(_r)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, tb: TracebackType | None
    ) -> None:
        _rt.run_sync(self._impl.__aexit__(exc_type, exc_value, tb))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, tb: TracebackType | None
    ) -> None:
        await _rt.run_async(self._impl.__aexit__(exc_type, exc_value, tb))


class _F_sweep(_rt.Function):
    """End sandboxes past their ``timeout``, remove finished ones past retention and orphaned records.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, *, app_id: str | None = None, everything: bool = False) -> SweepResult:
        """End sandboxes past their ``timeout``, remove finished ones past retention and orphaned records.

        With ``everything=True`` every sandbox (of ``app_id`` if given) is terminated and removed now, with its
        records — and, with ``app_id``, the app's registry entry: a clean slate, as tests and benchmarks need.
        """
        return _rt.run_sync(_i__sweep.sweep(app_id=app_id, everything=everything))

    async def aio(self, *, app_id: str | None = None, everything: bool = False) -> SweepResult:
        return await _rt.run_async(_i__sweep.sweep(app_id=app_id, everything=everything))


sweep = _F_sweep()
