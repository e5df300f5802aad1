"""Deprecated file API kept for compatibility: ``Sandbox.open`` (``FileIO``), ``ls``, ``mkdir``, ``rm``, ``watch``.

``FileIO`` keeps a local working copy of the remote file (in memory up to 8 MiB, then in a temporary file): opening
in a reading or appending mode downloads the file, writes go to the copy, and ``flush``/``close`` upload the whole
copy through ``Sandbox.filesystem`` (so permissions, link handling and streaming are the same). Opening with
``w``/``w+`` truncates (creates) the remote file at once, ``x`` requires that it does not exist yet.

Relative paths are taken relative to the sandbox's working directory (the ``filesystem`` API requires absolute ones).
Errors are the builtin ``OSError`` family (Modal's errno mapping): ``FileNotFoundError``, ``FileExistsError``,
``IsADirectoryError``, ``NotADirectoryError``, ``PermissionError``; ``FilesystemExecutionError`` for anything else.
Every entry point warns with ``DeprecationError``.
"""

from __future__ import annotations

import datetime
import errno
import io
import os
import posixpath
import tempfile
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import IO, Any, Generic, cast

from . import exception as exc
from ._fs.base import check_path
from ._fs.ops import FileOps
from ._fs.watch import watch
from .streams import T
from .types import FileWatchEvent, FileWatchEventType

#: Largest single ``read(n)`` request (Modal's limit).
READ_FILE_SIZE_LIMIT = 100 * 1024 * 1024
#: Largest single ``write`` (Modal's limit).
WRITE_FILE_SIZE_LIMIT = 1024 * 1024 * 1024
_SPOOL = 8 << 20

_OPEN_DEPRECATED = datetime.date(2026, 3, 9)
_LS_DEPRECATED = datetime.date(2026, 4, 15)
_WATCH_DEPRECATED = datetime.date(2026, 5, 8)

_ERRNO: list[tuple[type[exc.SandboxFilesystemError], type[OSError], int]] = [
    (exc.SandboxFilesystemNotFoundError, FileNotFoundError, errno.ENOENT),
    (exc.SandboxFilesystemPathAlreadyExistsError, FileExistsError, errno.EEXIST),
    (exc.SandboxFilesystemIsADirectoryError, IsADirectoryError, errno.EISDIR),
    (exc.SandboxFilesystemNotADirectoryError, NotADirectoryError, errno.ENOTDIR),
    (exc.SandboxFilesystemPermissionError, PermissionError, errno.EACCES),
]


def _validate_mode(mode: Any) -> tuple[bool, bool, bool, bool]:
    """(readable, writable, append, binary) of an ``open`` mode; ``ValueError`` for an invalid one."""
    if not isinstance(mode, str) or not any(c in mode for c in "rwax"):
        raise ValueError(f"Invalid file mode: {mode}")
    if any(c not in "rwaxb+" for c in mode):
        raise ValueError(f"Invalid file mode: {mode}")
    if sum(1 for c in mode if c in "rwax") > 1:
        raise ValueError("must have exactly one of create/read/write/append mode")
    if len(set(mode)) != len(mode):
        raise ValueError(f"Invalid file mode: {mode}")
    readable = "r" in mode or "+" in mode
    writable = any(c in mode for c in "wax+")
    return readable, writable, "a" in mode, "b" in mode


def _as_os_error(e: exc.Error, path: str) -> Exception:
    for fs_cls, os_cls, code in _ERRNO:
        if isinstance(e, fs_cls):
            return os_cls(code, os.strerror(code), path)
    if isinstance(e, exc.SandboxFilesystemError):
        return exc.FilesystemExecutionError(str(e))
    return e


