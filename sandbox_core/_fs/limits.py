"""Bounds on what a filesystem read may cost this process, whatever the sandbox put at the path.

A read takes at most ``max_read_bytes()`` (Modal's limit, 5 GiB; ``SandboxFilesystemFileTooLargeError`` beyond it,
also for a file that grows while it is read) and fails when no data arrived for ``read_stall_seconds()`` (a FIFO or
a stuck file system cannot hold a caller forever). Only regular files are read: every transport refuses a device
(``/dev/zero`` never ends), a FIFO or a socket, also behind a symlink. Both bounds are process-wide settings read
from the environment at each read (``SANDBOX_CORE_MAX_READ_BYTES``, ``SANDBOX_CORE_READ_STALL_SECONDS``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from .base import Failure, Sink

#: Modal's read limit (its sandbox file system tool refuses larger files with ``FileTooLarge``).
DEFAULT_MAX_READ_BYTES = 5 * 1024**3
#: Seconds without data after which a read fails.
DEFAULT_READ_STALL_SECONDS = 60.0


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


def max_read_bytes() -> int:
    """The largest file a read returns (``SANDBOX_CORE_MAX_READ_BYTES``, default ``DEFAULT_MAX_READ_BYTES``)."""
    return int(_env_number("SANDBOX_CORE_MAX_READ_BYTES", DEFAULT_MAX_READ_BYTES))


def read_stall_seconds() -> float:
    """Seconds a read may go without data (``SANDBOX_CORE_READ_STALL_SECONDS``, default 60)."""
    return _env_number("SANDBOX_CORE_READ_STALL_SECONDS", DEFAULT_READ_STALL_SECONDS)


def too_large(size: int | None, limit: int) -> Failure:
    """The failure for a file over ``limit`` (Modal's message; ``size`` None when only "more than" is known)."""
    if size is None:
        return Failure("too_large", f"file is larger than the {limit} byte limit")
    return Failure("too_large", f"file is {size} bytes, which exceeds the {limit} byte limit")


def check_size(size: int) -> None:
    """``Failure("too_large")`` when a file of ``size`` bytes may not be read (checked before any data moves)."""
    limit = max_read_bytes()
    if size > limit:
        raise too_large(size, limit)


async def bounded_read(
    read: Callable[[Sink, list[bytes] | None], Awaitable[None]], sink: Sink, whole: list[bytes] | None
) -> None:
    """Run ``read(counted_sink, whole)`` under both bounds: data beyond the size limit, or no data (nor a sink
    busy with it) for the stall time, ends it with a ``Failure``."""
    limit, stall = max_read_bytes(), read_stall_seconds()
    loop = asyncio.get_running_loop()
    total = 0
    last = loop.time()
    busy = False

    async def counted(chunk: bytes) -> None:
        nonlocal total, last, busy
        total += len(chunk)
        if total > limit:
            raise too_large(None, limit)
        busy = True  # the consumer's own pace (a slow local disk) is no stall of the sandbox
        try:
            await sink(chunk)
        finally:
            busy = False
            last = loop.time()

    task = asyncio.ensure_future(read(counted, whole))
    try:
        while not task.done():
            remaining = stall if busy else last + stall - loop.time()
            if remaining <= 0:
                raise Failure("other", f"Read timed out: no data for {stall:g} s")
            await asyncio.wait({task}, timeout=remaining)
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    task.result()
    if whole and sum(len(b) for b in whole) > limit:
        whole.clear()
        raise too_large(None, limit)
