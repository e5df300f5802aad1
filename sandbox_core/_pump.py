"""The pump: the one place that moves output frames from an engine stream into ``StreamReader``s.

It serves every output stream of the library — an exec's stdout/stderr and the sandbox's own (one reader per log
stream) — and applies no flow control of its own: ``StreamReader.feed`` holds it while a reader is full, which
stops the reads from the engine stream and so slows the process instead of growing memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ._engine.api import STDERR, FrameSource
from .streams import StreamReader


async def pump(
    source: FrameSource,
    stdout: StreamReader[Any],
    stderr: StreamReader[Any] | None = None,
    *,
    at_eof: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Feed ``source``'s frames to ``stdout`` and ``stderr`` (stderr frames go to ``stdout`` when it is None) until
    EOF; then close ``source`` and await ``at_eof()``.

    Whatever happens, ``source`` is closed and the readers get EOF at the end. An exception (from the stream or from
    ``at_eof``) is set on the readers, so that reading raises it once the output before it is consumed, and then
    re-raised; cancellation just ends the output.
    """
    readers = (stdout,) if stderr is None else (stdout, stderr)
    try:
        while (frame := await source.read_frame()) is not None:
            fd, data = frame
            await (stderr if fd == STDERR and stderr is not None else stdout).feed(data)
        # EOF: close before anything else asks the engine about the process.
        await source.close()
        if at_eof is not None:
            await at_eof()
    except Exception as e:
        for reader in readers:
            reader.set_exception(e)
        raise
    finally:
        await source.close()
        for reader in readers:
            reader.feed_eof()
