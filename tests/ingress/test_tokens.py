"""Connect tokens against the real engine: authentication, the verified-user header seen by a CGI script in the
sandbox, WebSockets, 100 concurrent requests, undeclared ports, tokens dying with their sandbox, Modal's errors."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest

import sandbox_core as sc
from sandbox_core import exception as exc

from .conftest import get

pytestmark = pytest.mark.usefixtures("engine")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_no_token_or_a_wrong_one_is_refused_and_the_right_one_gets_the_page(
    web: sc.Sandbox, http: aiohttp.ClientSession
) -> None:
    creds = await web.create_connect_token(port=8080)
    assert creds.url.startswith("http://127.0.0.1:") and len(creds.token) >= 43
    assert creds.token not in repr(creds)
    page = creds.url + "/index.html"
    assert (await get(http, page))[0] == 401
    wrong = ("y" if creds.token[0] == "x" else "x") + creds.token[1:]
    assert (await get(http, page, headers=bearer(wrong)))[0] == 401
    assert (await get(http, page, headers={"Authorization": creds.token}))[0] == 401  # no Bearer scheme
    assert await get(http, page, headers=bearer(creds.token)) == (200, "hello from the sandbox\n")
    assert await get(http, f"{page}?_modal_connect_token={creds.token}") == (200, "hello from the sandbox\n")


async def test_the_sandbox_sees_the_verified_metadata_and_never_a_client_sent_copy(
    web: sc.Sandbox, http: aiohttp.ClientSession
) -> None:
    creds = await web.create_connect_token({"user": "alice", "role": "admin"}, port=8080)
    forged = {"X-Verified-User-Data": '{"user": "mallory"}'}
    status, body = await get(http, creds.url + "/cgi-bin/whoami", headers={**bearer(creds.token), **forged})
    assert status == 200
    assert json.loads(body.strip().removeprefix("user=")) == {"user": "alice", "role": "admin"}
    plain = await web.create_connect_token(port=8080)  # no metadata: nothing reaches the sandbox, forged or not
    status, body = await get(http, plain.url + "/cgi-bin/whoami", headers={**bearer(plain.token), **forged})
    assert (status, body.strip()) == (200, "user=")
    named = await web.create_connect_token("just a string", port=8080)
    assert (await get(http, named.url + "/cgi-bin/whoami", headers=bearer(named.token)))[1].strip() == (
        "user=just a string"
    )


async def test_a_websocket_is_relayed_to_an_undeclared_port(py_servers: sc.Sandbox) -> None:
    creds = await py_servers.create_connect_token(port=8765)  # 8765 was not declared at creation
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(creds.url + "/echo", headers=bearer(creds.token)) as ws,
    ):
        await ws.send_str("ping through the proxy")
        assert (await ws.receive_str(timeout=10)) == "ping through the proxy"
        await ws.send_bytes(b"\x00\x01" * 40_000)
        assert (await ws.receive_bytes(timeout=10)) == b"\x00\x01" * 40_000


async def test_a_hundred_concurrent_requests_through_one_token_all_arrive(
    web: sc.Sandbox, http: aiohttp.ClientSession
) -> None:
    creds = await web.create_connect_token(port=8080)
    results = await asyncio.gather(
        *(get(http, f"{creds.url}/index.html?n={i}", headers=bearer(creds.token)) for i in range(100))
    )
    assert results == [(200, "hello from the sandbox\n")] * 100


async def test_a_token_dies_with_its_sandbox(app: sc.App, image: sc.Image, http: aiohttp.ClientSession) -> None:
    sb = await sc.Sandbox.create("httpd", "-f", "-p", "8080", "-h", "/etc", app=app, image=image)
    try:
        creds = await sb.create_connect_token(port=8080)
        assert (await get(http, creds.url + "/hostname", headers=bearer(creds.token)))[0] == 200
    finally:
        await sb.terminate(wait=True)
    deadline = time.monotonic() + 15
    while (await get(http, creds.url + "/hostname", headers=bearer(creds.token)))[0] != 401:
        assert time.monotonic() < deadline, "the token still works after its sandbox ended"
        await asyncio.sleep(0.05)  # no event tells a client that the proxy dropped a token
    with pytest.raises(exc.ConflictError, match="Sandbox already finished"):
        await sb.create_connect_token(port=8080)


async def test_connect_tokens_refuse_what_cannot_work(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create(app=app, image=image, block_network=True)
    try:
        with pytest.raises(exc.InvalidError, match="port must be between 1 and 65535"):
            await sb.create_connect_token(port=0)
        with pytest.raises(exc.InvalidError, match="block_network"):
            await sb.create_connect_token()
        await sb.detach()
        with pytest.raises(exc.ClientClosed):
            await sb.create_connect_token()
    finally:
        await (await sc.Sandbox.from_id(sb.object_id)).terminate()
