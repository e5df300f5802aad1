"""Phase W: watch event latency through the public API (``Sandbox.filesystem.watch``, arm ``sc``).

One sandbox, one watch on a directory (``filter=[Create]``), started and confirmed live before timing. Metrics (ms,
one row per event, ``n`` = 1):
    ``watch_exec``   a write in the sandbox -> its event at the client. A shell started through one exec before
                     timing reads a number per line on its stdin and creates ``x<number>`` with a builtin
                     redirect (no fork); the clock starts just before the client writes the line, so the time
                     includes the line's trip to the shell (one agent message).
    ``watch_write``  the client's ``filesystem.write_text`` of a new file -> its event (the clock starts before the
                     call; the event may arrive before the call returns).
The two sources alternate in a random order per round. With the agent the watch is inotify in the sandbox;
without it (``SANDBOX_CORE_AGENT=0``) it is the polling fallback (a snapshot every 0.2 s), which this phase then
measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from . import common as c

if TYPE_CHECKING:
    from .run import Run

ARM = "sc"
DIR = "/tmp/bench-watch"
#: Seconds an event may take before the sample counts as lost (an error row), so a lost event never hangs the run.
EVENT_TIMEOUT = 5.0


class _Events:
    """The watch, iterated by a task of its own from the start (the generator starts watching when first iterated,
    and a waiter that times out must not cancel it): each event's paths with the time it arrived."""

    def __init__(self, watch: AsyncIterator[Any]) -> None:
        self._queue: asyncio.Queue[tuple[float, list[str]]] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._pump(watch))

    async def _pump(self, watch: AsyncIterator[Any]) -> None:
        async for ev in watch:
            self._queue.put_nowait((time.perf_counter(), list(ev.paths)))

    async def arrival(self, path: str, timeout: float = EVENT_TIMEOUT) -> float:
        """When the event naming ``path`` arrived (earlier events are skipped); TimeoutError after ``timeout``."""
        async with asyncio.timeout(timeout):
            while True:
                if self._task.done():
                    self._task.result()  # the watch failed: its error
                    raise RuntimeError("the watch ended")
                get = asyncio.ensure_future(self._queue.get())
                try:
                    await asyncio.wait([get, self._task], return_when=asyncio.FIRST_COMPLETED)
                finally:
                    get.cancel()  # never left waiting: it would take the next event
                if get.done() and not get.cancelled():
                    at, paths = get.result()
                    if path in paths:
                        return at

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def _go_live(sb: Any, events: _Events) -> None:
    """Write files until the watch reports one: the watch is then established (events before it are not seen)."""
    for i in range(20):
        path = f"{DIR}/live{i}"
        await sb.filesystem.write_text("", path)
        with contextlib.suppress(TimeoutError):
            await events.arrival(path, timeout=0.5)
            return
    raise RuntimeError(f"the watch on {DIR} reported none of 20 writes")


async def _sample(sb: Any, shell: Any, events: _Events, source: str, seq: int) -> tuple[float | None, str | None]:
    """One event from ``source``: (ms, error)."""
    path = f"{DIR}/{'x' if source == 'exec' else 'w'}{seq}"
    t0 = time.perf_counter()
    try:
        if source == "exec":
            shell.stdin.write(f"{seq}\n")
            await shell.stdin.drain()
        else:
            await sb.filesystem.write_text("", path)
        return (await events.arrival(path) - t0) * 1000, None
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"


async def run(r: Run) -> None:
    """Run phase W (see the module docstring)."""
    import sandbox_core as sc

    app = await sc.App.lookup(c.app_name(r.run_id, ARM), create_if_missing=True)
    sb = await sc.Sandbox.create(
        app=app, image=sc.Image.from_registry(c.IMAGE), timeout=600, tags=c.raw_labels(r.run_id, ARM)
    )
    try:
        await sb.filesystem.make_directory(DIR)
        shell = await sb.exec("sh", "-c", f'while read i; do : > "{DIR}/x$i"; done')
        events = _Events(sb.filesystem.watch(DIR, filter=[sc.FileWatchEventType.Create]))
        try:
            await _go_live(sb, events)
            seq = 0
            for rnd in range(r.cfg.w_rounds):
                if not r.may_start("W watch", rnd):
                    break
                for source in r.shuffled(["exec", "write"]):
                    for _ in range(r.cfg.w_per_round):
                        seq += 1
                        ms, err = await _sample(sb, shell, events, source, seq)
                        r.row(ARM, "W", f"watch_{source}", 1, ms, error=err, rnd=rnd)
        finally:
            await events.close()
        shell.stdin.write_eof()
        await shell.stdin.drain()
        await shell.wait()
    finally:
        await sb.terminate()
