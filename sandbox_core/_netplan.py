"""How a sandbox is networked, decided from ``Sandbox.create``'s arguments and the process-wide switches.

- ``block_network=True``: no network at all (the engine's ``none`` mode), no holder.
- Otherwise a *holder* container owns the sandbox's network namespace and enforces a ``NetworkPolicy`` there
  (``_engine/netholder.py``): the allowlists given and, by default, *isolation*: other sandboxes, the host's
  services and private networks are fenced off, while the host can still open connections to the sandbox (published
  ports, the tunnel relays). Ports are published on the holder.
- ``SANDBOX_CORE_ISOLATION=0`` turns isolation off process-wide: a sandbox without an allowlist is then a plain
  container on the engine's default bridge (it reaches its neighbours and the host), and one with an allowlist gets
  a holder without the fence.

``SANDBOX_CORE_EGRESS_DNS`` (comma-separated IP addresses) names the resolvers the holder's DNS forwarder asks
instead of those of the engine's ``resolv.conf``.
"""

from __future__ import annotations

import ipaddress
import os
import time
from collections.abc import Sequence
from typing import Any

import attrs

from ._engine.netpolicy import FENCE_V4, FENCE_V6, local_host_addresses
from ._engine.values import PortBinding
from ._netpolicy_types import EgressPolicy, InboundPolicy, Network, NetworkPolicy
from .exception import InvalidError

ISOLATION_ENV = "SANDBOX_CORE_ISOLATION"
DNS_ENV = "SANDBOX_CORE_EGRESS_DNS"
#: The engine network sandboxes (and their holders) are attached to.
DEFAULT_NETWORK = "bridge"
#: Where published ports listen on the host: the tunnel relays, on the host, are their only intended clients.
PUBLISH_HOST_IP = "127.0.0.1"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def isolation_enabled() -> bool:
    """Whether sandboxes are isolated by default (``SANDBOX_CORE_ISOLATION``, default on)."""
    raw = os.environ.get(ISOLATION_ENV, "1").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise InvalidError(f"{ISOLATION_ENV} must be 1 (isolate sandboxes, the default) or 0, got {raw!r}")


def dns_upstream() -> tuple[str, ...]:
    """The resolvers named by ``SANDBOX_CORE_EGRESS_DNS`` (empty: the engine's ``resolv.conf``)."""
    raw = os.environ.get(DNS_ENV, "")
    out: list[str] = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            out.append(str(ipaddress.ip_address(part)))
        except ValueError:
            raise InvalidError(f"{DNS_ENV} must list IP addresses separated by commas, got {part!r}") from None
    return tuple(out)


_fence_cache: tuple[float, tuple[Network, ...]] | None = None
_FENCE_SECONDS = 30.0


def _fenced(net: Network) -> bool:
    if isinstance(net, ipaddress.IPv4Network):
        return any(net.subnet_of(f) for f in FENCE_V4)
    return any(net.subnet_of(f) for f in FENCE_V6)


def host_fence() -> tuple[Network, ...]:
    """This host's own addresses that the standard fence does not already cover (e.g. a public address on an
    interface), sorted so that every process computes the same policy; remembered for 30 s."""
    global _fence_cache
    if _fence_cache is not None and time.monotonic() - _fence_cache[0] < _FENCE_SECONDS:
        return _fence_cache[1]
    own = [n for n in local_host_addresses() if not _fenced(n)]
    result = tuple(sorted(own, key=lambda n: (n.version, n.network_address.packed)))
    _fence_cache = (time.monotonic(), result)
    return result


def isolated_policy() -> NetworkPolicy:
    """The policy of an isolated sandbox without allowlists (what pooled holders start with)."""
    return NetworkPolicy(isolate=True, extra_fence=host_fence())


@attrs.frozen
class NetworkPlan:
    """A sandbox's network: none (``block``), plain (no ``policy``: the engine's bridge), or a holder enforcing
    ``policy``; ``ports`` are published on the holder (or on the sandbox when plain)."""

    block: bool = False
    policy: NetworkPolicy | None = None
    ports: tuple[PortBinding, ...] = ()
    dns_upstream: tuple[str, ...] = ()
    network: str = DEFAULT_NETWORK

    @property
    def uses_holder(self) -> bool:
        return self.policy is not None

    @property
    def poolable(self) -> bool:
        """Whether a pre-started isolated holder fits: ports cannot be added to a running container, an inbound
        allowlist and DNS upstreams shape the holder's own labels and config."""
        p = self.policy
        return (
            p is not None
            and p.isolate
            and not self.ports
            and p.inbound.cidrs is None
            and not self.dns_upstream
            and self.network == DEFAULT_NETWORK
        )


def _port_list(param: str, value: Any) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
        raise InvalidError(f"`{param}` must be a list of port numbers, got {type(value).__name__}")
    for p in value:
        if not isinstance(p, int) or isinstance(p, bool) or not 1 <= p <= 65535:
            raise InvalidError(f"`{param}` entries must be port numbers between 1 and 65535, got {p!r}")
    return list(value)


def port_bindings(
    encrypted_ports: Any = (), h2_ports: Any = (), unencrypted_ports: Any = ()
) -> tuple[PortBinding, ...]:
    """Each container port of Modal's three port lists, published once on ``PUBLISH_HOST_IP`` at a port the engine
    picks. ``InvalidError`` for anything but port numbers."""
    ports: dict[int, None] = {}
    for param, value in (
        ("encrypted_ports", encrypted_ports),
        ("h2_ports", h2_ports),
        ("unencrypted_ports", unencrypted_ports),
    ):
        ports.update(dict.fromkeys(_port_list(param, value)))
    return tuple(PortBinding(p, host_ip=PUBLISH_HOST_IP) for p in ports)


def plan_network(
    *,
    block_network: bool,
    outbound_cidr_allowlist: Any,
    outbound_domain_allowlist: Any,
    inbound_cidr_allowlist: Any,
    ports: tuple[PortBinding, ...] = (),
) -> NetworkPlan:
    """The plan for these ``Sandbox.create`` arguments, checked in Modal's order: an allowlist with
    ``block_network`` first (inbound, outbound CIDRs, domains), then each list's entries."""
    if block_network:
        for param, value in (
            ("inbound_cidr_allowlist", inbound_cidr_allowlist),
            ("outbound_cidr_allowlist", outbound_cidr_allowlist),
            ("outbound_domain_allowlist", outbound_domain_allowlist),
        ):
            if value is not None:
                raise InvalidError(f"`{param}` cannot be used when `block_network` is enabled")
        return NetworkPlan(block=True)
    egress = EgressPolicy.build(outbound_cidr_allowlist, outbound_domain_allowlist)
    # Modal sends None as an empty list, so an empty inbound allowlist means "everyone" there too.
    inbound = InboundPolicy.build(inbound_cidr_allowlist or None)
    isolate = isolation_enabled()
    if egress.open and inbound.cidrs is None and not isolate:
        return NetworkPlan(ports=ports)
    policy = NetworkPolicy(egress=egress, inbound=inbound, isolate=isolate, extra_fence=host_fence() if isolate else ())
    return NetworkPlan(policy=policy, ports=ports, dns_upstream=dns_upstream())
