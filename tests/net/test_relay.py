"""The tunnel relays, TCP and TLS, against real sockets on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable

import pytest

from sandbox_core._engine.inbound import CidrAllowlist
from sandbox_core._engine.relay import Relay
from sandbox_core._engine.tls import ALPN_H2, LocalCA, server_context
from sandbox_core.exception import InvalidError

from .conftest import LOOPBACK, EchoServer

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_EMPTY_SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


async def roundtrip(port: int, payload: bytes, *, tls: ssl.SSLContext | None = None) -> bytes:
    """Send ``payload``, half-close, read to EOF."""
    reader, writer = await asyncio.open_connection(
        LOOPBACK, port, ssl=tls, server_hostname="localhost" if tls else None
    )
    try:
        writer.write(payload)
        await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        return await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()


async def test_tcp_relay_echoes_and_passes_the_half_close(echo: EchoServer) -> None:
    async with await Relay.start(LOOPBACK, echo.port) as relay:
        assert relay.address[0] == LOOPBACK and relay.port != echo.port
        # The echo server answers "bye" only after it saw our EOF, and we read it after our EOF: both directions
        # of the half-close went through.
        assert await roundtrip(relay.port, b"ping") == b"pingbye"
        assert await asyncio.wait_for(echo.ends.get(), 5) == b"ping"


async def test_tcp_relay_carries_a_large_stream_intact(echo: EchoServer) -> None:
    payload = bytes(range(256)) * 40_000  # ~10 MB
    async with await Relay.start(LOOPBACK, echo.port) as relay:
        reader, writer = await asyncio.open_connection(LOOPBACK, relay.port)

        async def send() -> None:
            writer.write(payload)
            await writer.drain()
            writer.write_eof()

        sender = asyncio.create_task(send())
        data = await asyncio.wait_for(reader.read(), 30)
        await sender
        writer.close()
    assert data == payload + b"bye"


async def test_a_receiver_that_does_not_read_stops_the_sender(echo: EchoServer) -> None:
    """Back-pressure: with the client not reading, the upstream's writes stall after a bounded amount."""
    sent = 0
    stalled = asyncio.Event()

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        chunk = b"z" * 65536
        try:
            while sent < 512 * 1024 * 1024:
                writer.write(chunk)
                try:
                    await asyncio.wait_for(writer.drain(), 0.5)
                except TimeoutError:
                    stalled.set()
                    await writer.drain()
                sent += len(chunk)
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(flood, LOOPBACK, 0)
    try:
        async with await Relay.start(LOOPBACK, server.sockets[0].getsockname()[1]) as relay:
            reader, writer = await asyncio.open_connection(LOOPBACK, relay.port)
            await asyncio.wait_for(stalled.wait(), 30)
            # Kernel socket buffers on the two loopback hops plus the relay's own bounded buffers.
            assert sent < 64 * 1024 * 1024
            got = len(await asyncio.wait_for(reader.read(1 << 20), 5))
            assert got > 0
            writer.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_an_address_outside_the_allowlist_is_cut_before_the_upstream_is_dialled(echo: EchoServer) -> None:
    async with await Relay.start(LOOPBACK, echo.port, allowlist=CidrAllowlist.parse(["10.0.0.0/8"])) as relay:
        with contextlib.suppress(OSError):  # reset, possibly before we even half-closed
            assert await roundtrip(relay.port, b"ping") == b""
    assert echo.accepted == 0
    async with await Relay.start(LOOPBACK, echo.port, allowlist=CidrAllowlist.parse(["127.0.0.0/8"])) as relay:
        assert await roundtrip(relay.port, b"ping") == b"pingbye"


async def test_activity_is_reported_while_bytes_flow(
    echo: EchoServer, counter: tuple[list[str], Callable[..., None]]
) -> None:
    calls, note = counter
    async with await Relay.start(LOOPBACK, echo.port, on_activity=note) as relay:
        assert calls == []
        payload = b"p" * (4 * 1024 * 1024)
        assert await roundtrip(relay.port, payload) == payload + b"bye"
        # Hundreds of chunks crossed the relay; reports are throttled to one a second.
        assert 1 <= len(calls) < 10


async def test_closing_cuts_open_connections_and_stops_listening(echo: EchoServer) -> None:
    relay = await Relay.start(LOOPBACK, echo.port)
    port = relay.port
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    writer.write(b"x")
    assert await reader.readexactly(1) == b"x"
    assert relay.connection_count == 1
    await relay.close()
    assert relay.connection_count == 0
    with contextlib.suppress(ConnectionError):
        assert await asyncio.wait_for(reader.read(), 5) == b""
    writer.close()
    assert await asyncio.wait_for(echo.ends.get(), 5) == b"x"  # the upstream side was cut too
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(LOOPBACK, port)
    await relay.close()  # idempotent


