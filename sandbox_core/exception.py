"""Exceptions raised by sandbox_core (and, being the same classes, by sandbox_core_sync).

The tree mirrors ``modal.exception`` so that code written against Modal catches the same classes::

    Exception
     └── Error
          ├── AlreadyExistsError          a sandbox name already taken in its app
          ├── AuthError
          ├── ClientClosed                any operation on a detached sandbox
          ├── ConnectionError             the Docker engine cannot be reached
          ├── DataLossError
          ├── ExecutionError
          ├── FilesystemExecutionError    legacy FileIO failure without a better class
          ├── InternalError               the engine failed in a way we cannot classify
          ├── InvalidError                bad arguments or state
          │    └── ConflictError          the sandbox is in the wrong state (e.g. exec on a finished sandbox)
          ├── LogsFetchError              a log query beyond Modal's limits (Sandbox.logs)
          ├── NotFoundError               unknown sandbox, image, app, or an unavailable sandbox
          ├── PermissionDeniedError
          ├── RemoteError
          │    └── ImageBuildError
          ├── ResourceExhaustedError
          ├── SandboxFilesystemError      base of every Sandbox.filesystem error
          │    ├── SandboxFilesystemDirectoryNotEmptyError
          │    ├── SandboxFilesystemFileTooLargeError
          │    ├── SandboxFilesystemIsADirectoryError
          │    ├── SandboxFilesystemNotADirectoryError
          │    ├── SandboxFilesystemNotFoundError
          │    ├── SandboxFilesystemPathAlreadyExistsError
          │    └── SandboxFilesystemPermissionError
          ├── SandboxTerminatedError      wait(raise_on_termination=True) after terminate()
          ├── ServiceError                the engine answered with a transient/unexpected failure
          ├── SnapshotCreationError
          ├── TimeoutError                an operation's deadline passed (not builtins.TimeoutError)
          │    ├── ExecTimeoutError       never raised here: an exec past its timeout reports -1, as in Modal
          │    └── SandboxTimeoutError    the sandbox passed its lifetime ``timeout`` (returncode 124)
          └── UnimplementedError

    UserWarning
     ├── AsyncUsageWarning                a blocking sandbox_core_sync call made inside a running event loop
     └── DeprecationError                 warning category for deprecated API (raised by deprecation_error)

The SandboxFilesystem* classes are deliberately *not* OSError subclasses (as in Modal); the deprecated ``FileIO``
raises the builtin OSError family instead. No ``aiodocker``/``aiohttp`` exception ever reaches a caller: the engine
layer raises the classes above, or subclasses of them that say more (``sandbox_core._engine.errors``:
``NoSuchContainer`` is a ``NotFoundError``, ``ContainerNotRunning`` a ``ConflictError`` …).
"""

from __future__ import annotations

import datetime

from . import _warnings

__all__ = [
    "AlreadyExistsError",
    "AsyncUsageWarning",
    "AuthError",
    "ClientClosed",
    "ConflictError",
    "ConnectionError",
    "DataLossError",
    "DeprecationError",
    "Error",
    "ExecTimeoutError",
    "ExecutionError",
    "FilesystemExecutionError",
    "ImageBuildError",
    "InternalError",
    "InvalidError",
    "LocalBackendWarning",
    "LogsFetchError",
    "NotFoundError",
    "PermissionDeniedError",
    "RemoteError",
    "ResourceExhaustedError",
    "SandboxFilesystemDirectoryNotEmptyError",
    "SandboxFilesystemError",
    "SandboxFilesystemFileTooLargeError",
    "SandboxFilesystemIsADirectoryError",
    "SandboxFilesystemNotADirectoryError",
    "SandboxFilesystemNotFoundError",
    "SandboxFilesystemPathAlreadyExistsError",
    "SandboxFilesystemPermissionError",
    "SandboxTerminatedError",
    "SandboxTimeoutError",
    "ServiceError",
    "SnapshotCreationError",
    "TimeoutError",
    "UnimplementedError",
    "deprecation_error",
    "deprecation_warning",
]


class Error(Exception):
    """Base class of every error sandbox_core raises.

    ``engine_status`` is the HTTP status the Docker engine answered with, when the error came from the engine.
    """

    engine_status: int | None = None


class AlreadyExistsError(Error):
    """An object with that name already exists (e.g. a running sandbox with the same name in the app)."""


class AuthError(Error):
    """Authentication failed."""


class ClientClosed(Error):
    """The handle was detached; only ``wait``, ``returncode`` and ``detach`` remain usable."""


