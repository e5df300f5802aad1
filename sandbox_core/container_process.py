"""Modal's ``modal.container_process`` module name: :class:`ContainerProcess` (defined in ``sandbox_core.process``)."""

from __future__ import annotations

from .process import ContainerProcess

__all__ = ["ContainerProcess"]
