# GENERATED from `fakecore` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST
# Check:      python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST --check
# Generator sha256: 1b048d1832477c20
"""``fakecore.sandbox`` in the blocking facade (generated):
the same names as in ``fakecore_sync``."""

from fakecore.sandbox import Info as Info
from fakecore_sync._generated import FileIO as FileIO
from fakecore_sync._generated import Sandbox as Sandbox
from fakecore_sync._generated import sweep as sweep

__all__ = ["FileIO", "Info", "Sandbox", "sweep"]
