"""PLACEHOLDER owned by the exec/streams helper: replaced by the real StreamReader/StreamWriter/StreamType."""

from __future__ import annotations

import enum
import subprocess
from typing import Generic, TypeVar

T = TypeVar("T", str, bytes)


class StreamType(enum.Enum):
    """Where an exec's output goes."""

    DEVNULL = subprocess.DEVNULL
    PIPE = subprocess.PIPE
    STDOUT = subprocess.STDOUT


class StreamReader(Generic[T]):
    """Placeholder."""


class StreamWriter:
    """Placeholder."""
