"""Modal's ``modal.output`` module name: :func:`enable_output` (see ``sandbox_core._output`` for its contract)."""

from __future__ import annotations

from ._output import enable_output

__all__ = ["enable_output"]
