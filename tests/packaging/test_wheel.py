"""The wheel a user installs: ``python -m build`` makes an sdist and a wheel; the wheel, installed with pip into a
fresh virtualenv (no editable install, dependencies from the package index), creates a sandbox, runs a command in
it and terminates it, and its ``sandbox-core`` command works."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tarfile
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

import sandbox_core as sc
from sandbox_core import exception as exc

from ..conftest import BUSYBOX, REPO, app_name

pytestmark = pytest.mark.slow

pytest.importorskip("build", reason="building the wheel needs the 'dist' extra: pip install -e '.[dist]'")

VERSION = tomllib.loads((Path(REPO) / "pyproject.toml").read_text())["project"]["version"]

SCRIPT = """
import sandbox_core, sandbox_core_sync as scs
assert "/venv/" in sandbox_core.__file__, sandbox_core.__file__   # the installed wheel, not the source tree
app = scs.App.lookup({app!r}, create_if_missing=True)
sb = scs.Sandbox.create(app=app, image=scs.Image.from_registry({image!r}), timeout=120)
try:
    p = sb.exec("echo", "hello from the wheel")
    print(p.stdout.read(), end="")
    assert p.wait() == 0
finally:
    print("terminated", sb.terminate(wait=True))
"""


def _run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--outdir", out, REPO, cwd=out)
    return out


def test_sdist_and_wheel_carry_the_package_its_types_and_the_changelog(dist: Path) -> None:
    (wheel,) = dist.glob(f"sandbox_core-{VERSION}-py3-none-any.whl")
    (sdist,) = dist.glob(f"sandbox_core-{VERSION}.tar.gz")
    info = f"sandbox_core-{VERSION}.dist-info"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = zf.read(f"{info}/entry_points.txt").decode()
        metadata = zf.read(f"{info}/METADATA").decode()
    with tarfile.open(sdist) as tf:
        members = {m.split("/", 1)[1] for m in tf.getnames() if "/" in m}
    assert {"sandbox_core/py.typed", "sandbox_core_sync/py.typed", "sandbox_core/_cli/__init__.py"} <= names
    assert not any(n.startswith("tests/") for n in names)
    assert "sandbox-core = sandbox_core._cli:main" in entry_points
    assert f"Version: {VERSION}" in metadata and "Provides-Extra: cli" in metadata
    assert {"CHANGELOG.md", "sandbox_core/py.typed", "sandbox_core_sync/py.typed", "pyproject.toml"} <= members


def test_wheel_installs_in_a_fresh_venv_and_runs(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", f"{wheel}[cli]", cwd=tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # The sandbox is terminated by the script; no supervisor outlives this venv.
    env["SANDBOX_CORE_SUPERVISOR"] = "0"
    name = app_name("wheel")
    script = textwrap.dedent(SCRIPT.format(app=name, image=BUSYBOX))
    try:
        out = _run(venv / "bin" / "python", "-c", script, cwd=tmp_path, env=env, timeout=120)
    finally:
        _remove_app(name)
    assert out == "hello from the wheel\nterminated 137\n"
    assert "Usage: sandbox-core" in _run(venv / "bin" / "sandbox-core", "--help", cwd=tmp_path, env=env)
    assert _run(venv / "bin" / "sandbox-core", "--version", cwd=tmp_path, env=env).strip() == f"sandbox-core {VERSION}"


def _remove_app(name: str) -> None:
    """The script's app with its finished sandbox, holder and records: nothing of the test stays on the engine
    (the script's process carries no test-run label, so the session's own sweep would not see them)."""

    async def remove() -> None:
        app = await sc.App.lookup(name)
        await sc.sweep(app_id=app.app_id, everything=True)

    with contextlib.suppress(exc.NotFoundError):
        asyncio.run(remove())
