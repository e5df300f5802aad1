# GENERATED from `fakecore` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST
# Check:      python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST --check
# Generator sha256: 7732b4028410a788
"""Blocking facade of ``fakecore``: the same API, with every async method blocking and its
coroutine form under ``.aio`` (``sb.exec(...)`` / ``await sb.exec.aio(...)``).

Exceptions, value types and enums are the very same objects as in ``fakecore``.
"""

from fakecore import Info as Info
from fakecore import StreamType as StreamType

from sandbox_core_sync._runtime import BlockingCallInEventLoopError as BlockingCallInEventLoopError
from sandbox_core_sync._runtime import ForkedObjectError as ForkedObjectError

from . import exception as exception
from ._generated import ContainerProcess as ContainerProcess
from ._generated import FileIO as FileIO
from ._generated import Sandbox as Sandbox
from ._generated import StreamReader as StreamReader
from ._generated import StreamWriter as StreamWriter
from ._generated import sweep as sweep

__all__ = [
    "BlockingCallInEventLoopError",
    "ContainerProcess",
    "FileIO",
    "ForkedObjectError",
    "Info",
    "Sandbox",
    "StreamReader",
    "StreamType",
    "StreamWriter",
    "exception",
    "sweep",
]
