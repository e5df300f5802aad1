# GENERATED from `sandbox_core` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen
# Check:      python -m sandbox_core_sync._codegen --check
# Generator sha256: 1b048d1832477c20
"""``sandbox_core.sandbox`` in the blocking facade (generated):
the same names as in ``sandbox_core_sync``."""

from sandbox_core.sandbox import Probe as Probe
from sandbox_core_sync._generated import Sandbox as Sandbox
from sandbox_core_sync._generated import SidecarContainer as SidecarContainer
from sandbox_core_sync._generated import SidecarManager as SidecarManager

__all__ = ["Probe", "Sandbox", "SidecarContainer", "SidecarManager"]
