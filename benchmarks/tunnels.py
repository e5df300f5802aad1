"""Phase T: HTTP requests to a server in a sandbox through each way in, against a direct connection to the
container, in one run.

Paths ("arms" of the phase): ``direct`` (the container's address, what a process on the engine's host reaches
without any tunnel), ``tunnel-tcp`` (an ``unencrypted_ports`` tunnel), ``tunnel-tls`` (an ``encrypted_ports``
tunnel, verified with the local CA), ``token-proxy`` (a connect token, ``Authorization: Bearer``). The server is
Python's ``http.server`` with HTTP/1.1 keep-alive in the project's Python base image, listening on two ports (the
tunnels of one port are of one kind); every path ends at the same server.

Metrics, each path interleaved in a shuffled order per round: ``latency_keepalive`` (sequential ``GET /`` on one
connection), ``latency_new_conn`` (a new connection, and TLS handshake, per request), ``rps`` (32 concurrent
keep-alive clients), ``download_rate`` (one large body, MB/s). The report gives each path's median as a ratio to
``direct``.
"""

from __future__ import annotations

import asyncio
import http.client
import random
import ssl
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import attrs

import sandbox_core as sc
from sandbox_core._engine import get_engine
from sandbox_core._imagebuild import base
from sandbox_core._ingress import reach

PATHS = ("direct", "tunnel-tcp", "tunnel-tls", "token-proxy")
PHASE = "T"
PLAIN_PORT, TLS_PORT = 8000, 8001
CONCURRENCY = 32

SERVER = r"""
import http.server, threading
SMALL = b"hello from the sandbox\n"

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this, each response waits 40 ms
    def log_message(self, *args):
        pass
    def do_GET(self):
        size = int(self.path[5:]) if self.path.startswith("/big/") else None
        self.send_response(200)
        self.send_header("Content-Length", str(len(SMALL) if size is None else size))
        self.end_headers()
        if size is None:
            self.wfile.write(SMALL)
            return
        chunk = b"x" * (1 << 20)
        while size > 0:
            self.wfile.write(chunk[: min(size, len(chunk))])
            size -= len(chunk)

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog (5) drops the SYNs of 32 clients connecting at once

threading.Thread(target=Server(("0.0.0.0", 8001), Handler).serve_forever, daemon=True).start()
Server(("0.0.0.0", 8000), Handler).serve_forever()
"""

Row = Callable[..., None]


@attrs.frozen
class Target:
    """Where one path sends its requests."""

    host: str
    port: int
    tls: ssl.SSLContext | None = None
    headers: dict[str, str] = attrs.field(factory=dict)

    def connection(self) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection(self.host, self.port, context=self.tls, timeout=30)
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"


def _get(conn: http.client.HTTPConnection, target: Target, path: str = "/") -> int:
    conn.request("GET", path, headers=target.headers)
    resp = conn.getresponse()
    body = resp.read()
    if resp.status != 200:
        raise RuntimeError(f"{target.url}{path}: HTTP {resp.status}")
    return len(body)


def keepalive_ms(target: Target, n: int) -> list[float]:
    """``n`` sequential requests on one connection (after 3 unmeasured), in ms each."""
    conn = target.connection()
    try:
        for _ in range(3):
            _get(conn, target)
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            _get(conn, target)
            out.append((time.perf_counter() - t0) * 1000)
        return out
    finally:
        conn.close()


def new_conn_ms(target: Target, n: int) -> list[float]:
    """``n`` requests, each on a connection of its own (connect and any TLS handshake included), in ms each."""
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        conn = target.connection()
        try:
            _get(conn, target)
        finally:
            conn.close()
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def requests_per_second(session: aiohttp.ClientSession, target: Target, total: int) -> float:
    """``total`` requests from ``CONCURRENCY`` keep-alive clients; requests per second."""
    left = total

    async def client() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            async with session.get(target.url + "/", headers=target.headers, ssl=target.tls or False) as resp:
                await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}")

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(CONCURRENCY)))
    return total / (time.perf_counter() - t0)


