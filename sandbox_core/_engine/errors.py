"""The engine layer's own exceptions: what went wrong, said specifically, so callers never parse engine messages.

Each subclasses the ``sandbox_core.exception`` class a caller would catch anyway, so code that catches
``NotFoundError`` or ``ConflictError`` sees these too and nothing public changes::

    NotFoundError
     ├── NoSuchContainer        the container (sandbox) does not exist (any more)
     ├── NoSuchImage            the image is not on the engine
     ├── NoSuchExec             the exec is unknown (the engine forgets finished execs after a while)
     ├── NoSuchVolume           the volume (or record) does not exist
     ├── NoSuchNetwork
     └── ImagePullError         the image could not be pulled (``reachable``: whether a registry answered)
    ConflictError
     ├── ContainerNotRunning    the operation needs a running container (also: paused)
     ├── NameConflict           the name is held by another object
     ├── VolumeInUse            a volume cannot be removed while a container (running or not) mounts it
     └── RemovalInProgress      someone else is removing the object
    ImageBuildError
     └── BuildFailed            an image build stopped at an instruction (which, and the tail of its log)
    ExecutionError
     └── ExecStartFailed        an exec's program never started (``reason``: not found, not executable, bad workdir)
    Error
     └── ArchivePathError       an archive operation failed because of the path; ``kind`` says how

Every engine implementation raises these (and the plain ``sandbox_core.exception`` classes for anything else),
always with ``engine_status`` set when the engine answered with a status.
"""

from __future__ import annotations

from typing import Literal

from .. import exception as exc


class NoSuchContainer(exc.NotFoundError):
    """The container does not exist (never did, or was removed)."""


class NoSuchImage(exc.NotFoundError):
    """The image is not present on the engine."""


class NoSuchExec(exc.NotFoundError):
    """The exec is unknown to the engine."""


class NoSuchVolume(exc.NotFoundError):
    """The volume does not exist."""


class NoSuchNetwork(exc.NotFoundError):
    """The network does not exist."""


class ImagePullError(exc.NotFoundError):
    """The image could not be pulled from its registry (missing there, registry unreachable, …).

    ``reachable`` is False when no registry answered at all (as opposed to one that answered without the image).
    """

    def __init__(self, message: str, *, reachable: bool = True) -> None:
        super().__init__(message)
        self.reachable = reachable


class BuildFailed(exc.ImageBuildError):
    """An image build stopped.

    ``instruction`` is the Dockerfile instruction that failed (None when the build failed before one ran, e.g. a
    Dockerfile the engine cannot parse), ``step``/``steps`` its position as the engine counts it, ``log_tail`` the
    last lines of output, ``engine_message`` the engine's error text.
    """

    def __init__(
        self,
        message: str,
        *,
        engine_message: str,
        instruction: str | None = None,
        step: int | None = None,
        steps: int | None = None,
        log_tail: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.engine_message = engine_message
        self.instruction = instruction
        self.step = step
        self.steps = steps
        self.log_tail = log_tail


class ContainerNotRunning(exc.ConflictError):
    """The operation needs a running container and this one is not (created, paused or finished)."""


class NameConflict(exc.ConflictError):
    """The name is already held by another object of the same kind."""


class VolumeInUse(exc.ConflictError):
    """The volume is mounted by a container (running or not), so the engine keeps it."""


class RemovalInProgress(exc.ConflictError):
    """Another client is already removing the object."""


ArchiveErrorKind = Literal["missing", "not_a_directory", "is_a_directory", "exists", "read_only", "other"]


class ArchivePathError(exc.Error):
    """The engine refused an archive operation because of the path (not the container).

    ``kind`` is one of ``missing``, ``not_a_directory``, ``is_a_directory``, ``exists``, ``read_only``, ``other``;
    the message is the engine's, without host paths or container ids.
    """

    def __init__(self, kind: ArchiveErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ArchiveErrorKind = kind


ExecStartReason = Literal["not_found", "not_executable", "bad_workdir", "other"]


class ExecStartFailed(exc.ExecutionError):
    """An exec's program could not be started: raised by the exec stream's first ``read_frame`` instead of the
    runtime's error text, which the engine would otherwise send as the process's output.

    ``reason``: ``not_found`` (no such program), ``not_executable`` (permission denied, not a program, a directory),
    ``bad_workdir`` (the working directory cannot be entered), ``other``; ``detail`` the runtime's reason in its words.
    """

    def __init__(self, reason: ExecStartReason, detail: str) -> None:
        super().__init__(f"the command could not be started ({reason}): {detail}")
        self.reason: ExecStartReason = reason
        self.detail = detail
