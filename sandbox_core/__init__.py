"""sandbox_core: Modal-style sandboxes on the local Docker engine (asyncio API).

The blocking twin of every name here lives in ``sandbox_core_sync``.
"""

from __future__ import annotations

# Modal's module names (modal.container_process, ...), reachable as attributes of the package as in Modal.
from . import client as client
from . import container_process as container_process
from . import exception
from . import io_streams as io_streams
from . import output as output
from . import stream_type as stream_type
from . import volume as volume
from ._connect import SandboxConnectCredentials
from ._logs_manager import SandboxLogsManager
from ._sweep import sweep
from ._tunnel import Tunnel, ca_cert_path
from .app import App, AppRun, is_local
from .client import Client
from .end_reason import EndReason
from .exception import Error
from .file_io import FileIO
from .file_pattern_matcher import FilePatternMatcher
from .filesystem import FileInfo, FileType, FileWatchEvent, FileWatchEventType, SandboxFilesystem
from .image import Image
from .limits import Limits
from .output import enable_output
from .pool import SandboxPool
from .probe import Probe
from .process import ContainerProcess
from .sandbox import Sandbox
from .secret import Secret, SecretManager
from .sidecars import SidecarContainer, SidecarManager
from .streams import StreamReader, StreamType, StreamWriter
from .types import FileEntry, FileEntryType, LogEntry
from .volume import Volume, VolumeManager, VolumeUploadContextManager

__all__ = [
    "App",
    "AppRun",
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
