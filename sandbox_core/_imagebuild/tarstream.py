"""Local files as deterministic tar entries: scanning with content digests, and a streaming tar writer.

Determinism: every entry gets the same mtime (``FIXED_MTIME``), uid/gid 0 and empty owner names; only the path,
the type, the permission bits, the content and a symlink's target reach the tar. So the tar of a tree, and the
digest computed from its entries, depend on nothing but what a container would see.

Memory: ``stream_tar`` reads files in chunks off the event loop; a context of any size is never held whole. A file
that changes between the scan (which fixed its digest) and the send fails the build instead of producing an
image that does not match its content address.

Scanning keeps symlinks as symlinks (as ``COPY`` does), treats hard links as regular files, and skips sockets,
FIFOs and devices, which a copy cannot carry.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import tarfile
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import PurePosixPath
from typing import Literal

import attrs

from ..exception import ImageBuildError, InvalidError

#: 1980-01-02 UTC: the same for every build, and late enough that zip-based tools (wheel builds) accept it.
FIXED_MTIME = 315619200
CHUNK = 1 << 20
BLOCK = 512

EntryKind = Literal["file", "dir", "symlink"]
#: Decides whether a path (relative to the scanned directory) is left out; an excluded directory is not entered.
IgnoreFn = Callable[[PurePosixPath], bool]


def _check_arcname(instance: object, attribute: object, value: str) -> None:
    if value.startswith("/") or ".." in PurePosixPath(value).parts or not value:
        raise InvalidError(f"tar entry names must be relative paths inside the context, got {value!r}")


@attrs.frozen
class Entry:
    """One tar member. ``source`` is a host path read when streaming, ``data`` in-memory content (small generated
    files); ``digest`` is the sha256 of a file's content, fixed when the entry was made."""

    name: str = attrs.field(validator=_check_arcname)
    kind: EntryKind
    mode: int
    size: int = 0
    source: str | None = None
    data: bytes | None = None
    target: str = ""
    digest: str = ""

    @staticmethod
    def from_bytes(name: str, data: bytes, mode: int = 0o644) -> Entry:
        return Entry(name, "file", mode, len(data), data=data, digest=hashlib.sha256(data).hexdigest())

    @staticmethod
    def directory(name: str, mode: int = 0o755) -> Entry:
        return Entry(name, "dir", mode)

    def identity(self) -> tuple[str, str, int, str]:
        """What the content address depends on: name, type, permission bits, content digest or link target."""
        return (self.name, self.kind, self.mode & 0o7777, self.digest if self.kind == "file" else self.target)


_digest_cache: dict[tuple[int, int, int, int, int], str] = {}


def file_digest(path: str, st: os.stat_result) -> str:
    """The sha256 of a file's content, remembered per (device, inode, size, mtime, ctime)."""
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    cached = _digest_cache.get(key)
    if cached is not None:
        return cached
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    digest = h.hexdigest()
    if len(_digest_cache) > 100_000:
        _digest_cache.clear()
    _digest_cache[key] = digest
    return digest


def scan_path(host_path: str, arcname: str) -> Entry | None:
    """The entry for one host path (not followed if a symlink); None for sockets, FIFOs and devices."""
    st = os.lstat(host_path)
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        return Entry(arcname, "symlink", 0o777, target=os.readlink(host_path))
    if stat.S_ISDIR(st.st_mode):
        return Entry(arcname, "dir", mode)
    if stat.S_ISREG(st.st_mode):
        return Entry(arcname, "file", mode, st.st_size, source=host_path, digest=file_digest(host_path, st))
    return None


def scan_file(host_path: str, arcname: str) -> list[Entry]:
    """A single local file (symlinks followed: the user named this file) as one entry."""
    if not os.path.isfile(host_path):
        raise InvalidError(f"local file {host_path!r} does not exist or is not a regular file")
    st = os.stat(host_path)
    return [
        Entry(
            arcname, "file", stat.S_IMODE(st.st_mode), st.st_size, source=host_path, digest=file_digest(host_path, st)
        )
    ]


