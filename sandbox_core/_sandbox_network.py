"""``Sandbox``'s networking methods: the outbound policy of a running sandbox, tunnels, connect tokens and
readiness. A base class of ``Sandbox`` (the same object; these methods only use its link and tunnel cache)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _network
from ._connect import SandboxConnectCredentials
from ._engine import get_engine
from ._ingress import client as ingress
from ._link import SandboxLink
from ._netpolicy_types import EgressPolicy
from ._tunnel import Tunnel

__all__ = ["SandboxNetworking"]


class SandboxNetworking:
    """The networking part of ``Sandbox``'s API."""

    __slots__ = ("_tunnels",)
    _link: SandboxLink
    _tunnels: dict[int, Tunnel] | None

    async def _experimental_set_outbound_network_policy(
        self,
        *,
        outbound_cidr_allowlist: Sequence[str] | None = None,
        outbound_domain_allowlist: Sequence[str] | None = None,
    ) -> None:
        """Replace the outbound network policy of the running sandbox: with either list given, only what the lists
        allow (as at ``create``); with neither, open egress (still isolated from other sandboxes and the host,
        unless isolation is off). Established connections the new policy no longer allows are cut.

        Raises ``InvalidError`` for a bad entry or a sandbox without an enforcement point (``block_network``),
        ``ConflictError`` when it has finished.
        """
        self._link.check_attached()
        egress = EgressPolicy.build(outbound_cidr_allowlist, outbound_domain_allowlist)
        eng = await get_engine()
        await _network.set_outbound_policy(eng, self._link.ref, egress)

    async def tunnels(self, timeout: int = 50) -> dict[int, Tunnel]:
        """container port -> ``Tunnel`` for each declared port; ``{}`` for a sandbox without ports.

        Waits up to ``timeout`` seconds for the supervisor to open them and raises ``SandboxTimeoutError`` if it
        does not (or the sandbox has finished). The answer is cached on this handle once non-empty.

        Every tunnel listens on ``127.0.0.1`` (``SANDBOX_CORE_TUNNEL_HOST`` changes the address, in the environment
        of the process that starts the supervisor) at a port of its own, until the sandbox ends; the creating process
        may exit meanwhile. An ``unencrypted_ports`` tunnel relays plain TCP (``tcp_socket``). An ``encrypted_ports``
        tunnel terminates TLS with a certificate of this user's local CA — trust ``sandbox_core.ca_cert_path()`` —
        and relays the decrypted bytes (``url``, ``tls_socket``); ``h2_ports`` also offer HTTP/2 by ALPN, for a
        server that speaks cleartext HTTP/2. Only peers in ``inbound_cidr_allowlist`` may connect.
        """
        if self._tunnels:
            return self._tunnels
        self._link.check_attached()
        found = await ingress.tunnels(self._link, timeout)
        if found:
            self._tunnels = found
        return found

    async def create_connect_token(
        self, user_metadata: str | dict[str, Any] | None = None, port: int = 8080
    ) -> SandboxConnectCredentials:
        """A token for HTTP and WebSocket requests to container ``port`` through the supervisor's token proxy.

        Send requests to ``credentials.url`` with ``Authorization: Bearer <token>`` (or the query parameter
        ``_modal_connect_token=<token>``); they are forwarded to the port (declared or not) with
        ``user_metadata`` (a dict is sent as JSON) in the ``X-Verified-User-Data`` header, which clients cannot
        set themselves. A missing or wrong token gets 401, a peer outside ``inbound_cidr_allowlist`` 403. Tokens
        are 256 random bits, stored only hashed, and die with the sandbox.

        Raises ``InvalidError`` for a bad ``port`` or ``user_metadata`` (Modal's checks; also one over 8 KiB or with
        line breaks), for a sandbox without network, or for an undeclared port this host cannot reach;
        ``ConflictError`` once the sandbox has finished.
        """
        metadata = ingress.check_token_arguments(user_metadata, port)
        return await ingress.create_connect_token(self._link, metadata, port)

    async def wait_until_ready(self, *, timeout: int = 300) -> None:
        """Return once the sandbox's ``readiness_probe`` has succeeded (the supervisor runs it from the start).

        Raises ``InvalidError`` unless ``timeout`` > 0, ``ConflictError`` for a finished sandbox (also one that ends
        while waiting) or one without a probe ("Sandbox does not have a readiness probe configured"),
        ``sandbox_core.exception.TimeoutError("Timeout expired")`` after ``timeout`` seconds.
        """
        await ingress.wait_until_ready(self._link, timeout)
