# GENERATED from `sandbox_core` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen
# Check:      python -m sandbox_core_sync._codegen --check
# Generator sha256: 1b048d1832477c20
"""Blocking facade of ``sandbox_core``: the same API, with every async method blocking and its
coroutine form under ``.aio`` (``sb.exec(...)`` / ``await sb.exec.aio(...)``).

Exceptions, value types and enums are the very same objects as in ``sandbox_core``.
"""

import importlib as _importlib
from typing import TYPE_CHECKING

from sandbox_core_sync._runtime import BlockingCallInEventLoopError as BlockingCallInEventLoopError
from sandbox_core_sync._runtime import ForkedObjectError as ForkedObjectError

if TYPE_CHECKING:
    from sandbox_core import EndReason as EndReason
    from sandbox_core import Error as Error
    from sandbox_core import FileEntry as FileEntry
    from sandbox_core import FileEntryType as FileEntryType
    from sandbox_core import FileInfo as FileInfo
    from sandbox_core import FilePatternMatcher as FilePatternMatcher
    from sandbox_core import FileType as FileType
    from sandbox_core import FileWatchEvent as FileWatchEvent
    from sandbox_core import FileWatchEventType as FileWatchEventType
    from sandbox_core import Limits as Limits
    from sandbox_core import LogEntry as LogEntry
    from sandbox_core import Probe as Probe
    from sandbox_core import SandboxConnectCredentials as SandboxConnectCredentials
    from sandbox_core import StreamType as StreamType
    from sandbox_core import Tunnel as Tunnel
    from sandbox_core import ca_cert_path as ca_cert_path
    from sandbox_core import enable_output as enable_output
    from sandbox_core import is_local as is_local
    from sandbox_core_sync import app as app
    from sandbox_core_sync import client as client
    from sandbox_core_sync import container_process as container_process
    from sandbox_core_sync import exception as exception
    from sandbox_core_sync import file_pattern_matcher as file_pattern_matcher
    from sandbox_core_sync import image as image
    from sandbox_core_sync import io_streams as io_streams
    from sandbox_core_sync import output as output
    from sandbox_core_sync import pool as pool
    from sandbox_core_sync import sandbox as sandbox
    from sandbox_core_sync import secret as secret
    from sandbox_core_sync import stream_type as stream_type
    from sandbox_core_sync import types as types
    from sandbox_core_sync import volume as volume
    from sandbox_core_sync._generated import App as App
    from sandbox_core_sync._generated import AppRun as AppRun
    from sandbox_core_sync._generated import Client as Client
    from sandbox_core_sync._generated import ContainerProcess as ContainerProcess
    from sandbox_core_sync._generated import FileIO as FileIO
    from sandbox_core_sync._generated import Image as Image
    from sandbox_core_sync._generated import Sandbox as Sandbox
    from sandbox_core_sync._generated import SandboxFilesystem as SandboxFilesystem
    from sandbox_core_sync._generated import SandboxLogsManager as SandboxLogsManager
    from sandbox_core_sync._generated import SandboxPool as SandboxPool
    from sandbox_core_sync._generated import Secret as Secret
    from sandbox_core_sync._generated import SecretManager as SecretManager
    from sandbox_core_sync._generated import SidecarContainer as SidecarContainer
    from sandbox_core_sync._generated import SidecarManager as SidecarManager
    from sandbox_core_sync._generated import StreamReader as StreamReader
    from sandbox_core_sync._generated import StreamWriter as StreamWriter
    from sandbox_core_sync._generated import Volume as Volume
    from sandbox_core_sync._generated import VolumeManager as VolumeManager
    from sandbox_core_sync._generated import VolumeUploadContextManager as VolumeUploadContextManager
    from sandbox_core_sync._generated import sweep as sweep

__all__ = [
    "App",
    "AppRun",
    "BlockingCallInEventLoopError",
    "Client",
    "ContainerProcess",
    "EndReason",
    "Error",
    "FileEntry",
    "FileEntryType",
    "FileIO",
    "FileInfo",
    "FilePatternMatcher",
    "FileType",
    "FileWatchEvent",
    "FileWatchEventType",
    "ForkedObjectError",
    "Image",
    "Limits",
    "LogEntry",
    "Probe",
    "Sandbox",
    "SandboxConnectCredentials",
    "SandboxFilesystem",
    "SandboxLogsManager",
    "SandboxPool",
    "Secret",
    "SecretManager",
    "SidecarContainer",
    "SidecarManager",
    "StreamReader",
    "StreamType",
    "StreamWriter",
    "Tunnel",
    "Volume",
    "VolumeManager",
    "VolumeUploadContextManager",
    "ca_cert_path",
    "enable_output",
    "exception",
    "is_local",
    "sweep",
]

