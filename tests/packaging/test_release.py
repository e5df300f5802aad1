"""Release metadata kept in one place: the changelog's latest released version is the package's version."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ..conftest import REPO


def test_changelog_latest_release_is_the_package_version() -> None:
    version = tomllib.loads((Path(REPO) / "pyproject.toml").read_text())["project"]["version"]
    headings = re.findall(r"^## \[(\d[^\]]*)\]", (Path(REPO) / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    assert headings and headings[0] == version