async def test_an_upstream_that_refuses_closes_the_client() -> None:
    probe = await asyncio.start_server(lambda r, w: None, LOOPBACK, 0)
    dead_port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with await Relay.start(LOOPBACK, dead_port) as relay:
        with contextlib.suppress(ConnectionError):
            assert await roundtrip(relay.port, b"ping") == b""


async def test_binding_a_taken_port_is_an_invalid_error(echo: EchoServer) -> None:
    with pytest.raises(InvalidError, match="cannot listen"):
        await Relay.start(LOOPBACK, echo.port, port=echo.port)


# ------------------------------------------------------------------------------------------------ TLS


async def test_tls_terminator_serves_a_certificate_the_ca_verifies(
    echo: EchoServer, ca: LocalCA, client_tls: ssl.SSLContext
) -> None:
    async with await Relay.start(LOOPBACK, echo.port, tls=server_context(ca.leaf_for())) as relay:
        reader, writer = await asyncio.open_connection(
            LOOPBACK, relay.port, ssl=client_tls, server_hostname="localhost"
        )
        assert writer.get_extra_info("ssl_object").selected_alpn_protocol() is None  # the client offered none
        writer.write(b"secret")
        assert await reader.readexactly(6) == b"secret"
        writer.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection(
                LOOPBACK, relay.port, ssl=ssl.create_default_context(), server_hostname="localhost"
            )
    # The upstream saw cleartext.
    assert await asyncio.wait_for(echo.ends.get(), 5) == b"secret"


async def test_tls_terminator_closes_when_the_upstream_ends_its_side(
    echo: EchoServer, ca: LocalCA, client_tls: ssl.SSLContext
) -> None:
    async def answer_and_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readexactly(3)
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nbody")  # a close-delimited body
        writer.close()

    server = await asyncio.start_server(answer_and_close, LOOPBACK, 0)
    try:
        async with await Relay.start(
            LOOPBACK, server.sockets[0].getsockname()[1], tls=server_context(ca.leaf_for())
        ) as relay:
            reader, writer = await asyncio.open_connection(
                LOOPBACK, relay.port, ssl=client_tls, server_hostname="localhost"
            )
            writer.write(b"GET")
            assert await asyncio.wait_for(reader.read(), 5) == b"HTTP/1.0 200 OK\r\n\r\nbody"
            writer.close()
    finally:
        server.close()
        await server.wait_closed()


async def test_h2_is_negotiated_by_alpn_and_the_frames_pass_through(
    echo: EchoServer, ca: LocalCA, client_tls: ssl.SSLContext
) -> None:
    h2 = ssl.create_default_context(cafile=str(ca.cert_path))
    h2.set_alpn_protocols(["h2"])
    async with await Relay.start(LOOPBACK, echo.port, tls=server_context(ca.leaf_for(), alpn=ALPN_H2)) as relay:
        reader, writer = await asyncio.open_connection(LOOPBACK, relay.port, ssl=h2, server_hostname="localhost")
        assert writer.get_extra_info("ssl_object").selected_alpn_protocol() == "h2"
        writer.write(H2_PREFACE + H2_EMPTY_SETTINGS)
        assert await reader.readexactly(len(H2_PREFACE) + 9) == H2_PREFACE + H2_EMPTY_SETTINGS
        writer.close()
        # An HTTP/1.1-only client still gets a connection, with http/1.1 selected.
        h1 = ssl.create_default_context(cafile=str(ca.cert_path))
        h1.set_alpn_protocols(["http/1.1"])
        reader, writer = await asyncio.open_connection(LOOPBACK, relay.port, ssl=h1, server_hostname="localhost")
        assert writer.get_extra_info("ssl_object").selected_alpn_protocol() == "http/1.1"
        writer.close()


async def test_plain_encrypted_ports_offer_http1_only(echo: EchoServer, ca: LocalCA) -> None:
    ctx = ssl.create_default_context(cafile=str(ca.cert_path))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    async with await Relay.start(LOOPBACK, echo.port, tls=server_context(ca.leaf_for())) as relay:
        _, writer = await asyncio.open_connection(LOOPBACK, relay.port, ssl=ctx, server_hostname="localhost")
        assert writer.get_extra_info("ssl_object").selected_alpn_protocol() == "http/1.1"
        writer.close()


async def test_a_refused_peer_gets_no_tls_handshake(echo: EchoServer, ca: LocalCA, client_tls: ssl.SSLContext) -> None:
    nobody = CidrAllowlist.parse([])
    async with await Relay.start(LOOPBACK, echo.port, tls=server_context(ca.leaf_for()), allowlist=nobody) as relay:
        with pytest.raises((ConnectionError, ssl.SSLError)):
            await asyncio.open_connection(LOOPBACK, relay.port, ssl=client_tls, server_hostname="localhost")
    assert echo.accepted == 0
