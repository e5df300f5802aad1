"""Local servers for the network-machinery tests: everything listens on 127.0.0.1 only, nothing touches the engine."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import WSMsgType, web

from sandbox_core._engine.tls import LocalCA

LOOPBACK = "127.0.0.1"


class EchoServer:
    """A TCP server that echoes every byte and, after the client's EOF, sends ``bye`` and closes.

    ``accepted`` counts connections; ``ends`` is fed one item per connection when it ends.
    """

    def __init__(self) -> None:
        self.accepted = 0
        self.ends: asyncio.Queue[bytes] = asyncio.Queue()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.writers.add(writer)
        received = b""
        try:
            while data := await reader.read(65536):
                received += data
                writer.write(data)
                await writer.drain()
            writer.write(b"bye")
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.writers.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self.ends.put_nowait(received)

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])


@pytest_asyncio.fixture
async def echo() -> AsyncIterator[EchoServer]:
    srv = EchoServer()
    srv.server = await asyncio.start_server(srv.handle, LOOPBACK, 0)
    try:
        yield srv
    finally:
        srv.server.close()
        for w in list(srv.writers):
            w.transport.abort()
        await srv.server.wait_closed()


@pytest.fixture(scope="session")
def ca(tmp_path_factory: pytest.TempPathFactory) -> LocalCA:
    return LocalCA.load_or_create(tmp_path_factory.mktemp("ca") / "ca")


@pytest.fixture(scope="session")
def client_tls(ca: LocalCA) -> ssl.SSLContext:
    """A client context trusting only the test CA."""
    return ssl.create_default_context(cafile=str(ca.cert_path))


class Upstream:
    """An aiohttp application standing in for the server in a sandbox.

    - ``/headers``: the request's headers, path and query as JSON (``headers`` is a list of pairs)
    - ``/id/{n}``: ``n`` back, after a tiny await
    - ``/stream``: chunk ``a``, then waits for ``release`` before chunk ``b``
    - ``/upload``: reads the body chunk by chunk, setting ``first_chunk`` after the first; answers the byte count
    - ``/ws``: a WebSocket echo (``close:<code>`` closes with that code); the subprotocol ``echo`` is offered
    - ``/hang``: never answers until cancelled
    """

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.first_chunk = asyncio.Event()
        self.hanging = asyncio.Event()
        self.hang_cancelled = asyncio.Event()
        self.runner: web.AppRunner | None = None
        self.port = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/headers", self.headers)
        app.router.add_get("/id/{n}", self.ident)
        app.router.add_get("/stream", self.stream)
        app.router.add_post("/upload", self.upload)
        app.router.add_get("/ws", self.ws)
        app.router.add_get("/hang", self.hang)
        app.router.add_get("/big/{n}", self.big)
        return app

    async def headers(self, request: web.Request) -> web.Response:
        body = {"headers": list(request.headers.items()), "path_qs": request.raw_path, "method": request.method}
        return web.json_response(body)

    async def ident(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0)
        return web.Response(text=request.match_info["n"])

    async def stream(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"a" * 100)
        await self.release.wait()
        await resp.write(b"b" * 100)
        await resp.write_eof()
        return resp

    async def upload(self, request: web.Request) -> web.Response:
        total = 0
        async for chunk in request.content.iter_any():
            total += len(chunk)
            self.first_chunk.set()
        return web.Response(text=str(total))

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("echo",))
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and msg.data.startswith("close:"):
                await ws.close(code=int(msg.data[6:]))
            elif msg.type == WSMsgType.TEXT:
                await ws.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    async def hang(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(b"started")
        self.hanging.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.hang_cancelled.set()
            raise
        return resp

    async def big(self, request: web.Request) -> web.Response:
        return web.Response(body=b"x" * int(request.match_info["n"]))


@pytest_asyncio.fixture
async def upstream() -> AsyncIterator[Upstream]:
    up = Upstream()
    up.runner = web.AppRunner(
        up.app(), handle_signals=False, access_log=None, shutdown_timeout=0.1, handler_cancellation=True
    )
    await up.runner.setup()
    site = web.TCPSite(up.runner, LOOPBACK, 0)
    await site.start()
    up.port = int(up.runner.addresses[0][1])
    try:
        yield up
    finally:
        up.release.set()
        await up.runner.cleanup()


@pytest.fixture
def counter() -> tuple[list[str], Callable[..., None]]:
    """A list and a callback appending its argument (or ``"*"``) to it."""
    calls: list[str] = []

    def note(key: str = "*") -> None:
        calls.append(key)

    return calls, note


def read_json(text: str) -> dict[str, object]:
    return dict(json.loads(text))


def tmp_ca(tmp_path: Path) -> LocalCA:
    return LocalCA.load_or_create(tmp_path / "ca")
