"""A code runner as an async web service: each browser session gets its own sandbox, submits Python code over a
WebSocket and watches its output stream back live.

    python -m examples.web_service.app --port 8080      # then open http://127.0.0.1:8080/

Contract of the WebSocket at ``/ws`` (JSON messages):
- server → client, once the session's sandbox runs: ``{"type": "ready", "sandbox": "<sandbox id>"}``
- client → server: ``{"type": "run", "code": "<python source>"}`` (one run at a time per session)
- server → client, while the code runs: ``{"type": "output", "stream": "stdout"|"stderr", "data": "<text>"}``,
  as the process writes it; then ``{"type": "exit", "code": <returncode>}`` (-1 when the run's timeout hit)
- server → client: ``{"type": "error", "message": "..."}`` for a message it cannot serve.

One sandbox per WebSocket session, created when the session opens and reused by every run in it (files a run
writes are there for the next); it is terminated when the client disconnects and, for every open session, when
the service shuts down. The sandbox's own ``timeout`` bounds it even if this process dies without cleaning up.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import pathlib
from typing import Any

from aiohttp import WSMsgType, web

import sandbox_core as sc

PAGE = pathlib.Path(__file__).with_name("index.html")
RUN_TIMEOUT = 60  # seconds one run may take
SESSION_LIFETIME = 3600  # seconds a session's sandbox may live at most, even if this service dies

SESSIONS = web.AppKey("sessions", set["Session"])
SETTINGS = web.AppKey("settings", dict[str, Any])


class Session:
    """One browser session: its WebSocket, its sandbox, and the run in progress (at most one)."""

    def __init__(self, ws: web.WebSocketResponse, sandbox: sc.Sandbox) -> None:
        self.ws = ws
        self.sandbox = sandbox
        self.run_task: asyncio.Task[None] | None = None
        self._runs = 0

    def start_run(self, code: str) -> bool:
        """Start running ``code`` in the background; False (and nothing started) while a run is in progress."""
        if self.run_task is not None and not self.run_task.done():
            return False
        self._runs += 1
        self.run_task = asyncio.create_task(self._run(code, f"/tmp/run_{self._runs}.py"))
        return True

    async def _run(self, code: str, path: str) -> None:
        try:
            await self.sandbox.filesystem.write_text(code, path)
            proc = await self.sandbox.exec("python3", "-u", path, timeout=RUN_TIMEOUT, workdir="/tmp")
            await asyncio.gather(self._relay(proc.stdout, "stdout"), self._relay(proc.stderr, "stderr"))
            await self._send({"type": "exit", "code": await proc.wait()})
        except sc.exception.Error as e:  # e.g. the sandbox ended (its lifetime passed): tell the client why
            await self._send({"type": "error", "message": f"{type(e).__name__}: {e}"})

    async def _relay(self, stream: sc.StreamReader[str], name: str) -> None:
        async for chunk in stream:  # chunks as the process writes them
            await self._send({"type": "output", "stream": name, "data": chunk})

    async def _send(self, message: dict[str, Any]) -> None:
        if not self.ws.closed:
            with contextlib.suppress(ConnectionResetError):  # the client left meanwhile: close() follows
                await self.ws.send_json(message)

    async def close(self) -> None:
        """Stop the run in progress and terminate the sandbox; idempotent."""
        if self.run_task is not None:
            self.run_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.run_task
        await self.sandbox.terminate()


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(PAGE)


async def websocket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    settings = request.app[SETTINGS]
    sandbox = await sc.Sandbox.create(app=settings["app"], image=settings["image"], timeout=SESSION_LIFETIME)
    session = Session(ws, sandbox)
    request.app[SESSIONS].add(session)
    try:
        await ws.send_json({"type": "ready", "sandbox": sandbox.object_id})
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            try:
                request_body = json.loads(msg.data)
                code = request_body["code"] if request_body.get("type") == "run" else None
            except (ValueError, TypeError, KeyError, AttributeError):
                code = None
            if not isinstance(code, str):
                await ws.send_json({"type": "error", "message": 'expected {"type": "run", "code": "<source>"}'})
                continue
            if not session.start_run(code):
                await ws.send_json({"type": "error", "message": "a run is in progress"})
    finally:
        request.app[SESSIONS].discard(session)
        # Shielded: a client that vanishes cancels this handler, and its sandbox must still be terminated.
        await asyncio.shield(session.close())
    return ws


async def _close_sessions(app: web.Application) -> None:
    """On shutdown: close every open session (its sandbox is terminated), then its WebSocket."""
    open_sessions = app[SESSIONS]
    sessions = list(open_sessions)
    await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
    await asyncio.gather(*(s.ws.close(code=1001, message=b"server shutdown") for s in sessions))


async def make_app(app_name: str = "example-web-service", image: sc.Image | None = None) -> web.Application:
    """The web application: sessions' sandboxes belong to the sandbox-core app ``app_name`` and run ``image``
    (default: ``Image.debian_slim()``, Debian with this interpreter's Python series)."""
    web_app = web.Application()
    web_app[SESSIONS] = set[Session]()
    web_app[SETTINGS] = {
        "app": await sc.App.lookup(app_name, create_if_missing=True),
        "image": image if image is not None else sc.Image.debian_slim(),
    }
    web_app.router.add_get("/", index)
    web_app.router.add_get("/ws", websocket)
    web_app.on_shutdown.append(_close_sessions)
    return web_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--app", default="example-web-service", help="sandbox-core app name for the sandboxes")
    args = parser.parse_args()
    web.run_app(make_app(args.app), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
