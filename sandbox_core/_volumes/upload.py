"""``Volume.batch_upload``: files collected by ``put_file``/``put_directory``, written when the block ends.

One created helper container and one archive PUT per batch: the files travel as one tar stream, read from disk (or
the file objects) a chunk at a time, so memory stays bounded whatever their size. Without ``force`` every target is
checked first (``FileExistsError`` names the first that exists, and nothing is written); with ``force`` files are
replaced, but a directory is never replaced by a file (``IsADirectoryError``). Parent directories are created.
The batch is not atomic: a failure midway (a file shrinking while it is read, the engine failing) leaves the files
before it written.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import attrs

from .._engine import EngineAPI
from .._engine.errors import ArchivePathError
from .._engine.tar import TAR_END, tar_header, tar_padding
from ..exception import InvalidError
from . import helper
from .files import mount_path, relative
from .helper import MOUNT
from .store import VolumeRef

#: Bytes read from a local file per step.
CHUNK = 1 << 20
#: Targets checked at once when ``force`` is off.
_STAT_CONCURRENCY = 16

Opener = Callable[[], BinaryIO]


@attrs.frozen
class _PathItem:
    local: Path
    remote: str
    mode: int | None


@attrs.frozen
class _FileObjItem:
    fileobj: BinaryIO
    remote: str
    mode: int


@attrs.frozen
class _DirItem:
    local: Path
    remote: str
    recursive: bool


_Item = _PathItem | _FileObjItem | _DirItem


@attrs.frozen
class _Planned:
    """One file to write: where, its mode and size, its mtime, and how to open it (positioned at its start)."""

    remote: str
    mode: int
    size: int
    mtime: float
    open: Opener
    close_after: bool


def _remote(remote_path: str | PurePosixPath) -> str:
    text = PurePosixPath(remote_path).as_posix()
    if text.endswith("/"):
        raise ValueError(f"remote_path ({text}) must refer to a file - cannot end with /")
    rel = relative(text)
    if not rel:
        raise InvalidError(f"remote_path {text!r} names the volume's root, not a file")
    return rel


class UploadBatch:
    """What a batch will write; ``commit`` writes it."""

    def __init__(self) -> None:
        self._items: list[_Item] = []

    def put_file(self, local_file: Path | str | BinaryIO, remote_path: str | PurePosixPath, mode: int | None) -> None:
        """Queue a local file (a path) or a binary file object (read from its start when the batch ends)."""
        remote = _remote(remote_path)
        if isinstance(local_file, str | os.PathLike):
            self._items.append(_PathItem(Path(local_file), remote, mode))
        elif hasattr(local_file, "read") and hasattr(local_file, "seek"):
            self._items.append(_FileObjItem(local_file, remote, 0o644 if mode is None else mode))
        else:
            raise InvalidError(f"local_file must be a path or a binary file object, got {type(local_file).__name__}")

    def put_directory(self, local_path: Path | str, remote_path: str | PurePosixPath, recursive: bool) -> None:
        """Queue every regular file under ``local_path`` (its top level only unless ``recursive``)."""
        local = Path(local_path)
        if not local.is_dir():
            raise InvalidError(f"put_directory: {str(local)!r} is not a directory")
        self._items.append(_DirItem(local, relative(PurePosixPath(remote_path).as_posix()), recursive))

    def _plan(self) -> list[_Planned]:
        planned: dict[str, _Planned] = {}  # a later put of the same target wins
        for item in self._items:
            if isinstance(item, _DirItem):
                found = item.local.rglob("*") if item.recursive else item.local.glob("*")
                for sub in sorted(found):
                    if sub.is_file():
                        remote = "/".join(filter(None, (item.remote, sub.relative_to(item.local).as_posix())))
                        planned[remote] = _plan_path(sub, remote, None)
            elif isinstance(item, _PathItem):
                planned[item.remote] = _plan_path(item.local, item.remote, item.mode)
            else:
                planned[item.remote] = _plan_fileobj(item)
        return list(planned.values())

    async def commit(self, eng: EngineAPI, ref: VolumeRef, *, force: bool) -> None:
        """Write every queued file into volume ``ref``."""
        files = await asyncio.to_thread(self._plan)
        if not files:
            return
        async with helper.created(eng, ref, read_only=False) as cref:
            if not force:
                await _refuse_existing(eng, cref, [f.remote for f in files])
            try:
                await eng.archive.put(cref, MOUNT.encode(), _tar(files))
            except ArchivePathError as e:
                if e.kind == "is_a_directory":
                    raise IsADirectoryError(f"cannot replace a directory with an uploaded file: {e}") from None
                if e.kind in ("exists", "not_a_directory"):
                    raise NotADirectoryError(f"a parent of an uploaded file is not a directory: {e}") from None
                raise


def _plan_path(local: Path, remote: str, mode: int | None) -> _Planned:
    st = local.stat()
    if not stat.S_ISREG(st.st_mode):
        raise InvalidError(f"put_file: {str(local)!r} is not a regular file")
    return _Planned(
        remote,
        stat.S_IMODE(st.st_mode) if mode is None else mode,
        st.st_size,
        st.st_mtime,
        lambda: open(local, "rb"),
        True,
    )


def _plan_fileobj(item: _FileObjItem) -> _Planned:
    fp = item.fileobj
    fp.seek(0, os.SEEK_END)
    size = fp.tell()

    def rewind() -> BinaryIO:
        fp.seek(0)
        return fp

    return _Planned(item.remote, item.mode, size, time.time(), rewind, False)


async def _refuse_existing(eng: EngineAPI, cref: str, remotes: list[str]) -> None:
    semaphore = asyncio.Semaphore(_STAT_CONCURRENCY)

    async def exists(remote: str) -> bool:
        async with semaphore:
            try:
                await eng.archive.stat(cref, mount_path(remote))
            except ArchivePathError as e:
                if e.kind in ("missing", "not_a_directory"):
                    return False
                raise
            return True

    found = await asyncio.gather(*(exists(r) for r in remotes))
    taken = [r for r, hit in zip(remotes, found, strict=True) if hit]
    if taken:
        raise FileExistsError(f"{taken[0]}: already exists (pass force=True to batch_upload to overwrite files)")


async def _file_chunks(item: _Planned) -> AsyncIterator[bytes]:
    fp = await asyncio.to_thread(item.open)
    try:
        left = item.size
        while left:
            chunk = await asyncio.to_thread(fp.read, min(CHUNK, left))
            if not chunk:
                raise InvalidError(f"{item.remote}: the source shrank while it was uploaded ({left} bytes missing)")
            left -= len(chunk)
            yield chunk
    finally:
        if item.close_after:
            await asyncio.to_thread(fp.close)


async def _tar(files: list[_Planned]) -> AsyncIterator[bytes]:
    for item in files:
        yield tar_header(os.fsencode(item.remote), size=item.size, mode=item.mode, mtime=item.mtime)
        async for chunk in _file_chunks(item):
            yield chunk
        yield tar_padding(item.size)
    yield TAR_END
