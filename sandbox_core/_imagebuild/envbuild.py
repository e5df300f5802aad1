"""Build steps that have build-time values (``env=``/``secrets=``), which no image, history or log may keep.

The engine's classic build API has no way to give a ``RUN`` a value without recording it (``ARG`` values are in
``docker history``; a copied file stays in its layer), so such a step is cut into segments:

- the instructions other than ``RUN`` (``COPY``, ``ENV``, ``WORKDIR``, ...) are built with the build API as usual;
- each shell-form ``RUN <command>`` runs in a container created from the image so far, as the build API would run
  it (the image's user, working directory, environment, network and ``SHELL``), with the command
  ``/bin/sh -c '. /dev/stdin || exit 1; <command>'`` (with the default shell): the values reach the shell as
  ``export`` lines written to the container's stdin, which no configuration, log or history records. The
  container is then committed with the parent image's configuration (command, entrypoint, environment, working
  directory, user, shell, labels), and removed.

The step's last image gets the step's tag; commits get a temporary tag removed once the step is done (the images
stay as untagged parents, removed with the step's image), and on failure every image the step made is removed. The
engine's commit takes the container's command where the parent has neither command nor entrypoint: a ``CMD []``
then resets it. Output and error text are masked (``masking``). Exec-form ``RUN [...]`` cannot receive the values
and a Dockerfile ``ARG`` after ``FROM`` would not reach the containers: both are refused with ``InvalidError``, as
is a multi-stage Dockerfile.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import shlex
from collections.abc import Awaitable, Callable, Mapping

import attrs

from .._engine.api import EngineAPI, LineSink
from .._engine.values import ContainerSpec, ImageConfig
from ..exception import Error, ImageBuildError, InvalidError
from .buildca import BuildCA, wrap_shell
from .context import dockerfile_instructions
from .masking import Mask

EnvPairs = tuple[tuple[str, str], ...]
SHELL = ("/bin/sh", "-c")
#: What a step's container runs before the step's command: the values, as ``export`` lines read from stdin.
PRELUDE = ". /dev/stdin || exit 1; "
LOG_TAIL = 25
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@attrs.frozen
class Lines:
    """Dockerfile instructions built with the build API (``FROM`` is added for a step's segments)."""

    lines: tuple[str, ...]


@attrs.frozen
class Shell:
    """A shell command run in a container with the values, then committed."""

    command: str


Segment = Lines | Shell
#: Builds ``Lines`` on top of an image (None for a root's first segment, which has its own FROM), untagged;
#: returns the image id.
BuildLines = Callable[[str | None, tuple[str, ...]], Awaitable[str]]


def _check_names(instance: object, attribute: object, env: EnvPairs) -> None:
    """``InvalidError`` for a variable name a shell cannot export."""
    bad = [k for k, _ in env if not _NAME_RE.match(k)]
    if bad:
        raise InvalidError(f"build step env=/secrets=: {bad!r} are not valid environment variable names")


def dockerfile_lines(lines: tuple[str, ...], method: str, *, root: bool) -> tuple[str, ...]:
    """Raw Dockerfile ``lines`` as one instruction a line (continuations joined, comments dropped), checked for a
    step with build-time values (see the module docstring)."""
    out = tuple(dockerfile_instructions(lines))
    froms = [i for i, line in enumerate(out) if _keyword(line) == "FROM"]
    if len(froms) > (1 if root else 0):
        raise InvalidError(f"{method}(env=..., secrets=...) supports a single-stage Dockerfile only")
    after = froms[0] + 1 if froms else 0
    for line in out[after:]:
        keyword, rest = _keyword(line), line.split(None, 1)[1:] or [""]
        if keyword == "RUN" and rest[0].lstrip().startswith("["):
            raise InvalidError(
                f"{method}(env=..., secrets=...) cannot give an environment to the exec-form {line!r}; "
                "use the shell form (RUN <command>)"
            )
        if keyword == "ARG":
            raise InvalidError(
                f"{method}(env=..., secrets=...) cannot be combined with {line!r} after FROM: the values are given "
                "to RUN outside the build, where ARG values do not reach; pass the value in env= instead"
            )
    return out


def _keyword(line: str) -> str:
    return line.split(None, 1)[0].upper() if line.strip() else ""


def segments(instructions: tuple[str, ...]) -> tuple[Segment, ...]:
    """``instructions`` (one a line) cut into build-API segments and shell commands."""
    out: list[Segment] = []
    pending: list[str] = []
    for line in instructions:
        if _keyword(line) == "RUN":
            if pending:
                out.append(Lines(tuple(pending)))
                pending = []
            out.append(Shell(line.split(None, 1)[1] if len(line.split(None, 1)) > 1 else ""))
        else:
            pending.append(line)
    if pending:
        out.append(Lines(tuple(pending)))
    return tuple(out)


def _stdin_script(env: EnvPairs, ca: BuildCA | None) -> bytes:
    values = [*(ca.build_args().items() if ca is not None else ()), *env]
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in values).encode()


