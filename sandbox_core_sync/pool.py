# GENERATED from `sandbox_core` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen
# Check:      python -m sandbox_core_sync._codegen --check
# Generator sha256: 1b048d1832477c20
"""``sandbox_core.pool`` in the blocking facade (generated):
the same names as in ``sandbox_core_sync``."""

from sandbox_core_sync._generated import SandboxPool as SandboxPool

__all__ = ["SandboxPool"]
