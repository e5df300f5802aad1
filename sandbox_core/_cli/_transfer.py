"""``cp``: one file to or from a sandbox, streamed by the library's ``copy_from_local``/``copy_to_local`` (bounded
memory, atomic on the local side), with progress.

The library's copies report no progress, so it is observed from outside: a download's count is the size of the
temporary file the library streams into next to the destination (``.modal-sandbox-fs-tmp-*``, its documented
contract); an upload's is the read offset of the local file (``/proc/self/fdinfo``, Linux). Where neither can be
seen the bar shows the bytes as unknown until the copy ends.
"""

from __future__ import annotations

import glob
import os
import time
from typing import Literal

import attrs

import sandbox_core as sc

from ._progress import track_bytes

_TEMP_GLOB = ".modal-sandbox-fs-tmp-*"


@attrs.frozen
class CopyResult:
    """What one copy did (the ``cp --json`` document)."""

    direction: Literal["upload", "download"]
    sandbox_id: str
    source: str
    destination: str
    size: int
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {
            "direction": self.direction,
            "sandbox_id": self.sandbox_id,
            "source": self.source,
            "destination": self.destination,
            "bytes": self.size,
            "seconds": round(self.seconds, 3),
        }


async def upload(sb: sc.Sandbox, local: str, remote: str, *, progress: bool) -> CopyResult:
    """Copy the local file ``local`` to ``remote`` (into it, keeping the file name, when it is a directory or ends
    in ``/``). Local errors are the builtin ``OSError`` family; remote ones ``SandboxFilesystem*Error``."""
    if os.path.isdir(local):  # noqa: ASYNC240 - one local stat
        raise IsADirectoryError(21, "cp copies single files; this is a directory", local)
    size = os.path.getsize(local)  # noqa: ASYNC240 - one local stat; FileNotFoundError for a missing file
    target = await _remote_target(sb, remote, os.path.basename(local))
    started = time.monotonic()
    probe = _ReadOffset(local)
    work = sb.filesystem.copy_from_local(local, target)
    await track_bytes(f"{local} → {sb.object_id}:{target}", size, probe, work, enabled=progress)
    return CopyResult("upload", sb.object_id, local, target, size, time.monotonic() - started)


async def download(sb: sc.Sandbox, remote: str, local: str, *, progress: bool) -> CopyResult:
    """Copy the remote file ``remote`` to ``local`` (into it when it is a directory or ends in ``/``), atomically."""
    info = await sb.filesystem.stat(remote)
    if info.is_dir():
        raise sc.exception.SandboxFilesystemIsADirectoryError(f"cp copies single files; this is a directory: {remote}")
    if local.endswith("/") or os.path.isdir(local):  # noqa: ASYNC240 - one local stat
        local = os.path.join(local, os.path.basename(remote.rstrip("/")))
    started = time.monotonic()
    probe = _TempFileSize(os.path.dirname(os.path.abspath(local)), time.time())  # noqa: ASYNC240 - no I/O
    work = sb.filesystem.copy_to_local(remote, local)
    await track_bytes(f"{sb.object_id}:{remote} → {local}", info.size, probe, work, enabled=progress)
    size = os.path.getsize(local)  # noqa: ASYNC240 - one local stat
    return CopyResult("download", sb.object_id, remote, local, size, time.monotonic() - started)


async def _remote_target(sb: sc.Sandbox, remote: str, name: str) -> str:
    if remote.endswith("/"):
        return remote + name
    try:
        info = await sb.filesystem.stat(remote)
    except sc.exception.SandboxFilesystemNotFoundError:
        return remote
    return f"{remote}/{name}" if info.is_dir() else remote


class _TempFileSize:
    """Bytes written so far into the library's temporary download file in ``directory`` (the largest one created
    since ``since``), or None before it exists."""

    def __init__(self, directory: str, since: float) -> None:
        self._pattern = os.path.join(glob.escape(directory), _TEMP_GLOB)
        self._since = since - 1.0

    def __call__(self) -> int | None:
        sizes = []
        for path in glob.glob(self._pattern):
            try:
                st = os.stat(path)
            except OSError:
                continue
            if st.st_mtime >= self._since:
                sizes.append(st.st_size)
        return max(sizes) if sizes else None


class _ReadOffset:
    """How far this process has read the local file ``path`` (the offset of the descriptor open on it), or None
    when it cannot be seen (not Linux, not yet open)."""

    def __init__(self, path: str) -> None:
        self._path = os.path.realpath(path)
        self._fd: str | None = None

    def _find(self) -> str | None:
        try:
            fds = os.listdir("/proc/self/fd")
        except OSError:
            return None
        for fd in fds:
            try:
                if os.readlink(f"/proc/self/fd/{fd}") == self._path:
                    return fd
            except OSError:
                continue
        return None

    def __call__(self) -> int | None:
        if self._fd is None:
            self._fd = self._find()
            if self._fd is None:
                return None
        try:
            with open(f"/proc/self/fdinfo/{self._fd}") as f:
                for line in f:
                    if line.startswith("pos:"):
                        return int(line.split()[1])
        except OSError:
            self._fd = None
        return None
