"""Time to interactive with and without network isolation and policies, through the public API, interleaved.

    python -m benchmarks.netpolicy_tti [--rounds 20] [--json out.json]
    python -m benchmarks --phases NP           # the same, as the harness's NP phase

TTI = ``Sandbox.create`` → first ``echo hi`` done (output checked), busybox image, in each arm:

- ``np-plain``        ``SANDBOX_CORE_ISOLATION=0``: a plain container on the default bridge (no holder);
- ``np-cold``         isolation by default with the pool off (``SANDBOX_CORE_HOLDER_POOL=0``): a holder is created,
                      started and verified for the sandbox (what a create gets when the pool is empty);
- ``np-pooled``       isolation by default, a holder claimed from the supervisor's pool (the default when warm);
- ``np-cold-allow``   an allowlist (CIDR ``[]`` plus one domain) with the pool off;
- ``np-pooled-allow`` the same allowlist on a claimed holder (``sandbox-egress set`` overlapped with the create).

Pooled arms wait (untimed) until the pool is full again before they create. Each round runs every arm once in a
rotated order; sandboxes are removed after each round (untimed). The summary gives medians, p10–p90 and each
median's ratio to ``np-plain``'s; "policy cost" is an allowlist arm over its isolation-only twin.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import sandbox_core as sc
from sandbox_core._engine import get_engine
from sandbox_core._holderpool import claimable, pool_key, pool_size
from sandbox_core._netplan import isolated_policy

IMAGE = "sandbox-core/busybox:1"
ALLOW: dict[str, Any] = {"outbound_cidr_allowlist": [], "outbound_domain_allowlist": ["pypi.org"]}
#: arm -> (environment for its create, create keywords, whether it wants a warm pool)
ARMS: dict[str, tuple[dict[str, str], dict[str, Any], bool]] = {
    "np-plain": ({"SANDBOX_CORE_ISOLATION": "0"}, {}, False),
    "np-cold": ({"SANDBOX_CORE_HOLDER_POOL": "0"}, {}, False),
    "np-pooled": ({}, {}, True),
    "np-cold-allow": ({"SANDBOX_CORE_HOLDER_POOL": "0"}, ALLOW, False),
    "np-pooled-allow": ({}, ALLOW, True),
}
#: Row sink: (arm, round, ms or None, error or None).
Sink = Callable[[str, int, float | None, str | None], None]


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


async def wait_pool_full(timeout: float = 15.0) -> bool:
    """Whether the supervisor's pool is full (waiting up to ``timeout``)."""
    eng = await get_engine()
    key = await pool_key(eng, isolated_policy())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        members = await eng.containers.list({"sandbox-core.holder-pool": key}, all=False)
        if sum(claimable(m, key, time.time()) for m in members) >= pool_size():
            return True
        await asyncio.sleep(0.05)
    return False


async def tti(app: sc.App, arm: str) -> float:
    env, kwargs, _ = ARMS[arm]
    image = sc.Image.from_registry(IMAGE)
    with environment(env):
        t0 = time.perf_counter()
        sb = await sc.Sandbox.create(app=app, image=image, **kwargs)
        proc = await sb.exec("echo", "hi")
        out = await proc.stdout.read()
        code = await proc.wait()
        ms = (time.perf_counter() - t0) * 1000
    if out != "hi\n" or code != 0:
        raise RuntimeError(f"first exec gave {out!r} / {code}")
    await sb.terminate()
    return ms


async def run_phase(rounds: int, sink: Sink, notes: list[str], app_name: str) -> None:
    """``rounds`` interleaved rounds of every arm; each TTI (or error) goes to ``sink``."""
    app = await sc.App.lookup(app_name, create_if_missing=True)
    arms = list(ARMS)
    try:
        await tti(app, "np-pooled")  # warm-up; ensures the supervisor (with the pool) runs
        cold_pool = 0
        for rnd in range(rounds):
            for arm in arms[rnd % len(arms) :] + arms[: rnd % len(arms)]:
                if ARMS[arm][2] and not await wait_pool_full():
                    cold_pool += 1
                try:
                    sink(arm, rnd, await tti(app, arm), None)
                except sc.exception.Error as e:
                    sink(arm, rnd, None, f"{type(e).__name__}: {e}")
            await sc.sweep(app_id=app.app_id, everything=True)
        if cold_pool:
            notes.append(f"NP: the pool was not full before {cold_pool} pooled creates (15 s wait)")
    finally:
        await sc.sweep(app_id=app.app_id, everything=True)


def summarize(rows: list[tuple[str, int, float | None, str | None]]) -> dict[str, Any]:
    """Per arm: n, errors, median, p10, p90, ratio to np-plain; and the policy costs."""
    out: dict[str, Any] = {}
    for arm in ARMS:
        values = sorted(ms for a, _, ms, _ in rows if a == arm and ms is not None)
        if not values:
            out[arm] = {"n": 0}
            continue
        q = statistics.quantiles(values, n=10) if len(values) > 1 else [values[0]] * 9
        out[arm] = {"n": len(values), "median": statistics.median(values), "p10": q[0], "p90": q[-1]}
    base = out["np-plain"].get("median")
    for arm in ARMS:
        if base and out[arm].get("median"):
            out[arm]["x_plain"] = out[arm]["median"] / base
    for allow, iso in (("np-cold-allow", "np-cold"), ("np-pooled-allow", "np-pooled")):
        if out[allow].get("median") and out[iso].get("median"):
            out[f"policy_cost_{iso.removeprefix('np-')}"] = out[allow]["median"] / out[iso]["median"]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--json")
    args = p.parse_args()
    rows: list[tuple[str, int, float | None, str | None]] = []
    notes: list[str] = []

    def sink(arm: str, rnd: int, ms: float | None, err: str | None) -> None:
        rows.append((arm, rnd, ms, err))

    asyncio.run(run_phase(args.rounds, sink, notes, f"bench-netpolicy-{os.getpid()}"))
    summary = summarize(rows)
    print(json.dumps({"summary": summary, "notes": notes, "loadavg": os.getloadavg()}, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": rows, "summary": summary, "notes": notes}, f, indent=1)


if __name__ == "__main__":
    main()
