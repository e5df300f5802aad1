"""``Sandbox.filesystem``: read, write, copy, list, stat, remove, make directories and watch inside a sandbox.

How each operation reaches the sandbox (the rule is in ``_fs/ops.py``):

* **Sandboxes whose user is root** (the image's ``USER`` is empty/0/root): ``read_*``, ``write_*``, ``copy_*``,
  ``make_directory`` and ``stat`` use the engine's archive API directly — no process in the sandbox, so they work
  on images with no shell at all, and data streams in 1 MiB chunks with no gzip in either direction.
* **Sandboxes running as another user**: the archive API would act as root and bypass file permissions, so every
  operation runs as a short process *as the sandbox's user* (``cat``, ``stat``, ``mkdir`` … under ``/bin/sh``),
  which yields Modal's ``SandboxFilesystemPermissionError`` where that user may not go. Data still streams
  (exec stdin/stdout) with bounded memory.
* ``list_files``, ``remove`` and ``watch`` always run a process in the sandbox (as its user). On an image without
  ``/bin/sh`` they raise ``InvalidError`` saying so, instead of hanging. So do, even for root, reads below
  ``/proc``, ``/sys`` and ``/dev`` (mounted inside the sandbox only, invisible to the engine) and reads or stats of
  names that are not UTF-8 (the engine's tar writer silently drops them).
* An overwrite through the archive API replaces the file (a new inode carrying the old owner and mode), as
  ``rename`` would: open descriptors keep the old content and hard links are split. An overwrite by a process
  truncates in place.

Guarantees for whatever runs inside the sandbox:

* Paths travel only as ``argv`` (octal-escaped ASCII, decoded by ``printf %b`` inside a fixed script), output comes
  back NUL-delimited or in fixed fields: spaces, newlines, leading dashes and non-UTF-8 bytes in names cannot change
  what runs or how output is parsed. Non-UTF-8 names appear as ``surrogateescape`` strings (like ``os.fsdecode``).
* **Writes never follow symbolic links.** ``write_*``, ``copy_from_local`` and ``make_directory`` refuse (with
  ``SandboxFilesystemError``) a path any of whose existing ancestor directories is a symlink, and a symlink at the
  target itself is replaced, never written through. So a link planted by sandboxed code (``/tmp/out -> /etc``)
  cannot redirect a write. Process-based writes (non-root sandboxes) then enter the parent directory, verify its
  physical path and write relative to it, so a later swap of an ancestor redirects nothing. Archive-based writes
  check immediately before the transfer; sandboxed code that swaps a directory for a link in the milliseconds
  between that check and the engine's extraction can still win that race, but only ever inside the
  sandbox's own filesystem: the engine resolves every path within the container root, never on the host, and a
  process-based write runs with exactly the rights the sandboxed code already has.
* Reads, ``stat`` (of ancestors), ``list_files`` and ``watch`` follow links in the path as ``open`` would; ``stat``
  and ``remove`` never follow a link at the final component.

``watch`` is polling-based (busybox has no inotify tool): the tree is snapshotted every ~0.2 s and differences are
reported (Create, Modify, Remove; a rename within the watched tree, recognised by inode, is ``Modify`` with
``[src, dst]``; a move into or out of it looks like Create or Remove). ``Access`` events are never reported, and
changes that cancel out within one poll interval are not seen.

Errors follow Modal (section 1.10 of the reference): a relative path raises ``InvalidError`` before any I/O; a
finished or removed sandbox raises ``NotFoundError("The Sandbox is unavailable. …")``; path failures raise the
``SandboxFilesystem*Error`` of Modal's table for that operation, with the message ``"<reason>: <path>"``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Collection

from . import exception as exc
from ._fs import local
from ._fs.base import CHUNK, check_path
from ._fs.ops import FileOps
from ._fs.watch import watch as _watch_tree
from ._validation import check_flag
from .types import FileInfo, FileType, FileWatchEvent, FileWatchEventType

__all__ = ["FileInfo", "FileType", "FileWatchEvent", "FileWatchEventType", "SandboxFilesystem"]


class SandboxFilesystem:
    """File operations on one sandbox (``sb.filesystem``). Every method takes an absolute ``remote_path``.

    See the module docstring for how operations reach the sandbox, and the guarantees on links and names.
    """

    __slots__ = ("_ops",)

    _ops: FileOps

    def __init__(self) -> None:
        raise exc.InvalidError("SandboxFilesystem has no public constructor; use `sandbox.filesystem`.")

    @classmethod
    def _new(cls, ops: FileOps) -> SandboxFilesystem:
        obj = cls.__new__(cls)
        obj._ops = ops
        return obj

    def __repr__(self) -> str:
        return f"SandboxFilesystem({self._ops.sandbox_id})"

    # ------------------------------------------------------------------------------------------------ reads

    async def read_bytes(self, remote_path: str) -> bytes:
        """The whole content of the file ``remote_path`` (links followed).

        Raises ``SandboxFilesystemNotFoundError`` (missing), ``…IsADirectoryError``, ``…PermissionError`` (the
        sandbox's user may not read it), ``SandboxFilesystemError`` otherwise.
        """
        return await self._read("read_bytes", remote_path)

    async def read_text(self, remote_path: str) -> str:
        """The file decoded as strict UTF-8 (``UnicodeDecodeError`` if it is not). Errors as ``read_bytes``."""
        return (await self._read("read_text", remote_path)).decode("utf-8")

    async def _read(self, operation: str, remote_path: str) -> bytes:
        path = check_path(operation, remote_path)
        chunks: list[bytes] = []

        async def sink(chunk: bytes) -> None:
            chunks.append(chunk)

        await self._ops.read(operation, remote_path, path, sink, whole=chunks)
        return b"".join(chunks)

    async def copy_to_local(self, remote_path: str, local_path: str | os.PathLike[str]) -> None:
        """Download ``remote_path`` to ``local_path`` atomically: the data streams into a temporary file next to
        it (``.modal-sandbox-fs-tmp-XXXXXX``), renamed over ``local_path`` only when complete. On any failure the
        temporary file is removed and an existing ``local_path`` is untouched.

        Creates local parent directories. ``IsADirectoryError`` if ``local_path`` is a directory; remote errors as
        ``read_bytes``.
        """
        path = check_path("copy_to_local", remote_path)
        download = local.Download(os.fspath(local_path))
        try:
            try:
                await self._ops.read("copy_to_local", remote_path, path, download.write)
                await download.flush()
            finally:
                await download.drain()
            download.commit()
        finally:
            download.discard()

    # ----------------------------------------------------------------------------------------------- writes

    async def write_bytes(self, data: bytes | bytearray | memoryview, remote_path: str) -> None:
        """Write ``data`` to ``remote_path``, creating parent directories and replacing an existing file.

        Raises ``TypeError("data must be bytes-like")``; ``SandboxFilesystemNotADirectoryError`` (an ancestor is a
        file), ``…IsADirectoryError`` (the target is a directory), ``…PermissionError``, ``SandboxFilesystemError``
        (an ancestor is a symlink: writes never follow links).
        """
        path = check_path("write_bytes", remote_path)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("data must be bytes-like")
        view = memoryview(data).cast("B")

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(view), CHUNK):
                yield bytes(view[i : i + CHUNK])

        await self._ops.write("write_bytes", remote_path, path, len(view), chunks)

    async def write_text(self, data: str, remote_path: str) -> None:
        """Write ``data`` encoded as UTF-8 (``TypeError("data must be str")`` otherwise). As ``write_bytes``."""
        check_path("write_text", remote_path)
        if not isinstance(data, str):
            raise TypeError("data must be str")
        await self.write_bytes(data.encode("utf-8"), remote_path)

    async def copy_from_local(self, local_path: str | os.PathLike[str], remote_path: str) -> None:
        """Upload the local file ``local_path`` to ``remote_path``, streamed. The local file is opened first, so
        ``FileNotFoundError``/``IsADirectoryError``/``PermissionError`` come from it natively; remote errors as
        ``write_bytes``."""
        path = check_path("copy_from_local", remote_path)
        with open(local_path, "rb") as f:  # noqa: ASYNC230 - the open itself must raise natively, first
            size = os.fstat(f.fileno()).st_size

            def chunks() -> AsyncIterator[bytes]:
                return local.read_ahead(f, size, os.fspath(local_path))

            await self._ops.write("copy_from_local", remote_path, path, size, chunks)

    async def make_directory(self, remote_path: str, *, create_parents: bool = True) -> None:
        """Create the directory ``remote_path``.

        ``create_parents=True`` behaves as ``mkdir -p`` (no error if it already is a directory). Raises
        ``SandboxFilesystemPathAlreadyExistsError`` (the path exists as a file, or as a directory without
        ``create_parents``), ``…NotFoundError`` (missing parent without ``create_parents``),
        ``…NotADirectoryError`` (an ancestor is a file), ``…PermissionError``; ``SandboxFilesystemError`` when an
        ancestor is a symlink; ``InvalidError`` when ``create_parents`` is not a bool.
        """
        path = check_path("make_directory", remote_path)
        check_flag(create_parents, "create_parents")
        await self._ops.make_directory(remote_path, path, parents=create_parents)

    # --------------------------------------------------------------------------------------- metadata, lists

    async def stat(self, remote_path: str) -> FileInfo:
        """Metadata of ``remote_path`` itself (``lstat``: a symlink describes itself, even dangling).

        ``name`` is the last component, ``path`` the given string. Raises ``SandboxFilesystemNotFoundError``,
        ``…NotADirectoryError`` (an ancestor is a file), ``…PermissionError``.
        """
        return await self._ops.stat(remote_path, check_path("stat", remote_path))

    async def list_files(self, remote_path: str) -> list[FileInfo]:
        """The entries of directory ``remote_path`` (not recursive), sorted by name, each described by ``lstat``;
        ``entry.path`` is ``remote_path`` joined with the name. A symlink to a directory is followed.

        Raises ``SandboxFilesystemNotFoundError``, ``…NotADirectoryError`` (a file, or an ancestor is one),
        ``…PermissionError``. Needs ``/bin/sh`` in the image.
        """
        return await self._ops.list_files(remote_path, check_path("list_files", remote_path))

    async def remove(self, remote_path: str, *, recursive: bool = False) -> None:
        """Remove a file, symlink (never followed) or empty directory; a non-empty directory only with
        ``recursive=True``.

        Raises ``SandboxFilesystemNotFoundError``, ``…DirectoryNotEmptyError``, ``…PermissionError``;
        ``InvalidError`` when ``recursive`` is not a bool. Needs ``/bin/sh`` in the image.
        """
        path = check_path("remove", remote_path)
        check_flag(recursive, "recursive")
        await self._ops.remove(remote_path, path, recursive=recursive)

    # ------------------------------------------------------------------------------------------------ watch

    async def watch(
        self,
        remote_path: str,
        *,
        filter: list[FileWatchEventType] | None = None,
        recursive: bool = False,
        timeout: int | None = None,
    ) -> AsyncIterator[FileWatchEvent]:
        """Yield changes under ``remote_path`` (a file, or a directory's entries; all descendants with
        ``recursive=True``) until ``timeout`` seconds pass (then it ends without raising), the iterator is
        closed (``break``), or the sandbox ends.

        ``filter=None`` passes everything, ``filter=[]`` nothing. Renames are ``Modify`` events with
        ``[src, dst]``. Raises ``SandboxFilesystemNotFoundError``/``…PermissionError`` at the start. Needs
        ``/bin/sh`` in the image; see the module docstring for the polling approximation.
        """
        async for event in self._watch(remote_path, filter=filter, recursive=recursive, timeout=timeout):
            yield event

    def _watch(
        self,
        remote_path: str,
        *,
        filter: Collection[FileWatchEventType] | None,
        recursive: bool,
        timeout: float | None,
        ready: asyncio.Event | None = None,
    ) -> AsyncIterator[FileWatchEvent]:
        """``watch``, with ``ready`` set once the first snapshot is taken."""
        return _watch_tree(self._ops, remote_path, filter=filter, recursive=recursive, timeout=timeout, ready=ready)


def sandbox_filesystem(ops: FileOps) -> SandboxFilesystem:
    """The ``SandboxFilesystem`` over ``ops`` (what ``Sandbox.filesystem`` hands out)."""
    return SandboxFilesystem._new(ops)
