"""Run a build at most once for concurrent callers: a shared task within a process, a file lock across processes.

In a process, callers asking for the same key while its build runs await the same task; one caller's
cancellation does not cancel the build for the others, and the build is cancelled when the last caller leaves.

Across processes, the holder of an exclusive ``flock`` on ``<lock dir>/<key>.lock`` builds; the others wait for
the lock and then find the result (callers re-check after locking). ``flock`` was chosen because the kernel
releases it when its holder dies, so a crashed build never leaves a stale lock, and because waiting on it needs no
polling. Its scope is one host (one kernel): processes on different hosts sharing a remote engine may each build
the same step; that costs time only, since both produce the same content-addressed tag.

The lock directory is ``$SANDBOX_CORE_LOCK_DIR`` or ``<tmp>/sandbox-core-locks`` (mode 1777, so every user of the
engine on this host shares it); lock files are opened read-only (flock needs no write access) and never followed
through symlinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import os
import tempfile
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import attrs

from ..exception import ImageBuildError

T = TypeVar("T")


@attrs.define
class _Shared:
    task: asyncio.Task[Any]
    waiters: int = 0


_running: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Shared]] = weakref.WeakKeyDictionary()


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()  # marks it retrieved when every caller left before the end


async def run_once(key: str, factory: Callable[[], Awaitable[T]], on_join: Callable[[], None] | None = None) -> T:
    """The result of ``factory()``, started only if no call for ``key`` is running in this event loop; a caller
    that joins a running call gets its result (or exception) and ``on_join()`` is called for it first."""
    loop = asyncio.get_running_loop()
    table = _running.setdefault(loop, {})
    shared = table.get(key)
    if shared is None or shared.task.done():

        async def run() -> T:
            return await factory()

        shared = _Shared(loop.create_task(run()))
        table[key] = shared
        this = shared
        shared.task.add_done_callback(lambda t: table.pop(key) if table.get(key) is this else None)
        shared.task.add_done_callback(_retrieve)
    elif on_join is not None:
        on_join()
    shared.waiters += 1
    try:
        result: T = await asyncio.shield(shared.task)
        return result
    finally:
        shared.waiters -= 1
        if shared.waiters == 0 and not shared.task.done():
            shared.task.cancel()


def lock_dir() -> str:
    """The directory of the cross-process build locks (created with mode 1777 when missing)."""
    path = os.environ.get("SANDBOX_CORE_LOCK_DIR") or os.path.join(tempfile.gettempdir(), "sandbox-core-locks")
    try:
        os.mkdir(path, 0o1777)
        os.chmod(path, 0o1777)  # mkdir's mode is reduced by the umask
    except FileExistsError:
        pass
    except OSError as e:
        raise ImageBuildError(f"cannot create the build lock directory {path!r}: {e.strerror}") from None
    return path


def _open_lock(name: str) -> int:
    path = os.path.join(lock_dir(), hashlib.sha256(name.encode()).hexdigest()[:32] + ".lock")
    try:
        return os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise ImageBuildError(f"cannot open the build lock {path!r}: {e.strerror}") from None


async def _wait_for_lock(fd: int) -> None:
    """Block on the lock in a thread of its own (never a pool worker: a wait may last a whole build)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def report(error: BaseException | None) -> None:
        if done.cancelled():
            os.close(fd)  # the caller left: closing releases the lock just taken
        elif error is not None:
            done.set_exception(error)
        else:
            done.set_result(None)

    def wait() -> None:
        error: BaseException | None = None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as e:
            error = ImageBuildError(f"waiting for a build lock failed: {e.strerror}")
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(report, error)

    threading.Thread(target=wait, name="sandbox-core-build-lock", daemon=True).start()
    await done


@contextlib.asynccontextmanager
async def file_lock(name: str, on_wait: Callable[[], None] | None = None) -> AsyncIterator[None]:
    """Hold the cross-process lock ``name`` for the block; ``on_wait()`` is called when another holds it."""
    fd = _open_lock(name)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            os.close(fd)
            raise ImageBuildError(f"taking a build lock failed: {e.strerror}") from None
        if on_wait is not None:
            on_wait()
        try:
            await _wait_for_lock(fd)
        except asyncio.CancelledError:
            raise  # the waiting thread closes fd once it gets the lock
        except BaseException:
            os.close(fd)
            raise
    try:
        yield
    finally:
        os.close(fd)
