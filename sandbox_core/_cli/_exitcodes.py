"""The exit codes of ``sandbox-core``: what scripts may rely on, and which error maps to which code.

Two families of commands:

- **Pass-through** commands (``exec``, ``shell``, ``run``) exit with the code of what ran in the sandbox, as is
  (``137`` when it was killed, ``124`` when an exec ``--timeout`` or the sandbox's lifetime ``timeout`` passed).
  Their own failures (sandbox not found, engine unreachable, bad option values…) exit ``125``, so every other code
  belongs to the remote command. The one-line error message names the failure's class.
- **All other** commands exit with a code from the table below.

This module imports neither typer nor rich, so the entry point can report a missing extra with a defined code.
"""

from __future__ import annotations

import builtins
import enum

from .. import exception as exc


class ExitCode(enum.IntEnum):
    """Exit codes of the command line (documented in docs/cli.md)."""

    #: Success.
    OK = 0
    #: The operation failed (any error not listed below; also: the 'cli' extra is not installed).
    FAILED = 1
    #: Bad command line or argument values (also when the library rejects a value with ``InvalidError``).
    USAGE = 2
    #: A sandbox, app, image, or remote or local path does not exist.
    NOT_FOUND = 3
    #: The container engine cannot be reached.
    ENGINE_UNREACHABLE = 4
    #: The object is in the wrong state: a name already taken, a file that exists, a sandbox that already finished.
    CONFLICT = 5
    #: Pass-through commands: an exec ``--timeout`` or the sandbox's lifetime ``timeout`` passed.
    TIMED_OUT = 124
    #: Pass-through commands: the command line itself failed (its message says why).
    CLI_FAILED = 125
    #: Interrupted by SIGINT (Ctrl-C) in the command line itself.
    INTERRUPTED = 130


class UsageError(Exception):
    """A command line that cannot be carried out as written (exit code 2, or 125 for pass-through commands)."""


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code a non-pass-through command reports for ``error``."""
    if isinstance(error, UsageError):
        return ExitCode.USAGE
    if isinstance(error, exc.ConnectionError):
        return ExitCode.ENGINE_UNREACHABLE
    if isinstance(error, exc.NotFoundError | exc.SandboxFilesystemNotFoundError | builtins.FileNotFoundError):
        return ExitCode.NOT_FOUND
    if isinstance(
        error,
        exc.AlreadyExistsError
        | exc.ConflictError
        | exc.SandboxFilesystemPathAlreadyExistsError
        | builtins.FileExistsError,
    ):
        return ExitCode.CONFLICT
    if isinstance(error, exc.InvalidError):
        return ExitCode.USAGE
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    return ExitCode.FAILED


def returncode_to_exit(returncode: int) -> int:
    """The exit code for a remote process's return code: ``-1`` (its exec timeout passed) becomes 124, as with
    ``timeout(1)``; anything else outside 0–255 is reduced modulo 256, as a shell does."""
    if returncode == -1:
        return int(ExitCode.TIMED_OUT)
    return returncode % 256
