"""Re-rooting a tar stream from the archive API while it streams: members renamed (or dropped), data copied through
in chunks, so a directory of any size never sits in memory.

Used to make a snapshot of one directory (its content moved to the tar's root, for ``import_rootfs``) and to
mount an image's files at a path (an image's root filesystem, read through a created container, moved under the
mount point). Regular files, directories, symlinks and hard links are carried with their mode, owner and mtime;
device nodes, FIFOs and sockets are left out (a copy cannot carry them usefully).
"""

from __future__ import annotations

import tarfile
from collections.abc import AsyncIterator, Callable

from .._engine.tar import BLOCK, TAR_END, TarMember, TarReader

CHUNK = 1 << 20
_KEPT = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE)

#: What a container's init layer adds to every container's root (placeholders for the engine's own mounts),
#: which a read of an image through a created container must not pass on as the image's files.
_INIT_FILES = {b".dockerenv", b"dev/console", b"etc/hostname", b"etc/hosts", b"etc/resolv.conf"}
_INIT_DIRS = (b"dev", b"dev/pts", b"dev/shm", b"etc", b"proc", b"sys")

Rename = Callable[[bytes], bytes | None]


def strip_first(name: bytes) -> bytes | None:
    """``dir/x`` → ``x``; the directory itself (``dir``) → ``.``: a directory's archive with its content at the
    root."""
    _head, sep, rest = name.strip(b"/").partition(b"/")
    return rest if sep and rest else b"."


def under(top: bytes) -> Rename:
    """``/x`` → ``<top>/x``; ``/`` → ``<top>``: the archive of a container's root as directory ``top``."""

    def rename(name: bytes) -> bytes | None:
        rest = name.strip(b"/")
        return top + b"/" + rest if rest else top

    return rename


def _is_init_file(m: TarMember, name: bytes) -> bool:
    rel = name.partition(b"/")[2]  # below the top directory
    if rel == b"etc/mtab":
        return m.is_symlink and m.linkname == b"/proc/mounts"
    return rel in _INIT_FILES and m.is_file and m.size == 0 and m.mode == 0o755


def _header(m: TarMember, name: bytes, linkname: bytes) -> bytes:
    info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape") + ("/" if m.is_dir and name != b"." else ""))
    info.type = tarfile.REGTYPE if m.is_file else m.type
    info.size = m.size if m.is_file else 0
    info.mode = m.mode
    info.uid, info.gid = m.uid, m.gid
    info.mtime = int(m.mtime)
    info.linkname = linkname.decode("utf-8", "surrogateescape")
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


async def rewrite(reader: TarReader, rename: Rename, *, without_init_layer: bool = False) -> AsyncIterator[bytes]:
    """The members of ``reader`` renamed by ``rename`` (None drops one), as a tar stream.

    With ``without_init_layer`` (for an archive renamed ``under`` a top directory), the engine's per-container
    placeholders are dropped: the empty files it creates, and the directories it creates (``dev``, ``proc``,
    ``sys`` …) unless something else is found below them.
    """
    held: dict[bytes, bytes] = {}  # init directories not yet known to be the image's own, by name
    while (m := await reader.next_member()) is not None:
        name = rename(m.name)
        if name is None or m.type not in _KEPT:
            continue
        if without_init_layer:
            if _is_init_file(m, name):
                continue
            if m.is_dir and name.partition(b"/")[2] in _INIT_DIRS:
                held[name] = _header(m, name, b"")
                continue
            for parent in [d for d in held if name.startswith(d + b"/")]:
                yield held.pop(parent)  # the image has content there: its directory is real
        linkname = m.linkname
        if m.type == tarfile.LNKTYPE:
            target = rename(m.linkname)
            if target is None:
                continue
            linkname = target
        yield _header(m, name, linkname)
        if m.is_file and m.size:
            while chunk := await reader.read(CHUNK):
                yield chunk
            if m.size % BLOCK:
                yield b"\0" * (BLOCK - m.size % BLOCK)
    yield TAR_END
