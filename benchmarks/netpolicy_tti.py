"""Time to interactive with and without a network policy, interleaved, through the library's engine layer.

    python -m benchmarks.netpolicy_tti [--rounds 20] [--json out.json]

TTI = create → start → first ``echo hi`` done (output checked), for a sandbox-like container (sandbox_core's
default hardening) in each arm:

- ``plain``         the default bridge, no policy (today's sandbox);
- ``holder-allow``  a holder enforcing an allowlist (CIDR ``[]`` + one domain), the sandbox joined to it;
- ``holder-isolate`` a holder enforcing OPEN egress with isolation (the fence), the sandbox joined to it;
- ``pooled-isolate`` the same with the holder created and started beforehand, untimed (what a pool of ready
                    holders gives: only the sandbox's own create, start and first exec are timed);
- ``pooled-allow``  a pooled isolated holder switched to the allowlist (``sandbox-egress set``, timed) while
                    the sandbox is created;
- ``icc-off``       a user-defined bridge with ``enable_icc=false`` (blocks sandbox↔sandbox only; the host's
                    services stay reachable), for comparison.

Holder arms create the holder, then start it while the sandbox is created, then start the sandbox (the order
``netholder`` documents). Removal (sandbox, then holder) is timed separately. Each round runs every arm once, in
a rotated order; the report gives medians, p10–p90 and the ratio of each median to ``plain``'s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.common import CAP_DROP, IMAGE, PIDS_LIMIT, raw_labels
from sandbox_core._engine import EngineAPI, get_engine
from sandbox_core._engine.docker.engine import DockerEngine
from sandbox_core._engine.netholder import (
    create_holder,
    holder_exec,
    remove_holder,
    replace_policy,
    sandbox_network_mode,
    start_holder,
)
from sandbox_core._engine.values import ContainerSpec
from sandbox_core._netpolicy_types import EgressPolicy, NetworkPolicy

#: On every container of this benchmark (holders keep their own kind label, so this one finds them too).
BENCH_LABEL = "bench.netpolicy"
OWNER = {"sandbox-core.owner": "sandbox-core", "sandbox-core.kind": "bench-netpolicy", BENCH_LABEL: "1"}
ICC_NET = "sandbox-core-bench-icc-off"


async def first_exec(eng: EngineAPI, ref: str) -> None:
    code, out = await holder_exec(eng, ref, ["echo", "hi"])
    if out != "hi\n" or code != 0:
        raise RuntimeError(f"first exec gave {out!r} / {code}")


def sandbox_spec(run_id: str, arm: str, network_mode: str | None = None) -> ContainerSpec:
    """sandbox_core's default hardening (as ``benchmarks.common.create_body``), running ``sleep 600``."""
    return ContainerSpec(
        image=IMAGE,
        labels={**raw_labels(run_id, arm), **OWNER},
        cmd=("sleep", "600"),
        cap_drop=CAP_DROP,
        pids_limit=PIDS_LIMIT,
        network_mode=network_mode,
    )


async def arm_plain(eng: EngineAPI, run_id: str, arm: str, network: str | None) -> list[str]:
    ref = await eng.containers.create(sandbox_spec(run_id, arm, network))
    await eng.containers.start(ref)
    await first_exec(eng, ref)
    return [ref]


async def arm_holder(eng: EngineAPI, run_id: str, arm: str, policy: NetworkPolicy) -> list[str]:
    holder = await create_holder(eng, f"sb-bench-{uuid.uuid4().hex[:8]}", policy, labels=OWNER)
    try:
        started = asyncio.ensure_future(start_holder(eng, holder))
        ref = await eng.containers.create(sandbox_spec(run_id, arm, sandbox_network_mode(holder)))
        await started
        await eng.containers.start(ref)
        await first_exec(eng, ref)
    except BaseException:
        await remove_holder(eng, holder)
        raise
    return [ref, holder]


async def arm_pooled(
    eng: EngineAPI,
    run_id: str,
    arm: str,
    policy: NetworkPolicy,
    t0: list[float],
    then: NetworkPolicy | None = None,
) -> list[str]:
    """Holder made and started first (untimed: ``t0`` is reset after it), then the timed sandbox; with ``then``,
    the holder's policy is replaced while the sandbox is created."""
    holder = await create_holder(eng, f"sb-bench-{uuid.uuid4().hex[:8]}", policy, labels=OWNER)
    try:
        await start_holder(eng, holder)
        t0[0] = time.perf_counter()
        spec = sandbox_spec(run_id, arm, sandbox_network_mode(holder))
        if then is None:
            ref = await eng.containers.create(spec)
        else:
            ref, _ = await asyncio.gather(eng.containers.create(spec), replace_policy(eng, holder, then))
        await eng.containers.start(ref)
        await first_exec(eng, ref)
    except BaseException:
        await remove_holder(eng, holder)
        raise
    return [ref, holder]


