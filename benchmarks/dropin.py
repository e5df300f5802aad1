"""What the drop-in features cost, interleaved, through the public asyncio API.

    python -m benchmarks.dropin [--rounds 10] [--json out.json]

Per round, in a rotated order:

- ``run_empty``      ``async with app.run():`` with nothing in it (enter: one record; exit: a listing, two records);
- ``run_3``          the same block holding three running sandboxes: only the block's exit is timed (it terminates
                     them), not their creation;
- ``exec_true``      ``exec("true")`` → ``wait()``;
- ``exec_missing``   ``exec("no-such-program")`` → ``wait()`` (the start failure turned into 127 + a stderr line);
- ``sandbox_tti``    ``Sandbox.create`` → first ``echo hi`` done;
- ``sidecar_tti``    ``_experimental_sidecars.create`` in a running sandbox → first ``echo hi`` done in it.

The report gives each arm's median and p10–p90 in milliseconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

import sandbox_core as sc

from .common import IMAGE

Arm = Callable[[], Awaitable[float]]


def _image() -> sc.Image:
    return sc.Image.from_registry(IMAGE)


async def _echo(run: Callable[..., Awaitable[sc.ContainerProcess[str]]]) -> None:
    p = await run("echo", "hi")
    assert await p.stdout.read() == "hi\n"
    assert await p.wait() == 0


def _arms(prefix: str, sb: sc.Sandbox, app: sc.App) -> dict[str, Arm]:
    async def run_empty() -> float:
        t0 = time.perf_counter()
        async with sc.App(f"{prefix}-empty").run():
            pass
        return time.perf_counter() - t0

    async def run_3() -> float:
        eph = sc.App(f"{prefix}-three")
        run = eph.run()
        await run.__aenter__()
        for _ in range(3):
            await sc.Sandbox.create(app=eph, image=_image())
        t0 = time.perf_counter()
        await run.__aexit__(None, None, None)
        elapsed = time.perf_counter() - t0
        assert eph.app_id is not None
        await sc.sweep(app_id=eph.app_id, everything=True)
        return elapsed

    async def exec_code(*argv: str, code: int) -> float:
        t0 = time.perf_counter()
        p = await sb.exec(*argv)
        assert await p.wait() == code
        return time.perf_counter() - t0

    async def sandbox_tti() -> float:
        t0 = time.perf_counter()
        new = await sc.Sandbox.create(app=app, image=_image())
        await _echo(new.exec)
        elapsed = time.perf_counter() - t0
        await new.terminate()
        return elapsed

    async def sidecar_tti() -> float:
        t0 = time.perf_counter()
        side = await sb._experimental_sidecars.create(name=f"b{uuid.uuid4().hex[:8]}", image=_image())
        await _echo(side.exec)
        elapsed = time.perf_counter() - t0
        await side.terminate()
        return elapsed

    return {
        "run_empty": run_empty,
        "run_3": run_3,
        "exec_true": lambda: exec_code("true", code=0),
        "exec_missing": lambda: exec_code("no-such-program", code=127),
        "sandbox_tti": sandbox_tti,
        "sidecar_tti": sidecar_tti,
    }


async def measure(rounds: int) -> dict[str, dict[str, float]]:
    prefix = f"bench-dropin-{uuid.uuid4().hex[:6]}"
    app = await sc.App.lookup(prefix, create_if_missing=True)
    sb = await sc.Sandbox.create(app=app, image=_image(), timeout=3600)
    samples: dict[str, list[float]] = {}
    try:
        arms = _arms(prefix, sb, app)
        names = list(arms)
        for name in names:  # warm-up: one untimed call of each
            await arms[name]()
        for r in range(rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                samples.setdefault(name, []).append(await arms[name]())
    finally:
        assert app.app_id is not None
        await sc.sweep(app_id=app.app_id, everything=True)
    out: dict[str, dict[str, float]] = {}
    for name, xs in samples.items():
        q = statistics.quantiles(xs, n=10) if len(xs) > 1 else [xs[0]] * 9
        out[name] = {"median_ms": statistics.median(xs) * 1e3, "p10_ms": q[0] * 1e3, "p90_ms": q[-1] * 1e3}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--json", help="write the result here too")
    args = ap.parse_args()
    result = asyncio.run(measure(args.rounds))
    for name, row in result.items():
        print(f"{name:14s} median {row['median_ms']:8.1f} ms   p10-p90 {row['p10_ms']:7.1f} - {row['p90_ms']:7.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": args.rounds, "arms": result}, f, indent=2)


if __name__ == "__main__":
    main()
