"""``Tunnel``: how to reach one port of a sandbox from outside it (Modal's ``modal._tunnel.Tunnel``), and
``ca_cert_path()``: the certificate that verifies encrypted tunnels.

Returned by ``Sandbox.tunnels()``. An encrypted (or h2) port is served by a local TLS terminator whose certificate
is signed by this user's local CA: ``unencrypted_host`` is ``""`` and ``unencrypted_port`` is ``0``. An unencrypted
port is a plain TCP relay, and both pairs name it.
"""

from __future__ import annotations

import datetime

import attrs

from ._engine.tls import LocalCA
from .exception import InvalidError, deprecation_warning


def _port(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise InvalidError(f"Tunnel.{attribute.name} must be an integer in [0, 65535], got {value!r}")


def _host(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str):
        raise InvalidError(f"Tunnel.{attribute.name} must be a string, got {value!r}")


@attrs.frozen
class Tunnel:
    """A port forwarded from a running sandbox: ``host``/``port`` for TLS, ``unencrypted_host``/``unencrypted_port``
    for plain TCP (``""``/``0`` when the port is encrypted)."""

    host: str = attrs.field(validator=_host)
    port: int = attrs.field(validator=_port)
    unencrypted_host: str = attrs.field(validator=_host)
    unencrypted_port: int = attrs.field(validator=_port)

    @property
    def url(self) -> str:
        """``https://host`` (with ``:port`` unless it is 443). Warns with ``DeprecationError`` on an unencrypted
        tunnel, as Modal does: declare the port in ``encrypted_ports`` for HTTPS."""
        if self.unencrypted_host:
            deprecation_warning(
                datetime.date(2026, 3, 5),
                "`.url` on unencrypted tunnels will be deprecated in a future release. "
                "For HTTPS, use an encrypted tunnel instead: with `forward()`, call "
                "`forward(port)` without `unencrypted=True`; with sandboxes, declare the port "
                "in `encrypted_ports` instead of `unencrypted_ports`.",
            )
        value = f"https://{_bracketed(self.host)}"
        if self.port != 443:
            value += f":{self.port}"
        return value

    @property
    def tls_socket(self) -> tuple[str, int]:
        """The TLS endpoint as ``(host, port)``."""
        return (self.host, self.port)

    @property
    def tcp_socket(self) -> tuple[str, int]:
        """The plain TCP endpoint as ``(host, port)``; ``InvalidError`` on an encrypted tunnel."""
        if not self.unencrypted_host:
            raise InvalidError(
                "This tunnel is not configured for unencrypted TCP. Please use `forward(..., unencrypted=True)`."
            )
        return (self.unencrypted_host, self.unencrypted_port)


def _bracketed(host: str) -> str:
    """An IPv6 literal in brackets, as a URL needs it; anything else unchanged."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def ca_cert_path() -> str:
    """The path of this user's local CA certificate (PEM), which signs the certificates of encrypted tunnels (and
    of the connect-token proxy when it listens beyond loopback). Give it to clients so they verify them:
    ``ssl.create_default_context(cafile=path)``, ``requests.get(url, verify=path)``, ``curl --cacert path``,
    ``SSL_CERT_FILE=path``.

    The CA is created on first use, in ``$SANDBOX_CORE_CA_DIR``, else ``$XDG_DATA_HOME/sandbox-core/ca``, else
    ``~/.local/share/sandbox-core/ca`` (directory mode 0700, private key ``ca.key`` mode 0600; delete the directory
    to replace the CA). The supervisor uses the directory named by the environment of the process that started it.
    Raises ``InvalidError`` when the CA there is damaged or its key readable by others, ``PermissionDeniedError``
    when the directory cannot be created.
    """
    return str(LocalCA.load_or_create().cert_path)
