# GENERATED from `sandbox_core` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen
# Check:      python -m sandbox_core_sync._codegen --check
# Generator sha256: 1b048d1832477c20
"""Blocking facade of ``sandbox_core`` (generated; see ``sandbox_core_sync._codegen``).

Every async method ``m`` of the implementation is ``obj.m(...)`` (blocking) and ``await obj.m.aio(...)``.
"""

# Mutable defaults are copied verbatim from the implementation's signatures.
# ruff: noqa: B006

from __future__ import annotations

import builtins
import typing
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Collection, Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from os import PathLike
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, Any, BinaryIO, Literal

import sandbox_core._logs_manager as _i__logs_manager
import sandbox_core._sweep as _i__sweep
import sandbox_core.app as _i_app
import sandbox_core.client as _i_client
import sandbox_core.file_io as _i_file_io
import sandbox_core.filesystem as _i_filesystem
import sandbox_core.image as _i_image
import sandbox_core.pool as _i_pool
import sandbox_core.process as _i_process
import sandbox_core.sandbox as _i_sandbox
import sandbox_core.secret as _i_secret
import sandbox_core.sidecars as _i_sidecars
import sandbox_core.streams as _i_streams
import sandbox_core.volume as _i_volume
import sandbox_core_sync._runtime as _rt
from sandbox_core._appref import AppLike
from sandbox_core._connect import SandboxConnectCredentials
from sandbox_core._imagebuild.context import AUTO_DOCKERIGNORE, AutoDockerignore
from sandbox_core._lifecycle import SweepResult
from sandbox_core._tunnel import Tunnel
from sandbox_core.end_reason import EndReason
from sandbox_core.file_pattern_matcher import NON_PYTHON_FILES
from sandbox_core.filesystem import FileWatchEvent, FileWatchEventType
from sandbox_core.image import Ignore
from sandbox_core.limits import Limits
from sandbox_core.pool import DEFAULT_FILL_CONCURRENCY, DEFAULT_MAX_AGE
from sandbox_core.probe import Probe
from sandbox_core.streams import StreamType, T
from sandbox_core.types import FileEntry, FileInfo, LogEntry, LogSource, SecretInfo, VolumeInfo

__all__ = [
    "App",
    "AppRun",
    "Client",
    "ContainerProcess",
    "FileIO",
    "Image",
    "Sandbox",
    "SandboxFilesystem",
    "SandboxLogsManager",
    "SandboxPool",
    "Secret",
    "SecretManager",
    "SidecarContainer",
    "SidecarManager",
    "StreamReader",
    "StreamWriter",
    "Volume",
    "VolumeManager",
    "VolumeUploadContextManager",
    "sweep",
]

# Warnings name the user's line: frames of these packages are skipped when looking for it.
_rt.register_library_packages("sandbox_core", "sandbox_core_sync")


class _App_lookup(_rt.Function):
    """The deployed app called ``name``; created when missing if ``create_if_missing``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        name: str,
        *,
        client: Client | None = None,
        environment_name: str | None = None,
        create_if_missing: bool = False,
    ) -> App:
        """The deployed app called ``name``; created when missing if ``create_if_missing``.

        Raises ``NotFoundError`` when it does not exist and may not be created, ``InvalidError`` for a bad name.
        ``client`` and ``environment_name`` are accepted as in Modal: the local engine is the one client and the one
        environment, whatever the name.
        """
        _r = _rt.run_sync(
            _i_app.App.lookup(
                name, client=_rt.unwrap(client), environment_name=environment_name, create_if_missing=create_if_missing
            )
        )
        return App._from_impl(_r)

    async def aio(
        self,
        name: str,
        *,
        client: Client | None = None,
        environment_name: str | None = None,
        create_if_missing: bool = False,
    ) -> App:
        _r = await _rt.run_async(
            _i_app.App.lookup(
                name, client=_rt.unwrap(client), environment_name=environment_name, create_if_missing=create_if_missing
            )
        )
        return App._from_impl(_r)


class _App_run(_rt.BoundMethod[_i_app.App]):
    """Run the app ephemerally while an ``async with app.run():`` block lasts.

    ``with`` what calling it returns; ``async with`` what ``.aio(...)`` returns.
    """

    __slots__ = ()

    def __call__(
        self,
        *,
        name: str | None = None,
        client: Client | None = None,
        detach: bool = False,
        interactive: bool = False,
        environment_name: str | None = None,
    ) -> AppRun:
        """Run the app ephemerally while an ``async with app.run():`` block lasts.

        The blocking API's forms are ``with app.run():`` and ``async with app.run.aio():``.

        ``name`` overrides the description shown for the run. On exit every sandbox still running in the app is
        terminated, unless ``detach=True`` (then they run on to their own ``timeout``, as a detached Modal app's
        do). ``interactive=True`` needs ``enable_output()``, as in Modal (it changes nothing for sandboxes).
        ``client``/``environment_name`` as in ``App.lookup``. A ``KeyboardInterrupt`` inside the block ends the run
        and is not propagated (Modal's "App aborted.").
        """
        _r = _rt.call_sync(
            self._impl.run,
            name=name,
            client=_rt.unwrap(client),
            detach=detach,
            interactive=interactive,
            environment_name=environment_name,
        )
        return AppRun._from_impl(_r)

    def aio(
        self,
        *,
        name: str | None = None,
        client: Client | None = None,
        detach: bool = False,
        interactive: bool = False,
        environment_name: str | None = None,
    ) -> AppRun:
        _r = _rt.call_sync(
            self._impl.run,
            name=name,
            client=_rt.unwrap(client),
            detach=detach,
            interactive=interactive,
            environment_name=environment_name,
        )
        return AppRun._from_impl(_r)


class _App_deploy(_rt.BoundMethod[_i_app.App]):
    """Deploy the app: register its name so that ``App.lookup(name)`` finds it and sandboxes can be created with

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        *,
        name: str | None = None,
        environment_name: str | None = None,
        tag: str = "",
        client: Client | None = None,
        strategy: str = "rolling",
    ) -> App:
        """Deploy the app: register its name so that ``App.lookup(name)`` finds it and sandboxes can be created with
        it from now on (the local equivalent of ``modal deploy`` for an app that holds only sandboxes). ``tag`` and
        ``strategy`` are checked as in Modal; there are no Functions to roll over.
        """
        _r = _rt.run_sync(
            self._impl.deploy(
                name=name, environment_name=environment_name, tag=tag, client=_rt.unwrap(client), strategy=strategy
            )
        )
        return App._from_impl(_r)

    async def aio(
        self,
        *,
        name: str | None = None,
        environment_name: str | None = None,
        tag: str = "",
        client: Client | None = None,
        strategy: str = "rolling",
    ) -> App:
        _r = await _rt.run_async(
            self._impl.deploy(
                name=name, environment_name=environment_name, tag=tag, client=_rt.unwrap(client), strategy=strategy
            )
        )
        return App._from_impl(_r)


class App(_rt.Wrapper):
    """A group of sandboxes: ``App(name)`` runs ephemerally with ``app.run()``; ``App.lookup`` gives a deployed app,
    whose id (``ap-…``) is the same in every process.
    """

    __slots__ = ()
    _impl: _i_app.App

    @classmethod
    def _from_impl(cls, impl: _i_app.App) -> App:
        return _rt.wrap_cached(cls, impl)

    def __init__(
        self,
        name: str | None = None,
        *,
        tags: dict[str, str] | None = None,
        image: Image | None = None,
        secrets: Sequence[Secret] = [],
        volumes: dict[str | PathLike[str], Any] = {},
        include_source: bool = True,
    ) -> None:
        """Define an app (Modal's checks and messages). ``image``, ``secrets``, ``volumes`` and ``include_source``
        are the defaults Modal gives an app's *Functions*; sandboxes never use them (in Modal neither), so they are
        only checked and kept (``app.image``).
        """
        _rt.bind_new(
            self,
            _rt.call_sync(
                _i_app.App,
                name,
                tags=tags,
                image=_rt.unwrap(image),
                secrets=_rt.unwrap(secrets),
                volumes=volumes,
                include_source=include_source,
            ),
        )

    lookup: typing.ClassVar[_App_lookup] = _App_lookup()

    @property
    def app_id(self) -> str | None:
        """The app's id (``ap-`` + 22 alphanumerics) once it has run or been deployed/looked up, else None. An
        ephemeral app keeps the id of its last run after the run ends.
        """
        return self._impl.app_id

    @property
    def name(self) -> str | None:
        """The name given to the app, if any."""
        return self._impl.name

    @property
    def description(self) -> str | None:
        """The app's name, or for an unnamed app that ran, the name of the script that ran it."""
        return self._impl.description

    @property
    def is_interactive(self) -> bool:
        """False: interactive mode only changes how Modal runs Functions, which do not exist locally."""
        return self._impl.is_interactive

    @property
    def image(self) -> Image | None:
        """The default image given to the constructor (Modal uses it for Functions, never for sandboxes)."""
        self._check()
        _r = _rt.call_sync(lambda: self._impl.image)
        return None if _r is None else Image._from_impl(_r)

    @property
    def run(self) -> _App_run:
        """Run the app ephemerally while an ``async with app.run():`` block lasts.

        The blocking API's forms are ``with app.run():`` and ``async with app.run.aio():``.

        ``name`` overrides the description shown for the run. On exit every sandbox still running in the app is
        terminated, unless ``detach=True`` (then they run on to their own ``timeout``, as a detached Modal app's
        do). ``interactive=True`` needs ``enable_output()``, as in Modal (it changes nothing for sandboxes).
        ``client``/``environment_name`` as in ``App.lookup``. A ``KeyboardInterrupt`` inside the block ends the run
        and is not propagated (Modal's "App aborted.").
        """
        return _App_run(self)

    @property
    def deploy(self) -> _App_deploy:
        """Deploy the app: register its name so that ``App.lookup(name)`` finds it and sandboxes can be created with
        it from now on (the local equivalent of ``modal deploy`` for an app that holds only sandboxes). ``tag`` and
        ``strategy`` are checked as in Modal; there are no Functions to roll over.
        """
        return _App_deploy(self)


class _SecretManager_create(_rt.Function):
    """Store a new secret ``name`` holding ``env_dict``. ``AlreadyExistsError`` when it exists, unless

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        name: str,
        env_dict: dict[str, str],
        *,
        allow_existing: bool = False,
        environment_name: str | None = None,
        client: None = None,
    ) -> None:
        """Store a new secret ``name`` holding ``env_dict``. ``AlreadyExistsError`` when it exists, unless
        ``allow_existing`` (then nothing changes). Look it up with ``Secret.from_name``.
        """
        _rt.run_sync(
            _i_secret.SecretManager.create(
                name, env_dict, allow_existing=allow_existing, environment_name=environment_name, client=client
            )
        )

    async def aio(
        self,
        name: str,
        env_dict: dict[str, str],
        *,
        allow_existing: bool = False,
        environment_name: str | None = None,
        client: None = None,
    ) -> None:
        await _rt.run_async(
            _i_secret.SecretManager.create(
                name, env_dict, allow_existing=allow_existing, environment_name=environment_name, client=client
            )
        )


class _SecretManager_list(_rt.Function):
    """The stored secrets as hydrated handles, newest first (at most ``max_objects``; only those created before

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        *,
        max_objects: int | None = None,
        created_before: datetime | str | None = None,
        environment_name: str = "",
        client: None = None,
    ) -> builtins.list[Secret]:
        """The stored secrets as hydrated handles, newest first (at most ``max_objects``; only those created before
        ``created_before``, a datetime or an ISO date string, when given).
        """
        _r = _rt.run_sync(
            _i_secret.SecretManager.list(
                max_objects=max_objects, created_before=created_before, environment_name=environment_name, client=client
            )
        )
        return [Secret._from_impl(_x) for _x in _r]

    async def aio(
        self,
        *,
        max_objects: int | None = None,
        created_before: datetime | str | None = None,
        environment_name: str = "",
        client: None = None,
    ) -> builtins.list[Secret]:
        _r = await _rt.run_async(
            _i_secret.SecretManager.list(
                max_objects=max_objects, created_before=created_before, environment_name=environment_name, client=client
            )
        )
        return [Secret._from_impl(_x) for _x in _r]


class _SecretManager_delete(_rt.Function):
    """Delete the stored secret ``name``. ``NotFoundError`` when there is none, unless ``allow_missing``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self, name: str, *, allow_missing: bool = False, environment_name: str | None = None, client: None = None
    ) -> None:
        """Delete the stored secret ``name``. ``NotFoundError`` when there is none, unless ``allow_missing``."""
        _rt.run_sync(
            _i_secret.SecretManager.delete(
                name, allow_missing=allow_missing, environment_name=environment_name, client=client
            )
        )

    async def aio(
        self, name: str, *, allow_missing: bool = False, environment_name: str | None = None, client: None = None
    ) -> None:
        await _rt.run_async(
            _i_secret.SecretManager.delete(
                name, allow_missing=allow_missing, environment_name=environment_name, client=client
            )
        )


class SecretManager(_rt.Wrapper):
    """``Secret.objects``: create, list and delete named secrets of the local secret store."""

    __slots__ = ()
    _impl: _i_secret.SecretManager

    @classmethod
    def _from_impl(cls, impl: _i_secret.SecretManager) -> SecretManager:
        return _rt.wrap_cached(cls, impl)

    create: typing.ClassVar[_SecretManager_create] = _SecretManager_create()
    list: typing.ClassVar[_SecretManager_list] = _SecretManager_list()
    delete: typing.ClassVar[_SecretManager_delete] = _SecretManager_delete()


class _Secret_hydrate(_rt.BoundMethod[_i_secret.Secret]):
    """Resolve the secret now (``NotFoundError``/``ConflictError`` for a bad named secret); returns ``self``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, client: None = None) -> Secret:
        """Resolve the secret now (``NotFoundError``/``ConflictError`` for a bad named secret); returns ``self``."""
        _r = _rt.run_sync(self._impl.hydrate(client))
        return Secret._from_impl(_r)

    async def aio(self, client: None = None) -> Secret:
        _r = await _rt.run_async(self._impl.hydrate(client))
        return Secret._from_impl(_r)