@attrs.frozen
class EnvStep:
    """One step with build-time values: what it is called, its labels, values and trust setting."""

    what: str
    labels: Mapping[str, str]
    env: EnvPairs = attrs.field(validator=_check_names, repr=False)
    ca: BuildCA | None
    on_line: LineSink | None
    mask: Mask

    async def build(
        self, eng: EngineAPI, parent: str | None, segs: tuple[Segment, ...], tag: str, build_lines: BuildLines
    ) -> str:
        """Build ``segs`` on ``parent`` (None: the first segment is a root's own Dockerfile); the last image is
        tagged ``tag`` (``repo:tag``). Returns its id; on failure nothing the step made is left."""
        made: list[str] = []
        temp: list[str] = []  # tags of the commits (the engine commits to a tag)
        current = parent
        try:
            for index, seg in enumerate(segs):
                if isinstance(seg, Lines):
                    current = await build_lines(current, seg.lines)
                else:
                    assert current is not None, "a Dockerfile starts with FROM"
                    temp.append(f"{tag}-part{index}")
                    current, reset = await self._run(eng, current, seg.command, temp[-1])
                    if reset:
                        made.append(current)
                        current = await build_lines(current, ("CMD []",))
                made.append(current)
            assert current is not None
            repo, _, name = tag.rpartition(":")
            await eng.images.tag(current, repo, name)
        except BaseException:
            await asyncio.shield(_remove_all(eng, made[::-1]))  # children first
            raise
        for ref in temp:
            with contextlib.suppress(Error):
                await eng.images.remove(ref)  # only the tag goes: the image is a parent of the step's image
        return current

    async def _run(self, eng: EngineAPI, parent: str, command: str, tag: str) -> tuple[str, bool]:
        """Run ``command`` on ``parent`` and commit the result to ``tag``; returns the image and whether its
        command must be reset (a parent with neither command nor entrypoint: the engine then keeps the step
        container's)."""
        info = await eng.images.inspect(parent)
        if info is None:
            raise ImageBuildError(f"Image build failed at {self.mask(self.what)}: image {parent} disappeared")
        spec = ContainerSpec(
            image=parent,
            labels=self.labels,
            cmd=(*(info.shell or SHELL), PRELUDE + wrap_shell(command, self.ca)),
            # the image's entrypoint would run the command; without one, leave it unset (the commit keeps it)
            entrypoint=() if info.entrypoint else None,
            open_stdin=True,
            init=False,
            no_new_privileges=False,
        )
        ref = await eng.containers.create(spec)
        try:
            code, tail = await self._execute(eng, ref)
            if code != 0:
                raise self._failure(command, f"returned a non-zero code: {code}", tail)
            labels = {**info.labels, **self.labels}
            config = ImageConfig(labels, info.cmd, info.entrypoint, info.env, info.workdir, info.user, info.shell)
            repo, _, name = tag.rpartition(":")
            image = await eng.images.commit(ref, config, repo=repo, tag=name, pause=False)
            return image, not info.cmd and not info.entrypoint
        finally:
            await asyncio.shield(_remove_container(eng, ref))

    async def _execute(self, eng: EngineAPI, ref: str) -> tuple[int, tuple[str, ...]]:
        """Start the container, give it the values, stream its output; its exit code and last lines."""
        try:
            await eng.containers.start(ref)
        except Error as e:
            raise self._failure("", f"could not start: {e}", ()) from None
        stdin = await eng.containers.attach_stdin(ref, tty=False)
        try:
            with contextlib.suppress(BrokenPipeError):  # the shell ended before reading: its exit code tells why
                await stdin.write(_stdin_script(self.env, self.ca))
            stdin.close_write()
        finally:
            await stdin.close()
        tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL)
        out = await eng.containers.follow_output(ref, fd=None, tty=False)
        try:
            partial = ""
            while (frame := await out.read_frame()) is not None:
                *done, partial = (partial + frame[1].decode("utf-8", "replace")).split("\n")
                self._emit(done, tail)
            self._emit([partial] if partial else [], tail)
        finally:
            await out.close()
        return await eng.containers.wait(ref), tuple(tail)

    def _emit(self, lines: list[str], tail: collections.deque[str]) -> None:
        for line in lines:
            masked = self.mask(line.rstrip("\r"))
            tail.append(masked)
            if self.on_line is not None:
                self.on_line(masked)

    def _failure(self, command: str, reason: str, tail: tuple[str, ...]) -> ImageBuildError:
        shown = f"`RUN {command}` " if command else ""
        text = "\n".join(tail).strip()
        log = f"\n--- last lines of the build log ---\n{text}" if text else ""
        return ImageBuildError(self.mask(f"Image build failed at {self.what}: {shown}{reason}{log}"))


async def _remove_container(eng: EngineAPI, ref: str) -> None:
    with contextlib.suppress(Error):
        await eng.containers.remove(ref)


async def _remove_all(eng: EngineAPI, refs: list[str]) -> None:
    for ref in refs:
        with contextlib.suppress(Error):
            await eng.images.remove(ref)
