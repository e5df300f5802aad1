"""A tiny asyncio package shaped like sandbox_core, used to test the facade generator and runtime without Docker."""

from __future__ import annotations

from . import exception
from .group import Group, GroupRun
from .process import ContainerProcess
from .sandbox import FileIO, Info, Sandbox, sweep
from .streams import StreamReader, StreamType, StreamWriter

__all__ = [
    "ContainerProcess",
    "FileIO",
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