class _Secret_info(_rt.BoundMethod[_i_secret.Secret]):
    """A stored secret's name, and when and by whom it was created. ``InvalidError`` for other secrets.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> SecretInfo:
        """A stored secret's name, and when and by whom it was created. ``InvalidError`` for other secrets."""
        return _rt.run_sync(self._impl.info())

    async def aio(self) -> SecretInfo:
        return await _rt.run_async(self._impl.info())


class _Secret_update(_rt.BoundMethod[_i_secret.Secret]):
    """Add or overwrite variables of a stored secret (keys not named stay). ``InvalidError`` for other

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, env_dict: dict[str, str]) -> None:
        """Add or overwrite variables of a stored secret (keys not named stay). ``InvalidError`` for other
        secrets or a bad ``env_dict``; ``NotFoundError`` when the stored secret no longer exists.
        """
        _rt.run_sync(self._impl.update(env_dict))

    async def aio(self, env_dict: dict[str, str]) -> None:
        await _rt.run_async(self._impl.update(env_dict))


class Secret(_rt.Wrapper):
    """A set of environment variables for sandboxes and execs (``Sandbox.create(secrets=)``, ``exec(secrets=)``).

    Named secrets live in a local store readable by their owner only (see ``sandbox_core._secret_store``); their
    values never go into engine labels or log lines.
    """

    __slots__ = ()
    _impl: _i_secret.Secret

    @classmethod
    def _from_impl(cls, impl: _i_secret.Secret) -> Secret:
        return _rt.wrap_cached(cls, impl)

    objects: typing.ClassVar[type[SecretManager]] = SecretManager

    @staticmethod
    def from_dict(env_dict: dict[str, str | None] = {}) -> Secret:
        """A secret holding ``env_dict``; keys whose value is ``None`` are dropped.

        Raises ``InvalidError`` unless ``env_dict`` is a ``dict[str, str | None]``.
        """
        _r = _rt.call_sync(_i_secret.Secret.from_dict, env_dict)
        return Secret._from_impl(_r)

    @staticmethod
    def from_local_environ(env_keys: builtins.list[str]) -> Secret:
        """A secret holding the variables ``env_keys`` of this process's environment, as they are now.

        Raises ``InvalidError`` naming the first variable that is not set.
        """
        _r = _rt.call_sync(_i_secret.Secret.from_local_environ, env_keys)
        return Secret._from_impl(_r)

    @staticmethod
    def from_dotenv(path: str | PathLike[str] | None = None, *, filename: str = ".env", client: None = None) -> Secret:
        """A secret holding the variables of a ``.env`` file, read when the secret is used.

        Without ``path`` the file is looked for in the working directory and its parents; with ``path`` (a file or
        directory) in that directory and its parents. No file found reads as an empty secret (as in Modal).
        """
        _r = _rt.call_sync(_i_secret.Secret.from_dotenv, path, filename=filename, client=client)
        return Secret._from_impl(_r)

    @staticmethod
    def from_name(
        name: str, *, environment_name: str | None = None, required_keys: builtins.list[str] = [], client: None = None
    ) -> Secret:
        """The secret ``name`` of the local secret store, read when the secret is used: then ``NotFoundError`` if
        there is none, ``ConflictError("Secret is missing key(s): …")`` if it lacks one of ``required_keys``.
        """
        _r = _rt.call_sync(
            _i_secret.Secret.from_name,
            name,
            environment_name=environment_name,
            required_keys=required_keys,
            client=client,
        )
        return Secret._from_impl(_r)

    @property
    def hydrate(self) -> _Secret_hydrate:
        """Resolve the secret now (``NotFoundError``/``ConflictError`` for a bad named secret); returns ``self``."""
        return _Secret_hydrate(self)

    @property
    def object_id(self) -> str:
        """``st-`` + 22 alphanumerics. Raises ``AttributeError`` before the secret was hydrated (or used)."""
        return self._impl.object_id

    @property
    def is_hydrated(self) -> bool:
        """True once the secret was resolved (hydrated, or used by a sandbox or exec)."""
        return self._impl.is_hydrated

    @property
    def name(self) -> str | None:
        """The name of a stored secret; None for the others."""
        return self._impl.name

    @property
    def info(self) -> _Secret_info:
        """A stored secret's name, and when and by whom it was created. ``InvalidError`` for other secrets."""
        return _Secret_info(self)

    @property
    def env(self) -> dict[str, str]:
        """The variables this secret sets, read now (a stored secret or a ``.env`` file from its source)."""
        return self._impl.env

    @property
    def update(self) -> _Secret_update:
        """Add or overwrite variables of a stored secret (keys not named stay). ``InvalidError`` for other
        secrets or a bad ``env_dict``; ``NotFoundError`` when the stored secret no longer exists.
        """
        return _Secret_update(self)


class _VolumeManager_create(_rt.Function):
    """Create the named volume ``name`` (filesystem ``version`` 1 or 2, default 1). ``AlreadyExistsError``

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        name: str,
        *,
        version: int | None = None,
        allow_existing: bool = False,
        environment_name: str | None = None,
        client: None = None,
    ) -> None:
        """Create the named volume ``name`` (filesystem ``version`` 1 or 2, default 1). ``AlreadyExistsError``
        when it exists, unless ``allow_existing``. Look it up with ``Volume.from_name``.
        """
        _rt.run_sync(
            _i_volume.VolumeManager.create(
                name, version=version, allow_existing=allow_existing, environment_name=environment_name, client=client
            )
        )

    async def aio(
        self,
        name: str,
        *,
        version: int | None = None,
        allow_existing: bool = False,
        environment_name: str | None = None,
        client: None = None,
    ) -> None:
        await _rt.run_async(
            _i_volume.VolumeManager.create(
                name, version=version, allow_existing=allow_existing, environment_name=environment_name, client=client
            )
        )


class _VolumeManager_list(_rt.Function):
    """The named volumes as hydrated handles, newest first (at most ``max_objects``; only those created before

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        *,
        max_objects: int | None = None,
        created_before: datetime | str | None = None,
        environment_name: str = "",
        client: None = None,
    ) -> builtins.list[Volume]:
        """The named volumes as hydrated handles, newest first (at most ``max_objects``; only those created before
        ``created_before``, a datetime or an ISO date string, when given).
        """
        _r = _rt.run_sync(
            _i_volume.VolumeManager.list(
                max_objects=max_objects, created_before=created_before, environment_name=environment_name, client=client
            )
        )
        return [Volume._from_impl(_x) for _x in _r]

    async def aio(
        self,
        *,
        max_objects: int | None = None,
        created_before: datetime | str | None = None,
        environment_name: str = "",
        client: None = None,
    ) -> builtins.list[Volume]:
        _r = await _rt.run_async(
            _i_volume.VolumeManager.list(
                max_objects=max_objects, created_before=created_before, environment_name=environment_name, client=client
            )
        )
        return [Volume._from_impl(_x) for _x in _r]


class _VolumeManager_delete(_rt.Function):
    """Delete the named volume ``name`` and its files (irreversible). The name is free at once; the data goes

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self, name: str, *, allow_missing: bool = False, environment_name: str | None = None, client: None = None
    ) -> None:
        """Delete the named volume ``name`` and its files (irreversible). The name is free at once; the data goes
        as soon as no sandbox holds it. ``NotFoundError`` when there is none, unless ``allow_missing``.
        """
        _rt.run_sync(
            _i_volume.VolumeManager.delete(
                name, allow_missing=allow_missing, environment_name=environment_name, client=client
            )
        )

    async def aio(
        self, name: str, *, allow_missing: bool = False, environment_name: str | None = None, client: None = None
    ) -> None:
        await _rt.run_async(
            _i_volume.VolumeManager.delete(
                name, allow_missing=allow_missing, environment_name=environment_name, client=client
            )
        )


class VolumeManager(_rt.Wrapper):
    """``Volume.objects``: create, list and delete named volumes."""

    __slots__ = ()
    _impl: _i_volume.VolumeManager

    @classmethod
    def _from_impl(cls, impl: _i_volume.VolumeManager) -> VolumeManager:
        return _rt.wrap_cached(cls, impl)

    create: typing.ClassVar[_VolumeManager_create] = _VolumeManager_create()
    list: typing.ClassVar[_VolumeManager_list] = _VolumeManager_list()
    delete: typing.ClassVar[_VolumeManager_delete] = _VolumeManager_delete()


class _Volume_read_only(_rt.BoundMethod[_i_volume.Volume]):
    """Deprecated: a read-only view (use ``with_mount_options(read_only=True)``); it also refuses the file API's

    ``with`` what calling it returns; ``async with`` what ``.aio(...)`` returns.
    """

    __slots__ = ()

    def __call__(self) -> Volume:
        """Deprecated: a read-only view (use ``with_mount_options(read_only=True)``); it also refuses the file API's
        writes.
        """
        _r = _rt.call_sync(self._impl.read_only)
        return Volume._from_impl(_r)

    def aio(self) -> Volume:
        _r = _rt.call_sync(self._impl.read_only)
        return Volume._from_impl(_r)


class _Volume_with_mount_options(_rt.BoundMethod[_i_volume.Volume]):
    """A view mounted read-only and/or only its ``sub_path`` directory (created when missing; ``"/"``: the whole

    ``with`` what calling it returns; ``async with`` what ``.aio(...)`` returns.
    """

    __slots__ = ()

    def __call__(self, *, read_only: bool | None = None, sub_path: str | PurePosixPath | None = None) -> Volume:
        """A view mounted read-only and/or only its ``sub_path`` directory (created when missing; ``"/"``: the whole
        volume). The options apply to mounts in sandboxes only, not to this object's file API.
        """
        _r = _rt.call_sync(self._impl.with_mount_options, read_only=read_only, sub_path=sub_path)
        return Volume._from_impl(_r)

    def aio(self, *, read_only: bool | None = None, sub_path: str | PurePosixPath | None = None) -> Volume:
        _r = _rt.call_sync(self._impl.with_mount_options, read_only=read_only, sub_path=sub_path)
        return Volume._from_impl(_r)


class _Volume_hydrate(_rt.BoundMethod[_i_volume.Volume]):
    """Look the volume up now (creating it with ``create_if_missing``); returns ``self``. ``NotFoundError``

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, client: None = None) -> Volume:
        """Look the volume up now (creating it with ``create_if_missing``); returns ``self``. ``NotFoundError``
        when it does not exist.
        """
        _r = _rt.run_sync(self._impl.hydrate(client))
        return Volume._from_impl(_r)

    async def aio(self, client: None = None) -> Volume:
        _r = await _rt.run_async(self._impl.hydrate(client))
        return Volume._from_impl(_r)


class _Volume_info(_rt.BoundMethod[_i_volume.Volume]):
    """The volume's name, and when and by whom it was created (hydrates).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> VolumeInfo:
        """The volume's name, and when and by whom it was created (hydrates)."""
        return _rt.run_sync(self._impl.info())

    async def aio(self) -> VolumeInfo:
        return await _rt.run_async(self._impl.info())


class _Volume_commit(_rt.BoundMethod[_i_volume.Volume]):
    """Nothing to do locally (writes are visible everywhere when made); checks that the volume exists.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Nothing to do locally (writes are visible everywhere when made); checks that the volume exists."""
        _rt.run_sync(self._impl.commit())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.commit())


class _Volume_reload(_rt.BoundMethod[_i_volume.Volume]):
    """Nothing to do locally (every mount sees every write at once); checks that the volume exists.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Nothing to do locally (every mount sees every write at once); checks that the volume exists."""
        _rt.run_sync(self._impl.reload())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.reload())


class _Volume_iterdir(_rt.BoundMethod[_i_volume.Volume]):
    """The entries under directory ``path`` (every level when ``recursive``), or the entry of ``path`` itself

    Call it to block; ``.aio(...)`` is the async generator.
    """

    __slots__ = ()

    def __call__(self, path: str, *, recursive: bool = True) -> Generator[FileEntry, None, None]:
        """The entries under directory ``path`` (every level when ``recursive``), or the entry of ``path`` itself
        when it is a file. ``NotFoundError`` when it does not exist.
        """
        return _rt.iter_sync(lambda: self._impl.iterdir(path, recursive=recursive), name="iterdir")

    def aio(self, path: str, *, recursive: bool = True) -> AsyncGenerator[FileEntry, None]:
        return _rt.iter_async(lambda: self._impl.iterdir(path, recursive=recursive))


