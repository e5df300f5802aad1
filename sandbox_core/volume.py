"""``Volume``: storage that outlives a sandbox and is shared between sandboxes (Modal's ``modal.Volume``).

Each volume is a labelled engine volume (``sandbox_core._volumes.store``): named ones (``Volume.from_name``,
``Volume.objects``) stay until deleted; ``Volume.ephemeral()`` ones are removed when their block ends (or, if the
process dies first, by ``sweep()``/the supervisor). The file API (``listdir``, ``read_file``, ``batch_upload``, …)
works without any sandbox, through short-lived helper containers and the engine's archive API — never through host
paths, so it works with a remote engine too.

**commit and reload.** A local volume is one filesystem that every mount sees live: a write is visible to every
other sandbox mounting the volume, and to the file API, as soon as the ``write(2)`` returned, without ``commit``.
So ``commit()``, ``reload()`` and ``Sandbox.reload_volumes()`` only check their arguments and that the volume still
exists; they wait for nothing. ``commit`` does not ``fsync`` (durability across an engine host crash is the
filesystem's). Writers of the same file race exactly as processes on one filesystem do (no "last commit wins").
"""

from __future__ import annotations

import asyncio
import builtins
import datetime
import typing
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, BinaryIO, ClassVar

import attrs

from ._agent.volume import MOUNT_DIR as AGENT_DIR
from ._engine import get_engine
from ._objects import check_max_objects, check_object_name, newest_first, reject_environment
from ._objects import created_before as parse_created_before
from ._validation import reject_client
from ._volumes import files, store
from ._volumes.mounts import MountRequest, validate_mount_points
from ._volumes.store import VolumeRef
from ._volumes.upload import UploadBatch
from .exception import InvalidError, NotFoundError, deprecation_warning
from .types import FileEntry, FileEntryType, VolumeInfo

__all__ = ["FileEntry", "FileEntryType", "Volume", "VolumeManager", "VolumeUploadContextManager"]

_READ_ONLY_ERR = "Read-only Volume can not be written to"


@attrs.frozen
class _MountOptions:
    read_only: bool = False
    sub_path: str | None = None


@attrs.define
class _Handle:
    """What the views of one volume (``with_mount_options``, ``read_only``) share: how to find it, and once found
    (hydrated) which volume it is."""

    name: str | None = None
    volume_id: str | None = None
    create_if_missing: bool = False
    version: Any = None
    ephemeral: bool = False
    ref: VolumeRef | None = None
    entered: bool = False
    lock: asyncio.Lock | None = None


def _check_version(version: Any) -> int | None:
    if version is not None and (isinstance(version, bool) or version not in (1, 2)):
        raise InvalidError("VolumeFS version must be either 1 or 2")
    return typing.cast(int | None, version)


class VolumeManager:
    """``Volume.objects``: create, list and delete named volumes."""

    def __init__(self) -> None:
        raise InvalidError("Class VolumeManager has no constructor. Use Volume.objects instead.")

    @staticmethod
    async def create(
        name: str,
        *,
        version: int | None = None,
        allow_existing: bool = False,
        environment_name: str | None = None,
        client: None = None,
    ) -> None:
        """Create the named volume ``name`` (filesystem ``version`` 1 or 2, default 1). ``AlreadyExistsError``
        when it exists, unless ``allow_existing``. Look it up with ``Volume.from_name``."""
        check_object_name(name, "Volume")
        reject_environment(environment_name)
        reject_client(client)
        eng = await get_engine()
        await store.claim(eng, name, _check_version(version), fail_if_exists=not allow_existing)

    @staticmethod
    async def list(
        *,
        max_objects: int | None = None,
        created_before: datetime.datetime | str | None = None,
        environment_name: str = "",
        client: None = None,
    ) -> builtins.list[Volume]:
        """The named volumes as hydrated handles, newest first (at most ``max_objects``; only those created before
        ``created_before``, a datetime or an ISO date string, when given)."""
        reject_client(client)
        reject_environment(environment_name)
        check_max_objects(max_objects)
        before = parse_created_before(created_before)
        eng = await get_engine()
        refs = await store.list_named(eng)
        return [Volume._hydrated(r) for r in newest_first(refs, [r.created_at for r in refs], before, max_objects)]

    @staticmethod
    async def delete(
        name: str, *, allow_missing: bool = False, environment_name: str | None = None, client: None = None
    ) -> None:
        """Delete the named volume ``name`` and its files (irreversible). The name is free at once; the data goes
        as soon as no sandbox holds it. ``NotFoundError`` when there is none, unless ``allow_missing``."""
        reject_environment(environment_name)
        reject_client(client)
        eng = await get_engine()
        if not await store.delete_named(eng, name) and not allow_missing:
            raise NotFoundError(f"Volume '{name}' not found")


