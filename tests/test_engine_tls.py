"""A ``tcp://`` engine over mutual TLS, as cluster mode reaches a node's engine (and one engine does with Docker's
``DOCKER_TLS_VERIFY``): the client checks the engine's certificate against the CA and presents its own.

The engine under test is the suite's, behind a TLS terminator on 127.0.0.1 that requires a client certificate
signed by the same CA (what ``dockerd --tlsverify`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sandbox_core import exception as exc
from sandbox_core._engine.docker.engine import DockerEngine
from sandbox_core._engine.docker.http import EngineAddress, TLSFiles
from sandbox_core._engine.tls import LocalCA

pytestmark = pytest.mark.usefixtures("engine")


def _client_cert(ca: LocalCA, directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sandbox-core client")]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()


@contextlib.asynccontextmanager
async def tls_engine(ca: LocalCA, directory: Path) -> AsyncIterator[int]:
    """The suite's engine behind mutual TLS on 127.0.0.1; yields the port."""
    socket_path = (os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock").removeprefix("unix://")
    server_cert, server_key = ca.issue(["127.0.0.1"])
    (directory / "server.pem").write_bytes(server_cert)
    (directory / "server.key").write_bytes(server_key)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(directory / "server.pem", directory / "server.key")
    ctx.load_verify_locations(ca.cert_path)
    ctx.verify_mode = ssl.CERT_REQUIRED
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_unix_connection(socket_path)
        both = asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        tasks.add(both)  # type: ignore[arg-type]
        await both

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=ctx)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def test_a_tcp_engine_is_reached_over_mutual_tls_and_a_wrong_ca_or_no_client_cert_is_refused(
    tmp_path: Path,
) -> None:
    ca = LocalCA.load_or_create(tmp_path / "ca")
    cert, key = _client_cert(ca, tmp_path)
    other = LocalCA.load_or_create(tmp_path / "other-ca")
    async with tls_engine(ca, tmp_path) as port:
        url = f"tcp://127.0.0.1:{port}"
        eng = await DockerEngine.open_at(EngineAddress.parse(url, tls=TLSFiles(str(ca.cert_path), str(cert), str(key))))
        try:
            assert (await eng.info()).architecture
            assert isinstance(await eng.containers.list({}, all=True), list)
        finally:
            await eng.close()
        for files in (TLSFiles(str(other.cert_path), str(cert), str(key)), TLSFiles(str(ca.cert_path))):
            address = EngineAddress.parse(url + "/", tls=files)  # another URL: the API version is not cached
            with pytest.raises(exc.ConnectionError):
                await DockerEngine.open_at(address)


def test_tls_files_from_a_docker_cert_directory(tmp_path: Path) -> None:
    with pytest.raises(exc.InvalidError, match=r"no ca\.pem"):
        TLSFiles.from_dir(str(tmp_path))
    (tmp_path / "ca.pem").write_text("x")
    assert TLSFiles.from_dir(str(tmp_path)) == TLSFiles(str(tmp_path / "ca.pem"))  # no client pair: none sent
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    assert TLSFiles.from_dir(str(tmp_path)).key == str(tmp_path / "key.pem")
    with pytest.raises(exc.InvalidError, match="cannot load the engine TLS files"):
        TLSFiles.from_dir(str(tmp_path)).context()
