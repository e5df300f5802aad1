"""What every tunnel relay and the connect-token proxy apply to an inbound connection: a CIDR allowlist on the
peer address, and a throttled activity signal (a sandbox's ``idle_timeout`` counts tunnel traffic)."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from .. import exception as exc

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: How often, at most, one meter reports traffic: idle deadlines are whole seconds, so finer reports are waste.
ACTIVITY_INTERVAL = 1.0


def _networks(cidrs: Iterable[str]) -> tuple[IPNetwork, ...]:
    nets: list[IPNetwork] = []
    for cidr in cidrs:
        if not isinstance(cidr, str):
            raise exc.InvalidError(f"an inbound CIDR must be a string such as '10.0.0.0/8', got {cidr!r}")
        try:
            nets.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise exc.InvalidError(
                f"{cidr!r} is not a CIDR range: use an address with a prefix length, such as '10.0.0.0/8', "
                "'192.168.1.7/32' or '2001:db8::/32'"
            ) from None
    return tuple(nets)


@attrs.frozen
class CidrAllowlist:
    """The peers allowed to connect. ``None`` networks means everyone; an empty tuple means no one.

    IPv4 peers that arrive as IPv4-mapped IPv6 addresses (a dual-stack listener) are matched as IPv4.
    """

    networks: tuple[IPNetwork, ...] | None = None

    @classmethod
    def parse(cls, cidrs: Iterable[str] | None) -> CidrAllowlist:
        """Build from CIDR strings (``None``: allow all); raises ``InvalidError`` naming a malformed entry."""
        return cls(None if cidrs is None else _networks(cidrs))

    def allows(self, peer: str | None) -> bool:
        """True when ``peer`` (an address string, as ``getpeername()[0]`` gives it) may connect. A peer without an
        IP address (a unix socket) is allowed only when every peer is."""
        if self.networks is None:
            return True
        if not peer:
            return False
        try:
            addr: IPAddress = ipaddress.ip_address(peer.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in net for net in self.networks)


ALLOW_ALL = CidrAllowlist()


def peer_host(peername: Any) -> str | None:
    """The address part of a transport's ``peername`` extra (a tuple for IP sockets), else None."""
    if isinstance(peername, tuple) and peername and isinstance(peername[0], str):
        return peername[0]
    return None


class ActivityMeter:
    """Calls ``callback`` on the first ``touch`` and then at most once per ``interval`` seconds.

    ``touch`` is cheap (one monotonic clock read), so it can sit in a byte pump's loop. The callback must be
    cheap and must not raise: it runs inline in the pump.
    """

    __slots__ = ("_callback", "_interval", "_next")

    def __init__(self, callback: Callable[[], None], interval: float = ACTIVITY_INTERVAL) -> None:
        self._callback = callback
        self._interval = interval
        self._next = 0.0

    def touch(self) -> None:
        """Note traffic now."""
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self._interval
            self._callback()
