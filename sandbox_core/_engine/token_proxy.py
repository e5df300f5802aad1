"""The connect-token reverse proxy: one aiohttp server that authenticates each request by its token and forwards
it, HTTP or WebSocket, to the upstream the token grants (a published container port).

Authentication: the token is taken from the ``_modal_connect_token`` query parameter when present (that
parameter is then removed from the forwarded URL, and an ``Authorization`` header is passed on untouched, since it
may be the application's own), else from ``Authorization: Bearer <token>`` (that header is then not passed on).
The proxy hashes the token (SHA-256) and asks the injected ``lookup`` for the grant stored under that hash, then
compares the hashes in constant time; the token itself is never stored. A missing, unknown or expired token gets
401; a peer outside the grant's CIDR allowlist gets 403; an upstream that does not answer gets 502.

Forwarding: hop-by-hop headers (and those named in ``Connection``), ``Expect`` and every client-sent
``X-Verified-User-Data`` are dropped; the grant's metadata is sent as ``X-Verified-User-Data`` (only when it has
some); ``X-Forwarded-For``/``-Proto``/``-Host`` are set. Bodies stream both ways chunk by chunk with
back-pressure (nothing is buffered whole; content encodings pass through untouched). A WebSocket upgrade is
answered once the upstream accepted it (with the subprotocol it chose) and messages, pings and pongs are relayed
until either side closes, whose close code is passed on. No cookie jar: nothing learnt from one response is sent
with another request.

``on_activity(key)`` is called for the grant's key on each request and, while bytes flow, at most once a second.
``close_key(key)`` cuts every open request and WebSocket of a key; remove its grants from ``lookup`` first.
``lookup`` may raise a ``sandbox_core.exception.Error`` (its store is unreachable): the request then gets 503.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import unquote_plus

import aiohttp
import attrs
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from .. import exception as exc
from .inbound import ALLOW_ALL, ActivityMeter, CidrAllowlist, peer_host

log = logging.getLogger("sandbox_core.token_proxy")

TOKEN_PARAM = "_modal_connect_token"
USER_DATA_HEADER = "X-Verified-User-Data"
#: Largest WebSocket message relayed (aiohttp assembles each message in memory).
WS_MAX_MESSAGE = 64 * 1024 * 1024
CONNECT_TIMEOUT = 10.0

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
#: Headers of a WebSocket handshake that each hop negotiates for itself.
_WS_HANDSHAKE = frozenset(
    {"sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol"}
)
_REQUEST_DROP = frozenset({"expect", "host", USER_DATA_HEADER.lower()})


def new_token() -> tuple[str, str]:
    """A fresh token (256 random bits, URL-safe) and the hash to store for it."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """The stored form of ``token``: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def check_header_value(value: str | None) -> str | None:
    """``value`` unchanged when it can be sent as an HTTP header value; ``InvalidError`` when it holds a line break,
    NUL or another control character (other than tab)."""
    if value is not None and any((ord(c) < 0x20 and c != "\t") or c == "\x7f" for c in value):
        raise exc.InvalidError("user_metadata cannot contain line breaks or control characters: it is sent as a header")
    return value


@attrs.frozen
class TokenGrant:
    """What one token grants: requests to ``upstream_host:upstream_port``, with ``user_metadata`` as the verified
    header, from peers in ``allowlist``, until ``expires_at`` (epoch seconds; None: until its key is closed).
    ``key`` is opaque to the proxy (the sandbox the grant belongs to): it names the grant in ``on_activity`` and
    ``close_key``."""

    token_hash: str
    key: str
    upstream_host: str
    upstream_port: int = attrs.field(
        validator=attrs.validators.and_(attrs.validators.ge(1), attrs.validators.le(65535))
    )
    user_metadata: str | None = attrs.field(default=None, converter=check_header_value)
    expires_at: float | None = None
    allowlist: CidrAllowlist = ALLOW_ALL

    def expired(self, now: float | None = None) -> bool:
        """True once ``expires_at`` has passed."""
        return self.expires_at is not None and (time.time() if now is None else now) >= self.expires_at


Lookup = Callable[[str], Awaitable[TokenGrant | None]]


def _no_activity(key: str) -> None:
    return None


