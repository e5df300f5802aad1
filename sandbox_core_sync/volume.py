# GENERATED from `sandbox_core` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen
# Check:      python -m sandbox_core_sync._codegen --check
# Generator sha256: 1b048d1832477c20
"""``sandbox_core.volume`` in the blocking facade (generated):
the same names as in ``sandbox_core_sync``."""

from sandbox_core.volume import FileEntry as FileEntry
from sandbox_core.volume import FileEntryType as FileEntryType
from sandbox_core_sync._generated import Volume as Volume
from sandbox_core_sync._generated import VolumeManager as VolumeManager
from sandbox_core_sync._generated import VolumeUploadContextManager as VolumeUploadContextManager

__all__ = ["FileEntry", "FileEntryType", "Volume", "VolumeManager", "VolumeUploadContextManager"]
