"""Phase F: the price of one facade hop, and of a blocking exec against the async one.

Hop: ``sandbox_core_sync`` has no trivial public call that does no engine I/O, so this times the runtime's own
crossing, which every generated blocking method goes through exactly once per call: ``run_sync(noop())`` from a
plain thread (the blocking form), ``await run_async(noop())`` from another event loop (the ``.aio`` form) and,
as the zero-hop baseline, ``await noop()``. Each form runs ``f_calls`` timed calls after 1 000 warm-up calls, in
``f_rounds`` rounds in a random order per round (sync-facade-design.md §4: the first ~10 k crossings after the
loop thread starts can be 2× slower, so warm-up matters). One row per (form, round) holds the median µs.

Exec: the blocking against the async ``exec("echo", "hi")`` round trip comes from P4 (interleaved there); the
report computes the difference of the medians.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from . import common as c

if TYPE_CHECKING:
    from .run import Run

WARMUP = 1_000


async def _noop() -> int:
    return 1


def _time_blocking(run_sync: Any, n: int) -> list[float]:
    for _ in range(WARMUP):
        run_sync(_noop())
    out = []
    pc = time.perf_counter_ns
    for _ in range(n):
        t0 = pc()
        run_sync(_noop())
        out.append((pc() - t0) / 1000)
    return out


async def _time_async(fn: Any, n: int) -> list[float]:
    for _ in range(WARMUP):
        await fn(_noop())
    out = []
    pc = time.perf_counter_ns
    for _ in range(n):
        t0 = pc()
        await fn(_noop())
        out.append((pc() - t0) / 1000)
    return out


async def _direct(coro: Any) -> Any:
    return await coro


async def run(r: Run) -> None:
    try:
        from sandbox_core_sync import _runtime as rt
    except ImportError as e:
        r.row("sc-sync", "F", "hop_blocking", 1, None, unit="us", error=f"not available: {e}")
        return
    missing = [n for n in ("run_sync", "run_async") if not hasattr(rt, n)]
    if missing:
        r.row("sc-sync", "F", "hop_blocking", 1, None, unit="us", error=f"not available: _runtime lacks {missing}")
        return
    r.notes.append(
        "F: no trivial public facade call exists, so the hop is timed on sandbox_core_sync._runtime.run_sync / "
        "run_async with a no-op coroutine (the single crossing every generated method makes)."
    )
    loop = asyncio.get_running_loop()
    n = r.cfg.f_calls

    async def blocking() -> list[float]:
        return await loop.run_in_executor(None, _time_blocking, rt.run_sync, n)

    async def aio() -> list[float]:
        return await _time_async(rt.run_async, n)

    async def direct() -> list[float]:
        return await _time_async(_direct, n)

    forms: dict[str, tuple[str, Callable[[], Awaitable[list[float]]]]] = {
        "hop_blocking": ("sc-sync", blocking),
        "hop_aio": ("sc-sync", aio),
        "hop_direct": ("sc", direct),
    }
    for rnd in range(r.cfg.f_rounds):
        for metric in r.shuffled(list(forms)):
            arm, make = forms[metric]
            try:
                samples: list[float] = await make()
            except Exception as e:
                r.row(arm, "F", metric, 1, None, unit="us", error=f"{type(e).__name__}: {e}", rnd=rnd)
                continue
            s = c.summarize(samples)
            r.row(
                arm,
                "F",
                metric,
                1,
                statistics.median(samples),
                unit="us",
                rnd=rnd,
                p95=s["p95"],
                min=s["min"],
                max=s["max"],
                count=s["count"],
            )
