"""The connect-token proxy: authentication, header rules, streaming both ways, WebSockets, concurrency, cutting."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from yarl import URL

from sandbox_core._engine.inbound import CidrAllowlist
from sandbox_core._engine.tls import LocalCA, server_context
from sandbox_core._engine.token_proxy import TokenGrant, TokenProxy, hash_token, new_token
from sandbox_core.exception import InvalidError, ServiceError

from .conftest import LOOPBACK, Upstream

METADATA = json.dumps({"user_id": "alice"})


class Grants:
    """The lookup a supervisor would inject: grants by token hash, plus a call log."""

    def __init__(self) -> None:
        self.by_hash: dict[str, TokenGrant] = {}
        self.activity: list[str] = []

    def add(self, upstream: Upstream, key: str = "sb-1", **kw: object) -> str:
        token, digest = new_token()
        self.by_hash[digest] = TokenGrant(digest, key, LOOPBACK, upstream.port, **kw)  # type: ignore[arg-type]
        return token

    async def lookup(self, digest: str) -> TokenGrant | None:
        return self.by_hash.get(digest)

    def note(self, key: str) -> None:
        self.activity.append(key)


@pytest_asyncio.fixture
async def grants() -> Grants:
    return Grants()


@pytest_asyncio.fixture
async def proxy(grants: Grants) -> AsyncIterator[TokenProxy]:
    async with await TokenProxy.start(grants.lookup, on_activity=grants.note) as p:
        yield p


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        yield s


def base(proxy: TokenProxy) -> str:
    return f"http://{LOOPBACK}:{proxy.port}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def seen_headers(resp: aiohttp.ClientResponse) -> tuple[dict[str, list[str]], str]:
    """The upstream's view of the request: header name (lower) -> values, and the raw path with query."""
    body = await resp.json()
    out: dict[str, list[str]] = {}
    for k, v in body["headers"]:
        out.setdefault(k.lower(), []).append(v)
    return out, body["path_qs"]


# ------------------------------------------------------------------------------------------------ authentication


async def test_a_request_without_a_token_is_401(proxy: TokenProxy, http: aiohttp.ClientSession) -> None:
    async with http.get(base(proxy) + "/headers") as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    async with http.get(base(proxy) + "/headers", headers={"Authorization": "Basic dXNlcjpwdw=="}) as resp:
        assert resp.status == 401


async def test_a_wrong_token_is_401(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream)
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x", token + "x"):
        async with http.get(base(proxy) + "/headers", headers=bearer(wrong)) as resp:
            assert resp.status == 401
    async with http.get(base(proxy) + "/headers", headers=bearer(token)) as resp:
        assert resp.status == 200


async def test_an_expired_token_is_401(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream, expires_at=time.time() - 1)
    async with http.get(base(proxy) + "/headers", headers=bearer(token)) as resp:
        assert resp.status == 401


