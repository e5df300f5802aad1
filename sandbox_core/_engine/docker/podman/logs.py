"""Following a container's output on Podman.

Podman 4.3 can keep a following log read open after the container stopped, without the last entries written at
the exit (seen for a final partial line, about 1 run in 60 with three clients at once): a reader would wait
forever. Here a follow is bounded by the container's end: once the container stopped, the follow gets
``STOP_GRACE`` to end by itself, then it is ended, and ``LogStream``'s catch-up read (without ``follow``) delivers
what the follow did not.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from ..output import LogStream

#: How long a follow may stay open after its container stopped before it is ended (the catch-up makes ending it
#: early harmless; this only spares the extra read when Podman ends the follow itself, as it usually does).
STOP_GRACE = 0.25


class StopBoundLogs:
    """A ``FrameSource``: ``stream``, ended at the latest ``STOP_GRACE`` after the container stopped.

    ``wait`` is the engine's own wait for the container's end (its exit code; -1 for a container that never ran).
    """

    __slots__ = ("_stream", "_watcher")

    def __init__(self, stream: LogStream, wait: Callable[[], Awaitable[int]], cid: str) -> None:
        self._stream = stream
        self._watcher = asyncio.get_running_loop().create_task(
            _end_after_stop(stream, wait), name=f"podman-logs-stop-{cid[:12]}"
        )

    async def read_frame(self) -> tuple[int, bytes] | None:
        return await self._stream.read_frame()

    async def close(self) -> None:
        self._watcher.cancel()
        with contextlib.suppress(BaseException):
            await self._watcher
        await self._stream.close()


async def _end_after_stop(stream: LogStream, wait: Callable[[], Awaitable[int]]) -> None:
    try:
        code = await wait()
    except Exception:  # gone or unreachable: the follow ends or breaks by itself
        return
    if code == -1:  # never ran: a follow opened before the start keeps the engine's behaviour
        return
    await asyncio.sleep(STOP_GRACE)
    stream.end_follow()
