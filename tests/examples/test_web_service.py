"""The async web-service example (examples/web_service): live output over a WebSocket, one sandbox per session
reused across runs, cleaned up on disconnect and on shutdown; and its page in a real headless chromium."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

import sandbox_core as sc
from examples.web_service.app import make_app

from ..conftest import app_name
from ._webdriver import ChromeDriver, browser_missing, free_port

pytestmark = pytest.mark.usefixtures("engine")


async def _serve() -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(await make_app(app_name("web")))
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


@pytest_asyncio.fixture(loop_scope="session")
async def server() -> AsyncIterator[str]:
    runner, url = await _serve()
    try:
        yield url
    finally:
        await runner.cleanup()


async def _next(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.receive_str(), 60))
    return message


async def _until_exit(ws: aiohttp.ClientWebSocketResponse) -> tuple[dict[str, str], int]:
    """Output per stream, and the exit code, of the run in progress."""
    out = {"stdout": "", "stderr": ""}
    while (msg := await _next(ws))["type"] == "output":
        out[msg["stream"]] += msg["data"]
    assert msg["type"] == "exit", msg
    return out, msg["code"]


async def _stdout_until(ws: aiohttp.ClientWebSocketResponse, text: str) -> str:
    """What the run printed on stdout, read until it contains ``text`` (the run must not end before)."""
    seen = ""
    while text not in seen:
        msg = await _next(ws)
        assert (msg["type"], msg.get("stream")) == ("output", "stdout"), msg
        seen += msg["data"]
    return seen


async def _ended(sandbox_id: str) -> int | None:
    """The sandbox's returncode once it has ended (waits for it, bounded)."""
    sb = await sc.Sandbox.from_id(sandbox_id)
    await asyncio.wait_for(sb.wait(raise_on_termination=False), 60)
    return sb.returncode


async def test_output_streams_live_and_the_sandbox_ends_when_the_client_leaves(server: str) -> None:
    code = "print('first', flush=True)\nimport os, time\nwhile not os.path.exists('/tmp/go'): time.sleep(0.05)\n"
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(server + "/ws") as ws:
            ready = await _next(ws)
            assert ready["type"] == "ready"
            await ws.send_json({"type": "run", "code": code})
            # Output arrives while the program still runs: it cannot end before /tmp/go exists.
            assert await _stdout_until(ws, "first\n") == "first\n"
            await ws.send_json({"type": "run", "code": "print(1)"})
            assert (await _next(ws))["message"] == "a run is in progress"
            sb = await sc.Sandbox.from_id(ready["sandbox"])
            assert await sb.poll() is None
        # The client left mid-run: the service terminates the session's sandbox.
        assert await _ended(ready["sandbox"]) == 137


async def test_a_session_keeps_its_sandbox_across_runs(server: str) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(server + "/ws") as ws:
            ready = await _next(ws)
            await ws.send_json({"type": "run", "code": "open('/tmp/state', 'w').write('kept')\nprint('saved')"})
            assert await _until_exit(ws) == ({"stdout": "saved\n", "stderr": ""}, 0)
            second = "import sys\nprint(open('/tmp/state').read())\nsys.exit('failed on purpose')"
            await ws.send_json({"type": "run", "code": second})
            assert await _until_exit(ws) == ({"stdout": "kept\n", "stderr": "failed on purpose\n"}, 1)
            await ws.send_json({"type": "run"})
            assert (await _next(ws))["type"] == "error"
        assert await _ended(ready["sandbox"]) == 137


async def test_shutdown_terminates_every_session_sandbox() -> None:
    runner, url = await _serve()
    ids: list[str] = []
    try:
        async with aiohttp.ClientSession() as http:
            sockets = [await http.ws_connect(url + "/ws") for _ in range(2)]
            ids = [(await _next(ws))["sandbox"] for ws in sockets]
            await runner.cleanup()
            for ws in sockets:
                assert (await ws.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
                await ws.close()
    finally:
        await runner.cleanup()
    assert [await _ended(i) for i in ids] == [137, 137]


@pytest.mark.skipif(browser_missing() is not None, reason=f"headless browser test: {browser_missing()}")
async def test_the_page_in_a_headless_browser_streams_a_run(server: str, tmp_path: Path) -> None:
    driver = await ChromeDriver.start(str(tmp_path / "chromium-profile"))
    try:
        await driver.command("POST", "/url", {"url": server + "/"})
        await driver.wait_for_text("status", "ready")
        sandbox_id = await driver.text("sandbox")
        code = "import os, time\nprint('waiting', flush=True)\n"
        code += "while not os.path.exists('/tmp/go'): time.sleep(0.05)\nprint('done')"
        await driver.type_into("#code", code)
        await driver.click("#run")
        # Streamed: the first line is on the page while the program is still running.
        assert (await driver.wait_for_text("output", "waiting")).startswith("waiting")
        assert await driver.text("status") == "running"
        await (await sc.Sandbox.from_id(sandbox_id)).filesystem.write_text("", "/tmp/go")
        assert await driver.wait_for_text("status", "exit") == "exit 0"
        assert await driver.text("output") == "waiting\ndone\n"
    finally:
        await driver.close()
    # Closing the browser closed the page's WebSocket: the session's sandbox is terminated.
    assert await _ended(sandbox_id) == 137
