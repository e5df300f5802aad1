"""PLACEHOLDER owned by the exec/streams helper: ContainerProcess and start_exec."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .secret import Secret
from .streams import StreamType

if TYPE_CHECKING:
    from .sandbox import Sandbox

T = TypeVar("T", str, bytes)


class ContainerProcess(Generic[T]):
    """Placeholder."""


async def start_exec(
    sb: Sandbox,
    args: tuple[str, ...],
    *,
    stdout: StreamType,
    stderr: StreamType,
    timeout: int | None,
    workdir: str | None,
    env: dict[str, str | None] | None,
    secrets: Collection[Secret] | None,
    text: bool,
    bufsize: int,
    pty: bool,
    pty_info: Any,
) -> ContainerProcess[Any]:
    """Placeholder."""
    raise NotImplementedError
