"""Cluster mode's configuration, from the environment (so that a child process, e.g. the supervisor, inherits it).

- ``SANDBOX_CORE_CLUSTER``: unset or empty for one engine (``DOCKER_HOST``), ``swarm`` for a Docker Swarm.
- ``SANDBOX_CORE_SWARM_MANAGER``: a swarm manager's engine, ``unix://…`` or ``tcp://host:port`` (default:
  ``DOCKER_HOST``). Every cluster call (services, tasks, nodes, configs) and every image goes there.
- Each node's engine is reached at the URL in its node label ``sandbox-core.engine`` (``docker node update
  --label-add sandbox-core.engine=tcp://10.0.0.5:2376 <node>``): exec, attach, logs and archives are served only by
  the engine of the node that runs a sandbox.
- ``SANDBOX_CORE_SWARM_CERT_PATH``: a directory with ``ca.pem``, ``cert.pem``, ``key.pem`` (Docker's layout) for
  every ``tcp://`` engine, manager and nodes (default: ``DOCKER_CERT_PATH`` when ``DOCKER_TLS_VERIFY`` is set).
  Without it, tcp engines are spoken to in plain HTTP — an engine API is root on its host: use TLS.
- ``SANDBOX_CORE_SWARM_PLACEMENT_TIMEOUT``: seconds ``Sandbox.create`` waits for a node with room (default 30).
"""

from __future__ import annotations

import os

import attrs

from ...exception import InvalidError
from ..docker.http import EngineAddress, TLSFiles, tls_from_env

CLUSTER_ENV = "SANDBOX_CORE_CLUSTER"
MANAGER_ENV = "SANDBOX_CORE_SWARM_MANAGER"
CERT_PATH_ENV = "SANDBOX_CORE_SWARM_CERT_PATH"
PLACEMENT_TIMEOUT_ENV = "SANDBOX_CORE_SWARM_PLACEMENT_TIMEOUT"
MODES = ("", "swarm")


def cluster_mode() -> str:
    """``""`` (one engine) or ``"swarm"``. Raises ``InvalidError`` for anything else."""
    mode = os.environ.get(CLUSTER_ENV, "").strip().lower()
    if mode not in MODES:
        raise InvalidError(f"{CLUSTER_ENV} must be empty (one engine) or 'swarm', got {mode!r}")
    return mode


def _positive_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise InvalidError(f"{name} must be a positive number of seconds, got {raw!r}")
    return value


@attrs.frozen
class SwarmConfig:
    """Where the manager is, how tcp engines are spoken to, and how long placement may take."""

    manager_url: str
    tls: TLSFiles | None
    placement_timeout: float

    @classmethod
    def from_env(cls) -> SwarmConfig:
        """Read the configuration; ``InvalidError`` names the variable that is wrong."""
        manager = os.environ.get(MANAGER_ENV) or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        cert_path = os.environ.get(CERT_PATH_ENV)
        tls = TLSFiles.from_dir(cert_path) if cert_path else tls_from_env()
        config = cls(manager, tls, _positive_seconds(PLACEMENT_TIMEOUT_ENV, 30.0))
        config.address(manager, MANAGER_ENV)  # validates the URL now
        return config

    def address(self, url: str, what: str) -> EngineAddress:
        """The address of an engine of the cluster. A node's engine may share this host (a unix socket) and still
        live in its own PID namespace, so its pids are never taken for this host's."""
        return EngineAddress.parse(url, tls=self.tls, host_pids=False, what=what)

    def child_environment(self) -> dict[str, str]:
        """What a child process needs to reach the same cluster."""
        env = {CLUSTER_ENV: "swarm", MANAGER_ENV: self.manager_url}
        if os.environ.get(CERT_PATH_ENV):
            env[CERT_PATH_ENV] = os.environ[CERT_PATH_ENV]
        return env