class _Volume_listdir(_rt.BoundMethod[_i_volume.Volume]):
    """``iterdir`` as a list (one level by default).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, path: str, *, recursive: bool = False) -> builtins.list[FileEntry]:
        """``iterdir`` as a list (one level by default)."""
        return _rt.run_sync(self._impl.listdir(path, recursive=recursive))

    async def aio(self, path: str, *, recursive: bool = False) -> builtins.list[FileEntry]:
        return await _rt.run_async(self._impl.listdir(path, recursive=recursive))


class _Volume_read_file(_rt.BoundMethod[_i_volume.Volume]):
    """The file's bytes, in chunks of up to 1 MiB, streamed (memory stays bounded). ``FileNotFoundError`` when

    Call it to block; ``.aio(...)`` is the async generator.
    """

    __slots__ = ()

    def __call__(self, path: str) -> Generator[bytes, None, None]:
        """The file's bytes, in chunks of up to 1 MiB, streamed (memory stays bounded). ``FileNotFoundError`` when
        there is no such file, ``IsADirectoryError`` for a directory.
        """
        return _rt.iter_sync(lambda: self._impl.read_file(path), name="read_file")

    def aio(self, path: str) -> AsyncGenerator[bytes, None]:
        return _rt.iter_async(lambda: self._impl.read_file(path))


class _Volume_read_file_into_fileobj(_rt.BoundMethod[_i_volume.Volume]):
    """Write the file into ``fileobj`` (at its position); returns the bytes written. ``progress_cb(advance=n)``

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, path: str, fileobj: IO[bytes], progress_cb: Callable[..., Any] | None = None) -> int:
        """Write the file into ``fileobj`` (at its position); returns the bytes written. ``progress_cb(advance=n)``
        is called after each chunk.
        """
        return _rt.run_sync(self._impl.read_file_into_fileobj(path, fileobj, progress_cb))

    async def aio(self, path: str, fileobj: IO[bytes], progress_cb: Callable[..., Any] | None = None) -> int:
        return await _rt.run_async(self._impl.read_file_into_fileobj(path, fileobj, progress_cb))


class _Volume_remove_file(_rt.BoundMethod[_i_volume.Volume]):
    """Remove a file, or a directory (an empty one, or any with ``recursive``). ``FileNotFoundError`` when it

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, path: str, recursive: bool = False) -> None:
        """Remove a file, or a directory (an empty one, or any with ``recursive``). ``FileNotFoundError`` when it
        does not exist.
        """
        _rt.run_sync(self._impl.remove_file(path, recursive))

    async def aio(self, path: str, recursive: bool = False) -> None:
        await _rt.run_async(self._impl.remove_file(path, recursive))


class _Volume_copy_files(_rt.BoundMethod[_i_volume.Volume]):
    """Copy ``src_paths`` to ``dst_path`` inside the volume, as ``cp`` does (directories need ``recursive``,

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, src_paths: Sequence[str], dst_path: str, recursive: bool = False) -> None:
        """Copy ``src_paths`` to ``dst_path`` inside the volume, as ``cp`` does (directories need ``recursive``,
        which version-1 volumes refuse, as in Modal).
        """
        _rt.run_sync(self._impl.copy_files(src_paths, dst_path, recursive))

    async def aio(self, src_paths: Sequence[str], dst_path: str, recursive: bool = False) -> None:
        await _rt.run_async(self._impl.copy_files(src_paths, dst_path, recursive))


class _Volume_batch_upload(_rt.BoundMethod[_i_volume.Volume]):
    """``with vol.batch_upload() as batch: batch.put_file(...); batch.put_directory(...)``: the files are written

    ``with`` what calling it returns; ``async with`` what ``.aio(...)`` returns.
    """

    __slots__ = ()

    def __call__(self, force: bool = False) -> VolumeUploadContextManager:
        """``with vol.batch_upload() as batch: batch.put_file(...); batch.put_directory(...)``: the files are written
        when the block ends (not if it raises). Existing files are an error (``FileExistsError``) unless
        ``force``; a directory is never replaced by a file.
        """
        _r = _rt.call_sync(self._impl.batch_upload, force)
        return VolumeUploadContextManager._from_impl(_r)

    def aio(self, force: bool = False) -> VolumeUploadContextManager:
        _r = _rt.call_sync(self._impl.batch_upload, force)
        return VolumeUploadContextManager._from_impl(_r)


class _Volume_delete(_rt.Function):
    """Deprecated: delete the named volume (use ``Volume.objects.delete``).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, name: str, client: None = None, environment_name: str | None = None) -> None:
        """Deprecated: delete the named volume (use ``Volume.objects.delete``)."""
        _rt.run_sync(_i_volume.Volume.delete(name, client, environment_name))

    async def aio(self, name: str, client: None = None, environment_name: str | None = None) -> None:
        await _rt.run_async(_i_volume.Volume.delete(name, client, environment_name))


class _Volume_rename(_rt.Function):
    """Give the named volume ``old_name`` the name ``new_name`` (its id and files stay).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self, old_name: str, new_name: str, *, client: None = None, environment_name: str | None = None
    ) -> None:
        """Give the named volume ``old_name`` the name ``new_name`` (its id and files stay)."""
        _rt.run_sync(_i_volume.Volume.rename(old_name, new_name, client=client, environment_name=environment_name))

    async def aio(
        self, old_name: str, new_name: str, *, client: None = None, environment_name: str | None = None
    ) -> None:
        await _rt.run_async(
            _i_volume.Volume.rename(old_name, new_name, client=client, environment_name=environment_name)
        )


class Volume(_rt.Wrapper):
    """A volume: files shared by sandboxes and kept after them. See the module docstring for what ``commit`` and
    ``reload`` mean locally.
    """

    __slots__ = ()
    _impl: _i_volume.Volume

    @classmethod
    def _from_impl(cls, impl: _i_volume.Volume) -> Volume:
        return _rt.wrap_cached(cls, impl)

    objects: typing.ClassVar[type[VolumeManager]] = VolumeManager

    @staticmethod
    def from_name(
        name: str,
        *,
        environment_name: str | None = None,
        create_if_missing: bool = False,
        version: int | None = None,
        client: None = None,
    ) -> Volume:
        """The volume called ``name``, looked up (and with ``create_if_missing`` created) when first used:
        ``NotFoundError`` then if there is none. ``version`` (1 or 2) must match an existing volume's.
        """
        _r = _rt.call_sync(
            _i_volume.Volume.from_name,
            name,
            environment_name=environment_name,
            create_if_missing=create_if_missing,
            version=version,
            client=client,
        )
        return Volume._from_impl(_r)

    @staticmethod
    def from_id(volume_id: str, client: None = None) -> Volume:
        """The volume ``volume_id`` (``vo-…``), looked up when first used."""
        _r = _rt.call_sync(_i_volume.Volume.from_id, volume_id, client)
        return Volume._from_impl(_r)

    @staticmethod
    def ephemeral(client: None = None, environment_name: str | None = None, version: int | None = None) -> Volume:
        """An anonymous volume for the duration of a block: ``with Volume.ephemeral() as vol`` (``async with`` in
        asyncio code). It is created on entering and removed on leaving, also when the block raises (when a sandbox
        still mounts it, as soon as none does).
        """
        _r = _rt.call_sync(_i_volume.Volume.ephemeral, client, environment_name, version)
        return Volume._from_impl(_r)

    def __enter__(self) -> Volume:
        self._check()
        _r = _rt.run_sync(self._impl.__aenter__())
        return Volume._from_impl(_r)

    async def __aenter__(self) -> Volume:
        self._check()
        _r = await _rt.run_async(self._impl.__aenter__())
        return Volume._from_impl(_r)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _rt.run_sync(self._impl.__aexit__(exc_type, exc, tb))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await _rt.run_async(self._impl.__aexit__(exc_type, exc, tb))

    @property
    def read_only(self) -> _Volume_read_only:
        """Deprecated: a read-only view (use ``with_mount_options(read_only=True)``); it also refuses the file API's
        writes.
        """
        return _Volume_read_only(self)

    @property
    def with_mount_options(self) -> _Volume_with_mount_options:
        """A view mounted read-only and/or only its ``sub_path`` directory (created when missing; ``"/"``: the whole
        volume). The options apply to mounts in sandboxes only, not to this object's file API.
        """
        return _Volume_with_mount_options(self)

    @property
    def name(self) -> str | None:
        """The volume's name (None for an ephemeral volume, or one from ``from_id`` not used yet)."""
        return self._impl.name

    @property
    def object_id(self) -> str:
        """``vo-`` + 22 alphanumerics. ``AttributeError`` before the volume was hydrated."""
        return self._impl.object_id

    @property
    def is_hydrated(self) -> bool:
        """True once the volume was looked up (or created)."""
        return self._impl.is_hydrated

    @property
    def hydrate(self) -> _Volume_hydrate:
        """Look the volume up now (creating it with ``create_if_missing``); returns ``self``. ``NotFoundError``
        when it does not exist.
        """
        return _Volume_hydrate(self)

    @property
    def info(self) -> _Volume_info:
        """The volume's name, and when and by whom it was created (hydrates)."""
        return _Volume_info(self)

    @property
    def commit(self) -> _Volume_commit:
        """Nothing to do locally (writes are visible everywhere when made); checks that the volume exists."""
        return _Volume_commit(self)

    @property
    def reload(self) -> _Volume_reload:
        """Nothing to do locally (every mount sees every write at once); checks that the volume exists."""
        return _Volume_reload(self)

    @property
    def iterdir(self) -> _Volume_iterdir:
        """The entries under directory ``path`` (every level when ``recursive``), or the entry of ``path`` itself
        when it is a file. ``NotFoundError`` when it does not exist.
        """
        return _Volume_iterdir(self)

    @property
    def listdir(self) -> _Volume_listdir:
        """``iterdir`` as a list (one level by default)."""
        return _Volume_listdir(self)

    @property
    def read_file(self) -> _Volume_read_file:
        """The file's bytes, in chunks of up to 1 MiB, streamed (memory stays bounded). ``FileNotFoundError`` when
        there is no such file, ``IsADirectoryError`` for a directory.
        """
        return _Volume_read_file(self)

    @property
    def read_file_into_fileobj(self) -> _Volume_read_file_into_fileobj:
        """Write the file into ``fileobj`` (at its position); returns the bytes written. ``progress_cb(advance=n)``
        is called after each chunk.
        """
        return _Volume_read_file_into_fileobj(self)

    @property
    def remove_file(self) -> _Volume_remove_file:
        """Remove a file, or a directory (an empty one, or any with ``recursive``). ``FileNotFoundError`` when it
        does not exist.
        """
        return _Volume_remove_file(self)

    @property
    def copy_files(self) -> _Volume_copy_files:
        """Copy ``src_paths`` to ``dst_path`` inside the volume, as ``cp`` does (directories need ``recursive``,
        which version-1 volumes refuse, as in Modal).
        """
        return _Volume_copy_files(self)

    @property
    def batch_upload(self) -> _Volume_batch_upload:
        """``with vol.batch_upload() as batch: batch.put_file(...); batch.put_directory(...)``: the files are written
        when the block ends (not if it raises). Existing files are an error (``FileExistsError``) unless
        ``force``; a directory is never replaced by a file.
        """
        return _Volume_batch_upload(self)

    delete: typing.ClassVar[_Volume_delete] = _Volume_delete()
    rename: typing.ClassVar[_Volume_rename] = _Volume_rename()


class VolumeUploadContextManager(_rt.Wrapper):
    """A batch upload (``Volume.batch_upload``): ``put_file``/``put_directory`` queue files, leaving the block
    writes them.
    """

    __slots__ = ()
    _impl: _i_volume.VolumeUploadContextManager

    @classmethod
    def _from_impl(cls, impl: _i_volume.VolumeUploadContextManager) -> VolumeUploadContextManager:
        return _rt.wrap_cached(cls, impl)

    def __enter__(self) -> VolumeUploadContextManager:
        self._check()
        _r = _rt.run_sync(self._impl.__aenter__())
        return VolumeUploadContextManager._from_impl(_r)

    async def __aenter__(self) -> VolumeUploadContextManager:
        self._check()
        _r = await _rt.run_async(self._impl.__aenter__())
        return VolumeUploadContextManager._from_impl(_r)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _rt.run_sync(self._impl.__aexit__(exc_type, exc, tb))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await _rt.run_async(self._impl.__aexit__(exc_type, exc, tb))

    def put_file(
        self, local_file: Path | str | BinaryIO, remote_path: PurePosixPath | str, mode: int | None = None
    ) -> None:
        """Queue a local file (a path, or a binary file object that must stay readable until the block ends; it is
        read from its start). Parent directories are created; ``mode`` defaults to the file's (0o644 for a file
        object).
        """
        self._check()
        self._impl.put_file(local_file, remote_path, mode)

    def put_directory(self, local_path: Path | str, remote_path: PurePosixPath | str, recursive: bool = True) -> None:
        """Queue every regular file under the local directory ``local_path``, at the same relative paths under
        ``remote_path``.
        """
        self._check()
        self._impl.put_directory(local_path, remote_path, recursive)


class AppRun(_rt.Wrapper):
    """One ephemeral run of an ``App``: ``async with app.run() as app:`` (what ``App.run`` returns)."""

    __slots__ = ()
    _impl: _i_app.AppRun

    @classmethod
    def _from_impl(cls, impl: _i_app.AppRun) -> AppRun:
        return _rt.wrap_cached(cls, impl)

    def __enter__(self) -> App:
        self._check()
        _r = _rt.run_sync(self._impl.__aenter__())
        return App._from_impl(_r)

    async def __aenter__(self) -> App:
        self._check()
        _r = await _rt.run_async(self._impl.__aenter__())
        return App._from_impl(_r)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        return _rt.run_sync(self._impl.__aexit__(exc_type, exc, tb))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        return await _rt.run_async(self._impl.__aexit__(exc_type, exc, tb))


