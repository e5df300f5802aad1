"""The file-transport interface and what every transport shares: paths, raw entries, the failure type.

A transport moves data and metadata between this process and one sandbox's filesystem; it knows nothing of Modal's
error classes. A path-level failure is a ``Failure`` with a ``kind``; ``FileOps`` maps it per operation.
"""

from __future__ import annotations

import posixpath
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal, Protocol

import attrs

from .. import exception as exc

#: Transfer chunk size: large enough that per-chunk overhead vanishes, small enough to bound memory.
CHUNK = 1 << 20

Kind = Literal[
    "missing",
    "not_a_directory",
    "is_a_directory",
    "exists",
    "not_empty",
    "permission",
    "symlink",
    "read_only",
    "other",
]

REASONS: dict[Kind, str] = {
    "missing": "No such file or directory",
    "not_a_directory": "Not a directory",
    "is_a_directory": "Is a directory",
    "exists": "File exists",
    "not_empty": "Directory not empty",
    "permission": "Permission denied",
    "symlink": "Refusing to write through a symbolic link",
    "read_only": "Read-only file system",
    "other": "Operation failed",
}


class Failure(Exception):
    """A path-level failure of ``kind`` (with the reason to show), raised by transports."""

    def __init__(self, kind: Kind, reason: str | None = None) -> None:
        super().__init__(reason or REASONS[kind])
        self.kind: Kind = kind
        self.reason = reason or REASONS[kind]


@attrs.frozen
class Entry:
    """One filesystem entry as ``lstat`` sees it: ``mode`` is a full ``st_mode``; ``link`` the raw link text of a
    symlink (``b""`` otherwise); ``owner``/``group`` the names when the transport knows them (else looked up from
    ``uid``/``gid``)."""

    mode: int
    size: int
    uid: int
    gid: int
    mtime: float
    link: bytes = b""
    owner: str | None = None
    group: str | None = None


#: Receives a file's data chunk by chunk; whatever it raises propagates unchanged.
Sink = Callable[[bytes], Awaitable[None]]
#: Produces a file's data (called once per upload); whatever it raises propagates unchanged.
Chunks = Callable[[], AsyncIterator[bytes]]
#: A watched tree: path -> (inode, st_mode, size, mtime, ctime text).
Snapshot = dict[bytes, tuple[int, int, int, float, bytes]]


class FileTransport(Protocol):
    """Data and metadata of single paths. Paths are absolute ``bytes``; failures are ``Failure``s (path-level) or
    ``sandbox_core.exception`` classes (the sandbox or the engine)."""

    async def read(self, path: bytes, sink: Sink, *, whole: list[bytes] | None = None) -> None:
        """Stream the file's data (links followed) into ``sink``; or, when ``whole`` is given and the file is small
        enough to take at once, append it there instead."""
        ...

    async def write(self, path: bytes, size: int, chunks: Chunks) -> None:
        """Replace the file with ``size`` bytes from ``chunks()``, creating parents; never through a symlink."""
        ...

    async def make_directory(self, path: bytes, *, parents: bool) -> None:
        """Create the directory (``mkdir -p`` with ``parents``); never through a symlink."""
        ...

    async def stat(self, path: bytes) -> Entry:
        """``lstat`` of ``path``."""
        ...


class TreeTransport(FileTransport, Protocol):
    """A transport that can also walk, remove and snapshot trees."""

    async def list(self, path: bytes) -> list[tuple[bytes, Entry]]:
        """The entries of directory ``path`` (links to a directory followed): names and their ``lstat``."""
        ...

    async def remove(self, path: bytes, *, recursive: bool) -> None:
        """Remove a file, symlink (never followed) or directory (a non-empty one only when ``recursive``)."""
        ...

    async def snapshot(self, path: bytes, *, recursive: bool) -> Snapshot | None:
        """The tree at ``path`` (its entries; all descendants when ``recursive``), or None when it changed while
        it was read."""
        ...


def check_path(operation: str, remote_path: Any) -> bytes:
    """``remote_path`` as bytes; ``InvalidError`` unless it is an absolute ``str`` without NUL."""
    if not isinstance(remote_path, str) or not remote_path.startswith("/"):
        raise exc.InvalidError(f"Sandbox.filesystem.{operation}() currently only supports absolute remote_path values")
    if "\0" in remote_path:
        raise exc.InvalidError(f"Sandbox.filesystem.{operation}(): remote_path must not contain NUL characters")
    return remote_path.encode("utf-8", "surrogateescape")


def norm(p: bytes) -> bytes:
    """Lexically normalised absolute path (``//``, ``.``, trailing ``/`` removed)."""
    out = posixpath.normpath(p)
    return b"/" + out.lstrip(b"/")


def ancestors(p: bytes) -> list[bytes]:
    """``/a``, ``/a/b`` … for ``/a/b/c`` (the target and ``/`` excluded); ``p`` must be normalised."""
    parts = [c for c in p.split(b"/") if c]
    return [b"/" + b"/".join(parts[:i]) for i in range(1, len(parts))]


def decode(p: bytes) -> str:
    """A path or name as ``str`` (undecodable bytes as lone surrogates, as ``os.fsdecode``)."""
    return p.decode("utf-8", "surrogateescape")