class ConnectionError(Error):
    """The Docker engine could not be reached."""


class DataLossError(Error):
    """Data was lost."""


class ExecutionError(Error):
    """An operation could not be carried out."""


class FilesystemExecutionError(Error):
    """A legacy ``FileIO`` operation failed without a more specific class."""


class InternalError(Error):
    """The engine failed in a way that cannot be classified."""


class InvalidError(Error):
    """Invalid arguments or an invalid state."""


class ConflictError(InvalidError):
    """The object is in the wrong state for the operation (e.g. exec on a finished sandbox)."""


class LogsFetchError(Error):
    """A log query beyond Modal's limits: more than 20000 entries to ``tail``, a ``fetch`` range over 35 days."""


class NotFoundError(Error):
    """The object does not exist or is no longer available."""


class PermissionDeniedError(Error):
    """The engine refused the operation."""


class RemoteError(Error):
    """An error raised by code running remotely."""


class ImageBuildError(RemoteError):
    """An image could not be built."""

    def __init__(self, message: str, image_id: str | None = None) -> None:
        super().__init__(message)
        self.image_id = image_id


class ResourceExhaustedError(Error):
    """A resource limit was hit."""


class ServiceError(Error):
    """The engine answered with an unexpected or transient failure."""


class SnapshotCreationError(Error):
    """A snapshot will not be produced."""


class UnimplementedError(Error):
    """The operation is not implemented by this backend."""


class TimeoutError(Error):
    """An operation's deadline passed."""


class SandboxTimeoutError(TimeoutError):
    """The sandbox exceeded its lifetime ``timeout`` (its returncode is 124)."""


class ExecTimeoutError(TimeoutError):
    """Part of Modal's tree, so that code catching it runs unchanged; never raised here: an exec past its
    ``timeout`` reports returncode -1 with quietly ended streams, as Modal's client does."""


class SandboxTerminatedError(Error):
    """The sandbox was terminated (raised by ``wait(raise_on_termination=True)``)."""


class SandboxFilesystemError(Error):
    """Base class of ``Sandbox.filesystem`` errors."""


class SandboxFilesystemNotFoundError(SandboxFilesystemError):
    """The path does not exist."""


class SandboxFilesystemDirectoryNotEmptyError(SandboxFilesystemError):
    """The directory is not empty (remove without ``recursive=True``)."""


class SandboxFilesystemIsADirectoryError(SandboxFilesystemError):
    """The path is a directory where a file was expected."""


class SandboxFilesystemNotADirectoryError(SandboxFilesystemError):
    """A path component is not a directory."""


class SandboxFilesystemPermissionError(SandboxFilesystemError):
    """The sandbox user may not access the path."""


class SandboxFilesystemFileTooLargeError(SandboxFilesystemError):
    """The file is larger than the operation allows."""


class SandboxFilesystemPathAlreadyExistsError(SandboxFilesystemError):
    """The path already exists."""


class DeprecationError(UserWarning):
    """Warning category for deprecated API; ``deprecation_error`` raises it as an exception."""


class AsyncUsageWarning(UserWarning):
    """A blocking ``sandbox_core_sync`` interface was used inside a running event loop (the call still runs).

    ``warnings.simplefilter("error", AsyncUsageWarning)`` (or ``-W error::sandbox_core.exception.AsyncUsageWarning``)
    makes such calls raise it instead, before anything runs.
    """


class LocalBackendWarning(UserWarning):
    """The local backend ran a request differently from Modal because the local engine cannot do it as asked (e.g.
    a ``cpu`` limit above the host's cores, lowered to them); the message says what changed. Not a Modal class."""


def deprecation_warning(deprecated_on: datetime.date, msg: str) -> None:
    """Warn with ``DeprecationError`` and the message ``"YYYY-MM-DD: msg"`` (Modal's format), at the user's line
    (found by walking the stack: ``sandbox_core._warnings``)."""
    _warnings.warn(f"{deprecated_on.isoformat()}: {msg}", DeprecationError)


def deprecation_error(deprecated_on: datetime.date, msg: str) -> DeprecationError:
    """Return (for the caller to raise) ``DeprecationError("Deprecated on YYYY-MM-DD: msg")``."""
    return DeprecationError(f"Deprecated on {deprecated_on.isoformat()}: {msg}")


# ``-W error::sandbox_core.exception.AsyncUsageWarning`` (Python drops such options at startup; see _warnings).
_warnings.apply_startup_options(AsyncUsageWarning, DeprecationError, LocalBackendWarning)
