"""Which implementation speaks to the engine that answers: ``DockerEngine``, or ``PodmanEngine`` for Podman's
Docker-compatible service (learnt from ``GET /version`` once per host, see ``http.negotiate``)."""

from __future__ import annotations

from .engine import DockerEngine
from .http import DockerClient, EngineAddress, negotiate
from .podman import PodmanEngine

_BY_DIALECT: dict[str, type[DockerEngine]] = {"docker": DockerEngine, "podman": PodmanEngine}


async def open_engine() -> DockerEngine:
    """Connect to the engine ``DOCKER_HOST`` names with the implementation for its dialect.

    Raises ``ConnectionError`` when it cannot be reached.
    """
    address = EngineAddress.from_env()
    negotiated = await negotiate(address)
    return _BY_DIALECT[negotiated.dialect](DockerClient(address, negotiated.api_version))
