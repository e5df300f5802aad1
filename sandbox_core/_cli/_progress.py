"""Progress for long operations: a rich bar or spinner on a terminal (stderr), plain lines when stderr is not one.

Nothing here changes what an operation does: progress is read by polling a ``probe`` while the operation runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ._output import human_size, is_tty

T = TypeVar("T")

#: Seconds between two updates of a bar.
_REFRESH = 0.1
#: Seconds between two plain progress lines (when stderr is not a terminal).
_PLAIN_EVERY = 5.0


def _stderr_console() -> Console:
    return Console(stderr=True)


@contextlib.contextmanager
def status(message: str, *, enabled: bool = True) -> Iterator[None]:
    """A spinner with ``message`` on a terminal while the block runs; nothing otherwise (it would only add noise
    to a log)."""
    if not (enabled and is_tty(sys.stderr)):
        yield
        return
    with _stderr_console().status(message):
        yield


async def track_bytes(
    label: str,
    total: int | None,
    probe: Callable[[], int | None],
    work: Awaitable[T],
    *,
    enabled: bool = True,
    plain_every: float = _PLAIN_EVERY,
) -> T:
    """Await ``work`` while showing ``probe()`` bytes of ``total`` (None: unknown): a bar on a terminal, a plain
    line every ``plain_every`` seconds otherwise. ``probe`` returns None while it cannot tell."""
    if not enabled:
        return await work
    task = asyncio.ensure_future(work)
    if is_tty(sys.stderr):
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(binary_units=True),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=_stderr_console(), transient=True) as bar:
            bar_id = bar.add_task(label, total=total)
            while not task.done():
                await asyncio.wait([task], timeout=_REFRESH)
                done = probe()
                if done is not None:
                    bar.update(bar_id, completed=done)
        return task.result()
    started = time.monotonic()
    while not task.done():
        await asyncio.wait([task], timeout=plain_every)
        done = probe()
        if not task.done() and done is not None:
            of = f" of {human_size(total)}" if total is not None else ""
            sys.stderr.write(f"{label}: {human_size(done)}{of} after {time.monotonic() - started:.0f}s\n")
            sys.stderr.flush()
    return task.result()