def download_mb_s(target: Target, size: int) -> float:
    conn = target.connection()
    try:
        t0 = time.perf_counter()
        got = _get(conn, target, f"/big/{size}")
        elapsed = time.perf_counter() - t0
    finally:
        conn.close()
    if got != size:
        raise RuntimeError(f"downloaded {got} of {size} bytes")
    return size / 1e6 / elapsed


async def _targets(sb: sc.Sandbox) -> dict[str, Target]:
    eng = await get_engine()
    info = await eng.containers.inspect(sb._link.container_id)
    owner = await reach.owner_info(eng, info.labels, info.id)
    address = await reach.container_address(eng, owner) if owner is not None else None
    if address is None:
        raise RuntimeError("the container's address is not reachable from this host: no direct path to compare with")
    tunnels = await sb.tunnels()
    creds = await sb.create_connect_token(port=PLAIN_PORT)
    proxy_host, _, proxy_port = creds.url.removeprefix("http://").rpartition(":")
    return {
        "direct": Target(address, PLAIN_PORT),
        "tunnel-tcp": Target(*tunnels[PLAIN_PORT].tcp_socket),
        "tunnel-tls": Target(*tunnels[TLS_PORT].tls_socket, tls=ssl.create_default_context(cafile=sc.ca_cert_path())),
        "token-proxy": Target(proxy_host, int(proxy_port), headers={"Authorization": f"Bearer {creds.token}"}),
    }


async def _start(run_id: str) -> tuple[sc.App, sc.Sandbox]:
    made = await base.ensure_python_base(await get_engine(), None)
    app = await sc.App.lookup(f"bench-{run_id}-tunnels", create_if_missing=True)
    sb = await sc.Sandbox.create(
        "python3",
        "-c",
        SERVER,
        app=app,
        image=sc.Image.from_id("im-" + made.image_id.removeprefix("sha256:")),
        unencrypted_ports=[PLAIN_PORT],
        encrypted_ports=[TLS_PORT],
        readiness_probe=sc.Probe.with_tcp(PLAIN_PORT, interval_ms=50),
        timeout=3600,
        tags={"bench.run": run_id},
    )
    await sb.wait_until_ready(timeout=120)
    return app, sb


async def _measure(target: Target, session: aiohttp.ClientSession, cfg: Any, row: Row, path: str, rnd: int) -> None:
    for metric, fn, n in (
        ("latency_keepalive", keepalive_ms, cfg.t_per_round),
        ("latency_new_conn", new_conn_ms, max(1, cfg.t_per_round // 5)),
    ):
        try:
            for ms in await asyncio.to_thread(fn, target, n):
                row(path, PHASE, metric, 1, ms, rnd=rnd)
        except (OSError, RuntimeError, http.client.HTTPException) as e:
            row(path, PHASE, metric, 1, None, error=f"{type(e).__name__}: {e}", rnd=rnd)
    try:
        rps = await requests_per_second(session, target, cfg.t_rps_total)
        row(path, PHASE, "rps", CONCURRENCY, rps, unit="req/s", rnd=rnd)
        rate = await asyncio.to_thread(download_mb_s, target, cfg.t_big)
        row(path, PHASE, "download_rate", cfg.t_big, rate, unit="MB/s", rnd=rnd)
    except (OSError, RuntimeError, aiohttp.ClientError) as e:
        row(path, PHASE, "rps", CONCURRENCY, None, error=f"{type(e).__name__}: {e}", rnd=rnd)


async def phase_t(cfg: Any, row: Row, rng: random.Random, may_start: Callable[[str, int], bool], run_id: str) -> None:
    """Run phase T (``cfg``: the harness's Config, ``t_*`` fields; ``row``: the harness's row recorder)."""
    app, sb = await _start(run_id)
    try:
        targets = await _targets(sb)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
            for rnd in range(cfg.t_rounds):
                if not may_start("T", rnd):
                    break
                order = list(PATHS)
                rng.shuffle(order)
                for path in order:
                    await _measure(targets[path], session, cfg, row, path, rnd)
    finally:
        await sb.terminate()
        await sc.sweep(app_id=app.app_id, everything=True)
