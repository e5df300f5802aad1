"""Phase S: sandbox_core on a 2-node Docker Swarm next to sandbox_core on one engine, in the same run.

The harness brings up a real swarm (``tests/cluster/harness.py``: two private dockerds in network namespaces,
``--no-new-privileges``, the project's images loaded) and tears it down at the end. Each measurement runs in a
fresh child process (``python -m benchmarks.swarm --measure …``) whose environment selects the backend — nothing
else differs, as for a user:

- ``sc``        one engine (``DOCKER_HOST``, the engine every other phase uses);
- ``sc-swarm``  the swarm (``SANDBOX_CORE_CLUSTER=swarm``, ``SANDBOX_CORE_SWARM_MANAGER``).

Metrics (through the public async API, output and exit codes checked): ``tti`` (create → first ``echo hi`` done)
and ``create`` (its create part), ``exec`` (``echo hi`` round trip on a warm sandbox), ``burst_wall`` and
``burst_tti`` (N concurrent TTIs; N = 50 in a full run) and ``burst_teardown``. Rounds alternate the two arms in a
random order. Once per run, ``image_copy``: the seconds the swarm takes to copy an image the sandbox's node lacks
from the manager (``docker save | docker load`` through the engines), for the 145 MB Python base when the main
engine has it, else busybox.

    python -m benchmarks --phases S                 # from the harness
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from . import common as c

if TYPE_CHECKING:
    from tests.cluster.harness import Cluster

    from .run import Run

ARMS = ("sc", "sc-swarm")
CLUSTER_VARS = ("SANDBOX_CORE_CLUSTER", "SANDBOX_CORE_SWARM_MANAGER")
BIG_IMAGE_PREFIX = "sandbox-core/debian-slim"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------------------------------ the child process


async def _tti(app: Any, sc: Any) -> tuple[float, float, Any]:
    t0 = time.perf_counter()
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(c.IMAGE), timeout=600)
    t_create = time.perf_counter()
    p = await sb.exec("echo", "hi")
    out = await p.stdout.read()
    if out != "hi\n" or await p.wait() != 0:
        raise RuntimeError(f"first exec gave {out!r}")
    return (time.perf_counter() - t0) * 1000, (t_create - t0) * 1000, sb


async def _measure(spec: dict[str, Any]) -> None:
    import sandbox_core as sc

    def emit(metric: str, n: int, value: float | None, error: str | None = None) -> None:
        print(json.dumps({"metric": metric, "n": n, "value": value, "error": error}), flush=True)

    app = await sc.App.lookup(spec["app"], create_if_missing=True)
    made: list[Any] = []
    try:
        for _ in range(spec["tti"]):
            tti, create, sb = await _tti(app, sc)
            made.append(sb)
            emit("tti", 1, tti)
            emit("create", 1, create)
        if spec["execs"]:
            warm = made[0] if made else (await _tti(app, sc))[2]
            for _ in range(spec["execs"]):
                t0 = time.perf_counter()
                p = await warm.exec("echo", "hi")
                if await p.stdout.read() != "hi\n" or await p.wait() != 0:
                    raise RuntimeError("exec gave the wrong answer")
                emit("exec", 1, (time.perf_counter() - t0) * 1000)
        if spec["burst"]:
            await _burst(app, sc, spec["burst"], emit)
    finally:
        await asyncio.gather(*(sb.terminate() for sb in made), return_exceptions=True)
        await sc.sweep(app_id=app.app_id, everything=True)


async def _burst(app: Any, sc: Any, n: int, emit: Any) -> None:
    t0 = time.perf_counter()
    results = await asyncio.gather(*(_tti(app, sc) for _ in range(n)), return_exceptions=True)
    emit("burst_wall", n, (time.perf_counter() - t0) * 1000)
    made = []
    for r in results:
        if isinstance(r, BaseException):
            emit("burst_tti", n, None, f"{type(r).__name__}: {r}")
        else:
            emit("burst_tti", n, r[0])
            made.append(r[2])
    t1 = time.perf_counter()
    await asyncio.gather(*(sb.terminate() for sb in made))
    await sc.sweep(app_id=app.app_id, everything=True)
    emit("burst_teardown", n, (time.perf_counter() - t1) * 1000)


# ------------------------------------------------------------------------------------------------ the harness


async def _child(r: Run, arm: str, env: dict[str, str], spec: dict[str, Any], rnd: int) -> None:
    spec = {**spec, "app": f"{c.app_name(r.run_id, 's')}-{arm}"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.swarm",
        "--measure",
        json.dumps(spec),
        env=env,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    for line in out.decode().splitlines():
        row = json.loads(line)
        r.row(arm, "S", row["metric"], row["n"], row["value"], error=row["error"], rnd=rnd)
    if proc.returncode != 0:
        r.row(arm, "S", "worker", 0, None, error=err.decode()[-600:] or f"exit {proc.returncode}", rnd=rnd)


def _envs(cluster: Cluster) -> dict[str, dict[str, str]]:
    single = {k: v for k, v in os.environ.items() if k not in CLUSTER_VARS}
    swarm = {**single, "SANDBOX_CORE_CLUSTER": "swarm", "SANDBOX_CORE_SWARM_MANAGER": cluster.manager.engine_url}
    return {"sc": single, "sc-swarm": swarm}


async def _image_copy(r: Run, cluster: Cluster) -> None:
    """Copy time of an image absent from the second node, through the library's distribution."""
    from sandbox_core._engine.swarm.config import SwarmConfig
    from sandbox_core._engine.swarm.engine import SwarmEngine
    from tests.cluster import harness

    tags = await asyncio.to_thread(_big_image_tags)
    ref = tags[0] if tags else c.IMAGE
    tarball = await asyncio.to_thread(harness.export_images, (ref,))
    layout = cluster.layout(0)
    await asyncio.to_thread(harness.load_images, layout, tarball)  # onto the manager: the cluster's image store
    config = SwarmConfig(cluster.manager.engine_url, None, 60.0)
    eng = await SwarmEngine.open(config)
    try:
        info = await eng.images.inspect(ref)
        assert info is not None
        n1 = next(n for n in await eng.cluster.nodes.all() if n.hostname.endswith("-n1"))
        node_engine = await eng.cluster.nodes.engine(n1.id)
        await node_engine.images.remove(info.id, force=True)  # the harness loaded the small ones everywhere
        t0 = time.perf_counter()
        await eng.cluster.images.ensure(info.id, [n1])
        r.row("sc-swarm", "S", "image_copy", 0, (time.perf_counter() - t0) * 1000, image=ref, bytes=info.size)
    finally:
        await eng.close()


