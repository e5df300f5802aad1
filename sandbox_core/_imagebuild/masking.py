"""Masking of build-time values (a step's ``env``/``secrets``) in every line of output and error text the
builder produces.

Each value is replaced by ``***``, and so is each line of a multi-line value (output arrives line by line). Values
shorter than ``MIN_MASKED`` characters are left as they are: replacing every ``1`` or ``on`` of a log would make it
unreadable, and a value that short cannot be kept secret anyway.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .._engine.api import LineSink
from .report import BuildOutput

MIN_MASKED = 4
MASK = "***"


def _pieces(values: Iterable[str]) -> tuple[str, ...]:
    found = {piece for v in values for piece in (v, *v.splitlines()) if len(piece.strip()) >= MIN_MASKED}
    return tuple(sorted(found, key=len, reverse=True))  # longest first: a value containing another is masked whole


@attrs.frozen
class Mask:
    """Replaces the values it was made from (see the module docstring)."""

    pieces: tuple[str, ...] = attrs.field(converter=_pieces, repr=False)

    def __call__(self, text: str) -> str:
        for piece in self.pieces:
            text = text.replace(piece, MASK)
        return text

    def sink(self, on_line: LineSink | None) -> LineSink | None:
        """``on_line`` with every line masked (log and status lines of a ``BuildOutput`` alike)."""
        if on_line is None or not self.pieces:
            return on_line
        if isinstance(on_line, BuildOutput):
            log, status = on_line.log, on_line.status
            return BuildOutput(lambda line: log(self(line)), lambda line: status(self(line)))
        target = on_line
        return lambda line: target(self(line))
