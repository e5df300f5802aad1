"""Argument checks shared by ``Sandbox.create``, ``exec``, ``list``, ``set_tags`` and the lookups (Modal's messages),
each written once."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from .client import Client
from .exception import InvalidError, deprecation_warning

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


def check_tags(tags: Any) -> None:
    """Raise ``InvalidError`` unless ``tags`` is a ``dict[str, str]``."""
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise InvalidError("tags must be a dict[str, str]")


def reject_client(client: Any) -> None:
    """Raise ``InvalidError`` unless ``client`` is None or a ``Client`` (the process's one local client: both mean
    the same engine)."""
    if client is not None and not isinstance(client, Client):
        raise InvalidError(f"client must be a Client (from Client.from_env()) or None, got {type(client).__name__}")


def check_environment_name(environment_name: Any) -> None:
    """Raise ``InvalidError`` unless ``environment_name`` is None or a string. The local engine is one environment:
    any name refers to it (as a Modal workspace with a single environment would)."""
    if environment_name is not None and not isinstance(environment_name, str):
        raise InvalidError(f"environment_name must be a string or None, got {type(environment_name).__name__}")


def check_workdir(workdir: Any) -> None:
    """Raise ``InvalidError`` unless ``workdir`` is None or an absolute path."""
    if workdir is not None and (not isinstance(workdir, str) or not workdir.startswith("/")):
        raise InvalidError(f"workdir must be an absolute path, got: {workdir}")


def pty_from_info(pty: bool, pty_info: Any, *, stacklevel: int) -> bool:
    """``pty``, or True when the deprecated ``pty_info`` is given (with Modal's deprecation warning, attributed
    ``stacklevel`` frames up as in ``warnings.warn``, counted from the warning's own call)."""
    if pty_info is None:
        return pty
    deprecation_warning(
        datetime.date(2025, 9, 12),
        "The `pty_info` parameter is deprecated and will be removed in a future release. "
        "Set the `pty` parameter to `True` instead.",
        stacklevel=stacklevel,
    )
    return True


def check_window_size(rows: Any, cols: Any) -> None:
    """Raise ``InvalidError`` unless ``rows`` and ``cols`` are positive integers."""
    if not (isinstance(rows, int) and isinstance(cols, int) and rows > 0 and cols > 0):
        raise InvalidError(f"rows and cols must be positive integers, got {rows!r} x {cols!r}")
