"""Request latency and throughput through the tunnel machinery, against a direct connection, in one run.

    python -m benchmarks.net_relay                    # 5 rounds x 50 requests per arm and mode (250 each)
    python -m benchmarks.net_relay --rounds 2 --per-round 20 --out /tmp/net

Three processes, as in production: an upstream HTTP server (aiohttp, standing in for the server in a sandbox), a
"supervisor" process serving the TCP relay, the TLS terminator and the connect-token proxy (plain and TLS) in
front of it, and this client. Arms: ``direct`` (to the upstream), ``tcp-relay``, ``tls-relay``, ``token-proxy``,
``token-proxy-tls``.

- Latency: sequential ``GET /`` (small body) with ``http.client``: ``keepalive`` reuses one connection,
  ``new-conn`` opens one per request (a TLS handshake each time for TLS arms). Rounds interleave the arms in a
  shuffled order; each mode/arm gets a warm-up. Reported: median, p90, and the median's ratio to ``direct``.
- Throughput, one measurement per arm per round, arms shuffled each round, medians reported: ``req/s`` with 32
  concurrent keep-alive clients (aiohttp) over ``--rps-total`` requests, and ``MB/s`` downloading a 64 MiB body.

Output: ``summary.md`` and ``results.json`` in ``--out`` (default ``benchmarks/results/<date>-net``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import http.client
import json
import os
import platform
import random
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BIG = 64 * 1024 * 1024
ARMS = ("direct", "tcp-relay", "tls-relay", "token-proxy", "token-proxy-tls")
TLS_ARMS = {"tls-relay", "token-proxy-tls"}


# ------------------------------------------------------------------------------------------------ child processes


async def _upstream_main() -> None:
    from aiohttp import web

    small = b"hello from the sandbox\n"
    big = b"x" * BIG

    async def root(request: web.Request) -> web.Response:
        return web.Response(body=small)

    async def large(request: web.Request) -> web.Response:
        return web.Response(body=big)

    app = web.Application()
    app.router.add_get("/", root)
    app.router.add_get("/big", large)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(json.dumps({"port": runner.addresses[0][1]}), flush=True)
    await asyncio.Event().wait()


async def _supervisor_main(upstream_port: int, ca_dir: str) -> None:
    from sandbox_core._engine.relay import Relay
    from sandbox_core._engine.tls import LocalCA, server_context
    from sandbox_core._engine.token_proxy import TokenGrant, TokenProxy, new_token

    ca = LocalCA.load_or_create(Path(ca_dir))
    leaf = ca.leaf_for()
    token, digest = new_token()
    grant = TokenGrant(digest, "bench", "127.0.0.1", upstream_port, user_metadata='{"user": "bench"}')

    async def lookup(h: str) -> TokenGrant | None:
        return grant if h == digest else None

    tcp = await Relay.start("127.0.0.1", upstream_port)
    tls = await Relay.start("127.0.0.1", upstream_port, tls=server_context(leaf))
    proxy = await TokenProxy.start(lookup)
    proxy_tls = await TokenProxy.start(lookup, ssl_context=server_context(leaf))
    ports = {"tcp-relay": tcp.port, "tls-relay": tls.port, "token-proxy": proxy.port, "token-proxy-tls": proxy_tls.port}
    print(json.dumps({"ports": ports, "token": token, "ca": str(ca.cert_path)}), flush=True)
    await asyncio.Event().wait()


def _spawn(*args: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.net_relay", *args], stdout=subprocess.PIPE, text=True, cwd=_repo()
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise RuntimeError(f"child {args} did not start")
    return proc, json.loads(line)


def _repo() -> str:
    return str(Path(__file__).resolve().parent.parent)


# ------------------------------------------------------------------------------------------------ client side


class Target:
    """How to reach one arm: port, TLS context, headers."""

    def __init__(self, arm: str, port: int, ctx: ssl.SSLContext | None, token: str | None) -> None:
        self.arm, self.port, self.ctx = arm, port, ctx
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def connection(self) -> http.client.HTTPConnection:
        if self.ctx is not None:
            return http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=30)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def url(self, path: str) -> str:
        scheme = "https" if self.ctx is not None else "http"
        return f"{scheme}://{'localhost' if self.ctx else '127.0.0.1'}:{self.port}{path}"


def _get(conn: http.client.HTTPConnection, target: Target, path: str = "/") -> int:
    conn.request("GET", path, headers=target.headers)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{target.arm}: HTTP {resp.status}")
    return len(body)


def _latency(target: Target, mode: str, n: int) -> list[float]:
    """``n`` sequential requests, each timed in ms."""
    out: list[float] = []
    conn = target.connection() if mode == "keepalive" else None
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            if conn is None:
                c = target.connection()
                _get(c, target)
                c.close()
            else:
                _get(conn, target)
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        if conn is not None:
            conn.close()
    return out


async def _rps(target: Target, total: int, concurrency: int) -> float:
    import aiohttp

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency, ssl=target.ctx or False)) as s:
        remaining = total

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                async with s.get(target.url("/"), headers=target.headers) as resp:
                    await resp.read()
                    assert resp.status == 200

        await asyncio.gather(*(worker() for _ in range(concurrency)))  # warm the pool
        remaining = total
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return total / (time.perf_counter() - t0)


def _bulk(target: Target) -> float:
    conn = target.connection()
    try:
        t0 = time.perf_counter()
        size = _get(conn, target, "/big")
        dt = time.perf_counter() - t0
    finally:
        conn.close()
    assert size == BIG
    return BIG / dt / 1e6


def _stats(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {"n": len(xs), "median": statistics.median(xs), "p90": xs[int(0.9 * (len(xs) - 1))], "min": xs[0]}


def run(rounds: int, per_round: int, rps_total: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as ca_dir:
        upstream, up_info = _spawn("--serve-upstream")
        supervisor, sup_info = _spawn("--serve-supervisor", str(up_info["port"]), ca_dir)
        try:
            ctx = ssl.create_default_context(cafile=sup_info["ca"])
            ports = {"direct": up_info["port"], **sup_info["ports"]}
            targets = {
                arm: Target(
                    arm, ports[arm], ctx if arm in TLS_ARMS else None, sup_info["token"] if "token" in arm else None
                )
                for arm in ARMS
            }
            return _measure(targets, rounds, per_round, rps_total, seed)
        finally:
            for proc in (supervisor, upstream):
                proc.kill()
                proc.wait()


def _measure(targets: dict[str, Target], rounds: int, per_round: int, rps_total: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    samples: dict[tuple[str, str], list[float]] = {}
    for mode in ("keepalive", "new-conn"):
        for t in targets.values():
            _latency(t, mode, 20)  # warm-up
        for _ in range(rounds):
            for arm in rng.sample(ARMS, len(ARMS)):
                samples.setdefault((mode, arm), []).extend(_latency(targets[arm], mode, per_round))
    rps: dict[str, list[float]] = {arm: [] for arm in ARMS}
    bulk: dict[str, list[float]] = {arm: [] for arm in ARMS}
    for _ in range(rounds):
        for arm in rng.sample(ARMS, len(ARMS)):
            rps[arm].append(asyncio.run(_rps(targets[arm], rps_total, 32)))
            bulk[arm].append(_bulk(targets[arm]))
    return {
        "latency_ms": {f"{mode}/{arm}": _stats(xs) for (mode, arm), xs in samples.items()},
        "rps_c32": {arm: statistics.median(xs) for arm, xs in rps.items()},
        "bulk_MBps": {arm: statistics.median(xs) for arm, xs in bulk.items()},
        "rps_c32_rounds": rps,
        "bulk_MBps_rounds": bulk,
    }


def summary(result: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        "# Tunnel and connect-token proxy overhead",
        "",
        f"{meta['date']} · {meta['machine']} · seed {meta['seed']} · {meta['rounds']} rounds x {meta['per_round']} "
        f"requests per arm and mode · load average {meta['loadavg_before']} before, {meta['loadavg_after']} after",
        "",
        "| arm | keep-alive median ms | p90 | x direct | new-conn median ms | p90 | x direct | req/s (c=32) | MB/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lat = result["latency_ms"]
    for arm in ARMS:
        ka, nc = lat[f"keepalive/{arm}"], lat[f"new-conn/{arm}"]
        ka0, nc0 = lat["keepalive/direct"]["median"], lat["new-conn/direct"]["median"]
        rps, mbps = result["rps_c32"][arm], result["bulk_MBps"][arm]
        lines.append(
            f"| {arm} | {ka['median']:.3f} | {ka['p90']:.3f} | {ka['median'] / ka0:.2f} | {nc['median']:.3f} | "
            f"{nc['p90']:.3f} | {nc['median'] / nc0:.2f} | {rps:.0f} | {mbps:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=50)
    parser.add_argument("--rps-total", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--serve-upstream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-supervisor", nargs=2, metavar=("UPSTREAM_PORT", "CA_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        asyncio.run(_upstream_main())
        return 0
    if args.serve_supervisor:
        asyncio.run(_supervisor_main(int(args.serve_supervisor[0]), args.serve_supervisor[1]))
        return 0
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "seed": args.seed,
        "rounds": args.rounds,
        "per_round": args.per_round,
    }
    meta["loadavg_before"] = round(os.getloadavg()[0], 2)
    result = run(args.rounds, args.per_round, args.rps_total, args.seed)
    meta["loadavg_after"] = round(os.getloadavg()[0], 2)
    text = summary(result, meta)
    print(text)
    out = args.out or Path(_repo()) / "benchmarks" / "results" / f"{meta['date']}-net"
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.md").write_text(text)
    (out / "results.json").write_text(json.dumps({"meta": meta, **result}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
