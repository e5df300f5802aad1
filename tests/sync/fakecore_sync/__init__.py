# GENERATED from `fakecore` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST
# Check:      python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST --check
# Generator sha256: 1b048d1832477c20
"""Blocking facade of ``fakecore``: the same API, with every async method blocking and its
coroutine form under ``.aio`` (``sb.exec(...)`` / ``await sb.exec.aio(...)``).

Exceptions, value types and enums are the very same objects as in ``fakecore``.
"""

import importlib as _importlib
from typing import TYPE_CHECKING

from sandbox_core_sync._runtime import BlockingCallInEventLoopError as BlockingCallInEventLoopError
from sandbox_core_sync._runtime import ForkedObjectError as ForkedObjectError

if TYPE_CHECKING:
    from fakecore import Info as Info
    from fakecore import StreamType as StreamType
    from fakecore_sync import exception as exception
    from fakecore_sync import sandbox as sandbox
    from fakecore_sync import streams as streams
    from fakecore_sync._generated import ContainerProcess as ContainerProcess
    from fakecore_sync._generated import FileIO as FileIO
    from fakecore_sync._generated import Group as Group
    from fakecore_sync._generated import GroupRun as GroupRun
    from fakecore_sync._generated import Sandbox as Sandbox
    from fakecore_sync._generated import StreamReader as StreamReader
    from fakecore_sync._generated import StreamWriter as StreamWriter
    from fakecore_sync._generated import sweep as sweep

__all__ = [
    "BlockingCallInEventLoopError",
    "ContainerProcess",
    "FileIO",
    "ForkedObjectError",
    "Group",
    "GroupRun",
    "Info",
    "Sandbox",
    "StreamReader",
    "StreamType",
    "StreamWriter",
    "exception",
    "sweep",
]

# name -> (module, attribute or None for the module itself), imported on first access
_LAZY: dict[str, tuple[str, str | None]] = {
    "Info": ("fakecore", "Info"),
    "StreamType": ("fakecore", "StreamType"),
    "exception": ("fakecore_sync.exception", None),
    "Sandbox": ("fakecore_sync._generated", "Sandbox"),
    "ContainerProcess": ("fakecore_sync._generated", "ContainerProcess"),
    "StreamReader": ("fakecore_sync._generated", "StreamReader"),
    "StreamWriter": ("fakecore_sync._generated", "StreamWriter"),
    "FileIO": ("fakecore_sync._generated", "FileIO"),
    "Group": ("fakecore_sync._generated", "Group"),
    "GroupRun": ("fakecore_sync._generated", "GroupRun"),
    "sweep": ("fakecore_sync._generated", "sweep"),
    "sandbox": ("fakecore_sync.sandbox", None),
    "streams": ("fakecore_sync.streams", None),
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
