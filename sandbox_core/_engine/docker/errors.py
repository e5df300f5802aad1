"""From what the Docker engine (or the connection to it) reported to a library exception: the one table.

``engine_error(status, message, what)`` is the only place that maps an engine status (and, where a status alone is
ambiguous, the engine's message) to an exception class; ``translate`` adds transport failures (no answer, a broken
connection). Both are applied around the engine layer's own I/O only (``engine_errors``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator

import aiodocker
import aiohttp

from ... import exception as exc
from .. import errors as E

#: engine status -> (message fragments that name a more specific condition, then the class for the status alone).
#: Fragments are matched, lower-case, against the engine's message; the first match wins.
STATUS_ERRORS: dict[int, tuple[tuple[tuple[str, type[exc.Error]], ...], type[exc.Error]]] = {
    # Renaming a container to the name it already has: a second claimant of a name derived from the container.
    400: ((("same name as its current name", E.NameConflict),), exc.InvalidError),
    401: ((), exc.PermissionDeniedError),
    403: ((), exc.PermissionDeniedError),
    404: (
        (
            ("no such container", E.NoSuchContainer),
            ("no such image", E.NoSuchImage),
            ("image not known", E.NoSuchImage),  # Podman's wording
            ("no such exec", E.NoSuchExec),
            ("no such volume", E.NoSuchVolume),
            ("network", E.NoSuchNetwork),
        ),
        exc.NotFoundError,
    ),
    409: (
        (
            ("is not running", E.ContainerNotRunning),
            ("container state improper", E.ContainerNotRunning),  # Podman's wording (see _PODMAN_500)
            ("is paused", E.ContainerNotRunning),
            ("is restarting", E.ContainerNotRunning),
            ("already in progress", E.RemovalInProgress),
            ("already in use", E.NameConflict),
            ("volume already exists", E.NameConflict),
            ("volume is in use", E.VolumeInUse),
            ("volume is being used", E.VolumeInUse),  # Podman's wording
        ),
        exc.ConflictError,
    ),
    # Some engine versions answer 500 where they mean 409.
    500: ((("is not running", E.ContainerNotRunning),), exc.ServiceError),
    501: ((), exc.UnimplementedError),
    # aiodocker's status for "cannot connect to the engine".
    900: ((), exc.ConnectionError),
}


#: Podman answers 500 where Docker answers 409 or 400: (message fragment, Docker's status), so that callers (and
#: ``engine_status``) see one engine. Docker never words a 500 this way.
_PODMAN_500 = (
    ("container state improper", 409),  # kill, exec, attach … on a container that is not running
    ("already in use", 409),  # create or rename with a name that is taken
    ("volume already exists", 409),  # two creates of one volume name at once (Docker returns the first)
    ("has dependent containers", 409),  # removing a container whose namespace another one joined
    ("does not exist in database: no such container", 404),  # a container removed while it is asked about
    ("normalizing image", 400),  # an invalid image reference
    ("invalid reference format", 400),
)


#: A path in the engine's data-root down to a container's root filesystem (``<data-root>/overlay2/<id>/merged``):
#: what follows it is the path inside the sandbox.
_HOST_ROOTFS_RE = re.compile(
    r"/\S*?/(?:overlay2|overlay|aufs|btrfs|zfs|vfs|devicemapper)/[0-9a-f]{12,}(?:-init)?/(?:merged|diff)"
)
#: Any other path in the engine's data-root (a container's or image's directory).
_HOST_DATA_RE = re.compile(r"/\S*?/(?:containers|image|volumes|overlay2)/[0-9a-f]{12,}[^\s:]*")


def scrub_host_paths(message: str) -> str:
    """``message`` without the engine host's paths: a root filesystem's prefix is dropped (leaving the sandbox's
    own path), any other data-root path becomes ``<engine path>``."""
    return _HOST_DATA_RE.sub("<engine path>", _HOST_ROOTFS_RE.sub("", message))


def engine_error(status: int, message: str, what: str) -> exc.Error:
    """The exception for an engine answer ``status`` with ``message`` to the request described by ``what``
    (host paths of the engine's data-root removed from the message)."""
    message = scrub_host_paths(message)
    if status == 500:
        low = message.lower()
        status = next((docker for fragment, docker in _PODMAN_500 if fragment in low), status)
    specific, default = STATUS_ERRORS.get(status, ((), exc.ServiceError))
    low = message.lower()
    cls = next((c for fragment, c in specific if fragment in low), default)
    error = cls(f"{what}: {message}")
    error.engine_status = status
    return error


def translate(error: BaseException, what: str) -> exc.Error:
    """The library exception for a failure of the engine I/O described by ``what``."""
    if isinstance(error, exc.Error):
        return error
    if isinstance(error, aiodocker.DockerError):
        return engine_error(error.status, str(error.message).strip(), what)
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        return exc.TimeoutError(f"{what}: the Docker engine did not answer in time")
    if isinstance(error, aiohttp.ClientConnectionError | ConnectionError):
        return exc.ConnectionError(f"{what}: lost the connection to the Docker engine ({error})")
    if isinstance(error, aiohttp.ClientPayloadError):
        # The answer's body ended before its announced end: the engine went away mid-answer (a stop or a crash).
        return exc.ConnectionError(f"{what}: lost the connection to the Docker engine in the middle of its answer")
    if isinstance(error, aiohttp.ClientError | OSError | json.JSONDecodeError):
        return exc.ServiceError(f"{what}: {type(error).__name__}: {error}")
    return exc.InternalError(f"{what}: {type(error).__name__}: {error}")


#: What a failed engine request can raise (before translation).
IO_ERRORS = (TimeoutError, aiodocker.DockerError, aiohttp.ClientError, OSError, json.JSONDecodeError)


@contextlib.asynccontextmanager
async def engine_errors(what: str, deadline: float | None = None) -> AsyncIterator[None]:
    """Translate failures of the engine I/O inside; apply ``deadline`` seconds (None or inf: none).

    Wrap engine I/O only, never a caller's code: a caller's ``OSError`` would be reported as an engine failure.
    """
    try:
        if deadline is None or deadline == float("inf"):
            yield
        else:
            async with asyncio.timeout(deadline):
                yield
    except IO_ERRORS as e:
        raise translate(e, what) from e
