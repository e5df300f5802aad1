"""What commands print: JSON documents for scripts, tables for people, plain columns when piped.

JSON goes to stdout as one document per command (``ls`` an array, others an object; ``logs --json`` one object per
line). Its keys are part of the command line's contract (docs/cli.md): new keys may be added, none renamed.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


def is_tty(stream: Any) -> bool:
    """True when ``stream`` is a terminal (progress bars and tables); False for pipes and files (plain lines)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class FdSink:
    """Unbuffered output to a file descriptor (a remote process's bytes go out as they come). Once the reader has
    gone (a closed pipe, e.g. ``| head``), further output is dropped quietly: the remote command runs to its end, as
    it would with its output on a terminal."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except BrokenPipeError:
            self.closed = True


def emit_json(document: Any) -> None:
    """Write one JSON document to stdout (indented on a terminal, one line otherwise)."""
    indent = 2 if is_tty(sys.stdout) else None
    sys.stdout.write(json.dumps(document, indent=indent, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def emit_json_line(document: Any) -> None:
    """Write one JSON object on its own line (streams of records, e.g. ``logs --json``)."""
    sys.stdout.write(json.dumps(document, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def emit_line(text: str) -> None:
    """Write one line of plain output to stdout."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def emit_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A table: rich on a terminal; whitespace-aligned columns (no truncation, easy to ``awk``) otherwise."""
    if is_tty(sys.stdout):
        table = Table(*headers, box=None, header_style="bold", pad_edge=False)
        for row in rows:
            table.add_row(*row)
        Console(soft_wrap=True).print(table)
        return
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    for line in [headers, *rows]:
        sys.stdout.write("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() + "\n")
    sys.stdout.flush()


def iso_time(epoch: float) -> str:
    """``epoch`` as an ISO 8601 UTC time with a ``Z`` suffix (seconds precision)."""
    t = datetime.datetime.fromtimestamp(epoch, datetime.UTC).replace(microsecond=0)
    return t.isoformat().replace("+00:00", "Z")


def human_age(seconds: float) -> str:
    """A short age: ``42s``, ``5m``, ``3h``, ``2d``."""
    s = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def human_size(n: int) -> str:
    """Bytes in binary units: ``512 B``, ``1.5 KiB``, ``3.2 MiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def format_tags(tags: dict[str, str]) -> str:
    """Tags as ``k=v,k2=v2`` (sorted), or ``-`` when there are none."""
    return ",".join(f"{k}={v}" for k, v in sorted(tags.items())) or "-"