class Volume:
    """A volume: files shared by sandboxes and kept after them. See the module docstring for what ``commit`` and
    ``reload`` mean locally."""

    __slots__ = ("_handle", "_mount", "_read_only")

    #: Create, list and delete named volumes (Modal's ``Volume.objects``).
    objects: ClassVar[type[VolumeManager]] = VolumeManager

    _handle: _Handle
    _mount: _MountOptions | None
    _read_only: bool

    def __init__(self) -> None:
        raise InvalidError("Class Volume has no constructor. Use class constructor methods instead.")

    @classmethod
    def _view(cls, handle: _Handle, mount: _MountOptions | None = None, read_only: bool = False) -> Volume:
        obj = object.__new__(cls)
        obj._handle = handle
        obj._mount = mount
        obj._read_only = read_only
        return obj

    @classmethod
    def _hydrated(cls, ref: VolumeRef) -> Volume:
        return cls._view(_Handle(name=ref.name, volume_id=ref.volume_id, ref=ref))

    # ----------------------------------------------------------------------------------------- constructors

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
        ``NotFoundError`` then if there is none. ``version`` (1 or 2) must match an existing volume's."""
        check_object_name(name, "Volume")
        reject_environment(environment_name)
        reject_client(client)
        return Volume._view(_Handle(name=name, create_if_missing=bool(create_if_missing), version=version))

    @staticmethod
    def from_id(volume_id: str, client: None = None) -> Volume:
        """The volume ``volume_id`` (``vo-…``), looked up when first used."""
        reject_client(client)
        if not isinstance(volume_id, str) or not volume_id.startswith("vo-"):
            raise InvalidError(f"Object {volume_id} does not start with vo")
        return Volume._view(_Handle(volume_id=volume_id))

    @classmethod
    def ephemeral(cls, client: None = None, environment_name: str | None = None, version: int | None = None) -> Volume:
        """An anonymous volume for the duration of a block: ``with Volume.ephemeral() as vol`` (``async with`` in
        asyncio code). It is created on entering and removed on leaving, also when the block raises (when a sandbox
        still mounts it, as soon as none does)."""
        reject_client(client)
        reject_environment(environment_name)
        return cls._view(_Handle(ephemeral=True, version=_check_version(version)))

    async def __aenter__(self) -> Volume:
        h = self._handle
        if not h.ephemeral:
            raise InvalidError("only Volume.ephemeral() is a context manager")
        if h.entered:
            raise InvalidError("this Volume.ephemeral() block was already entered (each call gives one volume)")
        h.entered = True
        eng = await get_engine()
        h.ref = await store.create_ephemeral(eng, h.version)
        h.volume_id = h.ref.volume_id
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        ref = self._handle.ref
        if ref is not None:
            eng = await get_engine()
            await asyncio.shield(store.release_ephemeral(eng, ref))

    # ---------------------------------------------------------------------------------------- mount options

    def read_only(self) -> Volume:
        """Deprecated: a read-only view (use ``with_mount_options(read_only=True)``); it also refuses the file API's
        writes."""
        if self._mount is not None:
            raise InvalidError(
                "Cannot call read_only() on a Volume that has with_mount_options() applied. "
                "Use with_mount_options(read_only=True, ...) instead. Note that with_mount_options(read_only=True) "
                "only configures the server-side mount and does not block client-side Volume SDK methods."
            )
        return Volume._view(self._handle, _MountOptions(read_only=True), read_only=True)

    def with_mount_options(
        self, *, read_only: bool | None = None, sub_path: str | PurePosixPath | None = None
    ) -> Volume:
        """A view mounted read-only and/or only its ``sub_path`` directory (created when missing; ``"/"``: the whole
        volume). The options apply to mounts in sandboxes only, not to this object's file API."""
        if self._read_only:
            raise InvalidError(
                "Cannot call with_mount_options() on a Volume that has .read_only() applied. "
                "Use with_mount_options(read_only=True, ...) instead. Note that with_mount_options(read_only=True) "
                "only configures the server-side mount and does not block client-side Volume SDK methods."
            )
        current = self._mount or _MountOptions()
        normalized = current.sub_path
        if sub_path is not None:
            text = PurePosixPath(sub_path).as_posix()
            normalized = None if text == "/" else text
        return Volume._view(
            self._handle, _MountOptions(current.read_only if read_only is None else bool(read_only), normalized)
        )

    # ------------------------------------------------------------------------------------------ object model

    @property
    def name(self) -> str | None:
        """The volume's name (None for an ephemeral volume, or one from ``from_id`` not used yet)."""
        h = self._handle
        return h.ref.name if h.ref is not None else h.name

    @property
    def object_id(self) -> str:
        """``vo-`` + 22 alphanumerics. ``AttributeError`` before the volume was hydrated."""
        if self._handle.ref is None:
            raise AttributeError(f"Attempting to get object_id of unhydrated {self!r}")
        return self._handle.ref.volume_id

    @property
    def is_hydrated(self) -> bool:
        """True once the volume was looked up (or created)."""
        return self._handle.ref is not None

    async def hydrate(self, client: None = None) -> Volume:
        """Look the volume up now (creating it with ``create_if_missing``); returns ``self``. ``NotFoundError``
        when it does not exist."""
        reject_client(client)
        await self._ref()
        return self

    async def info(self) -> VolumeInfo:
        """The volume's name, and when and by whom it was created (hydrates)."""
        ref = await self._ref()
        created = datetime.datetime.fromtimestamp(ref.created_at, datetime.UTC)
        return VolumeInfo(name=ref.name, created_at=created, created_by=ref.created_by)

    async def _ref(self) -> VolumeRef:
        h = self._handle
        if h.ref is not None:
            return h.ref
        if h.ephemeral:
            raise InvalidError("use Volume.ephemeral() as a context manager: `with Volume.ephemeral() as vol:`")
        if h.lock is None:
            h.lock = asyncio.Lock()
        async with h.lock:
            if h.ref is None:
                eng = await get_engine()
                if h.name is not None:
                    version = _check_version(h.version)
                    if h.create_if_missing:
                        h.ref = await store.claim(eng, h.name, version, fail_if_exists=False)
                    else:
                        h.ref = await store.find_by_name(eng, h.name)
                        store.check_version_matches(version, h.ref)
                else:
                    assert h.volume_id is not None
                    h.ref = await store.find_by_id(eng, h.volume_id)
            return h.ref

    def _check_writable(self) -> None:
        if self._read_only:
            raise InvalidError(_READ_ONLY_ERR)

    async def _mount_request(self, path: str) -> MountRequest:
        """How a sandbox mounts this view at ``path`` (hydrates)."""
        options = self._mount or _MountOptions()
        sub = files.relative(options.sub_path) if options.sub_path else ""
        return MountRequest(path, await self._ref(), options.read_only, sub)

    def __repr__(self) -> str:
        h = self._handle
        if h.ephemeral:
            return "Volume.ephemeral()"
        return f"Volume.from_name({h.name!r})" if h.name is not None else f"Volume.from_id({h.volume_id!r})"

    # ----------------------------------------------------------------------------------------- commit, reload

    async def commit(self) -> None:
        """Nothing to do locally (writes are visible everywhere when made); checks that the volume exists."""
        await self._ref()

    async def reload(self) -> None:
        """Nothing to do locally (every mount sees every write at once); checks that the volume exists."""
        await self._ref()

    # -------------------------------------------------------------------------------------------- file API

    async def iterdir(self, path: str, *, recursive: bool = True) -> AsyncIterator[FileEntry]:
        """The entries under directory ``path`` (every level when ``recursive``), or the entry of ``path`` itself
        when it is a file. ``NotFoundError`` when it does not exist."""
        ref = await self._ref()
        eng = await get_engine()
        async for entry in files.iterdir(eng, ref, path, recursive=recursive):
            yield entry

    async def listdir(self, path: str, *, recursive: bool = False) -> builtins.list[FileEntry]:
        """``iterdir`` as a list (one level by default)."""
        return [entry async for entry in self.iterdir(path, recursive=recursive)]

    async def read_file(self, path: str) -> AsyncIterator[bytes]:
        """The file's bytes, in chunks of up to 1 MiB, streamed (memory stays bounded). ``FileNotFoundError`` when
        there is no such file, ``IsADirectoryError`` for a directory."""
        ref = await self._ref()
        eng = await get_engine()
        async for chunk in files.read_file(eng, ref, path):
            yield chunk

    async def read_file_into_fileobj(
        self, path: str, fileobj: typing.IO[bytes], progress_cb: Callable[..., Any] | None = None
    ) -> int:
        """Write the file into ``fileobj`` (at its position); returns the bytes written. ``progress_cb(advance=n)``
        is called after each chunk."""
        ref = await self._ref()
        return await files.read_into(await get_engine(), ref, path, fileobj, progress_cb)

    async def remove_file(self, path: str, recursive: bool = False) -> None:
        """Remove a file, or a directory (an empty one, or any with ``recursive``). ``FileNotFoundError`` when it
        does not exist."""
        self._check_writable()
        ref = await self._ref()
        await files.remove(await get_engine(), ref, path, recursive=recursive)

    async def copy_files(self, src_paths: Sequence[str], dst_path: str, recursive: bool = False) -> None:
        """Copy ``src_paths`` to ``dst_path`` inside the volume, as ``cp`` does (directories need ``recursive``,
        which version-1 volumes refuse, as in Modal)."""
        self._check_writable()
        if isinstance(src_paths, str):
            raise InvalidError("src_paths must be a list of paths (a single file: a list of one)")
        if not src_paths:
            raise InvalidError("copy_files needs at least one path in src_paths")
        ref = await self._ref()
        if recursive and ref.version == 1:
            raise ValueError("`recursive` is not supported for V1 volumes")
        await files.copy(await get_engine(), ref, list(src_paths), dst_path, recursive=recursive)

    def batch_upload(self, force: bool = False) -> VolumeUploadContextManager:
        """``with vol.batch_upload() as batch: batch.put_file(...); batch.put_directory(...)``: the files are written
        when the block ends (not if it raises). Existing files are an error (``FileExistsError``) unless
        ``force``; a directory is never replaced by a file."""
        return VolumeUploadContextManager._new(self, force)

    # ------------------------------------------------------------------------------------ deprecated, rename

    @staticmethod
    async def delete(name: str, client: None = None, environment_name: str | None = None) -> None:
        """Deprecated: delete the named volume (use ``Volume.objects.delete``)."""
        deprecation_warning(
            datetime.date(2025, 8, 6),
            "`modal.Volume.delete` is deprecated; we recommend using `modal.Volume.objects.delete` instead.",
        )
        await VolumeManager.delete(name, environment_name=environment_name, client=client)

    @staticmethod
    async def rename(old_name: str, new_name: str, *, client: None = None, environment_name: str | None = None) -> None:
        """Give the named volume ``old_name`` the name ``new_name`` (its id and files stay)."""
        check_object_name(new_name, "Volume")
        reject_environment(environment_name)
        reject_client(client)
        await store.rename(await get_engine(), old_name, new_name)


