"""PLACEHOLDER owned by the filesystem helper: deprecated FileIO and ls/mkdir/rm/watch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from .filesystem import FileWatchEvent, FileWatchEventType
    from .sandbox import Sandbox

T = TypeVar("T", str, bytes)


class FileIO(Generic[T]):
    """Placeholder."""


async def open_file(sb: Sandbox, path: str, mode: str) -> FileIO[Any]:
    raise NotImplementedError


async def legacy_ls(sb: Sandbox, path: str) -> list[str]:
    raise NotImplementedError


async def legacy_mkdir(sb: Sandbox, path: str, parents: bool) -> None:
    raise NotImplementedError


async def legacy_rm(sb: Sandbox, path: str, recursive: bool) -> None:
    raise NotImplementedError


async def legacy_watch(
    sb: Sandbox,
    path: str,
    filter: list[FileWatchEventType] | None,
    recursive: bool | None,
    timeout: int | None,
) -> AsyncIterator[FileWatchEvent]:
    raise NotImplementedError
    yield  # pragma: no cover
