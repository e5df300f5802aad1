"""The local certificate authority behind encrypted tunnels: created once per user, it signs short-lived leaf
certificates for the names tunnels are served under.

Files, in ``ca_dir()`` (``$SANDBOX_CORE_CA_DIR``, else ``$XDG_DATA_HOME/sandbox-core/ca``, else
``~/.local/share/sandbox-core/ca``; the directory is mode 0700):

- ``ca.pem``     the CA certificate: give it to clients so they can verify tunnels (``ssl.create_default_context(
                 cafile=...)``, ``curl --cacert``, ``requests(verify=...)``, ``SSL_CERT_FILE``);
- ``ca.key``     its private key, mode 0600;
- ``leaf-<digest>.pem`` / ``.key``   a leaf for one set of names (key mode 0600), reissued before it expires.

Keys are ECDSA P-256 (signing a CA plus a leaf takes well under a millisecond). The CA may sign end-entity
certificates only (``pathlen:0``). Creation is serialised across processes by an flock on ``.lock``, and every file
is written to a temporary name and renamed, so a reader never sees half a file. All functions block on small file
I/O only and are fine to call from an event loop at setup time.
"""

from __future__ import annotations

import datetime
import fcntl
import getpass
import hashlib
import ipaddress
import os
import re
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .. import exception as exc

CA_VALIDITY = datetime.timedelta(days=3650)
LEAF_VALIDITY = datetime.timedelta(days=90)
#: A leaf with less than this left is replaced by the next ``leaf_for``.
LEAF_RENEW_BEFORE = datetime.timedelta(days=30)
#: Backdating absorbs clock skew between this host and a client.
BACKDATE = datetime.timedelta(hours=1)

DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
#: ALPN offers: an ``h2_ports`` terminator prefers HTTP/2; any other encrypted port offers HTTP/1.1 only.
ALPN_H2 = ("h2", "http/1.1")
ALPN_HTTP1 = ("http/1.1",)
_DNS_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def ca_dir() -> Path:
    """The directory holding this user's CA (see the module docstring for how it is chosen)."""
    explicit = os.environ.get("SANDBOX_CORE_CA_DIR")
    if explicit:
        return Path(explicit)
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data_home) / "sandbox-core" / "ca"


def ca_cert_path(directory: Path | None = None) -> Path:
    """The path of the CA certificate (it exists once ``LocalCA.load_or_create`` has run)."""
    return (directory or ca_dir()) / "ca.pem"


@attrs.frozen
class CertFiles:
    """A certificate and its private key on disk (PEM)."""

    cert: Path
    key: Path


@attrs.frozen
class LocalCA:
    """A loaded CA: its certificate, key and directory. Build with ``load_or_create``."""

    directory: Path
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey = attrs.field(repr=False)

    @property
    def cert_path(self) -> Path:
        """Where the CA certificate is (what clients pass as their CA file)."""
        return ca_cert_path(self.directory)

    @classmethod
    def load_or_create(cls, directory: Path | None = None) -> LocalCA:
        """Load the CA in ``directory`` (default ``ca_dir()``), creating it on first use.

        Raises ``InvalidError`` when the key is readable by other users, does not match the certificate or a file
        is missing or damaged, and ``PermissionDeniedError`` when the directory cannot be created or read.
        """
        directory = directory or ca_dir()
        try:
            with _locked(directory):
                if not ca_cert_path(directory).exists():
                    key = ec.generate_private_key(ec.SECP256R1())
                    _write(directory / "ca.key", _key_pem(key), 0o600)
                    _write(ca_cert_path(directory), _ca_certificate(key).public_bytes(serialization.Encoding.PEM))
                cert, ca_key = _load_pair(CertFiles(ca_cert_path(directory), directory / "ca.key"))
        except PermissionError as e:
            raise exc.PermissionDeniedError(f"cannot use the CA directory {directory}: {e.strerror}") from None
        except (OSError, ValueError) as e:
            raise exc.InvalidError(
                f"the CA in {directory} is damaged ({e}); delete the directory to make a new one"
            ) from None
        return cls(directory, cert, ca_key)

    def issue(self, names: Sequence[str], *, validity: datetime.timedelta = LEAF_VALIDITY) -> tuple[bytes, bytes]:
        """A new leaf for ``names`` (host names or IP addresses; the first one is the subject's CN), as
        ``(certificate PEM, private key PEM)``. Raises ``InvalidError`` on an empty or malformed name."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        ca_ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, _checked_names(names)[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + validity)
            .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM), _key_pem(key)

    def leaf_for(self, names: Sequence[str] = DEFAULT_NAMES) -> CertFiles:
        """The on-disk leaf for ``names`` (order-insensitive), issuing one when there is none, it expires within
        ``LEAF_RENEW_BEFORE``, or this CA did not sign it."""
        names = _checked_names(names)
        digest = hashlib.sha256("\0".join(sorted(set(names))).encode()).hexdigest()[:16]
        files = CertFiles(self.directory / f"leaf-{digest}.pem", self.directory / f"leaf-{digest}.key")
        with _locked(self.directory):
            if not self._leaf_usable(files):
                cert_pem, key_pem = self.issue(names)
                _write(files.key, key_pem, 0o600)
                _write(files.cert, cert_pem)
        return files

    def _leaf_usable(self, files: CertFiles) -> bool:
        try:
            cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
        except (OSError, ValueError):
            return False
        left = cert.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
        if not files.key.exists() or left <= LEAF_RENEW_BEFORE:
            return False
        try:
            cert.verify_directly_issued_by(self.cert)
        except (ValueError, TypeError, InvalidSignature):
            return False  # signed by an earlier CA of this directory
        return True


def server_context(leaf: CertFiles, alpn: Sequence[str] = ALPN_HTTP1) -> ssl.SSLContext:
    """A TLS server context (TLS 1.2+) presenting ``leaf`` and offering ``alpn`` in preference order. A client
    offering none of them still completes the handshake, with no protocol selected."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(leaf.cert, leaf.key)
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


# ------------------------------------------------------------------------------------------------ helpers


def _checked_names(names: Sequence[str]) -> list[str]:
    if isinstance(names, str) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise exc.InvalidError(f"certificate names must be a non-empty list of host names or addresses: {names!r}")
    for name in names:
        _general_name(name)
    return list(names)


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        pass
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_name = ""
    labels = ascii_name.split(".")
    if labels and labels[0] == "*":  # a wildcard stands for one leftmost label
        labels = labels[1:]
    if not labels or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        raise exc.InvalidError(f"{name!r} is neither an IP address nor a valid host name")
    return x509.DNSName(ascii_name)


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    try:
        owner = f"{getpass.getuser()}@{socket.gethostname()}"
    except (KeyError, OSError):
        owner = f"uid {os.getuid()}"
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sandbox-core"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"sandbox-core local CA ({owner})"[:64]),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_pair(files: CertFiles) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    mode = files.key.stat().st_mode & 0o777
    if mode & 0o077:
        raise exc.InvalidError(
            f"the CA key {files.key} is readable by other users (mode {mode:04o}): anyone who read it can "
            "impersonate any tunnel; delete the directory to create a new CA"
        )
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    key = serialization.load_pem_private_key(files.key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != cert.public_key():
        raise exc.InvalidError(f"the CA key {files.key} does not belong to {files.cert}; delete the directory")
    return cert, key


def _write(path: Path, data: bytes, mode: int = 0o644) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(fd, mode)  # the umask must not change what we ask for
        f.write(data)
        f.flush()
        os.fsync(fd)
    os.replace(tmp, path)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
