"""Sandboxes serving HTTP for the ingress tests, and small clients. Every address is 127.0.0.1 or a sandbox the
test started."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

import sandbox_core as sc
from sandbox_core._engine import get_engine
from sandbox_core._imagebuild import base

from ..conftest import BUSYBOX

#: A busybox web server: static files on 8080 (served encrypted) and 8081 (plain), and a CGI script echoing the
#: verified-user header it received.
WEB_SCRIPT = r"""
mkdir -p /www/cgi-bin
echo hello from the sandbox > /www/index.html
printf '#!/bin/sh\necho Content-Type: text/plain\necho\necho "user=$HTTP_X_VERIFIED_USER_DATA"\n' > /www/cgi-bin/whoami
chmod +x /www/cgi-bin/whoami
httpd -p 8081 -h /www
exec httpd -f -p 8080 -h /www
"""

#: Python (stdlib only): an HTTP/2 server speaking cleartext h2 with prior knowledge on 8443 (one fixed answer per
#: request), and a WebSocket echo server on 8765.
PY_SERVERS = r"""
import base64, hashlib, socketserver, struct, threading

def frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload

class H2(socketserver.BaseRequestHandler):
    def handle(self):
        buf = b""
        def read(n):
            nonlocal buf
            while len(buf) < n:
                data = self.request.recv(65536)
                if not data:
                    raise EOFError
                buf += data
            out, buf = buf[:n], buf[n:]
            return out
        try:
            if read(24) != b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n":
                return
            self.request.sendall(frame(4, 0, 0))
            while True:
                head = read(9)
                kind, flags = head[3], head[4]
                stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
                read(int.from_bytes(head[:3], "big"))
                if kind == 4 and not flags & 1:
                    self.request.sendall(frame(4, 1, 0))
                elif kind == 1:
                    self.request.sendall(frame(1, 4, stream, b"\x88") + frame(0, 1, stream, b"hello over h2\n"))
                elif kind == 7:
                    return
        except (EOFError, OSError):
            pass

class WS(socketserver.StreamRequestHandler):
    def handle(self):
        self.rfile.readline()
        headers = {}
        while (line := self.rfile.readline().decode().strip()):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        accept = hashlib.sha1((headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
        self.wfile.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + base64.b64encode(accept.digest()) + b"\r\n\r\n"
        )
        while (head := self.rfile.read(2)) and len(head) == 2:
            op, n = head[0] & 15, head[1] & 127
            if n == 126:
                n = struct.unpack(">H", self.rfile.read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            if op == 8:
                self.wfile.write(b"\x88" + bytes([len(data)]) + data)
                return
            op = 10 if op == 9 else op
            if n < 126:
                size = bytes([n])
            else:
                size = b"\x7e" + struct.pack(">H", n) if n < 65536 else b"\x7f" + struct.pack(">Q", n)
            self.wfile.write(bytes([0x80 | op]) + size + data)

class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

threading.Thread(target=Server(("0.0.0.0", 8443), H2).serve_forever, daemon=True).start()
Server(("0.0.0.0", 8765), WS).serve_forever()
"""


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def web(app: sc.App) -> AsyncIterator[sc.Sandbox]:
    """The busybox web server, with 8080 encrypted and 8081 unencrypted, ready once 8080 accepts."""
    sb = await sc.Sandbox.create(
        "sh",
        "-c",
        WEB_SCRIPT,
        app=app,
        image=sc.Image.from_registry(BUSYBOX),
        encrypted_ports=[8080],
        unencrypted_ports=[8081],
        readiness_probe=sc.Probe.with_tcp(8080),
        timeout=900,
    )
    try:
        await sb.wait_until_ready(timeout=60)
        yield sb
    finally:
        await sb.terminate()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def python_image_id(engine: None) -> str:
    """The ``Image.object_id`` of the project's Debian Python base image."""
    made = await base.ensure_python_base(await get_engine(), None)
    return "im-" + made.image_id.removeprefix("sha256:")


@pytest.fixture
def python_image(python_image_id: str) -> sc.Image:
    """The project's Debian Python base image."""
    return sc.Image.from_id(python_image_id)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def py_servers(app: sc.App, python_image_id: str) -> AsyncIterator[sc.Sandbox]:
    """The Python servers: h2 on 8443 (declared in ``h2_ports``), WebSocket echo on 8765 (not declared)."""
    sb = await sc.Sandbox.create(
        "python3",
        "-c",
        PY_SERVERS,
        app=app,
        image=sc.Image.from_id(python_image_id),
        h2_ports=[8443],
        readiness_probe=sc.Probe.with_tcp(8765),
        timeout=900,
    )
    try:
        await sb.wait_until_ready(timeout=60)
        yield sb
    finally:
        await sb.terminate()


def trusting_the_ca() -> ssl.SSLContext:
    """A client context that trusts the library's local CA only."""
    return ssl.create_default_context(cafile=sc.ca_cert_path())


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=True)) as s:
        yield s


async def get(
    http: aiohttp.ClientSession,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    ssl_ctx: ssl.SSLContext | None = None,
) -> tuple[int, str]:
    async with http.get(url, headers=headers, ssl=ssl_ctx if ssl_ctx is not None else True) as resp:
        return resp.status, await resp.text()


async def refused(host: str, port: int) -> bool:
    """True when nothing accepts on host:port any more."""
    try:
        _, writer = await asyncio.open_connection(host, port)
    except OSError:
        return True
    writer.close()
    return False
