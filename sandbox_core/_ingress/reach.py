"""How the host reaches a port of a sandbox: through its *port owner* (the container whose network namespace the
sandbox uses: its network holder when it has one, else the sandbox itself), either at the owner's address on the
engine's network — when this host is on that network — or at the port the engine published on loopback.

The owner's address is preferred: one hop fewer than the engine's userland proxy. It is used only when the
network's gateway is one of this host's own addresses (a local engine on a bridge); published ports serve
everywhere else (rootless engines, engines in a VM). A port that was not declared has no published port, so
reaching it needs the address.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from .._engine import EngineAPI
from .._engine.errors import NoSuchContainer
from .._engine.inbound import ALLOW_ALL, CidrAllowlist
from .._engine.netholder import network_facts
from .._engine.netpolicy import LABEL_INBOUND, NET_HOLDER, local_host_addresses
from .._engine.values import ContainerInfo
from ..exception import Error
from .spec import PUBLISH_HOST

_LOCAL_CACHE_SECONDS = 30.0
_local: tuple[float, frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]] = (-1e9, frozenset())


def port_owner(labels: Mapping[str, str], ref: str) -> str:
    """The ref of the container that owns the network namespace (and the published ports) of the sandbox with
    container ``ref`` and ``labels``."""
    return labels.get(NET_HOLDER) or ref


async def owner_info(eng: EngineAPI, labels: Mapping[str, str], ref: str) -> ContainerInfo | None:
    """The port owner's description, or None when it is gone."""
    try:
        return await eng.containers.inspect(port_owner(labels, ref))
    except NoSuchContainer:
        return None


def _host_addresses() -> frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    global _local
    if time.monotonic() - _local[0] > _LOCAL_CACHE_SECONDS:
        _local = (time.monotonic(), frozenset(n.network_address for n in local_host_addresses()))
    return _local[1]


async def container_address(eng: EngineAPI, owner: ContainerInfo) -> str | None:
    """The owner's address on a network this host is on (its gateway is a local address), else None."""
    for endpoint in owner.networks:
        if not endpoint.ip_address:
            continue
        try:
            facts = await network_facts(eng, endpoint.network)
        except Error:
            continue
        if facts.gateway_v4 is not None and facts.gateway_v4 in _host_addresses():
            return endpoint.ip_address
    return None


def published(owner: ContainerInfo, port: int) -> tuple[str, int] | None:
    """Where the engine published container ``port`` (TCP), or None."""
    for p in owner.ports:
        if p.container_port == port and p.protocol == "tcp" and p.host_port:
            return (p.host_ip if p.host_ip not in ("", "0.0.0.0", "::") else PUBLISH_HOST, p.host_port)
    return None


async def upstream(eng: EngineAPI, owner: ContainerInfo, port: int) -> tuple[str, int] | None:
    """Where this host connects to reach container ``port``: the owner's address when reachable, else the published
    port, else None."""
    address = await container_address(eng, owner)
    if address is not None:
        return (address, port)
    return published(owner, port)


def inbound_allowlist(*label_sets: Mapping[str, str]) -> CidrAllowlist:
    """The sandbox's ``inbound_cidr_allowlist`` from the first of ``label_sets`` (the sandbox's, then its port
    owner's) that records one; everyone when none does."""
    for labels in label_sets:
        if LABEL_INBOUND in labels:
            return CidrAllowlist.parse([c for c in labels[LABEL_INBOUND].split(",") if c])
    return ALLOW_ALL


def engine_is_local(eng: EngineAPI) -> bool:
    """True when the engine runs on this host (a unix socket, or TCP to one of this host's addresses): only then do
    the ports it publishes on loopback reach the supervisor."""
    parts = urlsplit(eng.endpoint)
    if parts.scheme == "unix":
        return True
    try:
        address = ipaddress.ip_address(parts.hostname or "")
    except ValueError:
        return parts.hostname == "localhost"
    return address.is_loopback or address in _host_addresses()
