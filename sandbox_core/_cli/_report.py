"""Errors as one typed line on stderr (``sandbox-core: NotFoundError: …``), or one JSON object with ``--json``.

Tracebacks only with ``--debug``: users get the class and the message, which every ``sandbox_core.exception``
already phrases as what was wrong and what is allowed.
"""

from __future__ import annotations

import json
import sys
import traceback
from typing import TextIO

PROG = "sandbox-core"


def error_type(error: BaseException) -> str:
    """The name scripts see for an error: the class name (``NotFoundError``, ``FileNotFoundError`` …)."""
    return type(error).__name__


def one_line(message: str) -> str:
    """``message`` on one line: inner newlines and runs of spaces collapsed."""
    return " ".join(message.split())


def error_message(error: BaseException) -> str:
    """The human part of an error: its message, or its class name when it has none."""
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename is not None else ""
        return one_line(f"{error.strerror}{where}")
    return one_line(str(error)) or error_type(error)


def report_error(error: BaseException, code: int, *, as_json: bool, debug: bool, stream: TextIO | None = None) -> None:
    """Write ``error`` to ``stream`` (stderr): one line, or one JSON object ``{"error": {"type", "message",
    "exit_code"}}``; the traceback first when ``debug``."""
    out = stream if stream is not None else sys.stderr
    if debug:
        traceback.print_exception(error, file=out)
    if as_json:
        payload = {"error": {"type": error_type(error), "message": error_message(error), "exit_code": code}}
        out.write(json.dumps(payload) + "\n")
    else:
        out.write(f"{PROG}: {error_type(error)}: {error_message(error)}\n")
    out.flush()
