"""A minimal W3C WebDriver client (over aiohttp) for Debian's chromium + chromedriver: just what the example's
browser test needs. No browser download: it uses the chromium the system has."""

from __future__ import annotations

import asyncio
import shutil
import socket
from typing import Any

import aiohttp

#: How the browser is launched: headless, no GPU, and nothing that phones home or updates itself.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C web element identifier

#: Resolves when the text of element ``id`` starts with ``prefix`` (a MutationObserver: no polling).
WAIT_FOR_TEXT = """
const [id, prefix, done] = arguments;
const el = document.getElementById(id);
const ok = () => el.textContent.startsWith(prefix);
if (ok()) { done(el.textContent); return; }
new MutationObserver((_, obs) => {
  if (ok()) { obs.disconnect(); done(el.textContent); }
}).observe(el, {childList: true, characterData: true, subtree: true});
"""


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None when chromium and chromedriver are installed."""
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    if missing:
        return f"{' and '.join(missing)} not installed (Debian: apt-get install chromium chromium-driver)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ChromeDriver:
    """A running chromedriver and one browser session on it."""

    def __init__(self, proc: asyncio.subprocess.Process, http: aiohttp.ClientSession, url: str) -> None:
        self._proc = proc
        self._http = http
        self._url = url
        self._session = ""

    @classmethod
    async def start(cls, user_data_dir: str) -> ChromeDriver:
        port = free_port()
        proc = await asyncio.create_subprocess_exec(
            "chromedriver", f"--port={port}", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        assert proc.stdout is not None
        # chromedriver says when it listens; reading that line is the readiness event.
        while b"started successfully" not in (line := await asyncio.wait_for(proc.stdout.readline(), 30)):
            assert line, "chromedriver exited before it listened"
        driver = cls(proc, aiohttp.ClientSession(), f"http://127.0.0.1:{port}")
        options = {"binary": shutil.which("chromium"), "args": [*CHROMIUM_FLAGS, f"--user-data-dir={user_data_dir}"]}
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}}
        try:
            driver._session = (await driver._call("POST", "/session", caps))["sessionId"]
            await driver.command("POST", "/timeouts", {"script": 90_000})
        except BaseException:
            await driver.close()
            raise
        return driver

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self._http.request(method, self._url + path, json=body) as resp:
            answer = await resp.json()
            assert resp.status == 200, answer
            return answer["value"]

    async def command(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return await self._call(method, f"/session/{self._session}{path}", body)

    async def find(self, css: str) -> str:
        found = await self.command("POST", "/element", {"using": "css selector", "value": css})
        assert ELEMENT in found, found
        element: str = found[ELEMENT]
        return element

    async def type_into(self, css: str, text: str) -> None:
        element = await self.find(css)
        await self.command("POST", f"/element/{element}/clear", {})
        await self.command("POST", f"/element/{element}/value", {"text": text})

    async def click(self, css: str) -> None:
        await self.command("POST", f"/element/{await self.find(css)}/click", {})

    async def text(self, element_id: str) -> str:
        script = "return document.getElementById(arguments[0]).textContent"
        value: str = await self.command("POST", "/execute/sync", {"script": script, "args": [element_id]})
        return value

    async def wait_for_text(self, element_id: str, prefix: str) -> str:
        """The element's text once it starts with ``prefix``."""
        value: str = await self.command(
            "POST", "/execute/async", {"script": WAIT_FOR_TEXT, "args": [element_id, prefix]}
        )
        return value

    async def close(self) -> None:
        """End the browser session (the page's WebSocket closes with it) and chromedriver."""
        try:
            if self._session:
                await self._call("DELETE", f"/session/{self._session}")
        finally:
            await self._http.close()
            if self._proc.returncode is None:
                self._proc.terminate()
            await self._proc.wait()
