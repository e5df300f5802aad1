"""The exec backend interface: what ``ContainerProcess`` needs from whatever runs its command.

A backend starts an exec (``ExecBackend.start``) and hands back a ``RunningExec``: the output pumped into the
process's ``StreamReader``s (with their flow control: a full reader holds the producer in the sandbox), stdin with
a real EOF, the exit code, the PTY size, and a **killer** that ends every process of the exec — whatever it forked,
backgrounded or double-forked — for the exec ``timeout``. Both backends keep Modal's semantics; only the transport
differs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import attrs

from .._engine.api import STDOUT
from .._execfail import StartFailure
from ..streams import StreamReader

#: Ends every process of one exec (never raises for a sandbox that is gone). Holds no reference to the exec's
#: output, so that a dropped process can be freed while its deadline still guards what it left running.
Killer = Callable[[], Awaitable[None]]
#: The return code of a process that ended with its sandbox (both backends report it so).
KILLED_WITH_SANDBOX = 137


@attrs.frozen
class ExecRequest:
    """One exec to start: ``args`` (argv), ``env`` (overrides of the sandbox's environment; includes ``marker``
    when set), ``workdir`` (None: the sandbox's), ``pty``, and ``marker`` (``KEY=value`` in the exec's environment
    that its killer looks for; None without a deadline)."""

    args: tuple[str, ...]
    env: Mapping[str, str]
    workdir: str | None
    pty: bool
    marker: str | None = None


class RunningExec(Protocol):
    """A started exec, as its ``ContainerProcess`` drives it."""

    async def pump(self, stdout: StreamReader[Any], stderr: StreamReader[Any]) -> int | None:
        """Feed the output to ``stdout`` and ``stderr`` (with a PTY everything goes to ``stdout``) until it ends;
        return the exit code (128+n when killed by signal n; None when it cannot be learnt). Whatever happens the
        readers get EOF at the end; an exception is set on them (read after what came before it) and raised.
        Cancelling just ends the output."""
        ...

    async def write(self, data: bytes) -> None:
        """Send ``data`` to stdin; ``BrokenPipeError`` once the process no longer takes input."""
        ...

    async def close_stdin(self) -> None:
        """Deliver EOF on stdin (with a PTY: the terminal's end-of-file character, twice after a partial line)."""
        ...

    async def poll(self) -> int | None:
        """The exit code if the program has ended (its output may still be flowing), else None."""
        ...

    async def resize(self, rows: int, cols: int) -> None:
        """Set the PTY's window size."""
        ...

    def killer(self) -> Killer:
        """The function that kills every process of this exec (see ``Killer``)."""
        ...

    async def close(self) -> None:
        """Release the transport at once (unread output is lost; the processes are not killed). Idempotent."""
        ...


class ExecBackend(Protocol):
    """Starts execs in one sandbox."""

    async def start(self, ref: str, req: ExecRequest) -> RunningExec:
        """Start ``req`` in container ``ref``; returns once the program runs (or failed to start: then a
        ``RunningExec`` reporting the failure as its output and exit code). ``ConflictError("Sandbox already
        finished")`` when the sandbox is not running."""
        ...


class FailedExec:
    """The ``RunningExec`` of a program that could not be started: the failure's one line (``_execfail``: on stderr,
    on the terminal with a PTY) and its shell-style exit code."""

    __slots__ = ("_failure", "_pty")

    def __init__(self, failure: StartFailure, *, pty: bool) -> None:
        self._failure = failure
        self._pty = pty

    async def pump(self, stdout: StreamReader[Any], stderr: StreamReader[Any]) -> int | None:
        fd, data = self._failure.frame(pty=self._pty)
        try:
            await (stdout if fd == STDOUT else stderr).feed(data)
        finally:
            stdout.feed_eof()
            stderr.feed_eof()
        return self._failure.returncode

    async def write(self, data: bytes) -> None:
        raise BrokenPipeError("the program was never started")

    async def close_stdin(self) -> None:
        return None

    async def poll(self) -> int | None:
        return self._failure.returncode

    async def resize(self, rows: int, cols: int) -> None:
        return None

    def killer(self) -> Killer:
        async def nothing() -> None:
            return None

        return nothing

    async def close(self) -> None:
        return None
