"""Modal's "run a web server in a sandbox and open it" flow, unchanged, in both APIs: ``python -m http.server`` with
an encrypted port and a readiness probe, the tunnel's URL opened with the library's CA, then a connect token."""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.request
from typing import Any

import pytest

import sandbox_core as sc

from ..conftest import app_name

pytestmark = pytest.mark.usefixtures("engine")


def _open(url: str, *, cafile: str | None = None, headers: dict[str, str] | None = None) -> str:
    ctx = ssl.create_default_context(cafile=cafile) if cafile else None
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), context=ctx, timeout=30) as r:
        return str(r.read().decode())


async def test_the_web_server_flow_in_the_async_api(app: sc.App, python_image: sc.Image) -> None:
    sb = await sc.Sandbox.create(
        "python3",
        "-m",
        "http.server",
        "8000",
        encrypted_ports=[8000],
        readiness_probe=sc.Probe.with_tcp(8000),
        app=app,
        image=python_image,
    )
    try:
        await sb.wait_until_ready()
        tunnel = (await sb.tunnels())[8000]
        page = await asyncio.to_thread(_open, tunnel.url, cafile=sc.ca_cert_path())
        assert "Directory listing for /" in page
        creds = await sb.create_connect_token(user_metadata={"user": "alice"}, port=8000)
        auth = {"Authorization": f"Bearer {creds.token}"}
        assert "Directory listing for /" in await asyncio.to_thread(_open, creds.url, headers=auth)
    finally:
        await sb.terminate()


SYNC_FLOW = """
import json, os, ssl, urllib.request
import sandbox_core_sync as modal

app = modal.App.lookup(os.environ["FLOW_APP"], create_if_missing=True)
sb = modal.Sandbox.create(
    "python3", "-m", "http.server", "8000",
    encrypted_ports=[8000],
    readiness_probe=modal.Probe.with_tcp(8000),
    app=app,
    image=modal.Image.from_id(os.environ["FLOW_IMAGE"]),
)
try:
    sb.wait_until_ready()
    tunnel = sb.tunnels()[8000]
    ctx = ssl.create_default_context(cafile=modal.ca_cert_path())
    page = urllib.request.urlopen(tunnel.url, context=ctx, timeout=30).read().decode()
    creds = sb.create_connect_token(user_metadata={"user": "alice"}, port=8000)
    req = urllib.request.Request(creds.url, headers={"Authorization": f"Bearer {creds.token}"})
    via_token = urllib.request.urlopen(req, timeout=30).read().decode()
    print(json.dumps({"page": "Directory listing for /" in page, "token": "Directory listing for /" in via_token,
                      "types": [type(tunnel).__module__, type(creds).__name__]}))
finally:
    sb.terminate()
"""


def test_the_web_server_flow_in_the_blocking_api(
    run_py: Any, python_image_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOW_APP", app_name("flow"))
    monkeypatch.setenv("FLOW_IMAGE", python_image_id)
    out = json.loads(run_py(SYNC_FLOW).stdout.splitlines()[-1])
    assert out == {"page": True, "token": True, "types": ["sandbox_core._tunnel", "SandboxConnectCredentials"]}
