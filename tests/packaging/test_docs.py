"""The user guide and API reference build in strict mode: a broken link, a missing page or an API reference that
does not resolve fails this test (as it fails ``nox -s docs``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import REPO

pytest.importorskip("mkdocs", reason="the docs build needs its optional extra: pip install -e '.[docs]'")
pytest.importorskip("mkdocstrings", reason="the docs build needs its optional extra: pip install -e '.[docs]'")


def test_docs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sandbox_page = (site / "api" / "sandbox" / "index.html").read_text()
    assert 'id="sandbox_core.Sandbox.create"' in sandbox_page  # the reference is generated from the docstrings
    assert "Create and start a sandbox running" in sandbox_page
    cli_page = (site / "cli" / "index.html").read_text()
    assert "125" in cli_page and "sandbox-core: &lt;ErrorClass&gt;" in cli_page
