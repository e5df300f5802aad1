"""A sandbox's network policy as the holder container enforces it: iptables rules, helper config, container specs.

The holder owns the sandbox's network namespace (the sandbox joins it with ``NetworkMode: container:<holder>``)
and is the only container with CAP_NET_ADMIN in it. Its entrypoint, ``sandbox-egress run CONFIG``, installs the
rules rendered here (IPv4 and IPv6, verified by reading them back), starts a filtering DNS forwarder and an
HTTP/TLS proxy on loopback, then prints ``READY_LINE``; only then is the sandbox started, so no packet of the
sandbox ever leaves unfiltered. ``sandbox-egress set CONFIG`` (an exec in the holder) replaces the policy.

What the rules do, per family (``SANDBOX-OUT``/``SANDBOX-IN`` in *filter*, ``SANDBOX-NAT`` in *nat*):
- loopback, packets from the helper's marked sockets (SO_MARK needs CAP_NET_ADMIN, which the sandbox lacks),
  and replies on connections opened *to* the sandbox pass;
- allowlisted CIDRs pass directly, re-checked on every packet, so a narrowed policy stops old connections too;
- DNS (udp/tcp 53) to anything but an allowlisted CIDR is redirected to the forwarder, which answers only
  allowlisted names (NXDOMAIN otherwise); with domains, TCP 80 and 443 go to the proxy, which connects to the
  name from the Host header / TLS SNI itself (resolving it upstream), never to the address the sandbox chose;
- OPEN egress with isolation: the fence (host, private, link-local, multicast, reserved ranges) is refused,
  everything else passes; an allowlist refuses everything not listed (TCP reset, ICMP admin-prohibited);
- inbound: new connections from the bridge's subnet other than its gateway (where published ports and the
  host's relays come from) are refused under isolation; with an inbound allowlist only the gateway and the
  listed networks may open connections.

This module is pure: no engine calls (see ``netholder.py``).
"""

from __future__ import annotations

import ipaddress
import itertools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._netpolicy_types import EgressPolicy, InboundPolicy, Network, NetworkPolicy
from . import labels as L
from .values import NetworkInfo

HOLDER_IMAGE = "sandbox-core/netpolicy:1"
READY_LINE = "sandbox-egress: ready"
#: SO_MARK of the helper's upstream sockets. Marks do not cross network namespaces, so any value is private.
MARK = 0x5C0E
DNS_PORT = 15053
HTTP_PORT = 15080
TLS_PORT = 15443

CHAIN_OUT = "SANDBOX-OUT"
CHAIN_IN = "SANDBOX-IN"
CHAIN_NAT = "SANDBOX-NAT"

KIND_HOLDER = "net-holder"
#: On a holder: the sandbox id it serves. On a sandbox: the holder's container id.
HOLDER_OF = L.PREFIX + "holder-of"
NET_HOLDER = L.PREFIX + "net-holder"

#: Holder labels recording the parts of its policy that a later egress change keeps.
LABEL_ISOLATE = L.PREFIX + "net.isolate"
LABEL_INBOUND = L.PREFIX + "net.inbound"
LABEL_FENCE = L.PREFIX + "net.extra-fence"
LABEL_DNS_UPSTREAM = L.PREFIX + "net.dns-upstream"

FENCE_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
FENCE_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/127",
        "::ffff:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    )
)


@attrs.frozen
class NetworkFacts:
    """What the rules need to know about the holder's network: its subnets and gateways (None if absent)."""

    subnet_v4: ipaddress.IPv4Network | None = None
    gateway_v4: ipaddress.IPv4Address | None = None
    subnet_v6: ipaddress.IPv6Network | None = None
    gateway_v6: ipaddress.IPv6Address | None = None

    @classmethod
    def from_network(cls, network: NetworkInfo) -> NetworkFacts:
        """From the network's address pools (the last of each family wins)."""
        facts: dict[str, Any] = {}
        for pool in network.pools:
            net = ipaddress.ip_network(pool.subnet, strict=False)
            fam = "v4" if net.version == 4 else "v6"
            facts[f"subnet_{fam}"] = net
            # The engine leaves an IPv6 gateway out of IPAM when it picked it: the subnet's first address.
            gateway = pool.gateway or str(net.network_address + 1)
            facts[f"gateway_{fam}"] = ipaddress.ip_address(gateway.split("/")[0])
        return cls(**facts)


