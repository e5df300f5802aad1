"""A lock shared by every process on this host that talks to one Podman service.

Podman 4.3 renames a container to the name it already has without complaint, so "every claimant renames to the same
name, one wins" (the holder pool's claim) needs the check and the rename to happen as one step. Within a process an
``asyncio.Lock`` does that; across processes this ``flock`` on a file named for the service's address does
(``tempfile.gettempdir()``, mode 0666 so that every user of a shared service can take it). Processes on other hosts
using the same remote service are not covered (docs/podman.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator

#: Seconds between attempts while another process holds the lock (it is held for two requests).
POLL = 0.005


def lock_path(engine_url: str, purpose: str) -> str:
    digest = hashlib.sha256(f"{engine_url}\0{purpose}".encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"sandbox-core-podman-{purpose}-{digest}.lock")


def _open(path: str) -> int | None:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError:
        return None  # another user's file we may not open: within-process ordering only
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o666)  # the umask reduced the mode of a file this process created
    return fd


@contextlib.asynccontextmanager
async def held(engine_url: str, purpose: str) -> AsyncIterator[None]:
    """Hold the host-wide lock for ``purpose`` on the service at ``engine_url``. Polls without blocking the event
    loop, so a cancelled waiter holds nothing."""
    fd = _open(lock_path(engine_url, purpose))
    try:
        while fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(POLL)
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the flock
