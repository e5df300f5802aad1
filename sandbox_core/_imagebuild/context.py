"""Which local files a Dockerfile's build context holds, as Modal decides it (``from_dockerfile``,
``dockerfile_commands``): the files matched by the sources of its ``COPY`` instructions (``COPY --from=`` needs
none), minus those the ignore rules exclude.

The ignore rules are the caller's (patterns or a predicate), or by default (``AUTO_DOCKERIGNORE``) the most
specific ``.dockerignore`` found: ``<Dockerfile name>.dockerignore`` or ``.dockerignore`` next to the Dockerfile,
then ``.dockerignore`` in the context directory, each only if it lies inside the context directory. As in Modal,
``ADD`` sources are not sent.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import attrs

from ..exception import InvalidError
from .patterns import PatternMatcher
from .tarstream import IgnoreFn

_COPY_RE = re.compile(r"^\s*COPY\s+(.+)$", re.IGNORECASE)
_SPECIAL_RE = re.compile(r"^\s*--|\$\s*")
_FLAG_PREFIXES = ("--chmod=", "--chown=", "--link=")


class AutoDockerignore:
    """The default ignore rule: the ``.dockerignore`` file that applies (see the module docstring)."""

    def __repr__(self) -> str:
        return "sandbox_core.image.AUTO_DOCKERIGNORE"


AUTO_DOCKERIGNORE = AutoDockerignore()
IgnoreSpec = IgnoreFn | AutoDockerignore | None


def dockerfile_instructions(lines: Sequence[str]) -> list[str]:
    """Dockerfile lines joined over ``\\`` continuations, without blank lines and comments: one instruction each."""
    out, current = [], ""
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        current = f"{current} {line.rstrip(chr(92)).strip()}" if current else line.rstrip("\\").strip()
        if not line.endswith("\\"):
            out.append(current)
            current = ""
    return out


def copy_patterns(lines: Sequence[str]) -> list[str]:
    """The sources of the ``COPY`` instructions in ``lines`` (``.`` becomes ``./**``). Raises ``InvalidError``
    (Modal's text) for a source that uses a flag or a variable."""
    patterns: list[str] = []
    for command in dockerfile_instructions(lines):
        m = _COPY_RE.match(command)
        if m is None:
            continue
        parts = shlex.split(m.group(1))
        if any(p.startswith("--from=") for p in parts):
            continue
        parts = [p for p in parts if p != "--link" and not p.startswith(_FLAG_PREFIXES)]
        for source in parts[:-1]:
            if _SPECIAL_RE.match(source):
                raise InvalidError(f"COPY command: {source} using special flags/arguments/variables are not supported")
            pattern = "./**" if source == "." else source
            if pattern not in patterns:
                patterns.append(pattern)
    return patterns


def find_dockerignore(context_dir: Path, dockerfile: Path | None) -> Path | None:
    """The ``.dockerignore`` that applies to a build of ``dockerfile`` with ``context_dir`` (or None)."""
    candidates = []
    if dockerfile is not None:
        candidates += [dockerfile.parent / f"{dockerfile.name}.dockerignore", dockerfile.parent / ".dockerignore"]
    candidates.append(context_dir / ".dockerignore")
    return next((p for p in candidates if p.exists() and p.is_relative_to(context_dir)), None)


@attrs.frozen
class ContextFilter:
    """An ignore predicate for a build context: excluded unless a copy pattern includes it, or when ``ignore``
    excludes it."""

    include: PatternMatcher
    ignore: IgnoreFn | None

    def __call__(self, path: PurePosixPath) -> bool:
        return not self.include(path) or (self.ignore is not None and bool(self.ignore(path)))


def context_filter(
    lines: Sequence[str], context_dir: Path, ignore: IgnoreSpec, dockerfile: Path | None = None
) -> ContextFilter | None:
    """The predicate deciding which files of ``context_dir`` a build of ``lines`` sends, or None when its
    instructions copy nothing from the context (then no context is sent)."""
    patterns = copy_patterns(lines)
    if not patterns:
        return None
    if isinstance(ignore, AutoDockerignore):
        found = find_dockerignore(context_dir, dockerfile)
        ignore = PatternMatcher.from_patterns(found.read_text("utf8").splitlines()) if found else None
    return ContextFilter(PatternMatcher.from_patterns(patterns), ignore)