def local_host_addresses(
    fib_trie: str = "/proc/net/fib_trie", if_inet6: str = "/proc/net/if_inet6"
) -> tuple[Network, ...]:
    """This host's own addresses (IPv4 and IPv6), as single-address networks.

    For a local engine they belong in ``NetworkPolicy.extra_fence``: the fence covers private ranges, but a host
    with a public address on an interface would otherwise serve the sandbox on it. Unreadable files give ().
    """
    found: dict[Network, None] = {}
    try:
        with open(fib_trie) as f:
            lines = f.read().splitlines()
        for prev, line in itertools.pairwise(lines):
            if line.strip() == "/32 host LOCAL" and "|--" in prev:
                found[ipaddress.IPv4Network(prev.split("|--")[1].strip())] = None
        with open(if_inet6) as f:
            for row in f:
                hexaddr = row.split()[0]
                found[ipaddress.IPv6Network(ipaddress.IPv6Address(int(hexaddr, 16)))] = None
    except (OSError, ValueError, IndexError):
        pass
    return tuple(n for n in found if not n.network_address.is_loopback)


def _nets(policy: NetworkPolicy, v6: bool, nets: Sequence[Network] | None) -> list[Network]:
    return [n for n in nets or () if (n.version == 6) == v6]


def _loopback(v6: bool) -> str:
    return "::1/128" if v6 else "127.0.0.0/8"


def _neighbour_discovery(chain: str, types: Sequence[str]) -> list[str]:
    """IPv6 needs these ICMPv6 messages to reach anything on the link; the kernel sends them (crafting one needs
    NET_RAW, which the sandbox lacks) and they never leave the link."""
    return [f"-A {chain} -p ipv6-icmp --icmpv6-type {t} -j ACCEPT" for t in types]


def _out_rules(policy: NetworkPolicy, v6: bool) -> list[str]:
    # OUTPUT's -o is the interface chosen before nat redirected the packet, so traffic redirected to the helper
    # still shows the sandbox's eth0 there: accept it by its new destination.
    out = [f"-A {CHAIN_OUT} -o lo -j ACCEPT", f"-A {CHAIN_OUT} -d {_loopback(v6)} -j ACCEPT"]
    if v6:
        out += _neighbour_discovery(
            CHAIN_OUT, ("router-solicitation", "neighbour-solicitation", "neighbour-advertisement")
        )
    out.append(f"-A {CHAIN_OUT} -m mark --mark {MARK:#x} -j ACCEPT")
    out.append(f"-A {CHAIN_OUT} -m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY -j ACCEPT")
    out += [f"-A {CHAIN_OUT} -d {n} -j ACCEPT" for n in _nets(policy, v6, policy.egress.cidrs)]
    reject = "icmp6-adm-prohibited" if v6 else "icmp-admin-prohibited"
    if policy.egress.open:
        fence = [*(FENCE_V6 if v6 else FENCE_V4), *_nets(policy, v6, policy.extra_fence)] if policy.isolate else []
        for n in fence:
            out.append(f"-A {CHAIN_OUT} -d {n} -p tcp -j REJECT --reject-with tcp-reset")
            out.append(f"-A {CHAIN_OUT} -d {n} -j REJECT --reject-with {reject}")
        out.append(f"-A {CHAIN_OUT} -j ACCEPT")
    else:
        out.append(f"-A {CHAIN_OUT} -p tcp -j REJECT --reject-with tcp-reset")
        out.append(f"-A {CHAIN_OUT} -j REJECT --reject-with {reject}")
    return out


def _in_rules(policy: NetworkPolicy, facts: NetworkFacts, v6: bool) -> list[str]:
    rules = [f"-A {CHAIN_IN} -i lo -j ACCEPT", f"-A {CHAIN_IN} -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"]
    if v6:
        rules += _neighbour_discovery(
            CHAIN_IN, ("router-advertisement", "neighbour-solicitation", "neighbour-advertisement")
        )
    gateway = facts.gateway_v6 if v6 else facts.gateway_v4
    subnet = facts.subnet_v6 if v6 else facts.subnet_v4
    new_reject = [
        f"-A {CHAIN_IN} -p tcp -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset",
        f"-A {CHAIN_IN} -m conntrack --ctstate NEW -j DROP",
    ]
    if policy.inbound.cidrs is not None:
        if gateway is not None:
            rules.append(f"-A {CHAIN_IN} -s {gateway} -j ACCEPT")
        rules += [f"-A {CHAIN_IN} -s {n} -j ACCEPT" for n in _nets(policy, v6, policy.inbound.cidrs)]
        rules += new_reject
    elif policy.isolate and subnet is not None:
        if gateway is not None:
            rules.append(f"-A {CHAIN_IN} -s {gateway} -j ACCEPT")
        rules += [r.replace(f"-A {CHAIN_IN} ", f"-A {CHAIN_IN} -s {subnet} ", 1) for r in new_reject]
    return rules


