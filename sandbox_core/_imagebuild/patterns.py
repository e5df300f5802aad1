"""``.dockerignore``-style patterns as an ignore predicate (what Modal's ``FilePatternMatcher`` accepts).

Patterns are matched against the path relative to the directory being added, with ``/`` separators: ``*``
matches within one path component, ``?`` one character, ``**`` any number of components; a pattern that matches
a directory matches everything below it. A leading ``!`` re-includes what earlier patterns excluded; the last
matching pattern decides. Blank lines and ``#`` comments are ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath

import attrs


def _translate(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # "**/" also matches no directory at all
                i += 1
                out.append("(?:.*/)?")
            else:
                out.append(".*")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        else:
            out.append(re.escape(c))
        i += 1
    # a match of a directory covers its content
    return re.compile("".join(out) + "(?:/.*)?")


@attrs.frozen
class PatternMatcher:
    """A predicate over relative paths: True when the path is excluded."""

    rules: tuple[tuple[bool, re.Pattern[str]], ...]

    @staticmethod
    def from_patterns(patterns: Iterable[str]) -> PatternMatcher:
        rules = []
        for raw in patterns:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            cleaned = PurePosixPath(line[1:] if negate else line).as_posix().lstrip("/")
            if cleaned in ("", "."):
                continue
            rules.append((negate, _translate(cleaned)))
        return PatternMatcher(tuple(rules))

    def __call__(self, path: PurePosixPath) -> bool:
        text = path.as_posix()
        excluded = False
        for negate, regex in self.rules:
            if regex.fullmatch(text):
                excluded = not negate
        return excluded
