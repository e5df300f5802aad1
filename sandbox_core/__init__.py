"""sandbox_core: Modal-style sandboxes on the local Docker engine (asyncio API).

The blocking twin of every name here lives in ``sandbox_core_sync``.
"""

from __future__ import annotations

# Modal's module names (modal.container_process, ...), reachable as attributes of the package as in Modal.
from . import container_process as container_process
from . import exception
from . import io_streams as io_streams
from . import output as output
from . import stream_type as stream_type
from ._sweep import sweep
from .app import App
from .end_reason import EndReason
from .file_io import FileIO
from .filesystem import FileInfo, FileType, FileWatchEvent, FileWatchEventType, SandboxFilesystem
from .image import Image
from .limits import Limits
from .output import enable_output
from .process import ContainerProcess
from .sandbox import Sandbox
from .secret import Secret
from .streams import StreamReader, StreamType, StreamWriter

__all__ = [
    "App",
    "ContainerProcess",
    "EndReason",
    "FileIO",
    "FileInfo",
    "FileType",
    "FileWatchEvent",
    "FileWatchEventType",
    "Image",
    "Limits",
    "Sandbox",
    "SandboxFilesystem",
    "Secret",
    "StreamReader",
    "StreamType",
    "StreamWriter",
    "enable_output",
    "exception",
    "sweep",
]
