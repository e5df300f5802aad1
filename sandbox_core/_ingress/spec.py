"""What ``Sandbox.create`` decides about ingress: the declared ports and the readiness probe, checked, turned into
labels on the sandbox (every process reads them back from there) and into the port bindings of its port owner."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from .._engine import labels as L
from .._engine.values import PortBinding
from ..exception import InvalidError
from ..probe import Probe

#: ``<port>/<kind>`` for each declared port, comma-separated (``8000/tls,9000/tcp``).
PORTS = L.PREFIX + "ports"
#: The readiness probe, as ``Probe.to_json`` writes it.
READINESS_PROBE = L.PREFIX + "readiness-probe"
#: Ports one sandbox may declare: each costs a published port on the engine and a listener in the supervisor.
MAX_PORTS = 100
#: Where the engine publishes declared ports: loopback only; the supervisor's listeners front them.
PUBLISH_HOST = "127.0.0.1"


class PortKind(enum.Enum):
    """How a declared port is served: ``TLS`` (``encrypted_ports``), ``H2`` (``h2_ports``: TLS offering HTTP/2 by
    ALPN) or ``TCP`` (``unencrypted_ports``: plain bytes)."""

    TLS = "tls"
    H2 = "h2"
    TCP = "tcp"

    @property
    def encrypted(self) -> bool:
        return self is not PortKind.TCP


def _port_list(param: str, value: Any) -> list[int]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence | set | frozenset):
        raise InvalidError(f"`{param}` must be a list of port numbers, got {type(value).__name__}")
    ports = list(value)
    for p in ports:
        if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 65535:
            raise InvalidError(f"`{param}` must hold port numbers in [1, 65535], got {p!r}")
    return ports


def declared_ports(encrypted: Any, h2: Any, unencrypted: Any) -> dict[int, PortKind]:
    """container port -> kind, from ``Sandbox.create``'s three lists. ``InvalidError`` for a value that is not a
    port number, a port in two lists, or more than ``MAX_PORTS`` ports."""
    out: dict[int, PortKind] = {}
    where: dict[int, str] = {}
    for param, value, kind in (
        ("encrypted_ports", encrypted, PortKind.TLS),
        ("h2_ports", h2, PortKind.H2),
        ("unencrypted_ports", unencrypted, PortKind.TCP),
    ):
        for port in _port_list(param, value):
            if port in out and out[port] is not kind:
                raise InvalidError(f"port {port} is listed in both `{where[port]}` and `{param}`: choose one")
            out[port], where[port] = kind, param
    if len(out) > MAX_PORTS:
        raise InvalidError(f"a sandbox can open at most {MAX_PORTS} ports, got {len(out)}")
    return out


def check_probe(probe: Any) -> Probe | None:
    """``readiness_probe`` as given; ``InvalidError`` unless it is None or a ``Probe``."""
    if probe is not None and not isinstance(probe, Probe):
        raise InvalidError(
            f"readiness_probe must be a Probe (Probe.with_tcp(...) or Probe.with_exec(...)), got {type(probe).__name__}"
        )
    return probe


def ingress_labels(ports: Mapping[int, PortKind], probe: Probe | None) -> dict[str, str]:
    """The sandbox's labels for its declared ports and readiness probe (none for what it lacks)."""
    labels: dict[str, str] = {}
    if ports:
        labels[PORTS] = ",".join(f"{p}/{k.value}" for p, k in sorted(ports.items()))
    if probe is not None:
        labels[READINESS_PROBE] = probe.to_json()
    return labels


def port_bindings(ports: Mapping[int, PortKind]) -> tuple[PortBinding, ...]:
    """The declared ports published on ``PUBLISH_HOST`` at ports the engine picks."""
    return tuple(PortBinding(container_port=p, host_ip=PUBLISH_HOST) for p in sorted(ports))


def ports_from_labels(labels: Mapping[str, str]) -> dict[int, PortKind]:
    """The declared ports of a sandbox, from its labels (``{}`` without any)."""
    out: dict[int, PortKind] = {}
    for item in labels.get(PORTS, "").split(","):
        port, sep, kind = item.partition("/")
        if sep and port.isdigit():
            out[int(port)] = PortKind(kind)
    return out


def probe_from_labels(labels: Mapping[str, str]) -> Probe | None:
    """The readiness probe of a sandbox, from its labels (None without one)."""
    text = labels.get(READINESS_PROBE)
    return None if text is None else Probe.from_json(text)