def scan_tree(host_dir: str, arcname: str, ignore: IgnoreFn | None = None) -> list[Entry]:
    """The files and symlinks under ``host_dir`` that ``ignore`` keeps, with the directories leading to them, sorted
    by name; ``host_dir`` itself becomes directory ``arcname`` (``""`` puts its content at the tar's root).

    As with Modal's ``add_local_dir``, ``ignore`` is asked about files and symlinks (paths relative to
    ``host_dir``); a directory appears when something in it is kept (or when it is ``host_dir`` itself).
    """
    if not os.path.isdir(host_dir):
        raise InvalidError(f"local directory {host_dir!r} does not exist or is not a directory")
    prefix = f"{arcname}/" if arcname else ""
    kept: list[Entry] = []
    dirs: dict[PurePosixPath, Entry] = {}
    for directory, subdirs, files in os.walk(host_dir):
        rel = PurePosixPath(os.path.relpath(directory, host_dir).replace(os.sep, "/"))
        if rel.parts:
            entry = scan_path(directory, prefix + rel.as_posix())
            if entry is not None:
                dirs[rel] = entry
        linked_dirs = [d for d in subdirs if os.path.islink(os.path.join(directory, d))]
        for name in sorted([*files, *linked_dirs]):
            sub = rel / name
            if ignore is not None and ignore(sub):
                continue
            entry = scan_path(os.path.join(directory, name), prefix + sub.as_posix())
            if entry is not None and entry.kind != "dir":
                kept.append(entry)
    needed: set[PurePosixPath] = set()
    for entry in kept:
        needed.update(PurePosixPath(entry.name[len(prefix) :]).parents)
    out = [dirs[d] for d in needed if d in dirs]
    if arcname:
        out.append(Entry(arcname, "dir", stat.S_IMODE(os.stat(host_dir).st_mode)))
    out.extend(kept)
    out.sort(key=lambda e: e.name)
    return out


def entries_digest(entries: Iterable[Entry]) -> str:
    """A digest of the entries' identities (names relative to the first entry's name are not assumed)."""
    h = hashlib.sha256()
    for name, kind, mode, content in sorted(e.identity() for e in entries):
        h.update(f"{len(name)}:{name}\0{kind}\0{mode:o}\0{content}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def header(entry: Entry) -> bytes:
    """The tar header of ``entry`` (PAX where needed), with the fixed mtime and root ownership."""
    info = tarfile.TarInfo(entry.name + ("/" if entry.kind == "dir" else ""))
    info.mode = entry.mode & 0o7777
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if entry.kind == "dir":
        info.type = tarfile.DIRTYPE
    elif entry.kind == "symlink":
        info.type = tarfile.SYMTYPE
        info.linkname = entry.target
    else:
        info.type = tarfile.REGTYPE
        info.size = entry.size
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


async def _file_chunks(entry: Entry) -> AsyncIterator[bytes]:
    """A file's content in chunks, checked against the size and digest fixed by the scan."""
    assert entry.source is not None
    try:
        f = await asyncio.to_thread(open, entry.source, "rb")
    except OSError as e:
        raise ImageBuildError(f"cannot read local file {entry.source!r}: {e}") from None
    h, sent = hashlib.sha256(), 0
    try:
        while sent < entry.size:
            chunk = await asyncio.to_thread(f.read, min(CHUNK, entry.size - sent))
            if not chunk:
                break
            h.update(chunk)
            sent += len(chunk)
            yield chunk
        extra: bytes = await asyncio.to_thread(f.read, 1)
        if sent != entry.size or extra or h.hexdigest() != entry.digest:
            raise ImageBuildError(f"local file {entry.source!r} changed while it was being sent to the engine")
    finally:
        await asyncio.to_thread(f.close)


async def stream_tar(entries: Iterable[Entry]) -> AsyncIterator[bytes]:
    """The tar of ``entries`` in order, as chunks of at most about ``CHUNK`` bytes."""
    for entry in entries:
        yield header(entry)
        if entry.kind != "file":
            continue
        if entry.data is not None:
            yield entry.data
        else:
            async for chunk in _file_chunks(entry):
                yield chunk
        if entry.size % BLOCK:
            yield b"\0" * (BLOCK - entry.size % BLOCK)
    yield b"\0" * (2 * BLOCK)
