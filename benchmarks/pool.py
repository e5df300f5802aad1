"""Phase PW: the warm pool (``SandboxPool``) against cold ``Sandbox.create``, both through sandbox_core.

Metrics (arm ``sc`` = cold create, arm ``sc-pool`` = claim from a pool; both in the ``sc`` arm's App, so the
harness's sweep finds everything):
    ``tti``          time to interactive: create (or claim) -> first ``echo hi`` done, output and exit code checked.
                     The pool is full before each warm sample, so no refill competes with the measured claim.
    ``claim``        the claim alone (``sc-pool``).
    ``burst_claims`` wall clock of ``pw_size`` concurrent claims from a full pool of ``pw_size`` (n = size).
    ``burst_tti``    wall clock of those claims plus every claimed sandbox's first ``echo hi`` (n = size).
    ``burst_cold``   claims that found no ready member and fell back to a cold create (count).
    ``fill_rate``    members made ready per second: the pool's first fill from empty, and its refill after the
                     burst (metric ``refill_rate``).
Arms alternate in a random order per round. Claimed sandboxes are terminated after each sample (not timed).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from . import common as c

if TYPE_CHECKING:
    from .run import Run

COLD, WARM = "sc", "sc-pool"


async def _first_echo(sb: Any) -> None:
    p = await sb.exec("echo", "hi")
    out = await p.stdout.read()
    rc = await p.wait()
    if rc != 0 or out != "hi\n":
        raise RuntimeError(f"echo returned {rc} {out!r}")


async def _timed(fn: Any) -> tuple[float, Any, str | None]:
    t0 = time.perf_counter()
    try:
        res = await fn()
    except Exception as e:
        return (time.perf_counter() - t0) * 1000, None, f"{type(e).__name__}: {e}"
    return (time.perf_counter() - t0) * 1000, res, None


async def _terminate(sbs: list[Any]) -> None:
    gate = asyncio.Semaphore(10)

    async def one(sb: Any) -> None:
        async with gate:
            with contextlib.suppress(Exception):  # the run's sweep removes what is left
                await sb.terminate()

    await asyncio.gather(*(one(sb) for sb in sbs))


async def _tti_rounds(r: Run, sc: Any, app: Any, image: Any, pool: Any, tags: dict[str, str]) -> None:
    for rnd in range(r.cfg.pw_rounds):
        if not r.may_start("PW tti", rnd):
            break
        for arm in r.shuffled([COLD, WARM]):
            await pool.wait_ready(timeout=120)
            claim_ms: list[float] = []

            async def make(arm: str = arm, claim_ms: list[float] = claim_ms) -> Any:
                if arm == COLD:
                    sb = await sc.Sandbox.create(app=app, image=image, timeout=600, tags=tags)
                else:
                    t0 = time.perf_counter()
                    sb = await pool.claim(tags=tags, timeout=600)
                    claim_ms.append((time.perf_counter() - t0) * 1000)
                try:
                    await _first_echo(sb)
                except BaseException:
                    await _terminate([sb])
                    raise
                return sb

            ms, sb, err = await _timed(make)
            r.row(arm, "PW", "tti", 1, ms, error=err, rnd=rnd)
            if claim_ms and err is None:
                r.row(arm, "PW", "claim", 1, claim_ms[0], rnd=rnd)
            if sb is not None:
                await _terminate([sb])


async def _burst(r: Run, pool: Any, tags: dict[str, str]) -> None:
    n = r.cfg.pw_size
    await pool.wait_ready(timeout=600)
    claimed_before = pool.ready
    t0 = time.perf_counter()
    results = await asyncio.gather(*(pool.claim(tags=tags, timeout=600) for _ in range(n)), return_exceptions=True)
    t_claims = (time.perf_counter() - t0) * 1000
    sbs = [x for x in results if not isinstance(x, BaseException)]
    errs = [f"{type(x).__name__}: {x}" for x in results if isinstance(x, BaseException)]
    echoes = await asyncio.gather(*(_first_echo(sb) for sb in sbs), return_exceptions=True)
    t_all = (time.perf_counter() - t0) * 1000
    errs += [f"{type(x).__name__}: {x}" for x in echoes if isinstance(x, BaseException)]
    err = f"{len(errs)} of {n} failed; first: {errs[0]}" if errs else None
    r.row(WARM, "PW", "burst_claims", n, t_claims, error=err)
    r.row(WARM, "PW", "burst_tti", n, t_all, error=err)
    r.row(WARM, "PW", "burst_cold", n, max(0, n - claimed_before), unit="count")
    await _terminate(sbs)
    t0 = time.perf_counter()
    await pool.wait_ready(timeout=600)
    r.row(WARM, "PW", "refill_rate", n, n / (time.perf_counter() - t0), unit="members/s")


async def run(r: Run) -> None:
    """Run phase PW (see the module docstring)."""
    import sandbox_core as sc

    app = await sc.App.lookup(c.app_name(r.run_id, COLD), create_if_missing=True)
    image = sc.Image.from_registry(c.IMAGE)
    tags = c.raw_labels(r.run_id, WARM)
    # warm-up: the image resolution and the agent volume, so neither lands in the first sample of either arm
    sb = await sc.Sandbox.create(app=app, image=image, timeout=600, tags=tags)
    await _first_echo(sb)
    await _terminate([sb])
    t0 = time.perf_counter()
    pool = await sc.SandboxPool.create(app=app, image=image, size=r.cfg.pw_size)
    try:
        await pool.wait_ready(timeout=600)
        r.row(WARM, "PW", "fill_rate", r.cfg.pw_size, r.cfg.pw_size / (time.perf_counter() - t0), unit="members/s")
        await _tti_rounds(r, sc, app, image, pool, tags)
        await _burst(r, pool, tags)
    finally:
        await pool.close()