async def test_a_grant_is_looked_up_by_hash_and_compared_in_full(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    """A lookup that answers with another token's grant (a broken store) must not let the request through."""
    token = grants.add(upstream)
    other = grants.add(upstream)
    grants.by_hash[hash_token(token)] = grants.by_hash[hash_token(other)]
    async with http.get(base(proxy) + "/headers", headers=bearer(token)) as resp:
        assert resp.status == 401


async def test_the_token_in_the_query_is_accepted_and_removed(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream)
    url = base(proxy) + f"/headers?a=1&_modal_connect_token={token}&b=%2F%20x&flag"
    async with http.get(URL(url, encoded=True), headers={"Authorization": "Bearer the-apps-own"}) as resp:
        assert resp.status == 200
        headers, path_qs = await seen_headers(resp)
    assert path_qs == "/headers?a=1&b=%2F%20x&flag"  # the rest of the query exactly as sent
    assert headers["authorization"] == ["Bearer the-apps-own"]  # the application's own, untouched


async def test_a_peer_outside_the_allowlist_is_403(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream, allowlist=CidrAllowlist.parse(["192.0.2.0/24"]))
    async with http.get(base(proxy) + "/headers", headers=bearer(token)) as resp:
        assert resp.status == 403
    token = grants.add(upstream, allowlist=CidrAllowlist.parse(["127.0.0.1/32"]))
    async with http.get(base(proxy) + "/headers", headers=bearer(token)) as resp:
        assert resp.status == 200


def test_metadata_that_cannot_be_a_header_is_refused() -> None:
    with pytest.raises(InvalidError, match="line breaks"):
        TokenGrant("h", "k", LOOPBACK, 80, user_metadata="a\r\nX-Evil: 1")


# ------------------------------------------------------------------------------------------------ headers


async def test_headers_are_stripped_and_the_metadata_injected(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream, user_metadata=METADATA)
    sent = {
        **bearer(token),
        "X-Verified-User-Data": '{"user_id": "mallory"}',
        "x-verified-user-data": "lowercase too",
        "Connection": "keep-alive, X-Secret-Hop",
        "X-Secret-Hop": "hop",
        "Keep-Alive": "timeout=5",
        "Proxy-Authorization": "Basic Zm9vOmJhcg==",
        "TE": "trailers",
        "X-Custom": "kept",
        "X-Forwarded-For": "203.0.113.9",
    }
    async with http.get(base(proxy) + "/headers", headers=sent) as resp:
        assert resp.status == 200
        headers, _ = await seen_headers(resp)
    assert headers["x-verified-user-data"] == [METADATA]
    for gone in ("authorization", "x-secret-hop", "keep-alive", "proxy-authorization", "te"):
        assert gone not in headers, gone
    assert headers["x-custom"] == ["kept"]
    assert headers["x-forwarded-for"] == ["203.0.113.9, 127.0.0.1"]
    assert headers["x-forwarded-proto"] == ["http"]
    assert headers["host"] == [f"{LOOPBACK}:{proxy.port}"]
    assert "user-agent" in headers  # the client's own, not one the proxy made up
    assert headers["user-agent"][0].startswith("Python/")


async def test_without_metadata_no_verified_header_reaches_the_upstream(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream)
    headers_sent = {**bearer(token), "X-Verified-User-Data": "forged"}
    async with http.get(base(proxy) + "/headers", headers=headers_sent) as resp:
        headers, _ = await seen_headers(resp)
    assert "x-verified-user-data" not in headers


async def test_methods_and_bodies_pass(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream)
    async with http.put(base(proxy) + "/headers", headers=bearer(token), data=b"12345") as resp:
        headers, _ = await seen_headers(resp)
        assert (await resp.json())["method"] == "PUT"
    assert headers["content-length"] == ["5"]
    async with http.head(base(proxy) + "/big/1000", headers=bearer(token)) as resp:
        assert resp.status == 200 and resp.headers["Content-Length"] == "1000"
        assert await resp.read() == b""
    async with http.get(base(proxy) + "/nowhere", headers=bearer(token)) as resp:
        assert resp.status == 404  # the upstream's answer, not the proxy's


# ------------------------------------------------------------------------------------------------ streaming


async def test_the_response_body_streams(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    """The first chunk arrives while the upstream still holds the second: nothing is buffered whole."""
    token = grants.add(upstream)
    async with http.get(base(proxy) + "/stream", headers=bearer(token)) as resp:
        first = await asyncio.wait_for(resp.content.readexactly(100), 5)
        assert first == b"a" * 100
        upstream.release.set()
        assert await resp.content.read() == b"b" * 100


async def test_the_request_body_streams(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    """The upstream reads the first chunk before the client has produced the second."""
    token = grants.add(upstream)

    async def body() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        await asyncio.wait_for(upstream.first_chunk.wait(), 5)
        yield b"y" * 1000

    async with http.post(base(proxy) + "/upload", headers=bearer(token), data=body()) as resp:
        assert resp.status == 200
        assert await resp.text() == "2000"


async def test_a_large_body_arrives_intact(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream)
    async with http.get(base(proxy) + f"/big/{20 * 1024 * 1024}", headers=bearer(token)) as resp:
        assert resp.headers["Content-Length"] == str(20 * 1024 * 1024)
        assert await resp.read() == b"x" * (20 * 1024 * 1024)


async def test_a_hundred_concurrent_requests_through_one_token(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream)

    async def one(n: int) -> str:
        async with http.get(base(proxy) + f"/id/{n}", headers=bearer(token)) as resp:
            assert resp.status == 200
            return await resp.text()

    answers = await asyncio.gather(*(one(n) for n in range(100)))
    assert answers == [str(n) for n in range(100)]


async def test_an_upstream_that_is_down_is_502(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream)
    await upstream.runner.cleanup()  # type: ignore[union-attr]
    async with http.get(base(proxy) + "/headers", headers=bearer(token)) as resp:
        assert resp.status == 502


async def test_activity_is_reported_for_the_grants_key(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream, key="sb-activity")
    async with http.get(base(proxy) + "/headers") as resp:  # unauthenticated: no activity
        assert resp.status == 401
    assert grants.activity == []
    async with http.get(base(proxy) + "/headers", headers=bearer(token)) as resp:
        await resp.read()
    assert grants.activity == ["sb-activity"]


# ------------------------------------------------------------------------------------------------ WebSocket


async def test_websocket_messages_and_close_code_pass_through(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream, user_metadata=METADATA)
    url = base(proxy) + f"/ws?_modal_connect_token={token}"
    async with http.ws_connect(url, protocols=("other", "echo")) as ws:
        assert ws.protocol == "echo"  # the upstream's choice
        await ws.send_str("hello")
        assert await asyncio.wait_for(ws.receive_str(), 5) == "hello"
        await ws.send_bytes(b"\x00\x01")
        assert await asyncio.wait_for(ws.receive_bytes(), 5) == b"\x00\x01"
        await ws.send_str("close:4001")
        msg = await asyncio.wait_for(ws.receive(), 5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4001


async def test_a_websocket_needs_a_token(proxy: TokenProxy, http: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as info:
        await http.ws_connect(base(proxy) + "/ws")
    assert info.value.status == 401


# ------------------------------------------------------------------------------------------------ closing


async def test_closing_a_key_cuts_its_requests_and_websockets_only(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    doomed = grants.add(upstream, key="sb-ending")
    other = grants.add(upstream, key="sb-other")
    hanging = await http.get(base(proxy) + "/hang", headers=bearer(doomed))
    assert await hanging.content.readexactly(7) == b"started"
    ws = await http.ws_connect(base(proxy) + "/ws", headers=bearer(doomed))
    assert proxy.open_requests("sb-ending") == 2
    for digest in [d for d, g in grants.by_hash.items() if g.key == "sb-ending"]:
        del grants.by_hash[digest]
    await proxy.close_key("sb-ending")
    assert proxy.open_requests("sb-ending") == 0
    with pytest.raises(aiohttp.ClientPayloadError):
        await asyncio.wait_for(hanging.content.read(), 5)
    hanging.release()
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    await ws.close()
    async with http.get(base(proxy) + "/headers", headers=bearer(doomed)) as resp:
        assert resp.status == 401
    async with http.get(base(proxy) + "/headers", headers=bearer(other)) as resp:
        assert resp.status == 200


# ------------------------------------------------------------------------------------------------ over TLS


async def test_the_proxy_can_serve_tls(
    ca: LocalCA, client_tls: ssl.SSLContext, grants: Grants, upstream: Upstream
) -> None:
    token = grants.add(upstream, user_metadata=METADATA)
    async with await TokenProxy.start(grants.lookup, ssl_context=server_context(ca.leaf_for())) as p:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"https://localhost:{p.port}/headers", headers=bearer(token), ssl=client_tls) as resp:
                headers, _ = await seen_headers(resp)
            assert headers["x-forwarded-proto"] == ["https"]
            assert headers["x-verified-user-data"] == [METADATA]
            with pytest.raises(aiohttp.ClientConnectorCertificateError):
                await s.get(f"https://localhost:{p.port}/headers", headers=bearer(token))


async def test_a_lookup_that_fails_is_503(http: aiohttp.ClientSession) -> None:
    async def broken(digest: str) -> TokenGrant | None:
        raise ServiceError("engine unreachable")

    async with await TokenProxy.start(broken) as p:
        async with http.get(base(p) + "/", headers=bearer("whatever")) as resp:
            assert resp.status == 503


async def test_a_client_that_goes_away_ends_the_upstream_request(
    proxy: TokenProxy, grants: Grants, upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    token = grants.add(upstream, key="sb-gone")
    resp = await http.get(base(proxy) + "/hang", headers=bearer(token))
    assert await resp.content.readexactly(7) == b"started"
    resp.close()  # drops the connection
    await asyncio.wait_for(upstream.hang_cancelled.wait(), 5)
    for _ in range(100):
        if proxy.open_requests("sb-gone") == 0:
            break
        await asyncio.sleep(0.01)
    assert proxy.open_requests("sb-gone") == 0