class VolumeUploadContextManager:
    """A batch upload (``Volume.batch_upload``): ``put_file``/``put_directory`` queue files, leaving the block
    writes them."""

    __slots__ = ("_batch", "_force", "_volume")

    _volume: Volume
    _force: bool
    _batch: UploadBatch

    def __init__(self) -> None:
        raise InvalidError("Class VolumeUploadContextManager has no constructor. Use Volume.batch_upload().")

    @classmethod
    def _new(cls, volume: Volume, force: bool) -> VolumeUploadContextManager:
        obj = object.__new__(cls)
        obj._volume = volume
        obj._force = bool(force)
        obj._batch = UploadBatch()
        return obj

    async def __aenter__(self) -> VolumeUploadContextManager:
        self._volume._check_writable()
        await self._volume._ref()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            ref = await self._volume._ref()
            await self._batch.commit(await get_engine(), ref, force=self._force)

    def put_file(
        self, local_file: Path | str | BinaryIO, remote_path: PurePosixPath | str, mode: int | None = None
    ) -> None:
        """Queue a local file (a path, or a binary file object that must stay readable until the block ends; it is
        read from its start). Parent directories are created; ``mode`` defaults to the file's (0o644 for a file
        object)."""
        self._batch.put_file(local_file, remote_path, mode)

    def put_directory(self, local_path: Path | str, remote_path: PurePosixPath | str, recursive: bool = True) -> None:
        """Queue every regular file under the local directory ``local_path``, at the same relative paths under
        ``remote_path``."""
        self._batch.put_directory(local_path, remote_path, recursive)


