"""What a build's output says: its lines (for ``on_line`` and an error's log tail), the instruction running, and
the images the build committed (removed again when it fails).

The engine (the classic builder) reports ``Step N/M : INSTRUCTION`` before each instruction and `` ---> <id>`` for
the image it committed or took from its cache (after `` ---> Using cache``). Podman (buildah) writes ``STEP N/M:
INSTRUCTION`` and ``--> <11 hex digits>``, and words a failed ``RUN`` its own way: both are rewritten to Docker's
form here, so ``on_line`` and errors read the same on either engine.
"""

from __future__ import annotations

import collections
import re

import attrs

from ..api import LineSink
from ..errors import BuildFailed

#: Lines of build output kept for the error message of a failed build.
LOG_TAIL_LINES = 40

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_INTERMEDIATE_RE = re.compile(r"^ ---> ([0-9a-f]{11,64})$")
_PODMAN_STEP_RE = re.compile(r"^STEP (\d+)/(\d+): (.*)$")
_PODMAN_INTERMEDIATE_RE = re.compile(r"^--> ([0-9a-f]{11,64})$")
_PODMAN_RUN_FAILED_RE = re.compile(r'^building at STEP "(.*)": while running runtime: exit status (\d+)$', re.DOTALL)


def docker_line(line: str) -> str:
    """A line of build output in Docker's form (Podman's step and layer lines rewritten)."""
    m = _PODMAN_STEP_RE.match(line)
    if m is not None:
        return f"Step {m.group(1)}/{m.group(2)} : {m.group(3)}"
    m = _PODMAN_INTERMEDIATE_RE.match(line)
    if m is not None:
        return f" ---> {m.group(1)}"
    return line


def docker_error(error: str) -> str:
    """A build's error in Docker's words (Podman's report of a failed ``RUN`` rewritten, exit code kept)."""
    m = _PODMAN_RUN_FAILED_RE.match(error.strip())
    if m is not None:
        return f"The command '{m.group(1)}' returned a non-zero code: {m.group(2)}"
    return error


class Lines:
    """Splits streamed text into lines for ``sink`` (a message may hold several lines or part of one) and keeps
    the last ``keep`` of them."""

    def __init__(self, sink: LineSink | None, keep: int = LOG_TAIL_LINES) -> None:
        self._sink = sink
        self._partial = ""
        self.tail: collections.deque[str] = collections.deque(maxlen=keep)

    def feed(self, text: str) -> list[str]:
        """Hand on every line ``text`` completes; returns them."""
        data = self._partial + text.replace("\r\n", "\n")
        *lines, self._partial = data.split("\n")
        return [self.emit(line) for line in lines]

    def emit(self, line: str) -> str:
        """Hand on one whole line; returns it as handed on."""
        line = docker_line(_ANSI_RE.sub("", line))  # the engine colours a step's stderr
        self.tail.append(line)
        if self._sink is not None:
            self._sink(line)
        return line

    def flush(self) -> list[str]:
        """Hand on the unfinished last line, if any; returns it."""
        rest, self._partial = self._partial, ""
        return [self.emit(rest)] if rest else []


@attrs.define
class BuildState:
    """What the build output told so far: the current instruction and the images this build committed (not the
    ``FROM`` image, nor images the engine's cache supplied: those existed before and are not the build's)."""

    step: int | None = None
    steps: int | None = None
    instruction: str | None = None
    image_id: str | None = None
    intermediates: list[str] = attrs.Factory(list)
    _cached: bool = False

    def observe(self, line: str) -> None:
        m = _STEP_RE.match(line)
        if m is not None:
            self.step, self.steps, self.instruction = int(m.group(1)), int(m.group(2)), m.group(3)
            self._cached = False
            return
        if line.strip() == "---> Using cache":
            self._cached = True
            return
        m = _INTERMEDIATE_RE.match(line)
        if m is None:
            return
        from_image = self.instruction is not None and self.instruction.upper().startswith("FROM ")
        if not from_image and not self._cached:
            self.intermediates.append(m.group(1))

    def failure(self, error: str, tail: tuple[str, ...]) -> BuildFailed:
        where = f"step {self.step}/{self.steps} ({self.instruction})" if self.instruction else "before any step ran"
        return BuildFailed(
            f"the image build failed at {where}: {error}",
            engine_message=error,
            instruction=self.instruction,
            step=self.step,
            steps=self.steps,
            log_tail=tail,
        )
