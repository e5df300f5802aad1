"""What ``Sandbox.create`` checks against this host before it creates a sandbox with ports or a readiness probe:
they are served by the supervisor, from this host."""

from __future__ import annotations

from collections.abc import Mapping

from .. import _lifecycle
from .._engine import EngineAPI
from ..exception import InvalidError
from ..probe import Probe
from .listeners import ListenConfig
from .reach import engine_is_local
from .spec import PortKind


def require_supervisor(what: str) -> None:
    """``InvalidError`` when the supervisor, which serves ``what``, is disabled."""
    if not _lifecycle.supervisor_enabled():
        raise InvalidError(
            f"{what} are served by the supervisor process, which SANDBOX_CORE_SUPERVISOR=0 disables; unset it"
        )


def check_host(eng: EngineAPI, ports: Mapping[int, PortKind], probe: Probe | None) -> None:
    """``InvalidError`` when this host cannot serve ``ports`` (or the probe): the supervisor is disabled, the engine
    is on another host (its published ports are on that host's loopback, and its containers' addresses out of
    reach), or the listener settings are malformed."""
    if not ports and probe is None:
        return
    require_supervisor("Ports and readiness probes")
    local = engine_is_local(eng)
    if ports and not local:
        raise InvalidError(
            f"ports need an engine on this host: {eng.endpoint} publishes them on its own host, which the "
            "supervisor here cannot reach"
        )
    if probe is not None and probe.tcp_port is not None and probe.tcp_port not in ports and not local:
        raise InvalidError(
            f"a TCP readiness probe on an engine on another host needs its port ({probe.tcp_port}) declared in "
            "encrypted_ports, h2_ports or unencrypted_ports"
        )
    if ports:
        ListenConfig.from_env()
