"""The local CA: created once with private files, reused, signing leaves that verify only against it."""

from __future__ import annotations

import asyncio
import datetime
import os
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sandbox_core._engine import tls
from sandbox_core._engine.tls import LocalCA, server_context
from sandbox_core.exception import InvalidError


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_ca_is_created_once_with_private_key_and_directory(tmp_path: Path) -> None:
    d = tmp_path / "ca"
    first = LocalCA.load_or_create(d)
    assert first.cert_path == d / "ca.pem" and first.cert_path.exists()
    assert mode(d / "ca.key") == 0o600
    assert mode(d) == 0o700
    again = LocalCA.load_or_create(d)
    assert again.cert.serial_number == first.cert.serial_number


def test_ca_dir_follows_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CORE_CA_DIR", str(tmp_path / "explicit"))
    assert tls.ca_dir() == tmp_path / "explicit"
    monkeypatch.delenv("SANDBOX_CORE_CA_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert tls.ca_cert_path() == tmp_path / "xdg" / "sandbox-core" / "ca" / "ca.pem"


def test_ca_is_a_constrained_ca(ca: LocalCA) -> None:
    bc = ca.cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca and bc.value.path_length == 0
    assert ca.cert.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    d = tmp_path / "ca"
    LocalCA.load_or_create(d)
    os.chmod(d / "ca.key", 0o644)
    with pytest.raises(InvalidError, match="readable by other users"):
        LocalCA.load_or_create(d)


def test_leaf_names_and_private_key(ca: LocalCA) -> None:
    files = ca.leaf_for(["localhost", "127.0.0.1", "::1", "tunnels.example"])
    assert mode(files.key) == 0o600
    leaf = x509.load_pem_x509_certificate(files.cert.read_bytes())
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "tunnels.example"]
    assert [str(a) for a in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.leaf_for(["tunnels.example", "::1", "127.0.0.1", "localhost"]) == files  # same set, same files


def test_leaf_near_expiry_is_reissued(tmp_path: Path) -> None:
    ca = LocalCA.load_or_create(tmp_path / "ca")
    files = ca.leaf_for(["localhost"])
    cert_pem, key_pem = ca.issue(["localhost"], validity=datetime.timedelta(days=2))
    files.cert.write_bytes(cert_pem)
    files.key.write_bytes(key_pem)
    renewed = x509.load_pem_x509_certificate(ca.leaf_for(["localhost"]).cert.read_bytes())
    assert renewed.not_valid_after_utc - datetime.datetime.now(datetime.UTC) > datetime.timedelta(days=60)


@pytest.mark.parametrize("names", [[], "localhost", ["bad name"], ["a..b"], ["-a.b"], [""]])
def test_bad_names_are_refused(ca: LocalCA, names: list[str]) -> None:
    with pytest.raises(InvalidError):
        ca.leaf_for(names)


async def _serve_tls(ctx: ssl.SSLContext) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello")
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)


async def test_leaf_verifies_with_the_ca_and_not_without(ca: LocalCA, client_tls: ssl.SSLContext) -> None:
    server = await _serve_tls(server_context(ca.leaf_for()))
    port = server.sockets[0].getsockname()[1]
    try:
        for host in ("localhost", "127.0.0.1"):
            reader, writer = await asyncio.open_connection(host, port, ssl=client_tls)
            assert await reader.read() == b"hello"
            writer.close()
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection("127.0.0.1", port, ssl=ssl.create_default_context())
        other = LocalCA.load_or_create(Path(str(ca.directory) + "-other"))
        with pytest.raises(ssl.SSLCertVerificationError):
            await asyncio.open_connection("127.0.0.1", port, ssl=ssl.create_default_context(cafile=other.cert_path))
    finally:
        server.close()
        await server.wait_closed()


def test_a_new_ca_in_the_same_directory_reissues_the_leaves(tmp_path: Path) -> None:
    d = tmp_path / "ca"
    old_leaf = LocalCA.load_or_create(d).leaf_for(["localhost"]).cert.read_bytes()
    (d / "ca.pem").unlink()
    (d / "ca.key").unlink()
    new_ca = LocalCA.load_or_create(d)
    leaf = x509.load_pem_x509_certificate(new_ca.leaf_for(["localhost"]).cert.read_bytes())
    assert leaf.public_bytes(serialization.Encoding.PEM) != old_leaf
    leaf.verify_directly_issued_by(new_ca.cert)


def test_a_damaged_ca_is_an_invalid_error(tmp_path: Path) -> None:
    d = tmp_path / "ca"
    LocalCA.load_or_create(d)
    (d / "ca.key").unlink()
    with pytest.raises(InvalidError, match="delete the directory"):
        LocalCA.load_or_create(d)
