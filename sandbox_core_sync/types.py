# GENERATED from `sandbox_core` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen
# Check:      python -m sandbox_core_sync._codegen --check
# Generator sha256: 1b048d1832477c20
"""``sandbox_core.types`` in the blocking facade (generated):
the same names as in ``sandbox_core_sync``."""

from sandbox_core.types import FileEntry as FileEntry
from sandbox_core.types import FileEntryType as FileEntryType
from sandbox_core.types import FileInfo as FileInfo
from sandbox_core.types import FileType as FileType
from sandbox_core.types import FileWatchEvent as FileWatchEvent
from sandbox_core.types import FileWatchEventType as FileWatchEventType
from sandbox_core.types import LogEntry as LogEntry
from sandbox_core.types import SandboxConnectCredentials as SandboxConnectCredentials

__all__ = [
    "FileEntry",
    "FileEntryType",
    "FileInfo",
    "FileType",
    "FileWatchEvent",
    "FileWatchEventType",
    "LogEntry",
    "SandboxConnectCredentials",
]
