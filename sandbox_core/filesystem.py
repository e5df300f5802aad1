"""PLACEHOLDER owned by the filesystem helper."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from .sandbox import Sandbox


class FileWatchEventType(enum.Enum):
    """Placeholder."""

    Unknown = "Unknown"


@attrs.define
class FileWatchEvent:
    """Placeholder."""

    paths: list[str]
    type: FileWatchEventType


class SandboxFilesystem:
    """Placeholder."""

    @classmethod
    def _new(cls, sb: Sandbox) -> SandboxFilesystem:
        raise NotImplementedError
