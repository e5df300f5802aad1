"""Two kinds of build output: the engine's log (a build's or a pull's own lines) and the builder's status lines
(which step it builds, waits for or pulls).

Builder code takes one ``LineSink`` for both. A plain sink gets every line; a ``BuildOutput`` gets the log through
``__call__`` and the status lines through ``status``, so that a caller can show them differently (Modal's
``enable_output(show_progress=False)`` keeps the log and drops the status lines).
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from .._engine.api import LineSink


@attrs.frozen
class BuildOutput:
    """A sink whose calls are log lines, with a separate sink for status lines."""

    log: LineSink
    status: LineSink

    def __call__(self, line: str) -> None:
        self.log(line)


def status(on_line: LineSink | None, text: str) -> None:
    """Emit the status line ``text`` (to ``on_line.status`` for a ``BuildOutput``, else to ``on_line``)."""
    if on_line is None:
        return
    (on_line.status if isinstance(on_line, BuildOutput) else on_line)(text)


def later(on_line: LineSink | None, text: str) -> Callable[[], None] | None:
    """A callable that emits the status line ``text`` (None without a sink)."""
    return None if on_line is None else (lambda: status(on_line, text))
