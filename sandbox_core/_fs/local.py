"""The local side of ``copy_to_local`` and ``copy_from_local``: files on this machine, written atomically and read
ahead, without holding up the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import random
import string
import time
from collections.abc import AsyncIterator
from typing import IO

from .. import exception as exc
from .base import CHUNK

#: Disk writes of one download that may run at once (each of about CHUNK bytes), once writes go to threads.
WRITES_IN_FLIGHT = 4
#: A download writes on the event loop until one write takes longer than this (seconds); then in worker threads.
SLOW_WRITE = 0.005


def write_all(fd: int, chunks: list[bytes], offset: int) -> None:
    """Write ``chunks`` at ``offset`` with as few system calls as possible (``pwritev``, no joining copy)."""
    views = [memoryview(c) for c in chunks if c]
    while views:
        n = os.pwritev(fd, views[:1024], offset)
        offset += n
        while n and views:
            if n >= len(views[0]):
                n -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][n:]
                n = 0


def _temp_name() -> str:
    return ".modal-sandbox-fs-tmp-" + "".join(random.choices(string.ascii_letters + string.digits, k=6))


class Download:
    """A file being downloaded to ``local``: the data goes into a temporary file next to it
    (``.modal-sandbox-fs-tmp-XXXXXX``), renamed over ``local`` by ``commit``; ``discard`` removes it, leaving an
    existing ``local`` untouched. Use: ``write``… ``flush``; then, whatever happened, ``drain``; ``commit`` if all
    went well; ``discard`` in every case.

    Writes into the page cache take well under a millisecond per chunk, so they run on the event loop: handing them
    to threads costs CPU that competes with the engine's tar writer on a small machine. The first write slower than
    ``SLOW_WRITE`` (a throttled disk, a network filesystem) moves the rest to worker threads, up to
    ``WRITES_IN_FLIGHT`` positioned writes at once, so that the event loop is never held up by the disk for long.
    """

    __slots__ = ("_failure", "_fd", "_inline", "_local", "_offset", "_pending", "_pending_size", "_tmp", "_writing")

    def __init__(self, local: str) -> None:
        """Create the temporary file (and ``local``'s parent directories). ``IsADirectoryError`` when ``local`` is a
        directory."""
        parent = os.path.dirname(os.path.abspath(local))
        os.makedirs(parent, exist_ok=True)
        if os.path.isdir(local):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), local)
        self._local = local
        self._fd = -1
        for _ in range(100):
            self._tmp = os.path.join(parent, _temp_name())
            try:
                self._fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                break
            except FileExistsError:
                continue
        if self._fd < 0:
            raise FileExistsError(errno.EEXIST, "could not create a temporary file", parent)
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._offset = 0
        self._writing: list[asyncio.Future[None]] = []
        self._inline = True
        self._failure: BaseException | None = None

    async def write(self, chunk: bytes) -> None:
        """Append ``chunk`` (a ``Sink``). Raises the disk's ``OSError``."""
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= CHUNK:
            await self._flush()

    async def _flush(self) -> None:
        if self._inline:
            started = time.perf_counter()
            write_all(self._fd, self._pending, self._offset)
            self._inline = time.perf_counter() - started <= SLOW_WRITE
        else:
            if len(self._writing) >= WRITES_IN_FLIGHT:
                await self._writing.pop(0)
            loop = asyncio.get_running_loop()
            self._writing.append(loop.run_in_executor(None, write_all, self._fd, self._pending, self._offset))
        self._offset += self._pending_size
        self._pending, self._pending_size = [], 0

    async def flush(self) -> None:
        """Write what is pending (called once all data was given to ``write``)."""
        if self._pending:
            await self._flush()

    async def drain(self) -> None:
        """Wait until no write runs any more; the first failure is kept for ``commit``. Never raises."""
        results = await asyncio.gather(*self._writing, return_exceptions=True)
        self._writing = []
        self._failure = self._failure or next((r for r in results if isinstance(r, BaseException)), None)

    def commit(self) -> None:
        """Rename the temporary file over ``local``; raises the failure of a write first (after ``drain``)."""
        if self._failure is not None:
            raise self._failure
        os.close(self._fd)
        self._fd = -1
        os.replace(self._tmp, self._local)
        self._tmp = ""

    def discard(self) -> None:
        """Close and remove the temporary file, unless ``commit`` renamed it (after ``drain``)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._tmp:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)
            self._tmp = ""


async def read_ahead(f: IO[bytes], size: int, name: str) -> AsyncIterator[bytes]:
    """The ``size`` bytes of the open file ``f`` in ``CHUNK`` pieces, each read in a worker thread while the previous
    one is being sent. ``SandboxFilesystemError`` when the file turns out shorter."""
    loop = asyncio.get_running_loop()
    left = size
    ahead = loop.run_in_executor(None, f.read, min(CHUNK, left)) if left else None
    try:
        while ahead is not None:
            chunk = await ahead
            ahead = None
            if not chunk:
                raise exc.SandboxFilesystemError(f"local file {name!r} shrank while it was being uploaded")
            left -= len(chunk)
            if left > 0:
                ahead = loop.run_in_executor(None, f.read, min(CHUNK, left))
            yield chunk
    finally:
        if ahead is not None:
            await asyncio.gather(ahead, return_exceptions=True)
