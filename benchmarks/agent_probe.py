"""Probe of the in-sandbox agent against raw aiodocker exec, side by side in one run (issue 14's numbers).

    python -m benchmarks.agent_probe [--echo 200] [--tti 20] [--mb 100] [--out results.json]

Measures, interleaving the arms round by round so drift hits both alike:
- delivery: container create+start with and without the agent's read-only volume mount; the one-time fill;
- agent session open (one engine exec + HELLO);
- ``echo hi``: agent exec vs raw aiodocker exec (create + start + read to EOF + inspect), median/p90;
- 100 concurrent ``echo hi`` execs on one container: wall clock;
- 100 MiB of stdout read to EOF: agent vs raw;
- watch: latency from a file write issued by the client to the event's arrival.
Everything it creates carries ``bench.run=<id>`` and the owner label, and is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiodocker
import aiohttp

from sandbox_core._agent import binary as agent_bin
from sandbox_core._agent.client import Agent
from sandbox_core._agent.transport import open_agent_stream
from sandbox_core._agent.volume import MOUNT_DIR, ensure_agent_volume
from sandbox_core._engine import EngineAPI, get_engine

from . import common as c

MIB = 1 << 20


def stats(samples: list[float]) -> dict[str, float]:
    s = sorted(samples)
    return {
        "n": len(s),
        "median_ms": statistics.median(s) * 1000,
        "p90_ms": s[int(0.9 * (len(s) - 1))] * 1000,
        "min_ms": s[0] * 1000,
        "max_ms": s[-1] * 1000,
    }


class Probe:
    def __init__(self, docker: aiodocker.Docker, run_id: str, volume: str) -> None:
        self.docker = docker
        self.run_id = run_id
        self.volume = volume
        self.made: list[Any] = []

    def body(self, mounted: bool) -> dict[str, Any]:
        body = c.create_body(self.run_id, "agent-probe")
        body["Labels"]["sandbox-core.owner"] = "sandbox-core"
        if mounted:
            # As ``agent_mount`` mounts it for sandboxes, spelled for the raw arm.
            mount = {"Type": "volume", "Source": self.volume, "Target": MOUNT_DIR, "ReadOnly": True}
            body["HostConfig"]["Mounts"] = [{**mount, "VolumeOptions": {"NoCopy": True}}]
        return body

    async def create(self, mounted: bool) -> tuple[Any, float]:
        t0 = time.perf_counter()
        ctr = await self.docker.containers.create(config=self.body(mounted))
        self.made.append(ctr)
        await ctr.start()
        return ctr, time.perf_counter() - t0

    async def raw_exec(self, ctr: Any, argv: list[str]) -> tuple[int, int]:
        ex = await ctr.exec(argv, stdout=True, stderr=True)
        n = 0
        async with ex.start(detach=False) as stream:
            while (msg := await stream.read_out()) is not None:
                n += len(msg.data)
        info = await ex.inspect()
        return int(info["ExitCode"]), n

    async def cleanup(self) -> None:
        for ctr in self.made:
            try:
                await ctr.delete(force=True)
            except aiodocker.DockerError:
                pass


async def agent_exec(agent: Agent, argv: list[str]) -> tuple[int, int]:
    p = await agent.exec(argv)
    async with p:
        p.close_stdin()
        n = 0
        while chunk := await p.stdout.read():
            n += len(chunk)
        await p.stderr.read_all()
        return await p.wait(), n


async def interleave(arms: dict[str, Callable[[], Awaitable[float]]], rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {k: [] for k in arms}
    order = list(arms)
    for _ in range(rounds):
        random.shuffle(order)
        for k in order:
            out[k].append(await arms[k]())
    return out


async def probe(args: argparse.Namespace) -> dict[str, Any]:
    run_id = uuid.uuid4().hex[:8]
    eng = await get_engine()
    binary = agent_bin.agent_binary(await eng.architecture())
    t0 = time.perf_counter()
    volume = await ensure_agent_volume(eng, binary, helper_image=c.IMAGE)
    ensure_first = time.perf_counter() - t0
    fill_ms = await fresh_fill_ms(eng, binary, run_id)
    connector = aiohttp.UnixConnector(c.DOCKER_SOCKET, limit=0)
    docker = aiodocker.Docker(url="unix://localhost", connector=connector)
    p = Probe(docker, run_id, volume)
    res: dict[str, Any] = {
        "run_id": run_id,
        "binary_bytes": binary.size,
        "ensure_volume_first_call_ms": ensure_first * 1000,
        "volume_fill_from_scratch_ms": fill_ms,
    }
    try:
        await p.create(True)  # warm-up
        await p.create(False)

        async def tti(mounted: bool) -> float:
            return (await p.create(mounted))[1]

        tti_s = await interleave({"with_mount": lambda: tti(True), "without_mount": lambda: tti(False)}, args.tti)
        res["create_start"] = {k: stats(v) for k, v in tti_s.items()}
        await p.cleanup()
        p.made.clear()

        ctr, _ = await p.create(True)
        opens = []
        for _ in range(5):
            t = time.perf_counter()
            a = await Agent.connect(await open_agent_stream(eng, ctr.id))
            opens.append(time.perf_counter() - t)
            await a.close()
        res["agent_session_open"] = stats(opens)
        agent = await Agent.connect(await open_agent_stream(eng, ctr.id))
        try:
            res.update(await measure(p, agent, ctr, args))
        finally:
            await agent.close()
    finally:
        await p.cleanup()
        await docker.close()
        await connector.close()
    return res


async def fresh_fill_ms(eng: EngineAPI, binary: agent_bin.AgentBinary, run_id: str) -> float:
    """The one-time cost per engine and build: create, fill and mark a volume that does not exist yet."""
    prefix = f"bench-agent-{run_id}"
    t0 = time.perf_counter()
    name = await ensure_agent_volume(
        eng, binary, helper_image=c.IMAGE, prefix=prefix, extra_labels={c.RUN_LABEL: run_id}
    )
    took = (time.perf_counter() - t0) * 1000
    for v in (name, name + ".ready"):
        await eng.volumes.remove(v)
    return took


async def timed(fn: Callable[[], Awaitable[tuple[int, int]]], want: int | None = None) -> float:
    t = time.perf_counter()
    code, n = await fn()
    if code != 0 or (want is not None and n != want):
        raise RuntimeError(f"exec failed: code {code}, {n} bytes")
    return time.perf_counter() - t


async def measure(p: Probe, agent: Agent, ctr: Any, args: argparse.Namespace) -> dict[str, Any]:
    res: dict[str, Any] = {}
    echo = ["echo", "hi"]
    for _ in range(10):
        await agent_exec(agent, echo)
        await p.raw_exec(ctr, echo)
    s = await interleave(
        {
            "agent": lambda: timed(lambda: agent_exec(agent, echo), 3),
            "raw": lambda: timed(lambda: p.raw_exec(ctr, echo), 3),
        },
        args.echo,
    )
    res["echo"] = {k: stats(v) for k, v in s.items()}

    async def burst(run: Callable[[], Awaitable[tuple[int, int]]]) -> float:
        t = time.perf_counter()
        results = await asyncio.gather(*(run() for _ in range(100)))
        if any(code != 0 for code, _ in results):
            raise RuntimeError("a concurrent exec failed")
        return time.perf_counter() - t

    s = await interleave(
        {"agent": lambda: burst(lambda: agent_exec(agent, echo)), "raw": lambda: burst(lambda: p.raw_exec(ctr, echo))},
        3,
    )
    res["concurrent_100"] = {k: stats(v) for k, v in s.items()}

    nbytes = args.mb * MIB
    argv = c.stream_argv(nbytes)
    s = await interleave(
        {
            "agent": lambda: timed(lambda: agent_exec(agent, argv), nbytes),
            "raw": lambda: timed(lambda: p.raw_exec(ctr, argv), nbytes),
        },
        args.rounds,
    )
    res[f"stdout_{args.mb}MiB"] = {k: {**stats(v), "MiB_per_s": args.mb / statistics.median(v)} for k, v in s.items()}
    res["watch_event"] = stats(await watch_latency(agent, 50))
    return res


async def watch_latency(agent: Agent, n: int) -> list[float]:
    """Client-issued write_file -> the Modify/Create event for it arriving at the client."""
    await agent.mkdir("/tmp/probe-watch", parents=True)
    out: list[float] = []
    async with await agent.watch("/tmp/probe-watch", filter=["Create"]) as w:
        it = aiter(w)
        for i in range(n):
            path = f"/tmp/probe-watch/f{i}"
            t = time.perf_counter()
            await agent.write_file(path, b"x")
            while (await anext(it)).paths != (path,):
                pass
            out.append(time.perf_counter() - t)
    return out


def table(res: dict[str, Any]) -> str:
    rows = ["| metric | arm | median ms | p90 ms | n | extra |", "|---|---|---|---|---|---|"]
    for key, val in res.items():
        if not isinstance(val, dict):
            continue
        arms = val if "median_ms" not in val else {"": val}
        for arm, st in arms.items():
            extra = f"{st['MiB_per_s']:.0f} MiB/s" if "MiB_per_s" in st else ""
            rows.append(f"| {key} | {arm} | {st['median_ms']:.2f} | {st['p90_ms']:.2f} | {st['n']} | {extra} |")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--echo", type=int, default=200, help="sequential echo rounds per arm")
    ap.add_argument("--tti", type=int, default=20, help="create+start rounds per arm")
    ap.add_argument("--mb", type=int, default=100, help="MiB of stdout per throughput run")
    ap.add_argument("--rounds", type=int, default=7, help="throughput rounds per arm")
    ap.add_argument("--out", help="write the results as JSON here")
    args = ap.parse_args()
    res = asyncio.run(probe(args))
    print(table(res))
    first, fill = res["ensure_volume_first_call_ms"], res["volume_fill_from_scratch_ms"]
    print(
        f"binary {res['binary_bytes']} bytes; ensure_agent_volume: first call of this process {first:.1f} ms, "
        f"fill from scratch {fill:.1f} ms"
    )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=2)


if __name__ == "__main__":
    main()
