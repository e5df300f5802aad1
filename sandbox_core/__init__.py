"""sandbox_core: Modal-style sandboxes on the local Docker engine (asyncio API).

The blocking twin of every name here lives in ``sandbox_core_sync``.
"""

from __future__ import annotations

from . import exception
from ._sweep import sweep
from .app import App
from .file_io import FileIO
from .filesystem import FileInfo, FileType, FileWatchEvent, FileWatchEventType, SandboxFilesystem
from .image import Image
from .process import ContainerProcess
from .sandbox import Sandbox
from .secret import Secret
from .streams import StreamReader, StreamType, StreamWriter

__all__ = [
    "App",
    "ContainerProcess",
    "FileIO",
    "FileInfo",
    "FileType",
    "FileWatchEvent",
    "FileWatchEventType",
    "Image",
    "Sandbox",
    "SandboxFilesystem",
    "Secret",
    "StreamReader",
    "StreamType",
    "StreamWriter",
    "exception",
    "sweep",
]