class TokenProxy:
    """The running proxy; build it with ``await TokenProxy.start(lookup, ...)`` and ``close()`` it."""

    def __init__(self, lookup: Lookup, on_activity: Callable[[str], None]) -> None:
        self._lookup = lookup
        self._on_activity = on_activity
        self._meters: dict[str, ActivityMeter] = {}
        self._live: dict[str, set[tuple[asyncio.Task[web.StreamResponse], asyncio.Transport | None]]] = {}
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    async def start(
        cls,
        lookup: Lookup,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_activity: Callable[[str], None] = _no_activity,
        ssl_context: ssl.SSLContext | None = None,
    ) -> TokenProxy:
        """Serve on ``host:port`` (port 0: one the kernel picks), over TLS when ``ssl_context`` is given.

        Raises ``InvalidError`` when the address cannot be bound.
        """
        proxy = cls(lookup, on_activity)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", proxy._handle)
        # handler_cancellation: a client that goes away cancels its request, and so the upstream request too.
        proxy._runner = web.AppRunner(app, handle_signals=False, access_log=None, handler_cancellation=True)
        await proxy._runner.setup()
        try:
            await web.TCPSite(proxy._runner, host, port, ssl_context=ssl_context).start()
        except OSError as e:
            await proxy._runner.cleanup()
            raise exc.InvalidError(f"cannot listen on {host}:{port} for connect tokens: {e.strerror or e}") from None
        proxy._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding"),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT),
        )
        return proxy

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the proxy listens on."""
        addresses = self._runner.addresses if self._runner is not None else []
        if not addresses:
            raise exc.ConflictError("the connect-token proxy is not listening")
        host, port = addresses[0][:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        return self.address[1]

    def open_requests(self, key: str) -> int:
        """How many requests (WebSockets included) of ``key`` are in flight."""
        return len(self._live.get(key, ()))

    async def close_key(self, key: str) -> None:
        """Cut every open request and WebSocket of ``key`` (their clients see the connection drop)."""
        self._meters.pop(key, None)
        entries = self._live.pop(key, set())
        for task, transport in entries:
            if transport is not None:
                transport.abort()
            task.cancel()
        await asyncio.gather(*(task for task, _ in entries), return_exceptions=True)

    async def close(self) -> None:
        """Cut everything, stop listening and release the upstream connections. Idempotent."""
        for key in list(self._live):
            await self.close_key(key)
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> TokenProxy:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ------------------------------------------------------------------------------------------ per request

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token, from_query = _presented_token(request)
        if token is None:
            return _unauthorized(f"missing connect token: send 'Authorization: Bearer <token>' or ?{TOKEN_PARAM}=")
        digest = hash_token(token)
        try:
            grant = await self._lookup(digest)
        except exc.Error as e:
            log.warning("connect-token lookup failed: %s", e)
            return web.Response(status=503, text="the connect token cannot be checked right now\n")
        if grant is None or not hmac.compare_digest(grant.token_hash, digest) or grant.expired():
            return _unauthorized("invalid or expired connect token")
        if not grant.allowlist.allows(
            peer_host(request.transport.get_extra_info("peername") if request.transport else None)
        ):
            return web.Response(status=403, text="this address may not connect to the sandbox\n")
        meter = self._meters.get(grant.key)
        if meter is None:
            meter = self._meters[grant.key] = ActivityMeter(lambda: self._on_activity(grant.key))
        meter.touch()
        work = asyncio.create_task(self._forward(request, grant, from_query, meter))
        entry = (work, request.transport)
        self._live.setdefault(grant.key, set()).add(entry)
        try:
            return await work
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            # Cut by close_key: the client's connection is already gone, so this response is never sent.
            return web.Response(status=502)
        finally:
            live = self._live.get(grant.key)
            if live is not None:
                live.discard(entry)
                if not live:
                    del self._live[grant.key]

    async def _forward(
        self, request: web.Request, grant: TokenGrant, from_query: bool, meter: ActivityMeter
    ) -> web.StreamResponse:
        url = _upstream_url(grant, request.raw_path)
        headers = _request_headers(request, grant, drop_authorization=not from_query)
        if _is_websocket(request):
            return await self._forward_ws(request, url, headers, meter)
        return await self._forward_http(request, url, headers, meter)

    async def _forward_http(
        self, request: web.Request, url: URL, headers: CIMultiDict[str], meter: ActivityMeter
    ) -> web.StreamResponse:
        assert self._session is not None
        body = request.content if request.body_exists else None
        try:
            upstream = await self._session.request(
                request.method, url, headers=headers, data=body, allow_redirects=False
            )
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            log.debug("upstream %s did not answer: %r", url, e)
            return web.Response(status=502, text="the sandbox did not answer on this port\n")
        complete = False
        try:
            out = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            out.headers.extend(_response_headers(upstream.headers))
            await out.prepare(request)
            try:
                async for chunk in upstream.content.iter_any():
                    await out.write(chunk)
                    meter.touch()
            except (TimeoutError, aiohttp.ClientError, OSError):
                # Either side broke off mid-body. End the client's connection rather than the body, so the client
                # sees a truncated response and never a complete-looking one.
                if request.transport is not None:
                    request.transport.abort()
                return out
            await out.write_eof()
            complete = True
            return out
        finally:
            if complete:
                upstream.release()  # the upstream connection goes back to the pool
            else:
                upstream.close()

    async def _forward_ws(
        self, request: web.Request, url: URL, headers: CIMultiDict[str], meter: ActivityMeter
    ) -> web.StreamResponse:
        assert self._session is not None
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        try:
            upstream = await self._session.ws_connect(
                url, headers=headers, protocols=offered, autoping=False, max_msg_size=WS_MAX_MESSAGE
            )
        except aiohttp.WSServerHandshakeError as e:
            return web.Response(status=e.status if e.status >= 400 else 502, text="the sandbox refused the WebSocket\n")
        except (TimeoutError, aiohttp.ClientError, OSError) as e:
            log.debug("upstream %s did not answer: %r", url, e)
            return web.Response(status=502, text="the sandbox did not answer on this port\n")
        try:
            client = web.WebSocketResponse(
                protocols=[upstream.protocol] if upstream.protocol else (), autoping=False, max_msg_size=WS_MAX_MESSAGE
            )
            await client.prepare(request)
            await _relay_ws(client, upstream, meter)
            return client
        finally:
            await upstream.close()


# ------------------------------------------------------------------------------------------------ helpers


def _presented_token(request: web.Request) -> tuple[str | None, bool]:
    """(token, whether it came from the query string)."""
    from_query = request.rel_url.query.get(TOKEN_PARAM)
    if from_query:
        return from_query, True
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    return None, False


def _unauthorized(text: str) -> web.Response:
    return web.Response(status=401, text=text + "\n", headers={"WWW-Authenticate": 'Bearer realm="sandbox"'})


def _is_websocket(request: web.Request) -> bool:
    return request.headers.get("Upgrade", "").lower() == "websocket" and request.method == "GET"


def _upstream_url(grant: TokenGrant, raw_path: str) -> URL:
    """The upstream URL: the request's path and query as sent (still encoded), minus the token parameter."""
    path, sep, query = raw_path.partition("?")
    if sep:
        kept = [part for part in query.split("&") if unquote_plus(part.partition("=")[0]) != TOKEN_PARAM]
        path = path + ("?" + "&".join(kept) if kept else "")
    host = f"[{grant.upstream_host}]" if ":" in grant.upstream_host else grant.upstream_host
    return URL(f"http://{host}:{grant.upstream_port}{path or '/'}", encoded=True)


