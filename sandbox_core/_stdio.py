"""PLACEHOLDER owned by the exec/streams helper: the entrypoint's stdout/stderr/stdin plumbing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .streams import StreamReader, StreamWriter

if TYPE_CHECKING:
    from .sandbox import Sandbox


def entrypoint_reader(sb: Sandbox, fd: int) -> StreamReader[str]:
    """Placeholder."""
    raise NotImplementedError


def entrypoint_writer(sb: Sandbox) -> StreamWriter:
    """Placeholder."""
    raise NotImplementedError


async def close_streams(sb: Sandbox) -> None:
    """Close the handle's entrypoint stream connections (detach). Placeholder: nothing to close yet."""
