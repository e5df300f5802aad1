"""The default image (``Image.debian_slim()``): how long it takes to make, and time to interactive on it.

    python -m benchmarks.images [--rounds 12] [--cold] [--json out.json]

- **build from cache**: a fresh ``Image.debian_slim()`` resolved by a fresh process-level cache miss (what the first
  ``Sandbox.create`` of a process pays: finding the base image on the engine), median over ``--rounds`` calls;
  and a warm ``Sandbox.create`` needs nothing more (the ``Image`` caches its resolution).
- **build from nothing** (``--cold``, one sample: 0.5-1.5 min and needs Debian's archive): the base image built
  from Debian with mmdebstrap under labels of this run (so it is a new image; removed afterwards).
- **TTI** = create -> start -> first ``echo hi`` done (output checked), interleaved rounds after a warm-up:
  ``sc`` is ``Sandbox.create(app=app)`` with no image (the default image, as a user writes it) + ``exec``;
  ``aiodocker`` is raw aiodocker (one shared client, unlimited connector) creating the same hardened container
  from the same image id. The report gives medians, p10-p90 and ``sc``'s ratio to ``aiodocker`` in this run.

Everything is labelled ``bench.images=<run id>`` (raw containers) or belongs to the App ``bench-<run id>-images``
and is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from typing import Any

import aiodocker
import aiohttp

import sandbox_core as sc
from benchmarks import common as c
from sandbox_core._engine import get_engine
from sandbox_core._imagebuild import base, builder
from sandbox_core.image import resolve_image

BENCH_LABEL = "bench.images"


def summary(samples: list[float]) -> dict[str, float]:
    qs = statistics.quantiles(samples, n=10) if len(samples) >= 2 else [samples[0]] * 9
    return {"median_ms": statistics.median(samples) * 1e3, "p10_ms": qs[0] * 1e3, "p90_ms": qs[-1] * 1e3}


def socket_path() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else c.DOCKER_SOCKET


async def raw_tti(docker: aiodocker.Docker, image_id: str, run_id: str) -> tuple[float, Any]:
    body = c.create_body(run_id, "aiodocker") | {"Image": image_id, "Cmd": ["sleep", "600"]}
    body["Labels"] = {**body["Labels"], BENCH_LABEL: run_id, "sandbox-core.owner": "sandbox-core"}
    t0 = time.perf_counter()
    ctr = await docker.containers.create(config=body)
    await ctr.start()
    ex = await ctr.exec(["echo", "hi"], stdout=True, stderr=True)
    out = b""
    async with ex.start(detach=False) as stream:
        while (msg := await stream.read_out()) is not None:
            out += msg.data if msg.stream == 1 else b""
    code = (await ex.inspect())["ExitCode"]
    elapsed = time.perf_counter() - t0
    if out != b"hi\n" or code != 0:
        raise RuntimeError(f"raw exec gave {out!r} / {code}")
    return elapsed, ctr


async def sc_tti(app: sc.App) -> tuple[float, sc.Sandbox]:
    t0 = time.perf_counter()
    sb = await sc.Sandbox.create(app=app, timeout=600)
    p = await sb.exec("echo", "hi")
    out = await p.stdout.read()
    code = await p.wait()
    elapsed = time.perf_counter() - t0
    if out != "hi\n" or code != 0:
        raise RuntimeError(f"sandbox exec gave {out!r} / {code}")
    return elapsed, sb


async def build_from_cache(rounds: int) -> dict[str, float]:
    eng = await get_engine()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        await resolve_image(sc.Image.debian_slim(), eng)
        samples.append(time.perf_counter() - t0)
    return summary(samples)


async def build_from_nothing(run_id: str) -> dict[str, Any]:
    eng = await get_engine()
    labels = {BENCH_LABEL: run_id}
    t0 = time.perf_counter()
    made = await base.ensure_python_base(eng, None, labels=labels)
    elapsed = time.perf_counter() - t0
    info = await eng.images.inspect(made.image_id)
    await builder.remove_images(eng, labels)
    return {"seconds": elapsed, "source": made.source, "size_mb": (info.size if info else 0) / 1e6}


async def run(rounds: int, cold: bool) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    eng = await get_engine()
    image_id = (await resolve_image(None, eng)).info.id  # the default image, made if missing (untimed)
    result: dict[str, Any] = {"rounds": rounds, "image": image_id}
    if cold:
        result["build_from_nothing"] = await build_from_nothing(run_id)
    result["build_from_cache"] = await build_from_cache(rounds)
    app = await sc.App.lookup(c.app_name(run_id, "images"), create_if_missing=True)
    connector = aiohttp.UnixConnector(socket_path(), limit=0)
    docker = aiodocker.Docker(url="unix://localhost", connector=connector)
    tti: dict[str, list[float]] = {"sc": [], "aiodocker": []}
    try:
        for r in range(2 + rounds):  # two warm-up rounds
            order = ["sc", "aiodocker"] if r % 2 else ["aiodocker", "sc"]
            for arm in order:
                if arm == "sc":
                    elapsed, sb = await sc_tti(app)
                    await sb.terminate()
                else:
                    elapsed, ctr = await raw_tti(docker, image_id, run_id)
                    await ctr.delete(force=True)
                if r >= 2:
                    tti[arm].append(elapsed)
    finally:
        for ctr in await docker.containers.list(all=True, filters={"label": [f"{BENCH_LABEL}={run_id}"]}):
            await ctr.delete(force=True)
        await docker.close()
        await connector.close()
        await sc.sweep(app_id=app.app_id, everything=True)
    result["tti"] = {arm: summary(samples) for arm, samples in tti.items()}
    result["tti_ratio_sc_to_aiodocker"] = statistics.median(tti["sc"]) / statistics.median(tti["aiodocker"])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--cold", action="store_true", help="also build the base image from Debian (one sample)")
    ap.add_argument("--json", help="write the result here too")
    args = ap.parse_args()
    result = asyncio.run(run(args.rounds, args.cold))
    if "build_from_nothing" in result:
        cold = result["build_from_nothing"]
        print(f"default image from nothing: {cold['seconds']:.1f} s ({cold['source']}, {cold['size_mb']:.0f} MB)")
    warm = result["build_from_cache"]
    print(
        f"default image from cache:   {warm['median_ms']:.2f} ms (p10 {warm['p10_ms']:.2f}, p90 {warm['p90_ms']:.2f})"
    )
    for arm, s in result["tti"].items():
        print(f"TTI {arm:10} median {s['median_ms']:7.1f} ms  p10 {s['p10_ms']:7.1f}  p90 {s['p90_ms']:7.1f}")
    print(f"TTI ratio sc / aiodocker: {result['tti_ratio_sc_to_aiodocker']:.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
