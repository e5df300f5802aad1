"""``volume get``: files and directory trees from a volume to local files, streamed, each written to a temporary
file next to its destination and renamed into place (a failed copy leaves no partial file)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import posixpath
import tempfile
from pathlib import Path

import sandbox_core as sc


async def created_at(vol: sc.Volume) -> float:
    """When the volume was created (Unix time)."""
    return (await vol.info()).created_at.timestamp()


def _normalised(remote: str) -> str:
    return posixpath.normpath("/" + remote).lstrip("/")


def _open_partial(dest: Path, force: bool) -> tuple[int, str]:
    """A new temporary file next to ``dest`` (its directories created): (fd, path)."""
    if dest.exists() and not force:
        raise FileExistsError(17, "File exists (pass --force to overwrite)", str(dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")


def _base(local: Path, name: str) -> Path:
    """Where ``name`` goes: into ``local`` when it is a directory, else ``local`` itself."""
    return local / name if local.is_dir() else local


async def _download_file(vol: sc.Volume, remote: str, dest: Path, *, force: bool) -> int:
    fd, tmp = await asyncio.to_thread(_open_partial, dest, force)
    try:
        with os.fdopen(fd, "wb") as f:
            size = await vol.read_file_into_fileobj(remote, f)
        await asyncio.to_thread(os.replace, tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return size


async def download(vol: sc.Volume, remote: str, local: Path, *, force: bool) -> list[tuple[str, int]]:
    """Copy ``remote`` (a file, or a directory and everything below it) to ``local`` (into it when it is an existing
    directory). Returns ``(local path, bytes)`` of every file written."""
    rel = _normalised(remote)
    entries = await vol.listdir(remote, recursive=True)
    if len(entries) == 1 and entries[0].path == rel and entries[0].type != sc.FileEntryType.DIRECTORY:
        dest = _base(local, posixpath.basename(rel))
        return [(str(dest), await _download_file(vol, rel, dest, force=force))]
    base = _base(local, posixpath.basename(rel) or "volume")
    written = []
    for entry in entries:
        if entry.type == sc.FileEntryType.FILE:
            inner = posixpath.relpath(entry.path, rel) if rel else entry.path
            dest = base.joinpath(*inner.split("/"))
            written.append((str(dest), await _download_file(vol, entry.path, dest, force=force)))
    return written
