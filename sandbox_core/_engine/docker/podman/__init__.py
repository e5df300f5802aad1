"""The Podman dialect: Podman's Docker-compatible service (``podman system service``) spoken to through the Docker
implementation, with the few parts whose behaviour differs overridden here (docs/podman.md is the catalogue).

Differences that a Docker engine never shows (Podman's wording of errors, its event and state names, its build
output, tags with an implicit registry, label filters it ORs) are normalised for both engines in the Docker
implementation itself; what needs a different request lives in this package.
"""

from __future__ import annotations

from .engine import PodmanEngine

__all__ = ["PodmanEngine"]
