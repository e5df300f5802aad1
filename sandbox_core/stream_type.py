"""Modal's ``modal.stream_type`` module name: :class:`StreamType` (defined in ``sandbox_core.streams``)."""

from __future__ import annotations

from .streams import StreamType

__all__ = ["StreamType"]