def validate_volumes(volumes: Any) -> list[tuple[str, Volume]]:
    """Modal's ``validate_volumes`` for ``Sandbox.create(volumes=)``: mount paths, types (``CloudBucketMount`` does
    not exist locally), and one Volume object mounted once."""
    validated = validate_mount_points("Volume", volumes)
    by_object: dict[int, list[str]] = {}
    for path, vol in validated:
        if not isinstance(vol, Volume):
            raise InvalidError(f"Object of type {type(vol)} mounted at '{path}' is not usable as a volume.")
        by_object.setdefault(id(vol), []).append(path)
    for paths in by_object.values():
        if len(paths) > 1:
            raise InvalidError(
                f"The same Volume cannot be mounted in multiple locations for the same function: {', '.join(paths)}"
            )
    _check_paths_free([path for path, _ in validated])
    return validated


def _check_paths_free(paths: Sequence[str]) -> None:
    """Checks beyond Modal's (whose server refuses these): one volume per path (``"/data"`` and
    ``PurePosixPath("/data")`` are the same path), and none where the library mounts its in-sandbox agent."""
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            raise InvalidError(f"Two volumes are mounted at {path}: a mount path takes one volume.")
        seen.add(path)
        if path == AGENT_DIR or path.startswith(AGENT_DIR + "/"):
            raise InvalidError(
                f"Volume mount path {path} is reserved: sandbox-core mounts its in-sandbox agent at {AGENT_DIR}; "
                "choose another path."
            )


async def mount_requests(validated: Sequence[tuple[str, Volume]]) -> builtins.list[MountRequest]:
    """The mounts of ``validated`` volumes (each hydrated: ``NotFoundError`` for a missing one)."""
    return [await vol._mount_request(path) for path, vol in validated]
