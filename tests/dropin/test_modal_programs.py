"""Real Modal programs run unchanged but for their imports: ``import modal`` → ``import sandbox_core_sync as modal``
and ``from modal.x import y`` → ``from sandbox_core_sync.x import y``.

The programs in ``modal_programs/`` are written as Modal's public examples write them (the code interpreter is
Modal's "simple_code_interpreter" example). Each test rewrites that one line, runs the program in a fresh
interpreter against the engine and checks what it printed. The code interpreter needs Python in the default image:
it runs with ``SANDBOX_CORE_DEFAULT_IMAGE`` set to the Python base image (what ``Image.debian_slim()`` uses), as
Modal's default image is Debian with Python.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox_core._engine import get_engine
from sandbox_core._imagebuild.base import ensure_python_base
from tests.conftest import APP_PREFIX, REPO, RUN_ID

pytestmark = pytest.mark.usefixtures("engine")

PROGRAMS = Path(__file__).parent / "modal_programs"
IMPORT = "import modal\n"
FROM = re.compile(r"^from modal(\.\w+)* import ", re.MULTILINE)


def _ported(name: str, tmp_path: Path) -> Path:
    """The program with its imports rewritten (and, so that this run's sweep finds them, its app names prefixed
    with the run's prefix: the only other difference, and not one a user makes)."""
    source = (PROGRAMS / name).read_text()
    assert source.count(IMPORT) == 1
    ported = source.replace(IMPORT, "import sandbox_core_sync as modal\n")
    ported = FROM.sub(lambda m: m.group(0).replace("from modal", "from sandbox_core_sync", 1), ported)
    assert "modal." not in "".join(line for line in ported.splitlines() if line.startswith(("import", "from")))
    ported = ported.replace('"example-', f'"{APP_PREFIX}-example-')
    path = tmp_path / name
    path.write_text(ported)
    return path


def _run(path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "SANDBOX_CORE_TEST_RUN": RUN_ID, **env},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def python_image() -> str:
    """The Python base image's tag (made by scripts/build-images.sh; built here if missing)."""

    async def find() -> str:
        return (await ensure_python_base(await get_engine())).tag

    return asyncio.run(find())


def test_the_code_interpreter_example(tmp_path: Path, python_image: str) -> None:
    proc = _run(_ported("code_interpreter.py", tmp_path), SANDBOX_CORE_DEFAULT_IMAGE=python_image)
    red, reset = "\033[91m", "\033[0m"
    assert proc.stdout == (
        "hello, world!\n" + red + reset  # each answer: stdout, then stderr in red
        + red + reset
        + red + reset
        + red + reset
        + "The result is: 15\n" + red + reset
        + red + 'Execution Error: can only concatenate str (not "int") to str\n' + reset
        + "/\n" + red + reset
    )  # fmt: skip
    assert "OCI runtime" not in proc.stdout + proc.stderr


def test_the_agent_runner(tmp_path: Path) -> None:
    proc = _run(_ported("agent_runner.py", tmp_path))
    out = json.loads(proc.stdout)
    wrote, missing, listed, failed = out["results"]
    assert (wrote["returncode"], wrote["stdout"].strip()) == (0, "14")
    assert missing == {
        "argv": ["node", "--version"],
        "returncode": 127,
        "stdout": "",
        "stderr": "node: command not found\n",
    }
    assert (listed["returncode"], listed["stdout"]) == (0, "TASK.md\nanswer.py\n")
    assert (failed["returncode"], failed["stderr"]) == (3, "to-stderr\n")
    assert out["task"] == "task: answer with 42\n"
    assert out["tagged"] == 1
    assert out["returncode"] == 137  # terminated when the run ended
    assert "LocalBackendWarning: cpu limit 512 exceeds" in proc.stderr  # at the program's own line
    assert "agent_runner.py:" in proc.stderr.split("LocalBackendWarning")[0].splitlines()[-1]
    assert "Initialized. App ap-" in proc.stderr and "App completed." in proc.stderr
    assert "lookup by name: not found" in proc.stderr