async def remove_all(eng: EngineAPI, refs: list[str]) -> None:
    for ref in refs:  # the sandbox first, then its holder
        await eng.containers.remove(ref)


def summary(samples: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(samples, n=10) if len(samples) >= 2 else [samples[0]] * 9
    return {"median_ms": statistics.median(samples) * 1e3, "p10_ms": qs[0] * 1e3, "p90_ms": qs[-1] * 1e3}


async def ensure_icc_network(eng: EngineAPI) -> None:
    """The comparison network (creating networks is no part of the engine interface: raw, as a test would)."""
    if await eng.networks.inspect(ICC_NET) is None:
        assert isinstance(eng, DockerEngine)
        body = {
            "Name": ICC_NET,
            "Driver": "bridge",
            "Labels": OWNER,
            "Options": {"com.docker.network.bridge.enable_icc": "false"},
        }
        await eng.client.request_json("POST", "networks/create", "create bench network", body=body)


async def run(rounds: int) -> dict[str, Any]:
    eng = await get_engine()
    run_id = uuid.uuid4().hex[:8]
    await ensure_icc_network(eng)
    allow = NetworkPolicy(egress=EgressPolicy.build([], ["example.com"]))
    isolate = NetworkPolicy(egress=EgressPolicy(), isolate=True)
    t0 = [0.0]  # an arm may move the start of its timed section (pooled: after its holder is ready)
    arms: dict[str, Callable[[], Awaitable[list[str]]]] = {
        "plain": lambda: arm_plain(eng, run_id, "plain", None),
        "holder-allow": lambda: arm_holder(eng, run_id, "holder-allow", allow),
        "holder-isolate": lambda: arm_holder(eng, run_id, "holder-isolate", isolate),
        "pooled-isolate": lambda: arm_pooled(eng, run_id, "pooled-isolate", isolate, t0),
        "pooled-allow": lambda: arm_pooled(eng, run_id, "pooled-allow", isolate, t0, then=allow),
        "icc-off": lambda: arm_plain(eng, run_id, "icc-off", ICC_NET),
    }
    names = list(arms)
    tti: dict[str, list[float]] = {a: [] for a in names}
    rm: dict[str, list[float]] = {a: [] for a in names}
    try:
        for _ in range(2):  # warm-up: image and page caches, the engine's first-use paths
            for a in names:
                await remove_all(eng, await arms[a]())
        for r in range(rounds):
            for a in names[r % len(names) :] + names[: r % len(names)]:
                t0[0] = time.perf_counter()
                ids = await arms[a]()
                t1 = time.perf_counter()
                await remove_all(eng, ids)
                tti[a].append(t1 - t0[0])
                rm[a].append(time.perf_counter() - t1)
    finally:  # whatever a failed arm left (sandboxes first: a holder's namespace may still be in use)
        left = await eng.containers.list({BENCH_LABEL: None}, all=True)
        holders = [c for c in left if c.labels.get("sandbox-core.kind") == "net-holder"]
        for c in [*(c for c in left if c not in holders), *holders]:
            await eng.containers.remove(c.id)
        await eng.networks.remove(ICC_NET)
    base = statistics.median(tti["plain"])
    return {
        "rounds": rounds,
        "tti": {a: {**summary(tti[a]), "ratio_to_plain": statistics.median(tti[a]) / base} for a in names},
        "remove": {a: summary(rm[a]) for a in names},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--json", help="write the result here too")
    args = ap.parse_args()
    result = asyncio.run(run(args.rounds))
    print(f"{'arm':16} {'TTI median':>11} {'p10':>8} {'p90':>8} {'x plain':>8}   {'remove med':>10}")
    for a, s in result["tti"].items():
        r = result["remove"][a]
        print(
            f"{a:16} {s['median_ms']:9.1f}ms {s['p10_ms']:6.1f}ms {s['p90_ms']:6.1f}ms {s['ratio_to_plain']:7.2f}x"
            f"   {r['median_ms']:8.1f}ms"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
