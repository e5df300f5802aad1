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

from benchmarks.common import create_body
from sandbox_core._engine import containers, execs
from sandbox_core._engine.client import Engine, get_engine
from sandbox_core._engine.netholder import (
    EngineHolderAPI,
    create_holder,
    remove_holder,
    replace_policy,
    sandbox_host_config,
    start_holder,
)
from sandbox_core._netpolicy_types import EgressPolicy, NetworkPolicy

#: On every container of this benchmark (holders keep their own kind label, so this one finds them too).
BENCH_LABEL = "bench.netpolicy"
OWNER = {"sandbox-core.owner": "sandbox-core", "sandbox-core.kind": "bench-netpolicy", BENCH_LABEL: "1"}
ICC_NET = "sandbox-core-bench-icc-off"


async def first_exec(eng: Engine, cid: str) -> None:
    exec_id = await execs.create_exec(eng, cid, ["echo", "hi"], env={}, workdir=None, tty=False)
    stream = await execs.start_exec(eng, exec_id, tty=False)
    out = b""
    try:
        while (frame := await stream.read_frame()) is not None:
            out += frame[1]
    finally:
        await stream.close()
    code = await execs.exit_code(eng, exec_id)
    if out != b"hi\n" or code != 0:
        raise RuntimeError(f"first exec gave {out!r} / {code}")


def sandbox_body(run_id: str, arm: str, host_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    body = create_body(run_id, arm)
    body["Labels"].update(OWNER)
    body["Cmd"] = ["sleep", "600"]
    body["HostConfig"].update(host_extra or {})
    return body


async def create_raw(eng: Engine, body: dict[str, Any]) -> str:
    res = await eng.request_json("POST", "containers/create", "bench create", body=body)
    return str(res["Id"])


async def arm_plain(eng: Engine, run_id: str, arm: str, network: str | None) -> list[str]:
    extra = {"NetworkMode": network} if network else None
    cid = await create_raw(eng, sandbox_body(run_id, arm, extra))
    await containers.start(eng, cid)
    await first_exec(eng, cid)
    return [cid]


async def arm_holder(eng: Engine, api: EngineHolderAPI, run_id: str, arm: str, policy: NetworkPolicy) -> list[str]:
    holder = await create_holder(api, f"sb-bench-{uuid.uuid4().hex[:8]}", policy, labels=OWNER)
    try:
        started = asyncio.ensure_future(start_holder(api, holder))
        cid = await create_raw(eng, sandbox_body(run_id, arm, sandbox_host_config(holder)))
        await started
        await containers.start(eng, cid)
        await first_exec(eng, cid)
    except BaseException:
        await remove_holder(api, holder)
        raise
    return [cid, holder]


async def arm_pooled(
    eng: Engine,
    api: EngineHolderAPI,
    run_id: str,
    arm: str,
    policy: NetworkPolicy,
    t0: list[float],
    then: NetworkPolicy | None = None,
) -> list[str]:
    """Holder made and started first (untimed: ``t0`` is reset after it), then the timed sandbox; with ``then``,
    the holder's policy is replaced while the sandbox is created."""
    holder = await create_holder(api, f"sb-bench-{uuid.uuid4().hex[:8]}", policy, labels=OWNER)
    try:
        await start_holder(api, holder)
        t0[0] = time.perf_counter()
        body = sandbox_body(run_id, arm, sandbox_host_config(holder))
        if then is None:
            cid = await create_raw(eng, body)
        else:
            cid, _ = await asyncio.gather(create_raw(eng, body), replace_policy(api, holder, then))
        await containers.start(eng, cid)
        await first_exec(eng, cid)
    except BaseException:
        await remove_holder(api, holder)
        raise
    return [cid, holder]


async def remove_all(eng: Engine, ids: list[str]) -> None:
    for cid in ids:  # the sandbox first, then its holder
        await containers.remove(eng, cid)


def summary(samples: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(samples, n=10) if len(samples) >= 2 else [samples[0]] * 9
    return {"median_ms": statistics.median(samples) * 1e3, "p10_ms": qs[0] * 1e3, "p90_ms": qs[-1] * 1e3}


async def ensure_icc_network(eng: Engine) -> None:
    try:
        await eng.request_json("GET", f"networks/{ICC_NET}", "inspect bench network")
    except Exception:
        body = {
            "Name": ICC_NET,
            "Driver": "bridge",
            "Labels": OWNER,
            "Options": {"com.docker.network.bridge.enable_icc": "false"},
        }
        await eng.request_json("POST", "networks/create", "create bench network", body=body)


async def run(rounds: int) -> dict[str, Any]:
    eng = await get_engine()
    run_id = uuid.uuid4().hex[:8]
    await ensure_icc_network(eng)
    allow = NetworkPolicy(egress=EgressPolicy.build([], ["example.com"]))
    isolate = NetworkPolicy(egress=EgressPolicy(), isolate=True)
    api = EngineHolderAPI(eng)  # one adapter, as the library would hold (it caches network inspections)
    t0 = [0.0]  # an arm may move the start of its timed section (pooled: after its holder is ready)
    arms: dict[str, Callable[[], Awaitable[list[str]]]] = {
        "plain": lambda: arm_plain(eng, run_id, "plain", None),
        "holder-allow": lambda: arm_holder(eng, api, run_id, "holder-allow", allow),
        "holder-isolate": lambda: arm_holder(eng, api, run_id, "holder-isolate", isolate),
        "pooled-isolate": lambda: arm_pooled(eng, api, run_id, "pooled-isolate", isolate, t0),
        "pooled-allow": lambda: arm_pooled(eng, api, run_id, "pooled-allow", isolate, t0, then=allow),
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
        for c in await containers.list_(eng, {"label": [BENCH_LABEL]}, all=True):
            if c.get("HostConfig", {}).get("NetworkMode", "").startswith("container:"):
                await containers.remove(eng, c["Id"])
        for c in await containers.list_(eng, {"label": [BENCH_LABEL]}, all=True):
            await containers.remove(eng, c["Id"])
        await eng.request_json("DELETE", f"networks/{ICC_NET}", "remove bench network")
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
