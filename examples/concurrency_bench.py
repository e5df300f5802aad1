"""A concurrency benchmark to point at your own engine: N sandboxes created at once, each running M execs one
after the other (all sandboxes concurrently); latency percentiles printed, and plotted to a PNG.

    python examples/concurrency_bench.py -n 10 -m 20 --png bench.png [--json bench.json] [--image TAG]
    DOCKER_HOST=unix:///run/sandbox-core/podman.sock python examples/concurrency_bench.py ...   # another engine

Measured per sandbox: ``Sandbox.create`` until it returns (the sandbox runs); per exec: ``exec(*command)`` until
``wait()`` returns its exit code (a non-zero exit counts as a failure and is reported). Every sandbox is terminated
at the end, also on Ctrl-C. Needs matplotlib for ``--png`` (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import pathlib
import shlex
import sys
import time
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: no display needed
import matplotlib.pyplot as plt

import sandbox_core as sc

PERCENTILES = (50, 90, 99)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of already sorted values."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarize(values: Sequence[float]) -> dict[str, float]:
    """count, min, p50/p90/p99 and max of ``values`` (seconds), or only the count when empty."""
    s = sorted(values)
    if not s:
        return {"count": 0}
    return {"count": len(s), "min": s[0], **{f"p{p}": percentile(s, p) for p in PERCENTILES}, "max": s[-1]}


async def _one_sandbox(
    app: sc.App, image: sc.Image | None, m: int, command: list[str], created: list[sc.Sandbox], out: dict[str, Any]
) -> None:
    t0 = time.perf_counter()
    sb = await sc.Sandbox.create(app=app, image=image, timeout=600)
    created.append(sb)
    out["create"].append(time.perf_counter() - t0)
    for _ in range(m):
        t0 = time.perf_counter()
        proc = await sb.exec(*command)
        code = await proc.wait()
        out["exec"].append(time.perf_counter() - t0)
        if code != 0:
            out["failures"].append(f"{command} exited {code}: {await proc.stderr.read()}")


async def run(n: int, m: int, image: str | None, command: list[str], app_name: str) -> dict[str, Any]:
    """Run the benchmark; the raw latencies (seconds) and their summaries."""
    app = await sc.App.lookup(app_name, create_if_missing=True)
    img = sc.Image.from_registry(image) if image else None
    created: list[sc.Sandbox] = []
    raw: dict[str, Any] = {"create": [], "exec": [], "failures": []}
    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(_one_sandbox(app, img, m, command, created, raw) for _ in range(n)))
    finally:
        await asyncio.gather(*(sb.terminate() for sb in created), return_exceptions=True)
    wall = time.perf_counter() - t0
    return {
        "sandboxes": n,
        "execs_per_sandbox": m,
        "command": command,
        "wall_seconds": wall,
        "execs_per_second": len(raw["exec"]) / wall,
        "create": summarize(raw["create"]),
        "exec": summarize(raw["exec"]),
        "failures": raw["failures"],
        "raw": {"create": raw["create"], "exec": raw["exec"]},
    }


def table(result: dict[str, Any]) -> str:
    """The summaries as a fixed-width table, in milliseconds."""
    cols = ["count", "min", *(f"p{p}" for p in PERCENTILES), "max"]
    lines = [f"{'':8}" + "".join(f"{c:>10}" for c in cols)]
    for what in ("create", "exec"):
        s = result[what]
        cells = [f"{s['count']:>10}"] + [f"{s[c] * 1000:>8.1f}ms" if c in s else f"{'-':>10}" for c in cols[1:]]
        lines.append(f"{what:8}" + "".join(cells))
    lines.append(f"{result['execs_per_second']:.1f} execs/s over {result['wall_seconds']:.2f} s wall")
    return "\n".join(lines)


def plot(result: dict[str, Any], path: pathlib.Path) -> None:
    """Latency distributions (CDFs) of create and exec, percentiles marked, to a PNG."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, what in zip(axes, ("create", "exec"), strict=True):
        values = sorted(v * 1000 for v in result["raw"][what])
        ax.plot(values, [(i + 1) / len(values) for i in range(len(values))], drawstyle="steps-post")
        for p in PERCENTILES:
            ax.axvline(result[what][f"p{p}"] * 1000, linestyle=":", color="grey")
            ax.annotate(f"p{p}", (result[what][f"p{p}"] * 1000, p / 100), fontsize=8)
        ax.set_title(f"{what} latency ({len(values)} samples)")
        ax.set_xlabel("milliseconds")
        ax.set_ylabel("fraction ≤ x")
        ax.grid(alpha=0.3)
    n, m = result["sandboxes"], result["execs_per_sandbox"]
    fig.suptitle(
        f"{n} sandboxes × {m} execs of {' '.join(result['command'])}: {result['execs_per_second']:.1f} execs/s"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--sandboxes", type=int, default=10)
    parser.add_argument("-m", "--execs", type=int, default=20, help="execs per sandbox, one after the other")
    parser.add_argument("--image", help="image tag (default: the library's default image)")
    parser.add_argument("--command", default="true", help="what each exec runs, shell-quoted (default: true)")
    parser.add_argument("--png", type=pathlib.Path, help="write the latency plot here")
    parser.add_argument("--json", type=pathlib.Path, help="write the results (raw latencies included) here")
    parser.add_argument("--app", default="example-concurrency-bench", help="sandbox-core app name for the sandboxes")
    args = parser.parse_args()
    if args.sandboxes < 1 or args.execs < 0:
        parser.error("--sandboxes must be at least 1 and --execs at least 0")
    result = asyncio.run(run(args.sandboxes, args.execs, args.image, shlex.split(args.command), args.app))
    print(table(result))
    if args.png:
        plot(result, args.png)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    for failure in result["failures"]:
        print("failed:", failure, file=sys.stderr)
    sys.exit(1 if result["failures"] else 0)


if __name__ == "__main__":
    main()
