"""Byte relays for tunnels: a plain TCP relay, or a TLS terminator when given a server context.

A ``Relay`` listens on one address and, for every accepted connection whose peer passes the allowlist, connects
to the upstream (a published container port) and copies bytes both ways until both sides are done. It is built
on transports and protocols (no task per direction, no intermediate buffers):

- **Back-pressure**: when one side's send buffer passes its high-water mark, the relay stops reading the other
  side until it drains, so a slow receiver slows the sender instead of filling memory.
- **Half-close**: an EOF from one side is passed on as an EOF (``write_eof``) to the other, which may go on
  sending. TLS cannot carry a half-close, so an EOF that has to reach a TLS side closes the whole connection
  (after what is buffered is sent): that is how a client learns a close-delimited body ended.
- **TLS** is negotiated after the allowlist check and once the upstream answered (a refused peer costs no
  handshake; an upstream that speaks first waits for the handshake). ALPN is whatever the context offers
  (``tls.server_context``); the decrypted bytes go on as they are (an ``h2`` client speaks cleartext HTTP/2 to
  the upstream).
- **Activity**: ``on_activity`` is called when a connection is relayed and then while bytes flow (at most once a
  second, see ``inbound.ActivityMeter``).
- ``close()`` stops listening and cuts every open connection.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable

from .. import exception as exc
from .inbound import ALLOW_ALL, ActivityMeter, CidrAllowlist, peer_host

log = logging.getLogger("sandbox_core.relay")

CONNECT_TIMEOUT = 10.0
HANDSHAKE_TIMEOUT = 10.0


def _no_activity() -> None:
    return None


class Relay:
    """A listening relay to ``upstream_host:upstream_port``; build it with ``await Relay.start(...)``."""

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        tls: ssl.SSLContext | None = None,
        allowlist: CidrAllowlist = ALLOW_ALL,
        on_activity: Callable[[], None] = _no_activity,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.tls = tls
        self.allowlist = allowlist
        self.meter = ActivityMeter(on_activity)
        self.connect_timeout = connect_timeout
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._closed = False

    @classmethod
    async def start(
        cls,
        upstream_host: str,
        upstream_port: int,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
        allowlist: CidrAllowlist = ALLOW_ALL,
        on_activity: Callable[[], None] = _no_activity,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> Relay:
        """Listen on ``host:port`` (port 0: one the kernel picks) and relay to the upstream.

        Raises ``InvalidError`` when the address cannot be bound (in use, not local, not permitted).
        """
        relay = cls(
            upstream_host,
            upstream_port,
            tls=tls,
            allowlist=allowlist,
            on_activity=on_activity,
            connect_timeout=connect_timeout,
        )
        loop = asyncio.get_running_loop()
        try:
            relay._server = await loop.create_server(lambda: _Connection(relay).client, host, port)
        except OSError as e:
            raise exc.InvalidError(f"cannot listen on {host}:{port} for a tunnel: {e.strerror or e}") from None
        return relay

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the relay listens on (the first socket's, when the host resolved to several)."""
        if self._server is None or not self._server.sockets:
            raise exc.ConflictError("the relay is not listening")
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    @property
    def port(self) -> int:
        """The port the relay listens on."""
        return self.address[1]

    @property
    def connection_count(self) -> int:
        """How many connections are open (accepted and not yet finished)."""
        return len(self._connections)

    async def close(self) -> None:
        """Stop listening and cut every open connection; returns once they are all gone. Idempotent."""
        self._closed = True
        if self._server is not None:
            self._server.close()
        connections = list(self._connections)
        for connection in connections:
            connection.abort()
        await asyncio.gather(*(c.done for c in connections), return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def __aenter__(self) -> Relay:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def register(self, connection: _Connection) -> bool:
        """Register an accepted connection; False when the relay is closed or the peer is not allowed."""
        if self._closed or not self.allowlist.allows(peer_host(connection.client.get_extra_info("peername"))):
            return False
        self._connections.add(connection)
        connection.done.add_done_callback(lambda _: self._connections.discard(connection))
        return True


class _Side(asyncio.Protocol):
    """One side of a relayed connection: what it receives goes to ``peer``'s transport."""

    def __init__(self, connection: _Connection) -> None:
        self.connection = connection
        self.transport: asyncio.Transport | None = None
        self.peer: _Side = self
        self.tls = False
        self.eof = False
        self.lost = False

    def get_extra_info(self, name: str) -> object:
        return self.transport.get_extra_info(name) if self.transport is not None else None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.pause_reading()  # until both sides are ready
        self.connection.made(self)

    def data_received(self, data: bytes) -> None:
        if self.peer.transport is not None and not self.peer.lost:
            self.peer.transport.write(data)
            self.connection.relay.meter.touch()

    def eof_received(self) -> bool:
        self.eof = True
        return self.connection.eof_from(self)

    def pause_writing(self) -> None:
        if self.peer.transport is not None and not self.peer.lost:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer.transport is not None and not self.peer.lost:
            self.peer.transport.resume_reading()

    def connection_lost(self, error: Exception | None) -> None:
        if self.lost:
            return
        self.lost = True
        self.connection.lost(self, error)


class _Connection:
    """A client connection and its upstream connection, relayed to each other."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.client = _Side(self)
        self.upstream = _Side(self)
        self.client.peer, self.upstream.peer = self.upstream, self.client
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._opening: asyncio.Task[None] | None = None

    def made(self, side: _Side) -> None:
        if side is not self.client:
            return
        if not self.relay.register(self):
            assert side.transport is not None
            side.transport.abort()
            return
        self._opening = asyncio.create_task(self._open())

    async def _open(self) -> None:
        """Connect the upstream, then (for TLS) do the handshake, then let bytes flow."""
        loop = asyncio.get_running_loop()
        host, port = self.relay.upstream
        handshaking = False
        try:
            await asyncio.wait_for(
                loop.create_connection(lambda: self.upstream, host, port), self.relay.connect_timeout
            )
            if self.relay.tls is not None:
                assert self.client.transport is not None
                handshaking = True
                wrapped = await loop.start_tls(
                    self.client.transport,
                    self.client,
                    self.relay.tls,
                    server_side=True,
                    ssl_handshake_timeout=HANDSHAKE_TIMEOUT,
                )
                handshaking = False
                assert isinstance(wrapped, asyncio.Transport)
                self.client.transport, self.client.tls = wrapped, True
        except (OSError, TimeoutError) as e:
            # ssl.SSLError is an OSError: a client that distrusts the certificate ends here, as does a refused or
            # silent upstream. There is nobody to report to but the log.
            log.debug("tunnel connection to %s:%s not relayed: %r", host, port, e)
            self.abort()
            return
        finally:
            if handshaking:
                # A connection lost mid-handshake is never reported to the protocol behind the TLS layer.
                loop.call_soon(self.client.connection_lost, None)
        self.relay.meter.touch()
        for side in (self.client, self.upstream):
            if side.transport is not None and not side.lost:
                side.transport.resume_reading()

    def eof_from(self, side: _Side) -> bool:
        """Pass ``side``'s EOF on; returns whether ``side``'s transport stays open (to send the other way)."""
        other = side.peer.transport
        if other is None or side.peer.lost:
            return False
        if other.can_write_eof() and not side.peer.eof:
            other.write_eof()
            return not side.tls
        # Both directions are done, or the other side is TLS and cannot be half-closed: end the connection.
        other.close()
        return False

    def lost(self, side: _Side, error: Exception | None) -> None:
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        other = side.peer
        if other.transport is not None and not other.lost:
            if error is None:
                other.transport.close()  # sends what is buffered first
            else:
                other.transport.abort()
        if (self.upstream.transport is None or self.upstream.lost) and self.client.lost and not self.done.done():
            self.done.set_result(None)

    def abort(self) -> None:
        """Cut both sides now."""
        if self._opening is not None and not self._opening.done():
            self._opening.cancel()
        for side in (self.client, self.upstream):
            if side.transport is not None and not side.lost:
                side.transport.abort()
