"""Argument checks shared by ``Sandbox.create`` and ``Sandbox.exec`` (Modal's messages)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .exception import InvalidError

#: Modal's ARG_MAX: the sum of ``len(arg)`` over the argv of an entrypoint or exec.
ARG_MAX_BYTES = 2**16


def validate_argv(args: Sequence[Any]) -> None:
    """Raise ``InvalidError`` unless every argument is a ``str`` and their total length is ≤ ``ARG_MAX_BYTES``."""
    if not all(isinstance(a, str) for a in args):
        raise InvalidError("All entrypoint arguments must be strings")
    total = sum(len(a) for a in args)
    if total > ARG_MAX_BYTES:
        raise InvalidError(
            f"Total length of CMD arguments cannot exceed {ARG_MAX_BYTES} bytes (ARG_MAX). Got {total} bytes."
        )
