"""A child process that runs one arm's resource-measured work, so RSS/CPU/FDs/threads belong to that arm alone.

``python -m benchmarks.worker '<json spec>'``. Tasks:
    burst     for each N: N concurrent ``tti`` (create → echo), then N concurrent removes (P2, P10, P11)
    stream    read a large stdout on a warm sandbox (P5)
    upload    copy a local file into a warm sandbox (P8)
    download  copy a sandbox file to the local disk (P8)

Protocol: one JSON object per stdout line. ``begin``/``end`` events bracket each measured window so the parent's
psutil sampler (which watches this process and its children from outside) can attribute its samples; after each
burst's teardown the worker prints ``wait`` and blocks until the parent, having counted leftovers, sends a line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from typing import Any

import psutil  # type: ignore[import-untyped]

from . import common as c
from .arms import Arm, make_arm

#: Where P8 puts its files: the container's writable layer in every arm. (A sandbox's /tmp is a tmpfs, which the
#: engine's archive API cannot reach: through /tmp the arms would not write to the same storage.)
XFER_DIR = "/root"


def emit(event: str, **data: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **data}) + "\n")
    sys.stdout.flush()


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0); False when not permitted.

    ``ru_maxrss`` cannot be used: Linux carries it across fork and exec, so a worker would inherit the harness's.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def peak_rss() -> float | None:
    """This process's peak RSS in bytes since start or the last ``reset_peak_rss`` (VmHWM)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _resources(before: dict[str, float], rss_before: int, hwm_reset: bool) -> dict[str, float | None]:
    after = c.rusage_now()
    return {
        "cpu_s": (after["cpu_self"] - before["cpu_self"]) + (after["cpu_children"] - before["cpu_children"]),
        "peak_rss_self": peak_rss() if hwm_reset else None,
        "rss_before": float(rss_before),
    }


async def _burst(arm: Arm, spec: dict[str, Any]) -> None:
    me = psutil.Process()
    # Warm-up: one untimed sandbox so connection set-up and imports are not billed to the first burst.
    _, res, err = await arm.call("tti")
    if err is None:
        await arm.call("remove", res[0])
    emit("ready", warmup_error=err)
    for n in spec["bursts"]:
        tag = f"burst-{n}"
        rss0 = me.memory_info().rss
        hwm = reset_peak_rss()
        ru0 = c.rusage_now()
        emit("begin", tag=tag)
        t0 = time.perf_counter()
        results = await asyncio.gather(*(arm.call("tti") for _ in range(n)))
        wall = (time.perf_counter() - t0) * 1000
        emit(
            "end",
            tag=tag,
            n=n,
            wall_ms=wall,
            items=[[ms, (res[1] if err is None else None), err] for ms, res, err in results],
            resources=_resources(ru0, rss0, hwm),
        )
        handles = [(res[0] if err is None else res) for _, res, err in results]
        handles = [h for h in handles if h is not None]
        emit("begin", tag=f"teardown-{n}")
        t0 = time.perf_counter()
        removed = await asyncio.gather(*(arm.call("remove", h) for h in handles))
        wall = (time.perf_counter() - t0) * 1000
        emit("end", tag=f"teardown-{n}", n=n, wall_ms=wall, items=[[ms, None, err] for ms, _, err in removed])
        emit("wait", n=n)
        sys.stdin.readline()  # blocking on purpose: nothing of ours runs while the parent counts leftovers


#: Seconds every arm waits after its sandbox's first exec before a timed transfer. Creating a sandbox_core sandbox
#: sets off engine work in the background (its supervisor starts a network holder to replace the one claimed), which
#: would otherwise land in the first second of the transfer; the raw arms set off none. The transfer is what is
#: measured here; what a create costs is P1's and P2's.
SETTLE_S = 1.0


async def _single(arm: Arm, spec: dict[str, Any]) -> None:
    me = psutil.Process()
    task = spec["task"]
    size = int(spec["size"])
    _, res, err = await arm.call("tti")
    if err is not None:
        emit("end", tag=task, error=f"setup: {err}")
        if res is not None:
            await arm.call("remove", res)
        return
    h = res[0]
    await asyncio.sleep(SETTLE_S)
    try:
        if task == "download":
            rc, out = (
                await arm.call(
                    "run",
                    h,
                    ["dd", "if=/dev/urandom", f"of={XFER_DIR}/down.bin", "bs=1048576", f"count={size // c.MIB}"],
                )
            )[1] or (1, b"")
            if rc != 0:
                emit("end", tag=task, error=f"setup: dd exited {rc}: {out[:100]!r}")
                return
        rss0 = me.memory_info().rss
        hwm = reset_peak_rss()
        ru0 = c.rusage_now()
        emit("begin", tag=task)
        if task == "stream":
            ms, got, err = await arm.call("stream", h, size)
            if err is None and got != size:
                err = f"ShortRead: got {got} bytes, expected {size}"
        elif task == "upload":
            ms, _, err = await arm.call("upload", h, spec["local"], XFER_DIR, "up.bin")
        elif task == "download":
            ms, _, err = await arm.call("download", h, f"{XFER_DIR}/down.bin", spec["local"])
        else:
            raise ValueError(f"unknown task {task!r}")
        resources = _resources(ru0, rss0, hwm)
        if err is None and task == "upload":
            _, res2, err2 = await arm.call("run", h, ["stat", "-c", "%s", f"{XFER_DIR}/up.bin"])
            if err2 is not None or res2 is None or res2[1].strip() != str(size).encode():
                err = f"VerifyError: remote size {res2 and res2[1][:40]!r} != {size} ({err2})"
        if err is None and task == "download":
            got_size = os.stat(spec["local"]).st_size
            if got_size != size:
                err = f"VerifyError: local size {got_size} != {size}"
        emit("end", tag=task, ms=ms, size=size, error=err, resources=resources)
    finally:
        if task == "download":
            with contextlib.suppress(FileNotFoundError):
                os.unlink(spec["local"])
        await arm.call("remove", h)


async def amain(spec: dict[str, Any]) -> None:
    arm = make_arm(spec["arm"], spec["run_id"], int(spec["concurrency"]))
    await arm.open()
    try:
        if spec["task"] == "burst":
            await _burst(arm, spec)
        else:
            await _single(arm, spec)
    finally:
        await arm.close()
    emit("done")


def main() -> None:
    spec = json.loads(sys.argv[1])
    if os.environ.get("BENCH_SWITCHINTERVAL"):  # diagnostics only: the GIL switch interval, in seconds
        sys.setswitchinterval(float(os.environ["BENCH_SWITCHINTERVAL"]))
    asyncio.run(amain(spec))


if __name__ == "__main__":
    main()
