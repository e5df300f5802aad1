"""The runtime's "could not start" text on a Docker exec stream: recognised, confirmed, and turned into
``ExecStartFailed``.

When runc (or runsc, crun) cannot start an exec's program, the engine answers the attach with the error as the
*process's stdout* — ``OCI runtime exec failed: exec failed: unable to start container process: exec: "node":
executable file not found in $PATH: unknown`` — and records exit code 126 with no pid. :class:`ScreenedExecStream`
keeps that text from ever reaching the process's readers: when the first frame starts with the runtime's prefix it
asks the engine whether the process ever ran (``Pid`` 0, not running, 126); only then is the frame the runtime's, and
``read_frame`` raises ``ExecStartFailed`` instead. Any other first frame — and a program that happens to print the
prefix itself, which has a pid — passes through unchanged, at the cost of one inspect for that program only.

Podman words it differently (``Shape``): ``Error: runc: exec failed: …`` on *stderr*, exit code 127 (not found) or
126, no pid kept for any ended exec, and a second frame (``Error: read unixpacket …: connection reset by peer``)
before the end.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import attrs

from ..api import STDERR, STDOUT, ChunkReceiver
from ..errors import ExecStartFailed, ExecStartReason
from ..values import ExecInfo
from .hijack import HijackedStream

#: How the engine's start-failure text begins (Docker 20.10+; older daemons: "oci runtime error").
PREFIXES = (b"OCI runtime exec failed:", b"oci runtime error:")
_NOISE = re.compile(
    r"^(?:Error: [a-z]+: )?(?:OCI runtime exec failed: |oci runtime error: )?(?:exec failed: )?"
    r"(?:unable to start container process: |container_linux\.go:\d+: starting container process caused: )?"
)


#: Podman's ending of the same text (its own category of the runtime's error).
_PODMAN_SUFFIX = re.compile(r": OCI (?:runtime attempted to invoke a command that was not found|permission denied)$")


@attrs.frozen
class Shape:
    """How an engine reports an exec whose program never ran: the stream and prefixes of the runtime's text, the
    exit codes it records, whether an ended exec keeps its pid (then a pid means the program ran), and the start of
    a frame it may send after the text before the end."""

    fd: int
    prefixes: tuple[bytes, ...]
    exit_codes: frozenset[int]
    pid_kept: bool = True
    trailer: bytes | None = None


DOCKER = Shape(STDOUT, PREFIXES, frozenset({126}))
PODMAN = Shape(
    STDERR,
    (b"Error: runc: exec failed:", b"Error: crun: "),
    frozenset({126, 127}),
    pid_kept=False,
    trailer=b"Error: read",
)


def classify(text: bytes) -> tuple[ExecStartReason, str]:
    """(reason, detail) of the runtime's start-failure ``text``."""
    detail = _NOISE.sub("", text.decode("utf-8", "replace").strip())
    detail = _PODMAN_SUFFIX.sub("", detail.removesuffix(": unknown"))
    lowered = detail.lower()
    reason: ExecStartReason
    if "chdir to cwd" in lowered:
        reason = "bad_workdir"
    elif "executable file not found" in lowered or "no such file or directory" in lowered:
        reason = "not_found"
    elif "permission denied" in lowered or "exec format error" in lowered or "is a directory" in lowered:
        reason = "not_executable"
    else:
        reason = "other"
    return reason, detail


class ScreenedExecStream:
    """An exec's ``HijackedStream`` whose first frame is checked for the runtime's start failure (an ``ExecStream``)."""

    __slots__ = ("_held", "_inner", "_inspect", "_screened", "_shape")

    def __init__(
        self, inner: HijackedStream, inspect: Callable[[], Awaitable[ExecInfo]], shape: Shape = DOCKER
    ) -> None:
        self._inner = inner
        self._inspect = inspect
        self._shape = shape
        self._screened = False
        self._held: list[tuple[int, bytes]] = []

    @property
    def tty(self) -> bool:
        return self._inner.tty

    @property
    def hijacked(self) -> HijackedStream:
        """The stream underneath (the engine layer's own half-close and transport checks use it)."""
        return self._inner

    async def read_frame(self) -> tuple[int, bytes] | None:
        """The next frame, or None at EOF. The first call raises ``ExecStartFailed`` when the program never ran."""
        if self._held:
            return self._held.pop(0)
        frame = await self._inner.read_frame()
        if self._screened or frame is None:
            return frame
        self._screened = True
        shape = self._shape
        if frame[0] != shape.fd or not frame[1].startswith(shape.prefixes):
            return frame
        info = await self._inspect()
        if info.running or (shape.pid_kept and info.pid != 0) or info.exit_code not in shape.exit_codes:
            return frame  # a process that ran printed it
        following = await self._inner.read_frame()
        if following is not None and shape.trailer is not None and following[1].startswith(shape.trailer):
            self._held.append(following)
            following = await self._inner.read_frame()
        if following is not None:  # the runtime sends its text and closes: more output is the program's
            self._held.append(following)
            return frame
        self._held.clear()
        reason, detail = classify(frame[1])
        raise ExecStartFailed(reason, detail)

    def push(self, receiver: ChunkReceiver) -> bool:
        """As ``HijackedStream.push``, once the first frame was read and passed the screening (False before)."""
        if not self._screened or self._held:
            return False
        return self._inner.push(receiver)

    async def write(self, data: bytes) -> None:
        await self._inner.write(data)

    def close_write(self) -> bool:
        return self._inner.close_write()

    async def close(self) -> None:
        await self._inner.close()
