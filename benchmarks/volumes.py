"""Volume file transfer: ``Volume.batch_upload`` / ``Volume.read_file_into_fileobj`` of one large file against raw
aiodocker doing the same engine work, in one run.

    python -m benchmarks.volumes                         # 100 MiB, 5 rounds, arms aiodocker,sc,sc-sync
    python -m benchmarks.volumes --size-mib 32 --rounds 2 --out /tmp/vol

Every transfer runs in a fresh child process (its peak RSS is its ``VmHWM``, reset right before the transfer, after
the client connected) and moves one file between the local disk and a volume, without any sandbox:

- ``aiodocker`` (the floor): create a container (the busybox image, the volume mounted, never started), stream a
  one-member tar from the file with ``put_archive``, or stream ``GET /containers/{id}/archive`` into the file, remove
  the container — the engine work ``sandbox_core`` does for the same call.
- ``sc``: ``async with vol.batch_upload() as b: b.put_file(path, name)`` (the default ``force=False``, so the target
  is checked first), and ``await vol.read_file_into_fileobj(name, f)``.
- ``sc-sync``: the same through ``sandbox_core_sync``.

Rounds shuffle the arms; each round uploads a new file name per arm and downloads it back (its sha256 is checked).
Reported: medians and ranges of time, rate, peak RSS and CPU, and each ``sc`` arm's median of per-round ratios to
``aiodocker``. Output: ``summary.md`` and ``results.json`` in ``--out`` (default
``benchmarks/results/<date>-volumes``). Everything made carries ``bench.run=<id>`` or is a volume named for the run,
and is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from . import common as c

ARMS = ("aiodocker", "sc", "sc-sync")
MOUNT = "/volume"


# ------------------------------------------------------------------------------------------------ child process


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _status(key: str) -> float | None:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return float(line.split()[1]) * 1024
    return None


async def _raw(spec: dict[str, Any]) -> dict[str, Any]:
    import aiodocker

    docker = aiodocker.Docker()
    try:
        await docker.version()  # connected before the measurement, as the other arms are
        body = {
            "Image": c.IMAGE,
            "Cmd": ["true"],
            "Labels": c.raw_labels(spec["run_id"], "aiodocker"),
            "NetworkDisabled": True,
            "HostConfig": {"Mounts": [{"Type": "volume", "Source": spec["raw_volume"], "Target": MOUNT}]},
        }
        return await _measure(lambda: _raw_transfer(docker, body, spec))
    finally:
        await docker.close()


async def _raw_transfer(docker: Any, body: dict[str, Any], spec: dict[str, Any]) -> None:
    ctr = await docker.containers.create(config=body)
    try:
        if spec["task"] == "upload":
            await ctr.put_archive(MOUNT, c.tar_chunks_async(spec["local"], spec["name"]))
            return
        sink = c.TarFileSink(spec["local"])
        try:
            async with docker._query(
                f"containers/{ctr.id}/archive",
                method="GET",
                params={"path": f"{MOUNT}/{spec['name']}"},
                headers={"Accept-Encoding": "identity"},
            ) as resp:
                async for chunk in resp.content.iter_chunked(c.CHUNK):
                    sink.feed(chunk)
        finally:
            sink.close()
    finally:
        await ctr.delete(force=True)


async def _sc(spec: dict[str, Any]) -> dict[str, Any]:
    import sandbox_core as sc

    vol = await sc.Volume.from_name(spec["sc_volume"]).hydrate()

    async def transfer() -> None:
        if spec["task"] == "upload":
            async with vol.batch_upload() as batch:
                batch.put_file(spec["local"], spec["name"])
        else:
            with open(spec["local"], "wb") as f:
                await vol.read_file_into_fileobj(spec["name"], f)

    return await _measure(transfer)


def _sc_sync(spec: dict[str, Any]) -> dict[str, Any]:
    import sandbox_core_sync as modal

    vol = modal.Volume.from_name(spec["sc_volume"]).hydrate()

    def transfer() -> None:
        if spec["task"] == "upload":
            with vol.batch_upload() as batch:
                batch.put_file(spec["local"], spec["name"])
        else:
            with open(spec["local"], "wb") as f:
                vol.read_file_into_fileobj(spec["name"], f)

    reset = _reset_peak_rss()
    rss_before = _status("VmRSS")
    cpu0, t0 = time.process_time(), time.perf_counter()
    transfer()
    return _result(t0, cpu0, rss_before, reset)


async def _measure(transfer: Any) -> dict[str, Any]:
    reset = _reset_peak_rss()
    rss_before = _status("VmRSS")
    cpu0, t0 = time.process_time(), time.perf_counter()
    await transfer()
    return _result(t0, cpu0, rss_before, reset)


def _result(t0: float, cpu0: float, rss_before: float | None, reset: bool) -> dict[str, Any]:
    return {
        "ms": (time.perf_counter() - t0) * 1000,
        "cpu_s": time.process_time() - cpu0,
        "peak_rss": _status("VmHWM") if reset else None,
        "rss_before": rss_before,
    }


def child(spec: dict[str, Any]) -> None:
    try:
        if spec["arm"] == "sc-sync":
            out = _sc_sync(spec)
        else:
            out = asyncio.run(_raw(spec) if spec["arm"] == "aiodocker" else _sc(spec))
    except Exception as e:  # reported, not raised: the parent records the failure
        out = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(out), flush=True)


# ----------------------------------------------------------------------------------------------- orchestrator


def _run_child(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.volumes", "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        result = {"error": f"child exited {proc.returncode}: {proc.stderr[-500:]}"}
    return result


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(c.CHUNK):
            h.update(chunk)
    return h.hexdigest()


async def _setup(run_id: str) -> tuple[str, str]:
    import aiodocker

    import sandbox_core as sc

    sc_volume = f"bench-{run_id}-vol"
    await sc.Volume.objects.create(sc_volume)
    raw_volume = f"bench-{run_id}-raw"
    docker = aiodocker.Docker()
    try:
        await docker.volumes.create({"Name": raw_volume, "Labels": c.raw_labels(run_id, "aiodocker")})  # type: ignore[no-untyped-call]
    finally:
        await docker.close()
    return sc_volume, raw_volume


async def _teardown(run_id: str, sc_volume: str, raw_volume: str) -> dict[str, int]:
    import aiodocker

    import sandbox_core as sc

    await sc.Volume.objects.delete(sc_volume, allow_missing=True)
    docker = aiodocker.Docker()
    try:
        left = await docker.containers.list(all=True, filters={"label": [f"{c.RUN_LABEL}={run_id}"]})
        for ctr in left:
            await ctr.delete(force=True)
        await (await docker.volumes.get(raw_volume)).delete()  # type: ignore[no-untyped-call]
        helpers = await docker.containers.list(all=True, filters={"label": ["sandbox-core.kind=volume-helper"]})
    finally:
        await docker.close()
    swept = await sc.sweep(app_id="ap-none")  # the volume collection is engine-wide: removes the deleted volume
    return {
        "raw_containers_left": len(left),
        "helpers_seen_at_end": len(helpers),
        "volumes_removed": swept.volumes_removed,
    }


def _stats(values: list[float]) -> dict[str, float]:
    return (
        {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}
        if values
        else {}
    )


def _summarize(rows: list[dict[str, Any]], arms: list[str], size: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for task in ("upload", "download"):
        for arm in arms:
            ok = [r for r in rows if r["arm"] == arm and r["task"] == task and "error" not in r]
            out[f"{arm}/{task}"] = {
                "ms": _stats([r["ms"] for r in ok]),
                "mb_s": _stats([size / 1e6 / (r["ms"] / 1000) for r in ok]),
                "peak_rss_mib": _stats([r["peak_rss"] / c.MIB for r in ok if r.get("peak_rss")]),
                "rss_growth_mib": _stats([(r["peak_rss"] - r["rss_before"]) / c.MIB for r in ok if r.get("peak_rss")]),
                "cpu_s": _stats([r["cpu_s"] for r in ok]),
                "errors": [r["error"] for r in rows if r["arm"] == arm and r["task"] == task and "error" in r],
            }
            if arm != "aiodocker":
                ratios = []
                for rnd in {r["round"] for r in ok}:
                    mine = [r["ms"] for r in ok if r["round"] == rnd]
                    base = [
                        r["ms"]
                        for r in rows
                        if r["arm"] == "aiodocker" and r["task"] == task and r["round"] == rnd and "error" not in r
                    ]
                    if mine and base:
                        ratios.append(mine[0] / base[0])
                out[f"{arm}/{task}"]["ratio_to_aiodocker"] = _stats(ratios)
    return out


def _markdown(result: dict[str, Any]) -> str:
    size_mib = result["config"]["size_mib"]
    lines = [
        f"# Volume transfer, {size_mib} MiB, {result['config']['rounds']} rounds ({result['started_utc']})",
        "",
        f"Engine {result['environment']['engine']}, {result['environment']['cpus']} CPUs, load at end "
        f"{result['loadavg_end'][0]:.2f}. Times and rates: median (min–max); ratio: median of per-round ratios.",
        "",
        "| arm | task | time ms | MB/s | ratio to aiodocker | peak RSS MiB | RSS growth MiB | CPU s | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def fmt(s: dict[str, float], digits: int = 0) -> str:
        if not s:
            return "–"
        return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"

    for key, s in result["summary"].items():
        arm, task = key.split("/")
        lines.append(
            f"| {arm} | {task} | {fmt(s['ms'])} | {fmt(s['mb_s'], 1)} | {fmt(s.get('ratio_to_aiodocker', {}), 2)} "
            f"| {fmt(s['peak_rss_mib'], 1)} | {fmt(s['rss_growth_mib'], 1)} | {fmt(s['cpu_s'], 2)} "
            f"| {len(s['errors'])} |"
        )
    lines += ["", f"Checks: every download's sha256 matched: {result['checksums_ok']}; end: {result['end']}.", ""]
    return "\n".join(lines)


def orchestrate(size_mib: int, rounds: int, arms: list[str], out_dir: Path, seed: int) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:10]
    rng = random.Random(seed)
    size = size_mib * c.MIB
    started = datetime.datetime.now(datetime.UTC)
    sc_volume, raw_volume = asyncio.run(_setup(run_id))
    rows: list[dict[str, Any]] = []
    checks: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="bench-vol-") as scratch:
        source = os.path.join(scratch, "source.bin")
        with open(source, "wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(c.MIB))
        digest = _sha256(source)
        try:
            for rnd in range(rounds):
                order = list(arms)
                rng.shuffle(order)
                for arm in order:
                    name = f"r{rnd}-{arm}.bin"
                    base = {
                        "arm": arm,
                        "run_id": run_id,
                        "sc_volume": sc_volume,
                        "raw_volume": raw_volume,
                        "name": name,
                    }
                    for task in ("upload", "download"):
                        local = source if task == "upload" else os.path.join(scratch, f"down-{arm}.bin")
                        res = _run_child({**base, "task": task, "local": local})
                        rows.append({"arm": arm, "task": task, "round": rnd, **res})
                        print(f"[bench-volumes] round {rnd} {arm} {task}: {res}", file=sys.stderr, flush=True)
                        if task == "download" and "error" not in res:
                            checks.append(_sha256(local) == digest)
        finally:
            end = asyncio.run(_teardown(run_id, sc_volume, raw_volume))
    result = {
        "schema": "sandbox-core-bench-volumes/1",
        "run_id": run_id,
        "seed": seed,
        "started_utc": started.isoformat(timespec="seconds"),
        "config": {"size_mib": size_mib, "rounds": rounds, "arms": arms},
        "environment": {"engine": os.environ.get("DOCKER_HOST", "default socket"), "cpus": os.cpu_count()},
        "loadavg_end": os.getloadavg(),
        "rows": rows,
        "summary": _summarize(rows, arms, size),
        "checksums_ok": all(checks)
        and len(checks) == sum(1 for r in rows if r["task"] == "download" and "error" not in r),
        "end": end,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(result, indent=1))
    (out_dir / "summary.md").write_text(_markdown(result))
    return result


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.volumes", description=__doc__.split("\n\n")[0])
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--size-mib", type=int, default=100)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--arms", default=",".join(ARMS))
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--out", default=None)
    args = p.parse_args()
    if args.child:
        child(json.loads(args.child))
        return
    arms = [a for a in args.arms.split(",") if a]
    unknown = set(arms) - set(ARMS)
    if unknown or "aiodocker" not in arms:
        p.error(f"arms are {', '.join(ARMS)} (aiodocker is the reference and must be included); got {args.arms}")
    out = Path(args.out or f"benchmarks/results/{datetime.date.today().isoformat()}-volumes")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    result = orchestrate(args.size_mib, args.rounds, arms, out, seed)
    print((out / "summary.md").read_text())
    failed = [k for k, s in result["summary"].items() if not s["ms"]]
    sys.exit(1 if failed or not result["checksums_ok"] else 0)


if __name__ == "__main__":
    main()
