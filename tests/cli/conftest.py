"""Fixtures for the command line's tests: ``sandbox-core`` run as a separate process against the real engine.

Every sandbox the CLI makes here belongs to an app named with ``app_name(...)``, so the suite's session-end check
sweeps and verifies it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from ..conftest import BUSYBOX, REPO, app_name

pytest.importorskip("typer", reason="the CLI needs its optional extra: pip install -e '.[cli]'")
pytest.importorskip("rich", reason="the CLI needs its optional extra: pip install -e '.[cli]'")

CLI = [sys.executable, "-m", "sandbox_core._cli"]


class Cli:
    """Runs ``sandbox-core`` with ``SANDBOX_CORE_APP`` set to this run's app ``app``."""

    def __init__(self, app: str) -> None:
        self.app = app
        self.env = {**os.environ, "SANDBOX_CORE_APP": app}
        self.env.pop("SANDBOX_CORE_DEBUG", None)

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 120, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env={**self.env, **(env or {})},
        )

    def ok(self, *args: str, input: str | None = None) -> str:
        """Run; assert exit code 0; return stdout."""
        proc = self(*args, input=input)
        assert proc.returncode == 0, f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def json(self, *args: str) -> Any:
        """Run with ``--json`` (placed right after the command's name); assert exit code 0; return the document."""
        at = 2 if args[0] in ("image", "volume", "secret") else 1
        return json.loads(self.ok(*args[:at], "--json", *args[at:]))

    def popen(self, *args: str) -> subprocess.Popen[str]:
        """Start (stdout/stderr piped, line-buffered text) without waiting."""
        return subprocess.Popen(
            [*CLI, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            cwd=REPO,
            env=self.env,
        )


@pytest.fixture(scope="module")
def cli(request: pytest.FixtureRequest) -> Cli:
    """The CLI bound to an app of this run named after the test module."""
    return Cli(app_name("cli-" + request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")))


@pytest.fixture(scope="module")
def sandbox_id(cli: Cli) -> Iterator[str]:
    """A running busybox sandbox made with ``create`` (shared by a module; stopped at its end)."""
    sid = cli.json("create", "--timeout", "600", "--image", BUSYBOX)["id"]
    try:
        yield sid
    finally:
        cli("stop", sid)
