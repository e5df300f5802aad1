"""Network policy values: what a sandbox may reach (egress) and who may reach it (inbound), validated as built.

``EgressPolicy`` mirrors Modal's ``NetworkAccess``: OPEN when neither list is given, otherwise ALLOWLIST with
the CIDRs and domain patterns given (``[]`` = nothing). Domain patterns are ``"example.com"`` (that name),
``"*.example.com"`` (its subdomains, not the name itself) and ``"*"`` (every name). CIDRs are IPv4 or IPv6
networks; a bare address means that one host, and host bits are cleared (``"10.1.2.3/8"`` is ``10.0.0.0/8``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from .exception import InvalidError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Entries per list; the rules are passed to the holder as one process argument, which the kernel bounds.
MAX_ENTRIES = 500
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


def _entries(param: str, value: Any, kind: str) -> list[str]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
        raise InvalidError(f"`{param}` must be a list of {kind} strings, got {type(value).__name__}")
    entries = list(value)
    if len(entries) > MAX_ENTRIES:
        raise InvalidError(f"`{param}` has {len(entries)} entries; at most {MAX_ENTRIES} are supported")
    for e in entries:
        if not isinstance(e, str):
            raise InvalidError(f"`{param}` entries must be strings, got {type(e).__name__} {e!r}")
    return entries


def parse_cidrs(param: str, value: Any) -> tuple[Network, ...]:
    """Validate a list of CIDR strings (IPv4 or IPv6); duplicates are dropped, order kept."""
    out: dict[Network, None] = {}
    for e in _entries(param, value, "CIDR"):
        try:
            out[ipaddress.ip_network(e.strip(), strict=False)] = None
        except ValueError:
            raise InvalidError(
                f"`{param}`: {e!r} is not an IPv4 or IPv6 network in CIDR notation (e.g. '10.0.0.0/8', "
                "'203.0.113.7/32', '2001:db8::/32')"
            ) from None
    return tuple(out)


def _domain_error(param: str, entry: str, why: str) -> InvalidError:
    return InvalidError(
        f"`{param}`: {entry!r} is not a domain pattern ({why}); use 'example.com', '*.example.com' "
        "(subdomains) or '*' (every domain)"
    )


def normalize_domain(param: str, entry: str) -> str:
    """One domain pattern, lower-cased and IDNA-encoded, without a trailing dot."""
    s = entry.strip().rstrip(".").lower()
    if s == "*":
        return s
    if "://" in s or "/" in s or ":" in s:
        raise _domain_error(param, entry, "a name only: no scheme, port or path")
    name = s[2:] if s.startswith("*.") else s
    if "*" in name:
        raise _domain_error(param, entry, "a wildcard may only be the whole first label, as in '*.example.com'")
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise _domain_error(param, entry, "not a valid internationalised host name") from None
    labels = name.split(".")
    if not name or len(name) > 253 or not all(_LABEL_RE.match(label) for label in labels):
        raise _domain_error(param, entry, "labels of letters, digits, '-' and '_', at most 63 bytes each")
    if labels[-1].isdigit():
        raise _domain_error(param, entry, "an IP address belongs in outbound_cidr_allowlist")
    return ("*." if s.startswith("*.") else "") + name


def parse_domains(param: str, value: Any) -> tuple[str, ...]:
    """Validate a list of domain patterns; duplicates are dropped, order kept."""
    return tuple(dict.fromkeys(normalize_domain(param, e) for e in _entries(param, value, "domain")))


def domain_matches(patterns: Iterable[str], name: str) -> bool:
    """Whether ``name`` is allowed by ``patterns`` (the rule the egress helper applies)."""
    n = name.strip().rstrip(".").lower()
    return any(p in ("*", n) or (p.startswith("*.") and n.endswith(p[1:]) and len(n) > len(p) - 1) for p in patterns)


@attrs.frozen
class EgressPolicy:
    """Outbound policy. ``open`` (both None): anything the isolation fence allows; otherwise only ``cidrs``
    (directly, any protocol) and ``domains`` (by name: DNS, HTTP on port 80, TLS on port 443)."""

    cidrs: tuple[Network, ...] | None = None
    domains: tuple[str, ...] | None = None

    @property
    def open(self) -> bool:
        """True when no allowlist was given (Modal's OPEN)."""
        return self.cidrs is None and self.domains is None

    @classmethod
    def build(
        cls,
        outbound_cidr_allowlist: Any = None,
        outbound_domain_allowlist: Any = None,
    ) -> EgressPolicy:
        """Validate Modal's two parameters; raises ``InvalidError`` naming the parameter and the bad entry."""
        return cls(
            cidrs=None
            if outbound_cidr_allowlist is None
            else parse_cidrs("outbound_cidr_allowlist", outbound_cidr_allowlist),
            domains=None
            if outbound_domain_allowlist is None
            else parse_domains("outbound_domain_allowlist", outbound_domain_allowlist),
        )


@attrs.frozen
class InboundPolicy:
    """Who may open connections to the sandbox's ports: anyone (``cidrs`` None) or only those networks."""

    cidrs: tuple[Network, ...] | None = None

    @classmethod
    def build(cls, inbound_cidr_allowlist: Any = None) -> InboundPolicy:
        """Validate Modal's parameter; raises ``InvalidError`` naming the bad entry."""
        if inbound_cidr_allowlist is None:
            return cls()
        return cls(parse_cidrs("inbound_cidr_allowlist", inbound_cidr_allowlist))

    def allows(self, address: str) -> bool:
        """Whether a client at ``address`` (an IP string, IPv4-mapped IPv6 included) may connect."""
        if self.cidrs is None:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.cidrs)


@attrs.frozen
class NetworkPolicy:
    """A sandbox's whole network policy. ``isolate`` fences off the host's and neighbours' addresses (private,
    link-local, multicast and reserved ranges, plus ``extra_fence``) for OPEN egress, unless a CIDR allowlist
    names them; under an allowlist everything not listed is refused anyway."""

    egress: EgressPolicy = attrs.field(factory=EgressPolicy)
    inbound: InboundPolicy = attrs.field(factory=InboundPolicy)
    isolate: bool = True
    extra_fence: tuple[Network, ...] = ()

    @property
    def enforced(self) -> bool:
        """Whether anything must be enforced (False: a plain container on the engine's network will do)."""
        return not self.egress.open or self.inbound.cidrs is not None or self.isolate