def _nat_rules(policy: NetworkPolicy, v6: bool) -> list[str]:
    nat = [f"-A {CHAIN_NAT} -m mark --mark {MARK:#x} -j RETURN"]
    nat += [f"-A {CHAIN_NAT} -d {n} -j RETURN" for n in _nets(policy, v6, policy.egress.cidrs)]
    nat += [f"-A {CHAIN_NAT} -p {proto} --dport 53 -j REDIRECT --to-ports {DNS_PORT}" for proto in ("udp", "tcp")]
    if not policy.egress.open and policy.egress.domains:
        nat.append(f"-A {CHAIN_NAT} -d {_loopback(v6)} -j RETURN")
        nat.append(f"-A {CHAIN_NAT} -p tcp --dport 80 -j REDIRECT --to-ports {HTTP_PORT}")
        nat.append(f"-A {CHAIN_NAT} -p tcp --dport 443 -j REDIRECT --to-ports {TLS_PORT}")
    return nat


def render_rules(policy: NetworkPolicy, facts: NetworkFacts, *, v6: bool, initial: bool) -> str:
    """iptables-restore input (for ``--noflush``) for one address family.

    Declaring the three chains flushes them, so the same text replaces a running policy; ``initial`` adds the
    jumps from the built-in chains, which must be added exactly once (the helper verifies that).
    """
    lines = ["*filter", f":{CHAIN_OUT} - [0:0]", f":{CHAIN_IN} - [0:0]"]
    if initial:
        lines += [f"-A OUTPUT -j {CHAIN_OUT}", f"-A INPUT -j {CHAIN_IN}"]
    lines += [*_out_rules(policy, v6), *_in_rules(policy, facts, v6), "COMMIT", "*nat", f":{CHAIN_NAT} - [0:0]"]
    if initial:
        # First in OUTPUT: before the engine's own DNS rules on user-defined networks.
        lines.append(f"-I OUTPUT 1 -j {CHAIN_NAT}")
    lines += [*_nat_rules(policy, v6), "COMMIT", ""]
    return "\n".join(lines)


def helper_config(
    policy: NetworkPolicy, facts: NetworkFacts, *, initial: bool, dns_upstream: Sequence[str] = ()
) -> str:
    """The JSON the helper takes (``sandbox-egress run|set CONFIG``): rules plus the policy it enforces itself."""
    egress = policy.egress
    fence = [*FENCE_V4, *FENCE_V6, *policy.extra_fence] if policy.isolate else []
    cfg = {
        "rules_v4": render_rules(policy, facts, v6=False, initial=initial),
        "rules_v6": render_rules(policy, facts, v6=True, initial=initial),
        "open": egress.open,
        "cidrs": [str(n) for n in egress.cidrs or ()],
        "fence": [str(n) for n in fence],
        "domains": list(egress.domains or ()),
        "mark": MARK,
        "dns_port": DNS_PORT,
        "http_port": HTTP_PORT,
        "tls_port": TLS_PORT,
        "dns_upstream": list(dns_upstream),
    }
    return json.dumps(cfg, separators=(",", ":"))


def policy_labels(policy: NetworkPolicy, dns_upstream: Sequence[str] = ()) -> dict[str, str]:
    """Labels that let any process rebuild ``policy`` around a new egress part (``policy_from_labels``)."""
    labels = {
        LABEL_ISOLATE: "1" if policy.isolate else "0",
        LABEL_FENCE: ",".join(map(str, policy.extra_fence)),
        LABEL_DNS_UPSTREAM: ",".join(dns_upstream),
    }
    if policy.inbound.cidrs is not None:
        labels[LABEL_INBOUND] = ",".join(map(str, policy.inbound.cidrs))
    return labels


def policy_from_labels(labels: Mapping[str, str], egress: EgressPolicy) -> tuple[NetworkPolicy, list[str]]:
    """The holder's policy with ``egress`` in place of its egress part, and its DNS upstreams."""

    def nets(value: str) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(v) for v in value.split(",") if v)

    inbound = InboundPolicy(nets(labels[LABEL_INBOUND])) if LABEL_INBOUND in labels else InboundPolicy()
    policy = NetworkPolicy(
        egress=egress,
        inbound=inbound,
        isolate=labels.get(LABEL_ISOLATE, "1") == "1",
        extra_fence=nets(labels.get(LABEL_FENCE, "")),
    )
    return policy, [u for u in labels.get(LABEL_DNS_UPSTREAM, "").split(",") if u]