def _connection_named(headers: CIMultiDictProxy[str]) -> set[str]:
    return {t.strip().lower() for value in headers.getall("Connection", ()) for t in value.split(",") if t.strip()}


def _request_headers(request: web.Request, grant: TokenGrant, *, drop_authorization: bool) -> CIMultiDict[str]:
    drop = _HOP_BY_HOP | _REQUEST_DROP | _connection_named(request.headers)
    if drop_authorization:
        drop |= {"authorization"}
    if _is_websocket(request):
        drop |= _WS_HANDSHAKE
    out: CIMultiDict[str] = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in drop)
    if grant.user_metadata is not None:
        out[USER_DATA_HEADER] = grant.user_metadata
    peer = peer_host(request.transport.get_extra_info("peername") if request.transport else None)
    forwarded_for = ", ".join([*request.headers.getall("X-Forwarded-For", ()), *([peer] if peer else [])])
    if forwarded_for:
        out["X-Forwarded-For"] = forwarded_for
    out["X-Forwarded-Proto"] = "https" if request.secure else "http"
    if request.host:
        out["X-Forwarded-Host"] = request.host
        out["Host"] = request.host
    return out


def _response_headers(headers: CIMultiDictProxy[str]) -> Iterable[tuple[str, str]]:
    drop = _HOP_BY_HOP | _connection_named(headers)
    return [(k, v) for k, v in headers.items() if k.lower() not in drop]


async def _relay_ws(
    client: web.WebSocketResponse, upstream: aiohttp.ClientWebSocketResponse, meter: ActivityMeter
) -> None:
    """Relay messages both ways until one side closes, then close the other with the same code."""
    pumps = [
        asyncio.create_task(_ws_pump(client, upstream, meter)),
        asyncio.create_task(_ws_pump(upstream, client, meter)),
    ]
    try:
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


async def _ws_pump(src: Any, dst: Any, meter: ActivityMeter) -> None:
    """Copy ``src``'s messages to ``dst`` (either is a server or client WebSocket); on ``src``'s close, close
    ``dst`` with its code (1011 when ``src`` broke without one)."""
    kind = aiohttp.WSMsgType
    try:
        async for msg in src:
            if msg.type == kind.TEXT:
                await dst.send_str(msg.data)
            elif msg.type == kind.BINARY:
                await dst.send_bytes(msg.data)
            elif msg.type == kind.PING:
                await dst.ping(msg.data)
            elif msg.type == kind.PONG:
                await dst.pong(msg.data)
            elif msg.type == kind.ERROR:
                break
            meter.touch()
    except (aiohttp.ClientError, ConnectionError) as e:
        log.debug("WebSocket relay ended: %r", e)
    await dst.close(code=_close_code(src.close_code))


def _close_code(code: int | None) -> int:
    """The code to close the other side with: ``code`` when it may be sent in a close frame; 1000 when the peer
    sent none (1005); 1011 when the connection broke (1006, or no code at all)."""
    if code == 1005:
        return 1000
    if code is None or not (1000 <= code <= 1014 or 3000 <= code <= 4999) or code in (1004, 1006):
        return 1011
    return code