class FileIO(Generic[T]):
    """A file in the sandbox opened with the deprecated ``Sandbox.open`` (``str`` in text mode, ``bytes`` in
    binary mode). Use it as a context manager (``async with``, or ``with`` through the blocking facade).

    Not safe for concurrent use from several tasks. Reads see the file as it was when opened (plus this handle's
    own writes); writes reach the sandbox on ``flush``/``close``.
    """

    __slots__ = ("_append", "_binary", "_closed", "_dirty", "_local", "_ops", "_path", "_readable", "_writable")

    _ops: FileOps
    _path: str
    _readable: bool
    _writable: bool
    _append: bool
    _binary: bool
    _closed: bool
    _dirty: bool
    _local: IO[bytes]

    def __init__(self) -> None:
        raise exc.InvalidError("FileIO has no public constructor; use `Sandbox.open(path, mode)`.")

    @classmethod
    async def _create(cls, ops: FileOps, path: str, mode: str) -> FileIO[Any]:
        readable, writable, append, binary = _validate_mode(mode)
        obj = cls.__new__(cls)
        obj._ops = ops
        obj._path = path
        obj._readable, obj._writable, obj._append, obj._binary = readable, writable, append, binary
        obj._closed = False
        obj._dirty = False
        # closed by close()/__aexit__ (or below when opening fails)
        obj._local = cast(IO[bytes], tempfile.SpooledTemporaryFile(max_size=_SPOOL, mode="w+b"))  # noqa: SIM115
        try:
            await obj._load(mode)
        except BaseException:
            obj._local.close()
            raise
        return obj

    async def _load(self, mode: str) -> None:
        try:
            if "r" in mode or "a" in mode:
                try:
                    await self._download()
                except exc.SandboxFilesystemNotFoundError:
                    if "r" in mode:
                        raise
                    await self._truncate()
                if "a" in mode:
                    self._local.seek(0, io.SEEK_END)
            elif "x" in mode:
                try:
                    await self._ops.stat(self._path, check_path("open", self._path))
                except exc.SandboxFilesystemNotFoundError:
                    pass
                else:
                    raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), self._path)
                await self._truncate()
            else:  # "w": truncate now, as open(2) with O_TRUNC does
                await self._truncate()
        except exc.Error as e:
            raise _as_os_error(e, self._path) from None

    async def _truncate(self) -> None:
        async def nothing() -> AsyncIterator[bytes]:
            return
            yield

        await self._ops.write("open", self._path, check_path("open", self._path), 0, nothing)

    async def _download(self) -> None:
        local = self._local

        async def sink(chunk: bytes) -> None:
            local.write(chunk)

        await self._ops.read("open", self._path, check_path("open", self._path), sink)
        local.seek(0)

    def __repr__(self) -> str:
        return f"FileIO({self._path!r}, closed={self._closed})"

    # -------------------------------------------------------------------------------------------- checks

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("I/O operation on closed file")

    def _check_readable(self) -> None:
        self._check_open()
        if not self._readable:
            raise io.UnsupportedOperation("not readable")

    def _check_writable(self) -> None:
        self._check_open()
        if not self._writable:
            raise io.UnsupportedOperation("not writeable")

    def _out(self, data: bytes) -> T:
        return cast(T, data if self._binary else data.decode("utf-8"))

    # ------------------------------------------------------------------------------------------------ I/O
    # Each data method first warns as Modal's does (its date and message), before any other check.

    async def read(self, n: int | None = None) -> T:
        """Up to ``n`` bytes/characters' worth of data (the rest with ``None``); empty at end of file.

        ``ValueError`` for ``n`` above 100 MiB or a closed file; ``io.UnsupportedOperation`` if not readable.
        """
        _data_method_deprecated("read")
        self._check_readable()
        if n is not None and n > READ_FILE_SIZE_LIMIT:
            raise ValueError("Read request payload exceeds 100 MiB limit")
        data = self._local.read() if n is None or n < 0 else self._local.read(n)
        return self._out(data)

    async def readline(self) -> T:
        """One line including its ``"\\n"`` (the last line may lack one); empty at end of file."""
        _data_method_deprecated("readline")
        self._check_readable()
        return self._out(self._local.readline())

    async def readlines(self) -> Sequence[T]:
        """The remaining lines, each with its ``"\\n"`` (the last may lack one)."""
        _data_method_deprecated("readlines")
        self._check_readable()
        rest = self._local.read()
        lines = [part + b"\n" for part in rest.split(b"\n")]  # "\n" only: "\r" is not a line end here
        lines[-1] = lines[-1][:-1]
        if not lines[-1]:
            lines.pop()
        return [self._out(line) for line in lines]

    async def write(self, data: bytes | str) -> None:
        """Write ``data`` at the current position (at the end in append mode); it reaches the sandbox on
        ``flush``/``close``.

        ``TypeError`` for ``str`` in binary mode / ``bytes`` in text mode; ``ValueError`` above 1 GiB or on a
        closed file; ``io.UnsupportedOperation`` if not writable.
        """
        _data_method_deprecated("write")
        self._check_writable()
        if self._binary and isinstance(data, str):
            raise TypeError("Expected bytes when in binary mode")
        if not self._binary and not isinstance(data, str):
            raise TypeError("Expected str when in text mode")
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        if len(raw) > WRITE_FILE_SIZE_LIMIT:
            raise ValueError("Write request payload exceeds 1 GiB limit")
        if self._append:
            self._local.seek(0, io.SEEK_END)
        self._local.write(raw)
        self._dirty = True

    async def flush(self) -> None:
        """Upload this handle's writes (the whole file) to the sandbox. ``io.UnsupportedOperation`` if not
        writable."""
        _data_method_deprecated("flush")
        self._check_writable()
        await self._upload()

    async def _upload(self) -> None:
        if not self._dirty:
            return
        local = self._local
        pos = local.tell()
        size = local.seek(0, io.SEEK_END)
        local.seek(0)

        async def chunks() -> AsyncIterator[bytes]:
            left = size
            while left > 0:
                chunk = local.read(min(1 << 20, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk

        try:
            await self._ops.write("open", self._path, check_path("open", self._path), size, chunks)
        except exc.Error as e:
            raise _as_os_error(e, self._path) from None
        finally:
            local.seek(pos)
        self._dirty = False

    async def seek(self, offset: int, whence: int = 0) -> None:
        """Move the position: ``whence`` 0 (start), 1 (current), 2 (end); ``ValueError`` for any other value."""
        _data_method_deprecated("seek")
        self._check_open()
        if whence not in (0, 1, 2):
            raise ValueError(f"Invalid whence value: {whence}")
        self._local.seek(offset, whence)

    async def close(self) -> None:
        """Flush pending writes and close; further operations raise ``ValueError``. Idempotent."""
        if self._closed:
            return
        try:
            if self._writable:
                await self._upload()
        finally:
            self._closed = True
            self._local.close()

    async def __aenter__(self) -> FileIO[T]:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc_value: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


async def _absolute(ops: FileOps, path: str) -> str:
    """The legacy API takes paths relative to the sandbox's working directory too (the new one does not)."""
    if not isinstance(path, str):
        raise TypeError(f"path must be a str, got {type(path).__name__}")
    if path.startswith("/"):
        return path
    return posixpath.join(await ops.workdir(), path)


#: When Modal deprecated FileIO's data methods, and what each one's warning says (Modal's text).
_DATA_DEPRECATED = datetime.date(2026, 3, 9)
_USE_READ = (
    " Use `Sandbox.filesystem.read_text()`, `Sandbox.filesystem.read_bytes()`, or `Sandbox.filesystem.copy_to_local()`"
    " instead."
)
_USE_WRITE = (
    " Use `Sandbox.filesystem.write_text()`, `Sandbox.filesystem.write_bytes()`,"
    " or `Sandbox.filesystem.copy_from_local()` instead."
)
_USE_SEEK = (
    " Use the `Sandbox.filesystem` APIs instead. If you specifically need the ability to write to specific offsets"
    " in a file, please contact support@modal.com."
)
_DATA_ADVICE = {
    "read": _USE_READ,
    "readline": _USE_READ,
    "readlines": _USE_READ,
    "write": _USE_WRITE,
    "flush": _USE_WRITE,
    "seek": _USE_SEEK,
}


def _data_method_deprecated(method: str) -> None:
    """Modal's deprecation warning of ``FileIO.<method>()``, at the user's line."""
    exc.deprecation_warning(_DATA_DEPRECATED, f"`FileIO.{method}()` is deprecated.{_DATA_ADVICE[method]}")


async def open_file(ops: FileOps, path: str, mode: str) -> FileIO[Any]:
    """``Sandbox.open``: warn, validate ``mode`` (``ValueError``) and open ``path``."""
    exc.deprecation_warning(
        _OPEN_DEPRECATED,
        "`Sandbox.open` is deprecated; use the `Sandbox.filesystem` methods instead.",
    )
    _validate_mode(mode)
    return await FileIO._create(ops, await _absolute(ops, path), mode)


async def legacy_ls(ops: FileOps, path: str) -> list[str]:
    """``Sandbox.ls``: the names of the entries of directory ``path``, sorted."""
    exc.deprecation_warning(_LS_DEPRECATED, "`Sandbox.ls` is deprecated; use `Sandbox.filesystem.list_files` instead.")
    try:
        target = await _absolute(ops, path)
        return [info.name for info in await ops.list_files(target, check_path("list_files", target))]
    except exc.Error as e:
        raise _as_os_error(e, path) from None


async def legacy_mkdir(ops: FileOps, path: str, parents: bool) -> None:
    """``Sandbox.mkdir``: create directory ``path`` (``mkdir -p`` with ``parents``)."""
    exc.deprecation_warning(
        _LS_DEPRECATED,
        "`Sandbox.mkdir` is deprecated; use `Sandbox.filesystem.make_directory` instead.",
    )
    try:
        target = await _absolute(ops, path)
        await ops.make_directory(target, check_path("make_directory", target), parents=parents)
    except exc.Error as e:
        raise _as_os_error(e, path) from None


async def legacy_rm(ops: FileOps, path: str, recursive: bool) -> None:
    """``Sandbox.rm``: remove ``path`` (a non-empty directory only with ``recursive``)."""
    exc.deprecation_warning(_LS_DEPRECATED, "`Sandbox.rm` is deprecated; use `Sandbox.filesystem.remove` instead.")
    try:
        target = await _absolute(ops, path)
        await ops.remove(target, check_path("remove", target), recursive=recursive)
    except exc.Error as e:
        raise _as_os_error(e, path) from None


async def legacy_watch(
    ops: FileOps,
    path: str,
    filter: list[FileWatchEventType] | None,
    recursive: bool | None,
    timeout: int | None,
) -> AsyncIterator[FileWatchEvent]:
    """``Sandbox.watch``: as ``filesystem.watch``, except that an empty ``filter`` passes every event."""
    exc.deprecation_warning(_WATCH_DEPRECATED, "`Sandbox.watch` is deprecated; use `Sandbox.filesystem.watch` instead.")
    wanted = set(filter) if filter else None
    try:
        target = await _absolute(ops, path)
        async for event in watch(ops, target, filter=None, recursive=bool(recursive), timeout=timeout):
            if wanted is None or event.type in wanted:
                yield event
    except exc.SandboxFilesystemError as e:
        raise _as_os_error(e, path) from None
