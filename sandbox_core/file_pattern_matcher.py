"""Modal's ``modal.file_pattern_matcher``: ``FilePatternMatcher``, ``.dockerignore``-style patterns as a predicate
for the ``ignore`` parameter of ``Image.add_local_dir``, ``add_local_python_source``, ``from_dockerfile`` and
``dockerfile_commands``.

Patterns are matched against paths relative to the directory being added, with ``/`` separators: ``*`` matches
within one path component, ``?`` one character, ``**`` any number of components; a pattern that matches a
directory matches everything below it; a leading ``!`` re-includes what earlier patterns matched (the last matching
pattern decides). ``~matcher`` inverts it: ``~FilePatternMatcher("**/*.py")`` ignores everything but Python files
(that is ``NON_PYTHON_FILES``, the default of ``add_local_python_source``).
"""

from __future__ import annotations

import os
from pathlib import PurePath, PurePosixPath

from ._imagebuild.patterns import PatternMatcher
from .exception import InvalidError

__all__ = ["FilePatternMatcher"]


class FilePatternMatcher:
    """A predicate over relative paths: True when a path matches the patterns (is to be ignored)."""

    __slots__ = ("_inverted", "_matcher", "_patterns")

    _patterns: tuple[str, ...]
    _matcher: PatternMatcher
    _inverted: bool

    def __init__(self, *pattern: str) -> None:
        if not all(isinstance(p, str) for p in pattern):
            raise InvalidError("FilePatternMatcher() expects patterns as strings")
        self._patterns = pattern
        self._matcher = PatternMatcher.from_patterns(pattern)
        self._inverted = False

    @classmethod
    def from_file(cls, file_path: str | os.PathLike[str]) -> FilePatternMatcher:
        """A matcher with the patterns of a ``.dockerignore``-style file (one per line, ``#`` comments)."""
        try:
            with open(file_path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise InvalidError(f"cannot read the pattern file {os.fspath(file_path)!r}: {e.strerror}") from None
        return cls(*lines)

    def __call__(self, file_path: PurePath) -> bool:
        """True when ``file_path`` (relative to the directory being added) matches (inverted: does not match)."""
        return self._matcher(PurePosixPath(PurePath(file_path).as_posix())) != self._inverted

    def __invert__(self) -> FilePatternMatcher:
        """The matcher that matches exactly the paths this one does not."""
        other = FilePatternMatcher(*self._patterns)
        other._inverted = not self._inverted
        return other

    def __repr__(self) -> str:
        inner = f"FilePatternMatcher({', '.join(repr(p) for p in self._patterns)})"
        return f"~{inner}" if self._inverted else inner


#: The default ``ignore`` of ``Image.add_local_python_source``: everything but ``*.py`` files.
NON_PYTHON_FILES = ~FilePatternMatcher("**/*.py")