# name -> (module, attribute or None for the module itself), imported on first access
_LAZY: dict[str, tuple[str, str | None]] = {
    "EndReason": ("sandbox_core", "EndReason"),
    "FilePatternMatcher": ("sandbox_core", "FilePatternMatcher"),
    "FileEntry": ("sandbox_core", "FileEntry"),
    "FileEntryType": ("sandbox_core", "FileEntryType"),
    "FileInfo": ("sandbox_core", "FileInfo"),
    "FileType": ("sandbox_core", "FileType"),
    "FileWatchEvent": ("sandbox_core", "FileWatchEvent"),
    "FileWatchEventType": ("sandbox_core", "FileWatchEventType"),
    "Limits": ("sandbox_core", "Limits"),
    "LogEntry": ("sandbox_core", "LogEntry"),
    "Probe": ("sandbox_core", "Probe"),
    "SandboxConnectCredentials": ("sandbox_core", "SandboxConnectCredentials"),
    "StreamType": ("sandbox_core", "StreamType"),
    "Tunnel": ("sandbox_core", "Tunnel"),
    "ca_cert_path": ("sandbox_core", "ca_cert_path"),
    "enable_output": ("sandbox_core", "enable_output"),
    "exception": ("sandbox_core_sync.exception", None),
    "Error": ("sandbox_core", "Error"),
    "is_local": ("sandbox_core", "is_local"),
    "App": ("sandbox_core_sync._generated", "App"),
    "SecretManager": ("sandbox_core_sync._generated", "SecretManager"),
    "Secret": ("sandbox_core_sync._generated", "Secret"),
    "VolumeManager": ("sandbox_core_sync._generated", "VolumeManager"),
    "Volume": ("sandbox_core_sync._generated", "Volume"),
    "VolumeUploadContextManager": ("sandbox_core_sync._generated", "VolumeUploadContextManager"),
    "AppRun": ("sandbox_core_sync._generated", "AppRun"),
    "Client": ("sandbox_core_sync._generated", "Client"),
    "Sandbox": ("sandbox_core_sync._generated", "Sandbox"),
    "SandboxLogsManager": ("sandbox_core_sync._generated", "SandboxLogsManager"),
    "ContainerProcess": ("sandbox_core_sync._generated", "ContainerProcess"),
    "StreamReader": ("sandbox_core_sync._generated", "StreamReader"),
    "StreamWriter": ("sandbox_core_sync._generated", "StreamWriter"),
    "SandboxFilesystem": ("sandbox_core_sync._generated", "SandboxFilesystem"),
    "SidecarManager": ("sandbox_core_sync._generated", "SidecarManager"),
    "SidecarContainer": ("sandbox_core_sync._generated", "SidecarContainer"),
    "FileIO": ("sandbox_core_sync._generated", "FileIO"),
    "SandboxPool": ("sandbox_core_sync._generated", "SandboxPool"),
    "Image": ("sandbox_core_sync._generated", "Image"),
    "sweep": ("sandbox_core_sync._generated", "sweep"),
    "app": ("sandbox_core_sync.app", None),
    "client": ("sandbox_core_sync.client", None),
    "container_process": ("sandbox_core_sync.container_process", None),
    "file_pattern_matcher": ("sandbox_core_sync.file_pattern_matcher", None),
    "image": ("sandbox_core_sync.image", None),
    "io_streams": ("sandbox_core_sync.io_streams", None),
    "output": ("sandbox_core_sync.output", None),
    "pool": ("sandbox_core_sync.pool", None),
    "sandbox": ("sandbox_core_sync.sandbox", None),
    "secret": ("sandbox_core_sync.secret", None),
    "stream_type": ("sandbox_core_sync.stream_type", None),
    "types": ("sandbox_core_sync.types", None),
    "volume": ("sandbox_core_sync.volume", None),
}

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        try:
            module, attr = _LAZY[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        value = _importlib.import_module(module)
        if attr is not None:
            value = getattr(value, attr)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_LAZY})