def _big_image_tags() -> list[str]:
    import subprocess

    out = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", BIG_IMAGE_PREFIX],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return [t for t in out if "<none>" not in t]


async def run(r: Run) -> None:
    """Phase S (see the module docstring). Skipped, with a note, where a swarm cannot be brought up here."""
    from tests.cluster import harness

    reason = harness.unavailable_reason()
    if reason is not None:
        r.notes.append(f"S (swarm) skipped: {reason}")
        return
    t0 = time.perf_counter()
    cluster = await asyncio.to_thread(harness.up, nodes=2, dockerd_args=harness.LIBRARY_DOCKERD_ARGS)
    r.notes.append(f"S: a 2-node swarm came up in {time.perf_counter() - t0:.1f} s ({cluster.timings})")
    try:
        envs = _envs(cluster)
        per_round = {"tti": r.cfg.s_tti, "execs": r.cfg.s_execs, "burst": 0}
        for rnd in range(r.cfg.s_rounds):
            if not r.may_start("S", rnd, 20.0):
                break
            for arm in r.shuffled(list(ARMS)):
                await _child(r, arm, envs[arm], per_round, rnd)
        for arm in r.shuffled(list(ARMS)):
            await _child(r, arm, envs[arm], {"tti": 0, "execs": 0, "burst": r.cfg.s_burst}, 0)
        await _image_copy(r, cluster)
    finally:
        await asyncio.to_thread(cluster.down)


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.swarm", description=__doc__.split("\n\n")[0])
    p.add_argument("--measure", required=True, help="(internal) JSON spec of one child's measurements")
    args = p.parse_args()
    asyncio.run(_measure(json.loads(args.measure)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
