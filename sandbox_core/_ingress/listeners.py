"""Where the supervisor listens for tunnels and connect tokens, and with which certificates.

- ``SANDBOX_CORE_TUNNEL_HOST``: the address tunnel listeners and the token proxy bind (default ``127.0.0.1``;
  ``0.0.0.0`` or a specific address for a service that fronts this host). The supervisor reads it when it
  starts, from the environment of the process that started it.
- ``SANDBOX_CORE_TUNNEL_PUBLIC_HOST``: the host name or address tunnels and token URLs name (default: the bind
  address; this host's name when that is a wildcard). It is among the names of the TLS certificate.

Encrypted tunnels present a leaf certificate of the local CA (``_engine/tls.py``) for ``localhost``, ``127.0.0.1``,
``::1`` and the public host. The token proxy speaks plain HTTP on loopback and TLS on any other address (a token must
not cross a network in clear text).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl

import attrs

from .._engine import tls
from ..exception import InvalidError
from .spec import PortKind

HOST_ENV = "SANDBOX_CORE_TUNNEL_HOST"
PUBLIC_HOST_ENV = "SANDBOX_CORE_TUNNEL_PUBLIC_HOST"
DEFAULT_HOST = "127.0.0.1"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _is_wildcard(host: str) -> bool:
    return host in ("0.0.0.0", "::", "")


def bracketed(host: str) -> str:
    """``host`` as it goes into a URL (an IPv6 literal in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


@attrs.frozen
class ListenConfig:
    """The bind address and the advertised host of every listener."""

    bind_host: str
    public_host: str

    @classmethod
    def from_env(cls) -> ListenConfig:
        """From ``SANDBOX_CORE_TUNNEL_HOST``/``_PUBLIC_HOST``; ``InvalidError`` naming a malformed value."""
        bind = os.environ.get(HOST_ENV, "").strip() or DEFAULT_HOST
        try:
            ipaddress.ip_address(bind)
        except ValueError:
            if bind != "localhost":
                raise InvalidError(
                    f"{HOST_ENV} must be an IP address to listen on (127.0.0.1, 0.0.0.0, ::, or one of this host's "
                    f"addresses), got {bind!r}"
                ) from None
        public = os.environ.get(PUBLIC_HOST_ENV, "").strip()
        if not public:
            public = socket.gethostname() if _is_wildcard(bind) else bind
        return cls(bind, public)

    @property
    def loopback_only(self) -> bool:
        return _is_loopback(self.bind_host)

    def certificate_names(self) -> tuple[str, ...]:
        names = list(tls.DEFAULT_NAMES)
        for extra in (self.public_host, self.bind_host):
            if extra not in names and not _is_wildcard(extra):
                names.append(extra)
        return tuple(names)


class TlsContexts:
    """Server contexts for encrypted (HTTP/1.1) and h2 listeners, built on first use from the local CA."""

    def __init__(self, config: ListenConfig) -> None:
        self._config = config
        self._contexts: dict[PortKind, ssl.SSLContext] = {}

    def for_kind(self, kind: PortKind) -> ssl.SSLContext | None:
        """The context for a port of ``kind`` (None for plain TCP). ``InvalidError``/``PermissionDeniedError``
        when the CA cannot be loaded or created."""
        if not kind.encrypted:
            return None
        ctx = self._contexts.get(kind)
        if ctx is None:
            leaf = tls.LocalCA.load_or_create().leaf_for(self._config.certificate_names())
            ctx = tls.server_context(leaf, tls.ALPN_H2 if kind is PortKind.H2 else tls.ALPN_HTTP1)
            self._contexts[kind] = ctx
        return ctx
