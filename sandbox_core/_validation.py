"""Argument checks shared by ``Sandbox.create``, ``exec``, ``list``, ``set_tags`` and the lookups (Modal's messages),
each written once."""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from .client import Client
from .exception import InvalidError, deprecation_warning

#: Modal's ARG_MAX: the sum of ``len(arg)`` over the argv of an entrypoint or exec.
ARG_MAX_BYTES = 2**16


def validate_argv(args: Sequence[Any]) -> None:
    """Raise ``InvalidError`` unless every argument is a ``str`` without NUL (no program can receive one) and their
    total length is ≤ ``ARG_MAX_BYTES``."""
    if not all(isinstance(a, str) for a in args):
        raise InvalidError("All entrypoint arguments must be strings")
    if any("\0" in a for a in args):
        raise InvalidError("Entrypoint arguments must not contain NUL characters")
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
    if workdir is not None and (not isinstance(workdir, str) or not workdir.startswith("/") or "\0" in workdir):
        raise InvalidError(f"workdir must be an absolute path, got: {workdir}")


def pty_from_info(pty: bool, pty_info: Any) -> bool:
    """``pty``, or True when the deprecated ``pty_info`` is given (with Modal's deprecation warning, at the user's
    line)."""
    if pty_info is None:
        return pty
    deprecation_warning(
        datetime.date(2025, 9, 12),
        "The `pty_info` parameter is deprecated and will be removed in a future release. "
        "Set the `pty` parameter to `True` instead.",
    )
    return True


def check_window_size(rows: Any, cols: Any) -> None:
    """Raise ``InvalidError`` unless ``rows`` and ``cols`` are positive integers."""
    ok = all(isinstance(v, int) and not isinstance(v, bool) and 0 < v <= MAX_WINDOW for v in (rows, cols))
    if not ok:
        raise InvalidError(f"rows and cols must be integers in [1, {MAX_WINDOW}], got {rows!r} x {cols!r}")


#: The longest sandbox lifetime (and exec deadline) accepted: Modal's maximum sandbox ``timeout``, 24 hours.
MAX_TIMEOUT_SECONDS = 24 * 60 * 60
#: Environment variable names (Modal's rule for secret and env keys).
_ENV_KEY_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def is_real(value: Any) -> bool:
    """True for an ``int`` or a finite ``float`` (never a ``bool``; no conversion that could overflow)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def check_seconds(value: Any, param: str, *, allow_zero: bool = False, optional: bool = False) -> None:
    """``InvalidError`` unless ``value`` is a number of seconds in (0, ``MAX_TIMEOUT_SECONDS``] (0 allowed with
    ``allow_zero``, None with ``optional``): inf, nan and huge integers are refused, never converted."""
    if value is None and optional:
        return
    low_ok = is_real(value) and (value >= 0 if allow_zero else value > 0)
    if not low_ok or value > MAX_TIMEOUT_SECONDS:
        lower = "non-negative" if allow_zero else "positive"
        none = " or None" if optional else ""
        raise InvalidError(
            f"{param} must be a {lower} number of seconds at most {MAX_TIMEOUT_SECONDS} (24 hours){none}, got {value!r}"
        )


def check_flag(value: Any, param: str) -> None:
    """``InvalidError`` unless ``value`` is a ``bool``."""
    if not isinstance(value, bool):
        raise InvalidError(f"{param} must be True or False, got {value!r}")


def check_env_keys(env: Iterable[Any]) -> None:
    """``InvalidError`` unless every key of ``env`` (a mapping or the keys) is an environment variable name
    (Modal's messages)."""
    for key in env:
        if key == "":
            raise InvalidError("Secret key name cannot be empty")
        if not isinstance(key, str) or not _ENV_KEY_RE.match(key):
            raise InvalidError(
                f"Secret key name {key!r} is invalid for environment variables. "
                "Only letters, numbers, and underscores are allowed."
            )


#: The largest PTY window accepted (the kernel's ``winsize`` fields are 16-bit).
MAX_WINDOW = 0xFFFF


def pty_info_window(pty_info: Any) -> tuple[int, int]:
    """``pty_info``'s (``winsz_rows``, ``winsz_cols``), 0 for a missing one; ``InvalidError`` unless each is an
    integer in [0, ``MAX_WINDOW``]. Checked before anything is created."""
    rows, cols = getattr(pty_info, "winsz_rows", 0) or 0, getattr(pty_info, "winsz_cols", 0) or 0
    for v in (rows, cols):
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_WINDOW:
            raise InvalidError(f"pty_info window size must be integers in [0, {MAX_WINDOW}], got {rows!r} x {cols!r}")
    return rows, cols
