# GENERATED from `sandbox_core` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen
# Check:      python -m sandbox_core_sync._codegen --check
# Generator sha256: 7732b4028410a788
"""Blocking facade of ``sandbox_core``: the same API, with every async method blocking and its
coroutine form under ``.aio`` (``sb.exec(...)`` / ``await sb.exec.aio(...)``).

Exceptions, value types and enums are the very same objects as in ``sandbox_core``.
"""

from sandbox_core import FileInfo as FileInfo
from sandbox_core import FileType as FileType
from sandbox_core import FileWatchEvent as FileWatchEvent
from sandbox_core import FileWatchEventType as FileWatchEventType
from sandbox_core import Image as Image
from sandbox_core import Secret as Secret
from sandbox_core import StreamType as StreamType
from sandbox_core_sync._runtime import BlockingCallInEventLoopError as BlockingCallInEventLoopError
from sandbox_core_sync._runtime import ForkedObjectError as ForkedObjectError

from . import exception as exception
from ._generated import App as App
from ._generated import ContainerProcess as ContainerProcess
from ._generated import FileIO as FileIO
from ._generated import Sandbox as Sandbox
from ._generated import SandboxFilesystem as SandboxFilesystem
from ._generated import StreamReader as StreamReader
from ._generated import StreamWriter as StreamWriter
from ._generated import sweep as sweep

__all__ = [
    "App",
    "BlockingCallInEventLoopError",
    "ContainerProcess",
    "FileIO",
    "FileInfo",
    "FileType",
    "FileWatchEvent",
    "FileWatchEventType",
    "ForkedObjectError",
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