class _Client_from_env(_rt.Function):
    """The process's client. Modal reads its config and token here; locally there is nothing to read.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, _override_config: object = None) -> Client:
        """The process's client. Modal reads its config and token here; locally there is nothing to read."""
        _r = _rt.run_sync(_i_client.Client.from_env(_override_config))
        return Client._from_impl(_r)

    async def aio(self, _override_config: object = None) -> Client:
        _r = await _rt.run_async(_i_client.Client.from_env(_override_config))
        return Client._from_impl(_r)


class _Client_from_credentials(_rt.Function):
    """The process's client. The local engine has no accounts: the token is checked for shape only (two

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, token_id: str, token_secret: str) -> Client:
        """The process's client. The local engine has no accounts: the token is checked for shape only (two
        strings) and not used.
        """
        _r = _rt.run_sync(_i_client.Client.from_credentials(token_id, token_secret))
        return Client._from_impl(_r)

    async def aio(self, token_id: str, token_secret: str) -> Client:
        _r = await _rt.run_async(_i_client.Client.from_credentials(token_id, token_secret))
        return Client._from_impl(_r)


class _Client_hello(_rt.BoundMethod[_i_client.Client]):
    """Modal's connectivity check; a no-op locally (every call reaches the engine directly).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Modal's connectivity check; a no-op locally (every call reaches the engine directly)."""
        _rt.run_sync(self._impl.hello())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.hello())


class Client(_rt.Wrapper):
    """The process's connection to the local engine (Modal's ``modal.Client``); obtain it with ``from_env``."""

    __slots__ = ()
    _impl: _i_client.Client

    @classmethod
    def _from_impl(cls, impl: _i_client.Client) -> Client:
        return _rt.wrap_cached(cls, impl)

    from_env: typing.ClassVar[_Client_from_env] = _Client_from_env()
    from_credentials: typing.ClassVar[_Client_from_credentials] = _Client_from_credentials()

    def is_closed(self) -> bool:
        """Always False: the local client is never closed (engine connections are per event loop)."""
        self._check()
        _r: bool = _rt.call_sync(self._impl.is_closed)
        return _r

    @property
    def hello(self) -> _Client_hello:
        """Modal's connectivity check; a no-op locally (every call reaches the engine directly)."""
        return _Client_hello(self)

    def __enter__(self) -> Client:
        self._check()
        _r = _rt.run_sync(self._impl.__aenter__())
        return Client._from_impl(_r)

    async def __aenter__(self) -> Client:
        self._check()
        _r = await _rt.run_async(self._impl.__aenter__())
        return Client._from_impl(_r)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _rt.run_sync(self._impl.__aexit__(exc_type, exc, tb))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await _rt.run_async(self._impl.__aexit__(exc_type, exc, tb))


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
        volumes: dict[str | PathLike[str], Volume] = {},
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
        _r = _rt.run_sync(
            _i_sandbox.Sandbox.create(
                *args,
                app=_rt.unwrap(app),
                name=name,
                tags=tags,
                image=_rt.unwrap(image),
                env=env,
                secrets=_rt.unwrap(secrets),
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
                volumes=_rt.unwrap(volumes),
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
                client=_rt.unwrap(client),
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
        volumes: dict[str | PathLike[str], Volume] = {},
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
        _r = await _rt.run_async(
            _i_sandbox.Sandbox.create(
                *args,
                app=_rt.unwrap(app),
                name=name,
                tags=tags,
                image=_rt.unwrap(image),
                env=env,
                secrets=_rt.unwrap(secrets),
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
                volumes=_rt.unwrap(volumes),
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
                client=_rt.unwrap(client),
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

    def __call__(self, sandbox_id: str, client: Client | None = None) -> Sandbox:
        """The sandbox ``sandbox_id``, running or finished (``returncode`` set if finished).

        Raises ``InvalidError`` for an id not shaped ``sb-…``, ``NotFoundError`` for an unknown (or already
        removed) sandbox.
        """
        _r = _rt.run_sync(_i_sandbox.Sandbox.from_id(sandbox_id, _rt.unwrap(client)))
        return Sandbox._from_impl(_r)

    async def aio(self, sandbox_id: str, client: Client | None = None) -> Sandbox:
        _r = await _rt.run_async(_i_sandbox.Sandbox.from_id(sandbox_id, _rt.unwrap(client)))
        return Sandbox._from_impl(_r)


class _Sandbox_from_name(_rt.Function):
    """The **running** sandbox called ``name`` in deployed app ``app_name`` (``App.lookup``/``deploy``; as in

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self, app_name: str, name: str, *, environment_name: str | None = None, client: Client | None = None
    ) -> Sandbox:
        """The **running** sandbox called ``name`` in deployed app ``app_name`` (``App.lookup``/``deploy``; as in
        Modal, sandboxes of ephemeral ``app.run()`` apps are not found by name). Raises ``NotFoundError`` if none
        runs. ``client``/``environment_name`` as in ``App.lookup``.
        """
        _r = _rt.run_sync(
            _i_sandbox.Sandbox.from_name(app_name, name, environment_name=environment_name, client=_rt.unwrap(client))
        )
        return Sandbox._from_impl(_r)

    async def aio(
        self, app_name: str, name: str, *, environment_name: str | None = None, client: Client | None = None
    ) -> Sandbox:
        _r = await _rt.run_async(
            _i_sandbox.Sandbox.from_name(app_name, name, environment_name=environment_name, client=_rt.unwrap(client))
        )
        return Sandbox._from_impl(_r)


class _Sandbox_list(_rt.Function):
    """Yield the **running** sandboxes (of ``app_id`` if given) having at least the ``tags`` given, newest first.

    Call it to block; ``.aio(...)`` is the async generator.
    """

    __slots__ = ()

    def __call__(
        self, *, app_id: str | None = None, tags: dict[str, str] | None = None, client: Client | None = None
    ) -> Generator[Sandbox, None, None]:
        """Yield the **running** sandboxes (of ``app_id`` if given) having at least the ``tags`` given, newest first."""
        return _rt.iter_sync(
            lambda: _i_sandbox.Sandbox.list(app_id=app_id, tags=tags, client=_rt.unwrap(client)),
            Sandbox._from_impl,
            name="list",
        )

    def aio(
        self, *, app_id: str | None = None, tags: dict[str, str] | None = None, client: Client | None = None
    ) -> AsyncGenerator[Sandbox, None]:
        return _rt.iter_async(
            lambda: _i_sandbox.Sandbox.list(app_id=app_id, tags=tags, client=_rt.unwrap(client)), Sandbox._from_impl
        )


class _Sandbox_hydrate(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """No-op for sandboxes (always hydrated); returns ``self``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, client: Client | None = None) -> Sandbox:
        """No-op for sandboxes (always hydrated); returns ``self``."""
        _r = _rt.run_sync(self._impl.hydrate(_rt.unwrap(client)))
        return Sandbox._from_impl(_r)

    async def aio(self, client: Client | None = None) -> Sandbox:
        _r = await _rt.run_async(self._impl.hydrate(_rt.unwrap(client)))
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

    def __call__(self, tags: dict[str, str], *, client: Client | None = None) -> None:
        """Replace the sandbox's tags (``{}`` clears them). Visible to every process at once.

        Raises ``InvalidError`` unless ``tags`` is a ``dict[str, str]``.
        """
        _rt.run_sync(self._impl.set_tags(tags, client=_rt.unwrap(client)))

    async def aio(self, tags: dict[str, str], *, client: Client | None = None) -> None:
        await _rt.run_async(self._impl.set_tags(tags, client=_rt.unwrap(client)))


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
                secrets=_rt.unwrap(secrets),
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
                secrets=_rt.unwrap(secrets),
                text=text,
                bufsize=bufsize,
                pty=pty,
                _pty_info=_pty_info,
                pty_info=pty_info,
            )
        )
        return ContainerProcess._from_impl(_r)


class _Sandbox_reload_volumes(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Make changes to the mounted volumes visible: nothing to do locally, every mount sees every write at once

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, *, timeout: int = 55) -> None:
        """Make changes to the mounted volumes visible: nothing to do locally, every mount sees every write at once
        (see ``sandbox_core.volume``). Checks ``timeout`` as Modal does, and that the handle is attached.
        """
        _rt.run_sync(self._impl.reload_volumes(timeout=timeout))

    async def aio(self, *, timeout: int = 55) -> None:
        await _rt.run_async(self._impl.reload_volumes(timeout=timeout))


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


class _Sandbox__experimental_set_outbound_network_policy(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Replace the outbound network policy of the running sandbox: with either list given, only what the lists

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        *,
        outbound_cidr_allowlist: Sequence[str] | None = None,
        outbound_domain_allowlist: Sequence[str] | None = None,
    ) -> None:
        """Replace the outbound network policy of the running sandbox: with either list given, only what the lists
        allow (as at ``create``); with neither, open egress (still isolated from other sandboxes and the host,
        unless isolation is off). Established connections the new policy no longer allows are cut.

        Raises ``InvalidError`` for a bad entry or a sandbox without an enforcement point (``block_network``),
        ``ConflictError`` when it has finished.
        """
        _rt.run_sync(
            self._impl._experimental_set_outbound_network_policy(
                outbound_cidr_allowlist=outbound_cidr_allowlist, outbound_domain_allowlist=outbound_domain_allowlist
            )
        )

    async def aio(
        self,
        *,
        outbound_cidr_allowlist: Sequence[str] | None = None,
        outbound_domain_allowlist: Sequence[str] | None = None,
    ) -> None:
        await _rt.run_async(
            self._impl._experimental_set_outbound_network_policy(
                outbound_cidr_allowlist=outbound_cidr_allowlist, outbound_domain_allowlist=outbound_domain_allowlist
            )
        )


class _Sandbox_tunnels(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """container port -> ``Tunnel`` for each declared port; ``{}`` for a sandbox without ports.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, timeout: int = 50) -> dict[int, Tunnel]:
        """container port -> ``Tunnel`` for each declared port; ``{}`` for a sandbox without ports.

        Waits up to ``timeout`` seconds for the supervisor to open them and raises ``SandboxTimeoutError`` if it
        does not (or the sandbox has finished). The answer is cached on this handle once non-empty.

        Every tunnel listens on ``127.0.0.1`` (``SANDBOX_CORE_TUNNEL_HOST`` changes the address, in the environment
        of the process that starts the supervisor) at a port of its own, until the sandbox ends; the creating process
        may exit meanwhile. An ``unencrypted_ports`` tunnel relays plain TCP (``tcp_socket``). An ``encrypted_ports``
        tunnel terminates TLS with a certificate of this user's local CA — trust ``sandbox_core.ca_cert_path()`` —
        and relays the decrypted bytes (``url``, ``tls_socket``); ``h2_ports`` also offer HTTP/2 by ALPN, for a
        server that speaks cleartext HTTP/2. Only peers in ``inbound_cidr_allowlist`` may connect.
        """
        return _rt.run_sync(self._impl.tunnels(timeout))

    async def aio(self, timeout: int = 50) -> dict[int, Tunnel]:
        return await _rt.run_async(self._impl.tunnels(timeout))


class _Sandbox_create_connect_token(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """A token for HTTP and WebSocket requests to container ``port`` through the supervisor's token proxy.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self, user_metadata: str | dict[str, Any] | None = None, port: int = 8080
    ) -> SandboxConnectCredentials:
        """A token for HTTP and WebSocket requests to container ``port`` through the supervisor's token proxy.

        Send requests to ``credentials.url`` with ``Authorization: Bearer <token>`` (or the query parameter
        ``_modal_connect_token=<token>``); they are forwarded to the port (declared or not) with
        ``user_metadata`` (a dict is sent as JSON) in the ``X-Verified-User-Data`` header, which clients cannot
        set themselves. A missing or wrong token gets 401, a peer outside ``inbound_cidr_allowlist`` 403. Tokens
        are 256 random bits, stored only hashed, and die with the sandbox.

        Raises ``InvalidError`` for a bad ``port`` or ``user_metadata`` (Modal's checks; also one over 8 KiB or with
        line breaks), for a sandbox without network, or for an undeclared port this host cannot reach;
        ``ConflictError`` once the sandbox has finished.
        """
        return _rt.run_sync(self._impl.create_connect_token(user_metadata, port))

    async def aio(
        self, user_metadata: str | dict[str, Any] | None = None, port: int = 8080
    ) -> SandboxConnectCredentials:
        return await _rt.run_async(self._impl.create_connect_token(user_metadata, port))


class _Sandbox_wait_until_ready(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Return once the sandbox's ``readiness_probe`` has succeeded (the supervisor runs it from the start).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, *, timeout: int = 300) -> None:
        """Return once the sandbox's ``readiness_probe`` has succeeded (the supervisor runs it from the start).

        Raises ``InvalidError`` unless ``timeout`` > 0, ``ConflictError`` for a finished sandbox (also one that ends
        while waiting) or one without a probe ("Sandbox does not have a readiness probe configured"),
        ``sandbox_core.exception.TimeoutError("Timeout expired")`` after ``timeout`` seconds.
        """
        _rt.run_sync(self._impl.wait_until_ready(timeout=timeout))

    async def aio(self, *, timeout: int = 300) -> None:
        await _rt.run_async(self._impl.wait_until_ready(timeout=timeout))


class _Sandbox_snapshot_filesystem(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """An image of the sandbox's whole filesystem (hydrated; usable as ``Sandbox.create(image=...)``), kept

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, timeout: int = 55, *, ttl: int | None = 30 * 24 * 3600) -> Image:
        """An image of the sandbox's whole filesystem (hydrated; usable as ``Sandbox.create(image=...)``), kept
        ``ttl`` seconds (None: until removed). ``TimeoutError("Timeout expired")`` after ``timeout`` seconds.
        """
        _r = _rt.run_sync(self._impl.snapshot_filesystem(timeout, ttl=ttl))
        return Image._from_impl(_r)

    async def aio(self, timeout: int = 55, *, ttl: int | None = 30 * 24 * 3600) -> Image:
        _r = await _rt.run_async(self._impl.snapshot_filesystem(timeout, ttl=ttl))
        return Image._from_impl(_r)


class _Sandbox_snapshot_directory(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """An image holding directory ``path`` (absolute) at its root, for ``mount_image``; ``ttl`` and

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        path: PurePosixPath | str,
        *,
        timeout: int = 55,
        ttl: int | None = 30 * 24 * 3600,
        _experimental_encryption_key: bytes | None = None,
    ) -> Image:
        """An image holding directory ``path`` (absolute) at its root, for ``mount_image``; ``ttl`` and
        ``timeout`` as for ``snapshot_filesystem``.
        """
        _r = _rt.run_sync(
            self._impl.snapshot_directory(
                path, timeout=timeout, ttl=ttl, _experimental_encryption_key=_experimental_encryption_key
            )
        )
        return Image._from_impl(_r)

    async def aio(
        self,
        path: PurePosixPath | str,
        *,
        timeout: int = 55,
        ttl: int | None = 30 * 24 * 3600,
        _experimental_encryption_key: bytes | None = None,
    ) -> Image:
        _r = await _rt.run_async(
            self._impl.snapshot_directory(
                path, timeout=timeout, ttl=ttl, _experimental_encryption_key=_experimental_encryption_key
            )
        )
        return Image._from_impl(_r)


class _Sandbox_mount_image(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Put the files of ``image`` (built, ``from_id``, a snapshot; ``from_scratch()``: empty) at ``path``,

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self, path: PurePosixPath | str, image: Image, *, _experimental_encryption_key: bytes | None = None
    ) -> None:
        """Put the files of ``image`` (built, ``from_id``, a snapshot; ``from_scratch()``: empty) at ``path``,
        the previous content set aside until ``unmount_image(path)``. Locally a copy, not a live mount: see
        ``docs/guide/images.md``.
        """
        _rt.run_sync(
            self._impl.mount_image(path, _rt.unwrap(image), _experimental_encryption_key=_experimental_encryption_key)
        )

    async def aio(
        self, path: PurePosixPath | str, image: Image, *, _experimental_encryption_key: bytes | None = None
    ) -> None:
        await _rt.run_async(
            self._impl.mount_image(path, _rt.unwrap(image), _experimental_encryption_key=_experimental_encryption_key)
        )


class _Sandbox_unmount_image(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Remove what ``mount_image`` put at ``path`` and restore what was there before.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, path: PurePosixPath | str) -> None:
        """Remove what ``mount_image`` put at ``path`` and restore what was there before."""
        _rt.run_sync(self._impl.unmount_image(path))

    async def aio(self, path: PurePosixPath | str) -> None:
        await _rt.run_async(self._impl.unmount_image(path))


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
        """The exit code once known (updated by ``wait``/``poll``/``from_id``): 137 after ``terminate`` (or when
        the cluster node that ran it was lost), 124 after the lifetime ``timeout``, otherwise the entrypoint's code;
        None while running. Works after detach.
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
    def reload_volumes(self) -> _Sandbox_reload_volumes:
        """Make changes to the mounted volumes visible: nothing to do locally, every mount sees every write at once
        (see ``sandbox_core.volume``). Checks ``timeout`` as Modal does, and that the handle is attached.
        """
        return _Sandbox_reload_volumes(self)

    @property
    def logs(self) -> SandboxLogsManager:
        """The entrypoint's output as timestamped entries (``fetch``, ``tail``); exec output is not included.
        Works after ``detach``, and after the sandbox ended for as long as it is kept.
        """
        self._check()
        _r = _rt.call_sync(lambda: self._impl.logs)
        return SandboxLogsManager._from_impl(_r)

    @property
    def _experimental_sidecars(self) -> SidecarManager:
        """Manage sidecar containers running in this Sandbox (Modal's experimental API; see ``sidecars``)."""
        self._check()
        _r = _rt.call_sync(lambda: self._impl._experimental_sidecars)
        return SidecarManager._from_impl(_r)

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

    @property
    def _experimental_set_outbound_network_policy(self) -> _Sandbox__experimental_set_outbound_network_policy:
        """Replace the outbound network policy of the running sandbox: with either list given, only what the lists
        allow (as at ``create``); with neither, open egress (still isolated from other sandboxes and the host,
        unless isolation is off). Established connections the new policy no longer allows are cut.

        Raises ``InvalidError`` for a bad entry or a sandbox without an enforcement point (``block_network``),
        ``ConflictError`` when it has finished.
        """
        return _Sandbox__experimental_set_outbound_network_policy(self)

    @property
    def tunnels(self) -> _Sandbox_tunnels:
        """container port -> ``Tunnel`` for each declared port; ``{}`` for a sandbox without ports.

        Waits up to ``timeout`` seconds for the supervisor to open them and raises ``SandboxTimeoutError`` if it
        does not (or the sandbox has finished). The answer is cached on this handle once non-empty.

        Every tunnel listens on ``127.0.0.1`` (``SANDBOX_CORE_TUNNEL_HOST`` changes the address, in the environment
        of the process that starts the supervisor) at a port of its own, until the sandbox ends; the creating process
        may exit meanwhile. An ``unencrypted_ports`` tunnel relays plain TCP (``tcp_socket``). An ``encrypted_ports``
        tunnel terminates TLS with a certificate of this user's local CA — trust ``sandbox_core.ca_cert_path()`` —
        and relays the decrypted bytes (``url``, ``tls_socket``); ``h2_ports`` also offer HTTP/2 by ALPN, for a
        server that speaks cleartext HTTP/2. Only peers in ``inbound_cidr_allowlist`` may connect.
        """
        return _Sandbox_tunnels(self)

    @property
    def create_connect_token(self) -> _Sandbox_create_connect_token:
        """A token for HTTP and WebSocket requests to container ``port`` through the supervisor's token proxy.

        Send requests to ``credentials.url`` with ``Authorization: Bearer <token>`` (or the query parameter
        ``_modal_connect_token=<token>``); they are forwarded to the port (declared or not) with
        ``user_metadata`` (a dict is sent as JSON) in the ``X-Verified-User-Data`` header, which clients cannot
        set themselves. A missing or wrong token gets 401, a peer outside ``inbound_cidr_allowlist`` 403. Tokens
        are 256 random bits, stored only hashed, and die with the sandbox.

        Raises ``InvalidError`` for a bad ``port`` or ``user_metadata`` (Modal's checks; also one over 8 KiB or with
        line breaks), for a sandbox without network, or for an undeclared port this host cannot reach;
        ``ConflictError`` once the sandbox has finished.
        """
        return _Sandbox_create_connect_token(self)

    @property
    def wait_until_ready(self) -> _Sandbox_wait_until_ready:
        """Return once the sandbox's ``readiness_probe`` has succeeded (the supervisor runs it from the start).

        Raises ``InvalidError`` unless ``timeout`` > 0, ``ConflictError`` for a finished sandbox (also one that ends
        while waiting) or one without a probe ("Sandbox does not have a readiness probe configured"),
        ``sandbox_core.exception.TimeoutError("Timeout expired")`` after ``timeout`` seconds.
        """
        return _Sandbox_wait_until_ready(self)

    @property
    def snapshot_filesystem(self) -> _Sandbox_snapshot_filesystem:
        """An image of the sandbox's whole filesystem (hydrated; usable as ``Sandbox.create(image=...)``), kept
        ``ttl`` seconds (None: until removed). ``TimeoutError("Timeout expired")`` after ``timeout`` seconds.
        """
        return _Sandbox_snapshot_filesystem(self)

    @property
    def snapshot_directory(self) -> _Sandbox_snapshot_directory:
        """An image holding directory ``path`` (absolute) at its root, for ``mount_image``; ``ttl`` and
        ``timeout`` as for ``snapshot_filesystem``.
        """
        return _Sandbox_snapshot_directory(self)

    @property
    def mount_image(self) -> _Sandbox_mount_image:
        """Put the files of ``image`` (built, ``from_id``, a snapshot; ``from_scratch()``: empty) at ``path``,
        the previous content set aside until ``unmount_image(path)``. Locally a copy, not a live mount: see
        ``docs/guide/images.md``.
        """
        return _Sandbox_mount_image(self)

    @property
    def unmount_image(self) -> _Sandbox_unmount_image:
        """Remove what ``mount_image`` put at ``path`` and restore what was there before."""
        return _Sandbox_unmount_image(self)


class _SandboxLogsManager_fetch(_rt.BoundMethod[_i__logs_manager.SandboxLogsManager]):
    """The entries received from ``since`` to ``until`` (default: now), both inclusive, oldest first; only

    Call it to block; ``.aio(...)`` is the async generator.
    """

    __slots__ = ()

    def __call__(
        self, *, since: datetime, until: datetime | None = None, source: LogSource | None = None, search_text: str = ""
    ) -> Generator[LogEntry, None, None]:
        """The entries received from ``since`` to ``until`` (default: now), both inclusive, oldest first; only
        ``source``'s when given, only those containing ``search_text`` (case-sensitive). A naive datetime is local
        time. ``TypeError`` for a non-datetime, ``ValueError`` for an unknown source, ``LogsFetchError`` for a range
        over 35 days.
        """
        return _rt.iter_sync(
            lambda: self._impl.fetch(since=since, until=until, source=source, search_text=search_text), name="fetch"
        )

    def aio(
        self, *, since: datetime, until: datetime | None = None, source: LogSource | None = None, search_text: str = ""
    ) -> AsyncGenerator[LogEntry, None]:
        return _rt.iter_async(
            lambda: self._impl.fetch(since=since, until=until, source=source, search_text=search_text)
        )


class _SandboxLogsManager_tail(_rt.BoundMethod[_i__logs_manager.SandboxLogsManager]):
    """The last ``entries`` entries (only ``source``'s when given), oldest first. ``LogsFetchError`` for more

    Call it to block; ``.aio(...)`` is the async generator.
    """

    __slots__ = ()

    def __call__(self, entries: int = 100, *, source: LogSource | None = None) -> Generator[LogEntry, None, None]:
        """The last ``entries`` entries (only ``source``'s when given), oldest first. ``LogsFetchError`` for more
        than 20000.
        """
        return _rt.iter_sync(lambda: self._impl.tail(entries, source=source), name="tail")

    def aio(self, entries: int = 100, *, source: LogSource | None = None) -> AsyncGenerator[LogEntry, None]:
        return _rt.iter_async(lambda: self._impl.tail(entries, source=source))


class SandboxLogsManager(_rt.Wrapper):
    """``sb.logs``: ``fetch`` a time range or ``tail`` the last entries of the sandbox's entrypoint output."""

    __slots__ = ()
    _impl: _i__logs_manager.SandboxLogsManager

    @classmethod
    def _from_impl(cls, impl: _i__logs_manager.SandboxLogsManager) -> SandboxLogsManager:
        return _rt.wrap_cached(cls, impl)

    @property
    def fetch(self) -> _SandboxLogsManager_fetch:
        """The entries received from ``since`` to ``until`` (default: now), both inclusive, oldest first; only
        ``source``'s when given, only those containing ``search_text`` (case-sensitive). A naive datetime is local
        time. ``TypeError`` for a non-datetime, ``ValueError`` for an unknown source, ``LogsFetchError`` for a range
        over 35 days.
        """
        return _SandboxLogsManager_fetch(self)

    @property
    def tail(self) -> _SandboxLogsManager_tail:
        """The last ``entries`` entries (only ``source``'s when given), oldest first. ``LogsFetchError`` for more
        than 20000.
        """
        return _SandboxLogsManager_tail(self)


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
    """Set the window size of a ``pty=True`` process. Raises ``InvalidError`` without a PTY. Input written to

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, rows: int, cols: int) -> None:
        """Set the window size of a ``pty=True`` process. Raises ``InvalidError`` without a PTY. Input written to
        stdin after this call reaches the process after the new size is set.
        """
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
        OOM kill of another process of the sandbox during this one's run counts too, except kills that continue an
        episode already reported to an earlier exec of this process, each less than a second after the one before),
        else ``EndReason.EXITED``.
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
        """Set the window size of a ``pty=True`` process. Raises ``InvalidError`` without a PTY. Input written to
        stdin after this call reaches the process after the new size is set.
        """
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
        ancestor is a symlink; ``InvalidError`` when ``create_parents`` is not a bool.
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

        Raises ``SandboxFilesystemNotFoundError``, ``…DirectoryNotEmptyError``, ``…PermissionError``;
        ``InvalidError`` when ``recursive`` is not a bool. Needs ``/bin/sh`` in the image.
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
        ancestor is a symlink; ``InvalidError`` when ``create_parents`` is not a bool.
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

        Raises ``SandboxFilesystemNotFoundError``, ``…DirectoryNotEmptyError``, ``…PermissionError``;
        ``InvalidError`` when ``recursive`` is not a bool. Needs ``/bin/sh`` in the image.
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


class _SidecarManager_create(_rt.BoundMethod[_i_sidecars.SidecarManager]):
    """Start a sidecar running ``args`` (or its image's command) in ``image``, in the sandbox's network namespace.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        *args: str,
        name: str,
        image: Image,
        env: dict[str, str] | None = None,
        secrets: Collection[Secret] | None = None,
        workdir: str | None = None,
        volumes: dict[str | PathLike[str], Any] | None = None,
        outbound_cidr_allowlist: Sequence[str] | None = None,
        outbound_domain_allowlist: Sequence[str] | None = None,
        pty: bool = False,
    ) -> SidecarContainer:
        """Start a sidecar running ``args`` (or its image's command) in ``image``, in the sandbox's network namespace.

        Raises ``InvalidError`` (Modal's checks, in Modal's order; see the module docstring for what the local
        backend refuses), ``AlreadyExistsError`` when a running sidecar of the sandbox has ``name``,
        ``ConflictError`` when the sandbox is not running.
        """
        _r = _rt.run_sync(
            self._impl.create(
                *args,
                name=name,
                image=_rt.unwrap(image),
                env=env,
                secrets=_rt.unwrap(secrets),
                workdir=workdir,
                volumes=volumes,
                outbound_cidr_allowlist=outbound_cidr_allowlist,
                outbound_domain_allowlist=outbound_domain_allowlist,
                pty=pty,
            )
        )
        return SidecarContainer._from_impl(_r)

    async def aio(
        self,
        *args: str,
        name: str,
        image: Image,
        env: dict[str, str] | None = None,
        secrets: Collection[Secret] | None = None,
        workdir: str | None = None,
        volumes: dict[str | PathLike[str], Any] | None = None,
        outbound_cidr_allowlist: Sequence[str] | None = None,
        outbound_domain_allowlist: Sequence[str] | None = None,
        pty: bool = False,
    ) -> SidecarContainer:
        _r = await _rt.run_async(
            self._impl.create(
                *args,
                name=name,
                image=_rt.unwrap(image),
                env=env,
                secrets=_rt.unwrap(secrets),
                workdir=workdir,
                volumes=volumes,
                outbound_cidr_allowlist=outbound_cidr_allowlist,
                outbound_domain_allowlist=outbound_domain_allowlist,
                pty=pty,
            )
        )
        return SidecarContainer._from_impl(_r)


class _SidecarManager_get(_rt.BoundMethod[_i_sidecars.SidecarManager]):
    """The sidecar called ``name`` (a running one unless ``include_terminated``); ``NotFoundError`` if none.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, *, name: str, include_terminated: bool = False) -> SidecarContainer:
        """The sidecar called ``name`` (a running one unless ``include_terminated``); ``NotFoundError`` if none."""
        _r = _rt.run_sync(self._impl.get(name=name, include_terminated=include_terminated))
        return SidecarContainer._from_impl(_r)

    async def aio(self, *, name: str, include_terminated: bool = False) -> SidecarContainer:
        _r = await _rt.run_async(self._impl.get(name=name, include_terminated=include_terminated))
        return SidecarContainer._from_impl(_r)


class _SidecarManager_list(_rt.BoundMethod[_i_sidecars.SidecarManager]):
    """The sandbox's sidecars (running ones unless ``include_terminated``), oldest first.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, include_terminated: bool = False) -> builtins.list[SidecarContainer]:
        """The sandbox's sidecars (running ones unless ``include_terminated``), oldest first."""
        _r = _rt.run_sync(self._impl.list(include_terminated))
        return [SidecarContainer._from_impl(_x) for _x in _r]

    async def aio(self, include_terminated: bool = False) -> builtins.list[SidecarContainer]:
        _r = await _rt.run_async(self._impl.list(include_terminated))
        return [SidecarContainer._from_impl(_x) for _x in _r]


class SidecarManager(_rt.Wrapper):
    """The sidecars of one sandbox (``sb._experimental_sidecars``)."""

    __slots__ = ()
    _impl: _i_sidecars.SidecarManager

    @classmethod
    def _from_impl(cls, impl: _i_sidecars.SidecarManager) -> SidecarManager:
        return _rt.wrap_cached(cls, impl)

    @property
    def create(self) -> _SidecarManager_create:
        """Start a sidecar running ``args`` (or its image's command) in ``image``, in the sandbox's network namespace.

        Raises ``InvalidError`` (Modal's checks, in Modal's order; see the module docstring for what the local
        backend refuses), ``AlreadyExistsError`` when a running sidecar of the sandbox has ``name``,
        ``ConflictError`` when the sandbox is not running.
        """
        return _SidecarManager_create(self)

    @property
    def get(self) -> _SidecarManager_get:
        """The sidecar called ``name`` (a running one unless ``include_terminated``); ``NotFoundError`` if none."""
        return _SidecarManager_get(self)

    @property
    def list(self) -> _SidecarManager_list:
        """The sandbox's sidecars (running ones unless ``include_terminated``), oldest first."""
        return _SidecarManager_list(self)


class _SidecarContainer_exec(_rt.BoundMethod[_i_sidecars.SidecarContainer]):
    """Run ``args`` in the sidecar: ``Sandbox.exec``'s contract (checks, streams, timeout, start failures).

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
    ) -> ContainerProcess[Any]:
        """Run ``args`` in the sidecar: ``Sandbox.exec``'s contract (checks, streams, timeout, start failures)."""
        _r = _rt.run_sync(
            typing.cast(typing.Any, self._impl).exec(
                *args,
                stdout=stdout,
                stderr=stderr,
                timeout=timeout,
                workdir=workdir,
                env=env,
                secrets=_rt.unwrap(secrets),
                text=text,
                bufsize=bufsize,
                pty=pty,
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
    ) -> ContainerProcess[Any]:
        _r = await _rt.run_async(
            typing.cast(typing.Any, self._impl).exec(
                *args,
                stdout=stdout,
                stderr=stderr,
                timeout=timeout,
                workdir=workdir,
                env=env,
                secrets=_rt.unwrap(secrets),
                text=text,
                bufsize=bufsize,
                pty=pty,
            )
        )
        return ContainerProcess._from_impl(_r)


class _SidecarContainer_wait(_rt.BoundMethod[_i_sidecars.SidecarContainer]):
    """Block until the sidecar ends; ``SandboxTerminatedError`` if it was terminated (by ``terminate`` or with

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, raise_on_termination: bool = True) -> None:
        """Block until the sidecar ends; ``SandboxTerminatedError`` if it was terminated (by ``terminate`` or with
        its sandbox) and ``raise_on_termination``.
        """
        _rt.run_sync(self._impl.wait(raise_on_termination))

    async def aio(self, raise_on_termination: bool = True) -> None:
        await _rt.run_async(self._impl.wait(raise_on_termination))


class _SidecarContainer_poll(_rt.BoundMethod[_i_sidecars.SidecarContainer]):
    """The return code once the sidecar has ended (137 if terminated), else None.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> int | None:
        """The return code once the sidecar has ended (137 if terminated), else None."""
        return _rt.run_sync(self._impl.poll())

    async def aio(self) -> int | None:
        return await _rt.run_async(self._impl.poll())


class _SidecarContainer_terminate(_rt.BoundMethod[_i_sidecars.SidecarContainer]):
    """Stop the sidecar (its sandbox keeps running); with ``wait=True`` returns its return code (137).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    @typing.overload
    def __call__(self, *, wait: Literal[True]) -> int: ...

    @typing.overload
    def __call__(self, *, wait: Literal[False] = False) -> None: ...

    def __call__(self, *, wait: bool = False) -> int | None:
        """Stop the sidecar (its sandbox keeps running); with ``wait=True`` returns its return code (137)."""
        _r: int | None = _rt.run_sync(typing.cast(typing.Any, self._impl).terminate(wait=wait))
        return _r

    @typing.overload
    async def aio(self, *, wait: Literal[True]) -> int: ...

    @typing.overload
    async def aio(self, *, wait: Literal[False] = False) -> None: ...

    async def aio(self, *, wait: bool = False) -> int | None:
        _r: int | None = await _rt.run_async(typing.cast(typing.Any, self._impl).terminate(wait=wait))
        return _r


class _SidecarContainer_reload_volumes(_rt.BoundMethod[_i_sidecars.SidecarContainer]):
    """Not supported: sidecars have no volume mounts locally (``InvalidError``).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, *, timeout: int = 55) -> None:
        """Not supported: sidecars have no volume mounts locally (``InvalidError``)."""
        _rt.run_sync(self._impl.reload_volumes(timeout=timeout))

    async def aio(self, *, timeout: int = 55) -> None:
        await _rt.run_async(self._impl.reload_volumes(timeout=timeout))


class SidecarContainer(_rt.Wrapper):
    """One sidecar of a sandbox: its id (``sc-…``) and name, exec, filesystem, wait/poll/terminate."""

    __slots__ = ()
    _impl: _i_sidecars.SidecarContainer

    @classmethod
    def _from_impl(cls, impl: _i_sidecars.SidecarContainer) -> SidecarContainer:
        return _rt.wrap_cached(cls, impl)

    @property
    def object_id(self) -> str:
        """The sidecar's id, ``sc-`` + 22 alphanumerics."""
        return self._impl.object_id

    @property
    def name(self) -> str:
        """The name given at ``create``."""
        return self._impl.name

    @property
    def exec(self) -> _SidecarContainer_exec:
        """Run ``args`` in the sidecar: ``Sandbox.exec``'s contract (checks, streams, timeout, start failures)."""
        return _SidecarContainer_exec(self)

    @property
    def filesystem(self) -> SandboxFilesystem:
        """File operations on the sidecar's own filesystem (``Sandbox.filesystem``'s API)."""
        self._check()
        _r = _rt.call_sync(lambda: self._impl.filesystem)
        return SandboxFilesystem._from_impl(_r)

    @property
    def wait(self) -> _SidecarContainer_wait:
        """Block until the sidecar ends; ``SandboxTerminatedError`` if it was terminated (by ``terminate`` or with
        its sandbox) and ``raise_on_termination``.
        """
        return _SidecarContainer_wait(self)

    @property
    def poll(self) -> _SidecarContainer_poll:
        """The return code once the sidecar has ended (137 if terminated), else None."""
        return _SidecarContainer_poll(self)

    @property
    def terminate(self) -> _SidecarContainer_terminate:
        """Stop the sidecar (its sandbox keeps running); with ``wait=True`` returns its return code (137)."""
        return _SidecarContainer_terminate(self)

    @property
    def reload_volumes(self) -> _SidecarContainer_reload_volumes:
        """Not supported: sidecars have no volume mounts locally (``InvalidError``)."""
        return _SidecarContainer_reload_volumes(self)


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


class _SandboxPool_create(_rt.Function):
    """A pool keeping ``size`` sandboxes of this spec warm (the parameters mean what they mean for

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        *,
        app: App | None = None,
        size: int,
        image: Image | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        workdir: str | None = None,
        cpu: float | tuple[float, float] | None = None,
        memory: int | tuple[int, int] | None = None,
        block_network: bool = False,
        outbound_cidr_allowlist: Sequence[str] | None = None,
        outbound_domain_allowlist: Sequence[str] | None = None,
        inbound_cidr_allowlist: Sequence[str] | None = None,
        volumes: dict[str | PathLike[str], Any] = {},
        encrypted_ports: Sequence[int] = [],
        h2_ports: Sequence[int] = [],
        unencrypted_ports: Sequence[int] = [],
        pty: bool = False,
        pids_limit: int | None = None,
        limits: Limits | None = None,
        runtime: str | None = None,
        max_age: int = DEFAULT_MAX_AGE,
        fill_concurrency: int = DEFAULT_FILL_CONCURRENCY,
        verbose: bool = False,
    ) -> SandboxPool:
        """A pool keeping ``size`` sandboxes of this spec warm (the parameters mean what they mean for
        ``Sandbox.create`` and are checked as it checks them). Returns once the first member is ready, so that a
        spec that cannot run (a missing image) raises here; ``wait_ready`` waits for more.

        ``max_age``: seconds an unclaimed member may wait (then it is replaced; also what bounds members whose pool's
        process died on another host). ``fill_concurrency``: members created at once.
        """
        _r = _rt.run_sync(
            _i_pool.SandboxPool.create(
                app=_rt.unwrap(app),
                size=size,
                image=_rt.unwrap(image),
                env=env,
                secrets=_rt.unwrap(secrets),
                workdir=workdir,
                cpu=cpu,
                memory=memory,
                block_network=block_network,
                outbound_cidr_allowlist=outbound_cidr_allowlist,
                outbound_domain_allowlist=outbound_domain_allowlist,
                inbound_cidr_allowlist=inbound_cidr_allowlist,
                volumes=volumes,
                encrypted_ports=encrypted_ports,
                h2_ports=h2_ports,
                unencrypted_ports=unencrypted_ports,
                pty=pty,
                pids_limit=pids_limit,
                limits=limits,
                runtime=runtime,
                max_age=max_age,
                fill_concurrency=fill_concurrency,
                verbose=verbose,
            )
        )
        return SandboxPool._from_impl(_r)

    async def aio(
        self,
        *,
        app: App | None = None,
        size: int,
        image: Image | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        workdir: str | None = None,
        cpu: float | tuple[float, float] | None = None,
        memory: int | tuple[int, int] | None = None,
        block_network: bool = False,
        outbound_cidr_allowlist: Sequence[str] | None = None,
        outbound_domain_allowlist: Sequence[str] | None = None,
        inbound_cidr_allowlist: Sequence[str] | None = None,
        volumes: dict[str | PathLike[str], Any] = {},
        encrypted_ports: Sequence[int] = [],
        h2_ports: Sequence[int] = [],
        unencrypted_ports: Sequence[int] = [],
        pty: bool = False,
        pids_limit: int | None = None,
        limits: Limits | None = None,
        runtime: str | None = None,
        max_age: int = DEFAULT_MAX_AGE,
        fill_concurrency: int = DEFAULT_FILL_CONCURRENCY,
        verbose: bool = False,
    ) -> SandboxPool:
        _r = await _rt.run_async(
            _i_pool.SandboxPool.create(
                app=_rt.unwrap(app),
                size=size,
                image=_rt.unwrap(image),
                env=env,
                secrets=_rt.unwrap(secrets),
                workdir=workdir,
                cpu=cpu,
                memory=memory,
                block_network=block_network,
                outbound_cidr_allowlist=outbound_cidr_allowlist,
                outbound_domain_allowlist=outbound_domain_allowlist,
                inbound_cidr_allowlist=inbound_cidr_allowlist,
                volumes=volumes,
                encrypted_ports=encrypted_ports,
                h2_ports=h2_ports,
                unencrypted_ports=unencrypted_ports,
                pty=pty,
                pids_limit=pids_limit,
                limits=limits,
                runtime=runtime,
                max_age=max_age,
                fill_concurrency=fill_concurrency,
                verbose=verbose,
            )
        )
        return SandboxPool._from_impl(_r)


class _SandboxPool_wait_ready(_rt.BoundMethod[_i_pool.SandboxPool]):
    """Wait until ``count`` members (default: ``size``) are ready. Raises the error that keeps members from

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, count: int | None = None, *, timeout: float | None = None) -> None:
        """Wait until ``count`` members (default: ``size``) are ready. Raises the error that keeps members from
        starting when the pool has not managed to start one (e.g. ``NotFoundError`` for a missing image),
        ``TimeoutError`` after ``timeout`` seconds.
        """
        _rt.run_sync(self._impl.wait_ready(count, timeout=timeout))

    async def aio(self, count: int | None = None, *, timeout: float | None = None) -> None:
        await _rt.run_async(self._impl.wait_ready(count, timeout=timeout))


class _SandboxPool_claim(_rt.BoundMethod[_i_pool.SandboxPool]):
    """A sandbox of the pool's spec, now: ``name``, ``tags``, ``timeout`` and ``idle_timeout`` as for

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        *,
        name: str | None = None,
        tags: dict[str, str] | None = None,
        timeout: int = 300,
        idle_timeout: int | None = None,
    ) -> Sandbox:
        """A sandbox of the pool's spec, now: ``name``, ``tags``, ``timeout`` and ``idle_timeout`` as for
        ``Sandbox.create`` (checked as it checks them; ``AlreadyExistsError`` when ``name`` is taken by a running
        sandbox of the app). A ready member when there is one, else a cold sandbox.
        """
        _r = _rt.run_sync(self._impl.claim(name=name, tags=tags, timeout=timeout, idle_timeout=idle_timeout))
        return Sandbox._from_impl(_r)

    async def aio(
        self,
        *,
        name: str | None = None,
        tags: dict[str, str] | None = None,
        timeout: int = 300,
        idle_timeout: int | None = None,
    ) -> Sandbox:
        _r = await _rt.run_async(self._impl.claim(name=name, tags=tags, timeout=timeout, idle_timeout=idle_timeout))
        return Sandbox._from_impl(_r)


class _SandboxPool_close(_rt.BoundMethod[_i_pool.SandboxPool]):
    """Stop filling and remove every unclaimed member (claimed sandboxes are not touched). Idempotent.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Stop filling and remove every unclaimed member (claimed sandboxes are not touched). Idempotent."""
        _rt.run_sync(self._impl.close())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.close())


class SandboxPool(_rt.Wrapper):
    """A warm pool of sandboxes with one spec (see the module docstring). Make one with ``SandboxPool.create``."""

    __slots__ = ()
    _impl: _i_pool.SandboxPool

    @classmethod
    def _from_impl(cls, impl: _i_pool.SandboxPool) -> SandboxPool:
        return _rt.wrap_cached(cls, impl)

    create: typing.ClassVar[_SandboxPool_create] = _SandboxPool_create()

    @property
    def pool_id(self) -> str:
        """The pool's id (``sp-…``), on its members' ``sandbox-core.pool`` label."""
        return self._impl.pool_id

    @property
    def size(self) -> int:
        """The number of members the pool keeps ready."""
        return self._impl.size

    @property
    def ready(self) -> int:
        """Members ready to be claimed now."""
        return self._impl.ready

    @property
    def claimed(self) -> int:
        """Sandboxes this pool handed out so far (members and cold ones)."""
        return self._impl.claimed

    @property
    def wait_ready(self) -> _SandboxPool_wait_ready:
        """Wait until ``count`` members (default: ``size``) are ready. Raises the error that keeps members from
        starting when the pool has not managed to start one (e.g. ``NotFoundError`` for a missing image),
        ``TimeoutError`` after ``timeout`` seconds.
        """
        return _SandboxPool_wait_ready(self)

    @property
    def claim(self) -> _SandboxPool_claim:
        """A sandbox of the pool's spec, now: ``name``, ``tags``, ``timeout`` and ``idle_timeout`` as for
        ``Sandbox.create`` (checked as it checks them; ``AlreadyExistsError`` when ``name`` is taken by a running
        sandbox of the app). A ready member when there is one, else a cold sandbox.
        """
        return _SandboxPool_claim(self)

    @property
    def close(self) -> _SandboxPool_close:
        """Stop filling and remove every unclaimed member (claimed sandboxes are not touched). Idempotent."""
        return _SandboxPool_close(self)

    def __enter__(self) -> SandboxPool:
        self._check()
        _r = _rt.run_sync(self._impl.__aenter__())
        return SandboxPool._from_impl(_r)

    async def __aenter__(self) -> SandboxPool:
        self._check()
        _r = await _rt.run_async(self._impl.__aenter__())
        return SandboxPool._from_impl(_r)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _rt.run_sync(self._impl.__aexit__(exc_type, exc, tb))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await _rt.run_async(self._impl.__aexit__(exc_type, exc, tb))


class _Image_hydrate(_rt.BoundMethod[_i_image.Image]):
    """Look up an image given by id or name (``NotFoundError`` when missing); no-op when hydrated. A

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, client: None = None) -> Image:
        """Look up an image given by id or name (``NotFoundError`` when missing); no-op when hydrated. A
        definition that needs building raises ``ExecutionError`` (Modal's rule): use ``build(app)``.
        """
        _r = _rt.run_sync(self._impl.hydrate(client))
        return Image._from_impl(_r)

    async def aio(self, client: None = None) -> Image:
        _r = await _rt.run_async(self._impl.hydrate(client))
        return Image._from_impl(_r)


class _Image_build(_rt.BoundMethod[_i_image.Image]):
    """Build the image now (only what is missing); returns ``self``, hydrated. Progress and the build log

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, app: AppLike) -> Image:
        """Build the image now (only what is missing); returns ``self``, hydrated. Progress and the build log
        show under ``enable_output()``. Raises ``ImageBuildError`` naming the failed step.
        """
        _r = _rt.run_sync(self._impl.build(app))
        return Image._from_impl(_r)

    async def aio(self, app: AppLike) -> Image:
        _r = await _rt.run_async(self._impl.build(app))
        return Image._from_impl(_r)


class _Image_publish(_rt.BoundMethod[_i_image.Image]):
    """Name this built image ``name[:tag]`` (tag ``latest`` when omitted) for ``Image.from_name``; publishing

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self,
        name: str,
        *,
        environment_name: str | None = None,
        experimental_options: dict[str, Any] | None = None,
        client: None = None,
    ) -> None:
        """Name this built image ``name[:tag]`` (tag ``latest`` when omitted) for ``Image.from_name``; publishing
        a name again moves it.
        """
        _rt.run_sync(
            self._impl.publish(
                name, environment_name=environment_name, experimental_options=experimental_options, client=client
            )
        )

    async def aio(
        self,
        name: str,
        *,
        environment_name: str | None = None,
        experimental_options: dict[str, Any] | None = None,
        client: None = None,
    ) -> None:
        await _rt.run_async(
            self._impl.publish(
                name, environment_name=environment_name, experimental_options=experimental_options, client=client
            )
        )


