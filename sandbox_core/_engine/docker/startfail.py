"""The runtime's "could not start" text on a Docker exec stream: recognised, confirmed, and turned into
``ExecStartFailed``.

When runc (or runsc, crun) cannot start an exec's program, the engine answers the attach with the error as the
*process's stdout* — ``OCI runtime exec failed: exec failed: unable to start container process: exec: "node":
executable file not found in $PATH: unknown`` — and records exit code 126 with no pid. :class:`ScreenedExecStream`
keeps that text from ever reaching the process's readers: when the first frame starts with the runtime's prefix it
asks the engine whether the process ever ran (``Pid`` 0, not running, 126); only then is the frame the runtime's, and
``read_frame`` raises ``ExecStartFailed`` instead. Any other first frame — and a program that happens to print the
prefix itself, which has a pid — passes through unchanged, at the cost of one inspect for that program only.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from ..api import STDOUT
from ..errors import ExecStartFailed, ExecStartReason
from ..values import ExecInfo
from .hijack import HijackedStream

#: How the engine's start-failure text begins (Docker 20.10+; older daemons: "oci runtime error").
PREFIXES = (b"OCI runtime exec failed:", b"oci runtime error:")
_NOISE = re.compile(
    r"^(?:OCI runtime exec failed: |oci runtime error: )?(?:exec failed: )?"
    r"(?:unable to start container process: |container_linux\.go:\d+: starting container process caused: )?"
)


def classify(text: bytes) -> tuple[ExecStartReason, str]:
    """(reason, detail) of the runtime's start-failure ``text``."""
    detail = _NOISE.sub("", text.decode("utf-8", "replace").strip())
    detail = detail.removesuffix(": unknown")
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

    __slots__ = ("_held", "_inner", "_inspect", "_screened")

    def __init__(self, inner: HijackedStream, inspect: Callable[[], Awaitable[ExecInfo]]) -> None:
        self._inner = inner
        self._inspect = inspect
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
        if frame[0] != STDOUT or not frame[1].startswith(PREFIXES):
            return frame
        info = await self._inspect()
        if info.running or info.pid != 0 or info.exit_code != 126:
            return frame  # a process that ran printed it
        following = await self._inner.read_frame()
        if following is not None:  # the runtime sends its text and closes: more output is the program's
            self._held.append(following)
            return frame
        reason, detail = classify(frame[1])
        raise ExecStartFailed(reason, detail)

    async def write(self, data: bytes) -> None:
        await self._inner.write(data)

    def close_write(self) -> bool:
        return self._inner.close_write()

    async def close(self) -> None:
        await self._inner.close()
