"""Time to interactive and exec latency under gVisor against runc, interleaved in one run, through the public API.

    python -m benchmarks.gvisor_tti [--rounds 10] [--execs 10] [--json out.json]

Per round and runtime (``runc``, ``gvisor``; the order alternates between rounds):

- **TTI** = ``Sandbox.create(runtime=...)`` → first ``exec("echo", "hi")`` output read and exit code known;
- **exec** = each of ``--execs`` further ``exec("echo", "hi")`` round trips in that sandbox (output + exit code);
- **terminate** = ``terminate(wait=True)``.

The report gives, per runtime and measure, the median, p95, min and max, and the ratio of gVisor's median to
runc's. Needs an engine with a ``runsc`` runtime (``scripts/ensure-engine.sh`` registers one when it starts it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import Any

import sandbox_core as sc
from benchmarks.common import summarize

RUNTIMES = ("runc", "gvisor")
IMAGE = "sandbox-core/busybox:1"


async def echo(sb: sc.Sandbox) -> None:
    p = await sb.exec("echo", "hi")
    out = await p.stdout.read()
    code = await p.wait()
    if (out, code) != ("hi\n", 0):
        raise RuntimeError(f"echo gave {out!r} / {code}")


async def one_round(app: sc.App, runtime: str, execs: int, samples: dict[str, dict[str, list[float]]]) -> None:
    t0 = time.perf_counter()
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(IMAGE), runtime=runtime)
    try:
        await echo(sb)
        samples[runtime]["tti_ms"].append((time.perf_counter() - t0) * 1000)
        for _ in range(execs):
            t = time.perf_counter()
            await echo(sb)
            samples[runtime]["exec_ms"].append((time.perf_counter() - t) * 1000)
    finally:
        t = time.perf_counter()
        await sb.terminate(wait=True)
        samples[runtime]["terminate_ms"].append((time.perf_counter() - t) * 1000)


async def run(rounds: int, execs: int) -> dict[str, Any]:
    app = await sc.App.lookup(f"bench-gvisor-{uuid.uuid4().hex[:8]}", create_if_missing=True)
    samples: dict[str, dict[str, list[float]]] = {
        rt: {"tti_ms": [], "exec_ms": [], "terminate_ms": []} for rt in RUNTIMES
    }
    try:
        await one_round(app, "runc", 1, {rt: {k: [] for k in v} for rt, v in samples.items()})  # warm-up, untimed
        await one_round(app, "gvisor", 1, {rt: {k: [] for k in v} for rt, v in samples.items()})
        for i in range(rounds):
            for runtime in RUNTIMES if i % 2 == 0 else tuple(reversed(RUNTIMES)):
                await one_round(app, runtime, execs, samples)
    finally:
        await sc.sweep(app_id=app.app_id, everything=True)
    result: dict[str, Any] = {"rounds": rounds, "execs_per_round": execs, "runtimes": {}}
    for rt in RUNTIMES:
        result["runtimes"][rt] = {k: summarize(v) for k, v in samples[rt].items()}
    result["gvisor_over_runc"] = {
        k: round(result["runtimes"]["gvisor"][k]["median"] / result["runtimes"]["runc"][k]["median"], 2)
        for k in ("tti_ms", "exec_ms", "terminate_ms")
    }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gvisor_tti", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--execs", type=int, default=10)
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args()
    result = asyncio.run(run(args.rounds, args.execs))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
