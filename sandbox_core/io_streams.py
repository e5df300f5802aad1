"""Modal's ``modal.io_streams`` module name: :class:`StreamReader`, :class:`StreamWriter` (``sandbox_core.streams``)."""

from __future__ import annotations

from .streams import StreamReader, StreamWriter

__all__ = ["StreamReader", "StreamWriter"]