class Image(_rt.Wrapper):
    """A container image definition, built lazily on the local engine. Construct with a static method
    (``Image.debian_slim()``, ``from_registry``, ``from_dockerfile``, ``from_scratch``, ``from_id``, ``from_name``);
    direct construction raises ``InvalidError``.
    """

    __slots__ = ()
    _impl: _i_image.Image

    @classmethod
    def _from_impl(cls, impl: _i_image.Image) -> Image:
        return _rt.wrap_cached(cls, impl)

    @staticmethod
    def debian_slim(python_version: str | None = None, force_build: bool = False) -> Image:
        """Debian with Python (``python_version`` as ``3.X``; None: this interpreter's series) and ``CMD sleep
        172800``: the default image of ``Sandbox.create``. From the official ``python`` image where a registry
        answers, else built once from Debian's archive (3.11 and 3.13; others raise ``InvalidError`` saying why).
        """
        _r = _i_image.Image.debian_slim(python_version, force_build)
        return Image._from_impl(_r)

    @staticmethod
    def from_registry(
        tag: str,
        secret: Secret | None = None,
        *,
        setup_dockerfile_commands: builtins.list[str] = [],
        force_build: bool = False,
        add_python: str | None = None,
        **kwargs: Any,
    ) -> Image:
        """The image ``tag``: used as is when the engine has it, pulled (with progress) when missing.
        ``secret`` (registry credentials) only serves an image already present: the local engine pulls
        anonymously. ``force_build`` pulls again.
        """
        _r = _i_image.Image.from_registry(
            tag,
            _rt.unwrap(secret),
            setup_dockerfile_commands=setup_dockerfile_commands,
            force_build=force_build,
            add_python=add_python,
            **kwargs,
        )
        return Image._from_impl(_r)

    @staticmethod
    def from_aws_ecr(
        tag: str,
        secret: Secret | None = None,
        *,
        setup_dockerfile_commands: builtins.list[str] = [],
        force_build: bool = False,
        add_python: str | None = None,
        **kwargs: Any,
    ) -> Image:
        """An ECR image: usable when already on the engine (``docker login`` + ``docker pull`` it); the local
        backend cannot authenticate to ECR with a ``Secret``.
        """
        _r = _i_image.Image.from_aws_ecr(
            tag,
            _rt.unwrap(secret),
            setup_dockerfile_commands=setup_dockerfile_commands,
            force_build=force_build,
            add_python=add_python,
            **kwargs,
        )
        return Image._from_impl(_r)

    @staticmethod
    def from_gcp_artifact_registry(
        tag: str,
        secret: Secret | None = None,
        *,
        setup_dockerfile_commands: builtins.list[str] = [],
        force_build: bool = False,
        add_python: str | None = None,
        **kwargs: Any,
    ) -> Image:
        """A GCP Artifact Registry image: usable when already on the engine; the local backend cannot
        authenticate to GCP with a ``Secret``.
        """
        _r = _i_image.Image.from_gcp_artifact_registry(
            tag,
            _rt.unwrap(secret),
            setup_dockerfile_commands=setup_dockerfile_commands,
            force_build=force_build,
            add_python=add_python,
            **kwargs,
        )
        return Image._from_impl(_r)

    @staticmethod
    def from_dockerfile(
        path: str | Path,
        *,
        force_build: bool = False,
        context_dir: Path | str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
        add_python: str | None = None,
        build_args: dict[str, str] = {},
        ignore: Ignore | AutoDockerignore = AUTO_DOCKERIGNORE,
    ) -> Image:
        """The image a local Dockerfile describes, built on the engine with the files its ``COPY`` lines name
        from ``context_dir`` (default: the current directory) minus ``ignore`` (default: the ``.dockerignore``
        that applies). ``env``/``secrets`` reach its shell-form ``RUN`` lines.
        """
        _r = _i_image.Image.from_dockerfile(
            path,
            force_build=force_build,
            context_dir=context_dir,
            env=env,
            secrets=_rt.unwrap(secrets),
            gpu=gpu,
            add_python=add_python,
            build_args=build_args,
            ignore=ignore,
        )
        return Image._from_impl(_r)

    @staticmethod
    def from_scratch(force_build: bool = False) -> Image:
        """An empty filesystem (``FROM scratch``): add files with ``copy=True``; ``mount_image`` mounts it as an
        empty directory.
        """
        _r = _i_image.Image.from_scratch(force_build)
        return Image._from_impl(_r)

    @staticmethod
    def micromamba(python_version: str | None = None, force_build: bool = False) -> Image:
        """Modal's micromamba image (``mambaorg/micromamba``, pulled: needs a registry) with Python and pip."""
        _r = _i_image.Image.micromamba(python_version, force_build)
        return Image._from_impl(_r)

    @staticmethod
    def from_id(image_id: str, client: Client | None = None) -> Image:
        """The image with ``object_id`` ``image_id`` (``im-`` + 64 hex digits); ``object_id`` is set at once,
        the image is looked up when used (``NotFoundError`` when the engine lacks it).
        """
        _r = _i_image.Image.from_id(image_id, _rt.unwrap(client))
        return Image._from_impl(_r)

    @staticmethod
    def from_name(name: str, *, environment_name: str | None = None, client: None = None) -> Image:
        """The image published as ``name[:tag]`` (tag ``latest`` when omitted); looked up when used
        (``NotFoundError`` when nothing was published under that name).
        """
        _r = _i_image.Image.from_name(name, environment_name=environment_name, client=client)
        return Image._from_impl(_r)

    def add_local_file(self, local_path: str | Path, remote_path: str, *, copy: bool = False) -> Image:
        """``local_path`` at ``remote_path`` (absolute; a trailing ``/`` keeps the file's name): copied into each
        container before it starts (``copy=False``), or into a layer of the image (``copy=True``).
        """
        self._check()
        _r = self._impl.add_local_file(local_path, remote_path, copy=copy)
        return Image._from_impl(_r)

    def add_local_dir(
        self, local_path: str | Path, remote_path: str, *, copy: bool = False, ignore: Ignore = []
    ) -> Image:
        """The content of directory ``local_path`` under ``remote_path`` (absolute), minus what ``ignore``
        (patterns or a predicate of the relative path) excludes; ``copy`` as for ``add_local_file``.
        """
        self._check()
        _r = self._impl.add_local_dir(local_path, remote_path, copy=copy, ignore=ignore)
        return Image._from_impl(_r)

    def add_local_python_source(self, *modules: str, copy: bool = False, ignore: Ignore = NON_PYTHON_FILES) -> Image:
        """The local Python packages/modules ``modules`` under ``/root`` (by default only their ``.py`` files);
        ``copy`` as for ``add_local_file``.
        """
        self._check()
        _r = self._impl.add_local_python_source(*modules, copy=copy, ignore=ignore)
        return Image._from_impl(_r)

    def run_commands(
        self,
        *commands: str | builtins.list[str],
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        volumes: dict[str | PurePosixPath, Any] | None = None,
        gpu: str | None = None,
        force_build: bool = False,
    ) -> Image:
        """``RUN <command>`` for each command, with ``env``/``secrets`` in its environment (not in the image)."""
        self._check()
        _r = self._impl.run_commands(
            *commands, env=env, secrets=_rt.unwrap(secrets), volumes=volumes, gpu=gpu, force_build=force_build
        )
        return Image._from_impl(_r)

    def dockerfile_commands(
        self,
        *dockerfile_commands: str | builtins.list[str],
        context_files: dict[str, str] = {},
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
        context_dir: Path | str | None = None,
        force_build: bool = False,
        ignore: Ignore | AutoDockerignore = AUTO_DOCKERIGNORE,
        build_args: dict[str, str] = {},
    ) -> Image:
        """Raw Dockerfile instructions after ``FROM <this image>``, with ``context_files`` and the files of
        ``context_dir`` (default: the current directory) that their ``COPY`` lines name, minus ``ignore``.
        """
        self._check()
        _r = self._impl.dockerfile_commands(
            *dockerfile_commands,
            context_files=context_files,
            env=env,
            secrets=_rt.unwrap(secrets),
            gpu=gpu,
            context_dir=context_dir,
            force_build=force_build,
            ignore=ignore,
            build_args=build_args,
        )
        return Image._from_impl(_r)

    def entrypoint(self, entrypoint_commands: builtins.list[str]) -> Image:
        """``ENTRYPOINT [...]``."""
        self._check()
        _r = self._impl.entrypoint(entrypoint_commands)
        return Image._from_impl(_r)

    def cmd(self, cmd: builtins.list[str]) -> Image:
        """``CMD [...]``: what a sandbox runs when ``Sandbox.create`` gets no command."""
        self._check()
        _r = self._impl.cmd(cmd)
        return Image._from_impl(_r)

    def shell(self, shell_commands: builtins.list[str]) -> Image:
        """``SHELL [...]``: the shell later ``RUN`` lines use."""
        self._check()
        _r = self._impl.shell(shell_commands)
        return Image._from_impl(_r)

    def env(self, vars: dict[str, str]) -> Image:
        """``ENV K=<value>`` for each variable: kept in the image."""
        self._check()
        _r = self._impl.env(vars)
        return Image._from_impl(_r)

    def workdir(self, path: str | PurePosixPath) -> Image:
        """``WORKDIR <path>``."""
        self._check()
        _r = self._impl.workdir(path)
        return Image._from_impl(_r)

    def run_function(self, raw_f: Callable[..., Any], **kwargs: Any) -> Image:
        """Not available locally: raises ``InvalidError`` (use ``run_commands``)."""
        self._check()
        _r = self._impl.run_function(raw_f, **kwargs)
        return Image._from_impl(_r)

    def imports(self) -> AbstractContextManager[None]:
        """Modal's ``with image.imports():`` block: imports that fail locally (the packages live in the image)
        are ignored; other exceptions are ignored with a warning.
        """
        self._check()
        _r: AbstractContextManager[None] = self._impl.imports()
        return _r

    @property
    def force_build(self) -> bool:
        """Whether steps added to this image are rebuilt on every build (``force_build=True`` upstream)."""
        return self._impl.force_build

    @property
    def object_id(self) -> str:
        """``im-`` + the engine image id. ``AttributeError`` until built (or given by ``from_id``)."""
        return self._impl.object_id

    @property
    def is_hydrated(self) -> bool:
        """True once built or looked up on the engine."""
        return self._impl.is_hydrated

    @property
    def hydrate(self) -> _Image_hydrate:
        """Look up an image given by id or name (``NotFoundError`` when missing); no-op when hydrated. A
        definition that needs building raises ``ExecutionError`` (Modal's rule): use ``build(app)``.
        """
        return _Image_hydrate(self)

    @property
    def build(self) -> _Image_build:
        """Build the image now (only what is missing); returns ``self``, hydrated. Progress and the build log
        show under ``enable_output()``. Raises ``ImageBuildError`` naming the failed step.
        """
        return _Image_build(self)

    @property
    def publish(self) -> _Image_publish:
        """Name this built image ``name[:tag]`` (tag ``latest`` when omitted) for ``Image.from_name``; publishing
        a name again moves it.
        """
        return _Image_publish(self)

    def pip_install(
        self,
        *packages: str | builtins.list[str],
        find_links: str | None = None,
        index_url: str | None = None,
        extra_index_url: str | None = None,
        pre: bool = False,
        extra_options: str = "",
        force_build: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Image:
        """``RUN python -m pip install <sorted packages> <options>``."""
        self._check()
        _r = self._impl.pip_install(
            *packages,
            find_links=find_links,
            index_url=index_url,
            extra_index_url=extra_index_url,
            pre=pre,
            extra_options=extra_options,
            force_build=force_build,
            env=env,
            secrets=_rt.unwrap(secrets),
            gpu=gpu,
        )
        return Image._from_impl(_r)

    def pip_install_from_requirements(
        self,
        requirements_txt: str,
        find_links: str | None = None,
        *,
        index_url: str | None = None,
        extra_index_url: str | None = None,
        pre: bool = False,
        extra_options: str = "",
        force_build: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Image:
        """``pip install -r`` a local requirements file (copied into the image as ``/.requirements.txt``)."""
        self._check()
        _r = self._impl.pip_install_from_requirements(
            requirements_txt,
            find_links,
            index_url=index_url,
            extra_index_url=extra_index_url,
            pre=pre,
            extra_options=extra_options,
            force_build=force_build,
            env=env,
            secrets=_rt.unwrap(secrets),
            gpu=gpu,
        )
        return Image._from_impl(_r)

    def pip_install_from_pyproject(
        self,
        pyproject_toml: str,
        optional_dependencies: builtins.list[str] = [],
        *,
        find_links: str | None = None,
        index_url: str | None = None,
        extra_index_url: str | None = None,
        pre: bool = False,
        extra_options: str = "",
        force_build: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Image:
        """``pip install`` the ``[project.dependencies]`` of a local ``pyproject.toml`` (and the named optional
        groups).
        """
        self._check()
        _r = self._impl.pip_install_from_pyproject(
            pyproject_toml,
            optional_dependencies,
            find_links=find_links,
            index_url=index_url,
            extra_index_url=extra_index_url,
            pre=pre,
            extra_options=extra_options,
            force_build=force_build,
            env=env,
            secrets=_rt.unwrap(secrets),
            gpu=gpu,
        )
        return Image._from_impl(_r)

    def pip_install_private_repos(
        self,
        *repositories: str,
        git_user: str,
        find_links: str | None = None,
        index_url: str | None = None,
        extra_index_url: str | None = None,
        pre: bool = False,
        extra_options: str = "",
        gpu: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        force_build: bool = False,
    ) -> Image:
        """``pip install`` private GitHub/GitLab repositories with ``GITHUB_TOKEN``/``GITLAB_TOKEN`` from
        ``secrets``.
        """
        self._check()
        _r = self._impl.pip_install_private_repos(
            *repositories,
            git_user=git_user,
            find_links=find_links,
            index_url=index_url,
            extra_index_url=extra_index_url,
            pre=pre,
            extra_options=extra_options,
            gpu=gpu,
            env=env,
            secrets=_rt.unwrap(secrets),
            force_build=force_build,
        )
        return Image._from_impl(_r)

    def uv_pip_install(
        self,
        *packages: str | builtins.list[str],
        requirements: builtins.list[str] | None = None,
        find_links: str | None = None,
        index_url: str | None = None,
        extra_index_url: str | None = None,
        pre: bool = False,
        extra_options: str = "",
        force_build: bool = False,
        uv_version: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Image:
        """``uv pip install`` into the image's Python (uv itself from PyPI)."""
        self._check()
        _r = self._impl.uv_pip_install(
            *packages,
            requirements=requirements,
            find_links=find_links,
            index_url=index_url,
            extra_index_url=extra_index_url,
            pre=pre,
            extra_options=extra_options,
            force_build=force_build,
            uv_version=uv_version,
            env=env,
            secrets=_rt.unwrap(secrets),
            gpu=gpu,
        )
        return Image._from_impl(_r)

    def uv_sync(
        self,
        uv_project_dir: str = "./",
        *,
        force_build: bool = False,
        groups: builtins.list[str] | None = None,
        extras: builtins.list[str] | None = None,
        frozen: bool = True,
        extra_options: str = "",
        uv_version: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Image:
        """``uv sync`` a local project's dependencies into ``/.uv/.venv`` (first on ``PATH``)."""
        self._check()
        _r = self._impl.uv_sync(
            uv_project_dir,
            force_build=force_build,
            groups=groups,
            extras=extras,
            frozen=frozen,
            extra_options=extra_options,
            uv_version=uv_version,
            env=env,
            secrets=_rt.unwrap(secrets),
            gpu=gpu,
        )
        return Image._from_impl(_r)

    def poetry_install_from_file(
        self,
        poetry_pyproject_toml: str,
        poetry_lockfile: str | None = None,
        *,
        ignore_lockfile: bool = False,
        force_build: bool = False,
        with_: builtins.list[str] = [],
        without: builtins.list[str] = [],
        only: builtins.list[str] = [],
        poetry_version: str | None = "latest",
        old_installer: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Image:
        """``poetry install --no-root`` of a local project (and its ``poetry.lock``) into the image's Python."""
        self._check()
        _r = self._impl.poetry_install_from_file(
            poetry_pyproject_toml,
            poetry_lockfile,
            ignore_lockfile=ignore_lockfile,
            force_build=force_build,
            with_=with_,
            without=without,
            only=only,
            poetry_version=poetry_version,
            old_installer=old_installer,
            env=env,
            secrets=_rt.unwrap(secrets),
            gpu=gpu,
        )
        return Image._from_impl(_r)

    def micromamba_install(
        self,
        *packages: str | builtins.list[str],
        spec_file: str | None = None,
        channels: builtins.list[str] = [],
        force_build: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Image:
        """``micromamba install`` packages (and/or a local spec file) on a ``micromamba()`` image."""
        self._check()
        _r = self._impl.micromamba_install(
            *packages,
            spec_file=spec_file,
            channels=channels,
            force_build=force_build,
            env=env,
            secrets=_rt.unwrap(secrets),
            gpu=gpu,
        )
        return Image._from_impl(_r)

    def apt_install(
        self,
        *packages: str | builtins.list[str],
        force_build: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Image:
        """``RUN apt-get update`` then ``RUN apt-get install -y <packages>``."""
        self._check()
        _r = self._impl.apt_install(*packages, force_build=force_build, env=env, secrets=_rt.unwrap(secrets), gpu=gpu)
        return Image._from_impl(_r)


class _F_sweep(_rt.Function):
    """End sandboxes past their ``timeout`` and those of ``app.run()`` blocks whose process died, remove finished

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, *, app_id: str | None = None, everything: bool = False) -> SweepResult:
        """End sandboxes past their ``timeout`` and those of ``app.run()`` blocks whose process died, remove finished
        ones past retention and orphaned records; remove expired snapshot images and step images unused for
        ``SANDBOX_CORE_IMAGE_GC_AGE`` (never an image a container uses; see ``docs/guide/images.md``), and volumes
        nobody holds any more (deleted named volumes, ephemeral ones whose block ended or whose process died).

        Network holders go with their sandboxes; holders left by a create that died are removed once it cannot
        be under way any more. With ``everything=True`` every sandbox (of ``app_id`` if given) is terminated and
        removed now, with its records, holders and snapshot images — and, with ``app_id``, the app's registry
        entry; without ``app_id``, also the pool of ready holders (a supervisor refills it): a clean slate, as
        tests and benchmarks need.

        One object the engine refuses to act on (a removal that fails) does not stop the rest: the first such
        error is raised once everything else was done (the app's registry entry is then kept), and a later call
        tries again. ``ConnectionError`` when the engine does not answer.
        """
        return _rt.run_sync(_i__sweep.sweep(app_id=app_id, everything=everything))

    async def aio(self, *, app_id: str | None = None, everything: bool = False) -> SweepResult:
        return await _rt.run_async(_i__sweep.sweep(app_id=app_id, everything=everything))


sweep = _F_sweep()
