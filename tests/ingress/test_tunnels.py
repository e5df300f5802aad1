"""Tunnels against the real engine: plain and TLS relays to a server in a sandbox, verification with the local CA,
HTTP/2 by ALPN, tunnels outliving their creator and closing with the sandbox, ``tunnels()``'s contract."""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
import textwrap
import time

import aiohttp
import pytest

import sandbox_core as sc
from sandbox_core import exception as exc

from ..conftest import BUSYBOX, REPO, app_name
from .conftest import get, refused, trusting_the_ca

pytestmark = pytest.mark.usefixtures("engine")


async def test_an_unencrypted_tunnel_relays_plain_tcp_to_the_server(
    web: sc.Sandbox, http: aiohttp.ClientSession
) -> None:
    tunnel = (await web.tunnels())[8081]
    assert tunnel.host == tunnel.unencrypted_host == "127.0.0.1" and tunnel.port == tunnel.unencrypted_port
    host, port = tunnel.tcp_socket
    assert await get(http, f"http://{host}:{port}/index.html") == (200, "hello from the sandbox\n")
    with pytest.warns(exc.DeprecationError, match="unencrypted tunnels"):
        assert tunnel.url == f"https://127.0.0.1:{port}"


async def test_an_encrypted_tunnel_verifies_with_the_local_ca_and_fails_without(
    web: sc.Sandbox, http: aiohttp.ClientSession
) -> None:
    tunnel = (await web.tunnels())[8080]
    assert (tunnel.unencrypted_host, tunnel.unencrypted_port) == ("", 0)
    with pytest.raises(exc.InvalidError, match="not configured for unencrypted TCP"):
        _ = tunnel.tcp_socket
    assert tunnel.url == f"https://127.0.0.1:{tunnel.port}" and tunnel.tls_socket == ("127.0.0.1", tunnel.port)
    assert await get(http, tunnel.url + "/index.html", ssl_ctx=trusting_the_ca()) == (200, "hello from the sandbox\n")
    with pytest.raises(aiohttp.ClientConnectorCertificateError):
        await get(http, tunnel.url + "/index.html", ssl_ctx=ssl.create_default_context())  # the system's CAs only
    curl = await asyncio.to_thread(
        subprocess.run, ["curl", "-sS", "--cacert", sc.ca_cert_path(), tunnel.url + "/index.html"], capture_output=True
    )
    assert curl.stdout == b"hello from the sandbox\n", curl.stderr


async def _alpn(port: int, offer: list[str]) -> str | None:
    ctx = trusting_the_ca()
    ctx.set_alpn_protocols(offer)
    _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname="127.0.0.1")
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        return ssl_object.selected_alpn_protocol() if ssl_object is not None else None
    finally:
        writer.close()


async def test_h2_ports_negotiate_http2_by_alpn_and_carry_it(py_servers: sc.Sandbox, web: sc.Sandbox) -> None:
    h2 = (await py_servers.tunnels())[8443]
    assert h2.unencrypted_host == ""
    assert await _alpn(h2.port, ["h2", "http/1.1"]) == "h2"
    assert await _alpn((await web.tunnels())[8080].port, ["h2", "http/1.1"]) == "http/1.1"  # encrypted: HTTP/1.1 only
    curl = await asyncio.to_thread(
        subprocess.run,
        ["curl", "-sS", "--http2", "--cacert", sc.ca_cert_path(), "-w", "%{http_version}", h2.url + "/"],
        capture_output=True,
        text=True,
    )
    assert curl.stdout == "hello over h2\n2", curl.stderr


async def test_tunnels_are_cached_once_known_and_empty_without_ports(web: sc.Sandbox, own_sandbox: sc.Sandbox) -> None:
    first = await web.tunnels()
    assert set(first) == {8080, 8081}
    assert await web.tunnels() is first
    again = await (await sc.Sandbox.from_id(web.object_id)).tunnels(timeout=5)
    assert again == first  # another handle finds the same listeners
    assert await own_sandbox.tunnels() == {}
    await own_sandbox.detach()
    with pytest.raises(exc.ClientClosed):
        await own_sandbox.tunnels()


async def test_tunnels_of_a_finished_sandbox_time_out_at_once(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create("true", app=app, image=image, unencrypted_ports=[8080])
    await sb.wait()
    started = time.monotonic()
    with pytest.raises(exc.SandboxTimeoutError, match="has finished"):
        await sb.tunnels(timeout=30)
    assert time.monotonic() - started < 5
    await sb.terminate()


CREATOR = """
import asyncio, sys, sandbox_core as sc

async def main():
    app = await sc.App.lookup(sys.argv[1], create_if_missing=True)
    sb = await sc.Sandbox.create("httpd", "-f", "-p", "8080", "-h", "/etc", app=app,
                                 image=sc.Image.from_registry(sys.argv[2]), unencrypted_ports=[8080], timeout=300)
    tunnel = (await sb.tunnels())[8080]
    print(sb.object_id, tunnel.unencrypted_port, flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_a_tunnel_outlives_its_creator_and_closes_with_the_sandbox(http: aiohttp.ClientSession) -> None:
    creator = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        textwrap.dedent(CREATOR),
        app_name("tunnels"),
        BUSYBOX,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
        env=dict(os.environ),
    )
    assert creator.stdout is not None
    line = (await asyncio.wait_for(creator.stdout.readline(), 120)).decode().split()
    sandbox_id, port = line[0], int(line[1])
    creator.send_signal(signal.SIGKILL)
    assert await creator.wait() == -signal.SIGKILL
    sb = await sc.Sandbox.from_id(sandbox_id)
    try:
        status, body = await get(http, f"http://127.0.0.1:{port}/hostname")
        assert status == 200 and body.strip()
    finally:
        await sb.terminate(wait=True)
    deadline = time.monotonic() + 15
    while not await refused("127.0.0.1", port):  # no event tells a client that a listener closed
        assert time.monotonic() < deadline, "the tunnel still listens after its sandbox ended"
        await asyncio.sleep(0.05)
