"""Exec start failures are data: the one contract every exec backend (engine exec, in-sandbox agent) follows.

A command whose program cannot be started — it does not exist, is not executable, or its ``workdir`` cannot be
entered — does not make ``Sandbox.exec`` raise. ``exec`` returns a process that has already ended, reported the way a
shell reports it:

- **returncode** 127 when the program is not found, 126 otherwise (not executable, bad working directory, anything
  else that kept it from starting);
- **one line on stderr** saying what failed (``node: command not found``, ``/etc/passwd: Permission denied``,
  ``cannot change to working directory /nope: No such file or directory``); with ``pty=True``, where a program's
  stderr is its terminal, the line arrives on stdout, ending in ``\\r\\n`` as a terminal shows it;
- **nothing else**: no runtime or agent text ever reaches stdout.

Why not an exception: Modal's client starts an exec with a request that returns nothing and learns the outcome only
as output and an exit status (``TaskExecStartResponse`` is empty; ``TaskExecWaitResponse`` carries a code or a
signal), so Modal code handles a missing program by its returncode and stderr, as with ``subprocess`` and a shell.

Backends report a failure as a :class:`StartFailure` — the engine backend from ``ExecStartFailed`` (raised by the
engine's stream, see ``_engine/docker/startfail.py``) via :class:`StartScreen`, the agent backend from the agent's
error via :func:`from_agent_error` — and turn it into output with :meth:`StartFailure.frame`.
"""

from __future__ import annotations

from typing import Literal

import attrs

from ._engine.api import STDERR, STDOUT, ExecStream
from ._engine.errors import ExecStartFailed

__all__ = ["Reason", "StartFailure", "StartScreen", "from_agent_error", "from_engine"]

Reason = Literal["not_found", "not_executable", "bad_workdir", "other"]

#: Return codes as POSIX shells use them.
NOT_FOUND = 127
NOT_EXECUTABLE = 126


def _strerror(detail: str, default: str) -> str:
    lowered = detail.lower()
    for text in ("No such file or directory", "Not a directory", "Permission denied", "Exec format error"):
        if text.lower() in lowered:
            return text
    if "is a directory" in lowered:
        return "Is a directory"
    return default


@attrs.frozen
class StartFailure:
    """Why ``program`` (argv[0]) did not start in ``workdir`` (None: the default); ``detail`` is the backend's own
    wording, used only where no shell wording fits."""

    reason: Reason
    program: str
    workdir: str | None = None
    detail: str = ""

    @property
    def returncode(self) -> int:
        """127 for a program that is not found, 126 for every other start failure (as a shell)."""
        return NOT_FOUND if self.reason == "not_found" else NOT_EXECUTABLE

    @property
    def message(self) -> str:
        """The line a shell would print (without its newline)."""
        if self.reason == "not_found":
            # A shell searches PATH for a bare name; a path is looked up as given.
            return f"{self.program}: " + ("No such file or directory" if "/" in self.program else "command not found")
        if self.reason == "not_executable":
            return f"{self.program}: {_strerror(self.detail, 'Permission denied')}"
        if self.reason == "bad_workdir":
            return (
                f"cannot change to working directory {self.workdir or ''}: "
                f"{_strerror(self.detail, 'No such file or directory')}"
            )
        return f"{self.program}: cannot execute: {self.detail or 'the command could not be started'}"

    def frame(self, *, pty: bool) -> tuple[int, bytes]:
        """The output frame reporting the failure: stderr, or with a PTY the terminal (stdout) with ``\\r\\n``."""
        if pty:
            return STDOUT, (self.message + "\r\n").encode()
        return STDERR, (self.message + "\n").encode()


def from_engine(err: ExecStartFailed, argv: tuple[str, ...], workdir: str | None) -> StartFailure:
    """The failure the engine backend reported for ``argv`` run in ``workdir``."""
    return StartFailure(reason=err.reason, program=argv[0], workdir=workdir, detail=err.detail)


#: The agent's error kinds (agent/PROTOCOL.md) for a program that did not start.
_AGENT_REASONS: dict[str, Reason] = {
    "NotFound": "not_found",
    "PermissionDenied": "not_executable",
    "ExecFormat": "not_executable",
    "IsDirectory": "not_executable",
    "NotDirectory": "not_executable",
}


def from_agent_error(kind: str, message: str, argv: tuple[str, ...], workdir: str | None) -> StartFailure | None:
    """The failure the agent reported (its error ``kind`` and ``message`` for an exec request), or None when the
    error is not about starting the program (then it is the agent's own error, raised as such)."""
    reason = _AGENT_REASONS.get(kind)
    if reason is None:
        return None
    if workdir is not None and message.startswith("cannot enter working directory"):
        reason = "bad_workdir"
    return StartFailure(reason=reason, program=argv[0], workdir=workdir, detail=message)


class StartScreen:
    """An engine exec stream whose start failure becomes data (an ``ExecStream``): when the stream raises
    ``ExecStartFailed``, :attr:`failure` is set and the failure's frame is the only output, then EOF."""

    __slots__ = ("_argv", "_done", "_inner", "_workdir", "failure")

    def __init__(self, inner: ExecStream, argv: tuple[str, ...], workdir: str | None) -> None:
        self._inner = inner
        self._argv = argv
        self._workdir = workdir
        self._done = False
        self.failure: StartFailure | None = None

    @property
    def tty(self) -> bool:
        return self._inner.tty

    async def read_frame(self) -> tuple[int, bytes] | None:
        if self._done:
            return None
        try:
            return await self._inner.read_frame()
        except ExecStartFailed as e:
            self._done = True
            self.failure = from_engine(e, self._argv, self._workdir)
            return self.failure.frame(pty=self._inner.tty)

    async def write(self, data: bytes) -> None:
        await self._inner.write(data)

    def close_write(self) -> bool:
        return self._inner.close_write()

    async def close(self) -> None:
        await self._inner.close()
