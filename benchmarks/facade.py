"""Phase F: the price of one facade hop, and of a blocking exec against the async one.

Hop: the cheapest public blocking call is ``ContainerProcess.poll()`` on a finished process (it returns the cached
return code: a coroutine that does no I/O), so the facade's cost is all that is timed. Forms, all on finished
``exec("true")`` processes:
    ``poll_blocking``  ``p.poll()`` of a ``sandbox_core_sync`` process, from a plain thread (one hop)
    ``poll_aio``       ``await p.poll.aio()`` of the same process, from the harness's event loop (one hop)
    ``poll_direct``    ``await p.poll()`` of a ``sandbox_core`` process (no hop: the baseline)
and, to separate the runtime from the generated wrapper, ``run_sync(noop())`` / ``await run_async(noop())`` of
``sandbox_core_sync._runtime`` (``hop_blocking`` / ``hop_aio``). Each form runs ``f_calls`` timed calls after
1 000 warm-up calls, in ``f_rounds`` rounds in a random order per round (sync-facade-design.md §4: the first
~10 k crossings after the loop thread starts can be 2x slower). One row per (form, round) holds the median µs.

Exec: the blocking against the async ``exec("echo", "hi")`` round trip comes from P4 (interleaved there); the
report computes the difference of the medians.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from . import common as c

if TYPE_CHECKING:
    from .run import Run

WARMUP = 1_000


@contextlib.contextmanager
def _pinned_to_one_cpu() -> Iterator[bool]:
    """Pin every thread of this process (and threads started meanwhile) to one CPU; restore on exit.

    Yields False (and does nothing) where thread affinity cannot be set.
    """
    try:
        before = {int(t): os.sched_getaffinity(int(t)) for t in os.listdir("/proc/self/task")}
        cpu = min(os.sched_getaffinity(0))
        for tid in before:
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(tid, {cpu})
    except (OSError, AttributeError):
        yield False
        return
    try:
        yield True
    finally:
        for name in os.listdir("/proc/self/task"):
            with contextlib.suppress(ProcessLookupError, OSError):
                os.sched_setaffinity(int(name), before.get(int(name), before[os.getpid()]))


async def _noop() -> int:
    return 1


def _time_blocking_fn(fn: Callable[[], Any], n: int) -> list[float]:
    for _ in range(WARMUP):
        fn()
    out = []
    pc = time.perf_counter_ns
    for _ in range(n):
        t0 = pc()
        fn()
        out.append((pc() - t0) / 1000)
    return out


async def _time_async_fn(fn: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    for _ in range(WARMUP):
        await fn()
    out = []
    pc = time.perf_counter_ns
    for _ in range(n):
        t0 = pc()
        await fn()
        out.append((pc() - t0) / 1000)
    return out


async def run(r: Run) -> None:
    try:
        import sandbox_core as sc
        import sandbox_core_sync as scs
        from sandbox_core_sync import _runtime as rt
    except ImportError as e:
        r.row("sc-sync", "F", "poll_blocking", 1, None, unit="us", error=f"not available: {e}")
        return
    loop = asyncio.get_running_loop()
    n = r.cfg.f_calls
    app_sync = await loop.run_in_executor(
        None, lambda: scs.App.lookup(c.app_name(r.run_id, "sc-sync"), create_if_missing=True)
    )
    app = await sc.App.lookup(c.app_name(r.run_id, "sc"), create_if_missing=True)
    tags = {c.RUN_LABEL: r.run_id, c.ARM_LABEL: "F"}

    def make_sync() -> tuple[Any, Any]:
        sb = scs.Sandbox.create(app=app_sync, image=scs.Image.from_registry(c.IMAGE), timeout=600, tags=tags)
        p = sb.exec("true")
        p.wait()
        return sb, p

    sb_sync, p_sync = await loop.run_in_executor(None, make_sync)
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(c.IMAGE), timeout=600, tags=tags)
    try:
        p = await sb.exec("true")
        await p.wait()

        def poll_sync() -> Any:
            return p_sync.poll()

        async def blocking() -> list[float]:
            return await loop.run_in_executor(None, _time_blocking_fn, poll_sync, n)

        async def aio() -> list[float]:
            return await _time_async_fn(lambda: p_sync.poll.aio(), n)

        async def direct() -> list[float]:
            return await _time_async_fn(p.poll, n)

        async def rt_blocking() -> list[float]:
            return await loop.run_in_executor(None, _time_blocking_fn, lambda: rt.run_sync(_noop()), n)

        async def rt_aio() -> list[float]:
            return await _time_async_fn(lambda: rt.run_async(_noop()), n)

        forms: dict[str, tuple[str, Callable[[], Awaitable[list[float]]]]] = {
            "poll_blocking": ("sc-sync", blocking),
            "poll_aio": ("sc-sync", aio),
            "poll_direct": ("sc", direct),
            "hop_blocking": ("sc-sync", rt_blocking),
            "hop_aio": ("sc-sync", rt_aio),
        }

        async def measure(metric: str, rnd: int, suffix: str = "") -> None:
            arm, make = forms[metric]
            try:
                samples = await make()
            except Exception as e:
                r.row(arm, "F", metric + suffix, 1, None, unit="us", error=f"{type(e).__name__}: {e}", rnd=rnd)
                return
            s = c.summarize(samples)
            r.row(arm, "F", metric + suffix, 1, statistics.median(samples), unit="us", rnd=rnd,
                  p95=s["p95"], min=s["min"], max=s["max"], count=s["count"])  # fmt: skip

        for rnd in range(r.cfg.f_rounds):
            for metric in r.shuffled(list(forms)):
                await measure(metric, rnd)
        # The same calls with every thread of this process on one CPU: no idle-vCPU wake-up per crossing. On an
        # idle VM a cross-thread wake-up of a sleeping vCPU costs ~100 µs; pinned (or on a busy machine) ~35 µs.
        with _pinned_to_one_cpu() as pinned:
            if pinned:
                for rnd in range(r.cfg.f_rounds):
                    for metric in r.shuffled(["poll_blocking", "poll_aio", "hop_blocking"]):
                        await measure(metric, rnd, "_pinned")
    finally:
        await sb.terminate()
        await loop.run_in_executor(None, sb_sync.terminate)
