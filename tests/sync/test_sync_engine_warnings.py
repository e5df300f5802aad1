"""Warnings against the real engine, in both APIs: deprecated parameters name the caller's line, and a Modal-style
program whose ``async def main()`` makes blocking calls runs (with AsyncUsageWarning) or, in strict mode, stops."""

from __future__ import annotations

import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import pytest_asyncio

import sandbox_core as sc
import sandbox_core_sync
from sandbox_core.exception import AsyncUsageWarning, DeprecationError, NotFoundError
from tests.conftest import BUSYBOX, REPO, app_name

pytestmark = pytest.mark.usefixtures("engine")

APP = app_name("warnings")
PTY = SimpleNamespace(winsz_rows=24, winsz_cols=80)


def _line(offset: int = 1) -> int:
    """The caller's current line plus ``offset`` (where the call under test is)."""
    return sys._getframe(1).f_lineno + offset


def _only(caught: list[warnings.WarningMessage], category: type[Warning]) -> warnings.WarningMessage:
    found = [w for w in caught if issubclass(w.category, category)]
    assert len(found) == 1, [str(w.message) for w in caught]
    return found[0]


@pytest_asyncio.fixture(loop_scope="session")
async def sandbox() -> AsyncIterator[sc.Sandbox]:
    app = await sc.App.lookup(APP, create_if_missing=True)
    sb = await sc.Sandbox.create("sleep", "300", app=app, image=sc.Image.from_registry(BUSYBOX), timeout=300)
    try:
        yield sb
    finally:
        await sb.terminate()


# --------------------------------------------------------------------------------------------- deprecations


async def test_async_api_deprecations_name_the_await_line() -> None:
    app = await sc.App.lookup(APP, create_if_missing=True)
    line = _line(2)
    with pytest.warns(DeprecationError, match="environment_name") as record:
        sb = await sc.Sandbox.create("sleep", "60", app=app, environment_name="x", timeout=60)
    try:
        w = _only(record.list, DeprecationError)
        assert (w.filename, w.lineno) == (__file__, line)
        line = _line(2)
        with pytest.warns(DeprecationError, match="pty_info") as record:
            p = await sb.exec("true", pty_info=PTY)
        w = _only(record.list, DeprecationError)
        assert (w.filename, w.lineno) == (__file__, line)  # emitted two helpers deep inside sandbox_core
        assert await p.wait() == 0
    finally:
        await sb.terminate()


def test_facade_deprecations_name_the_calling_line() -> None:
    app = sandbox_core_sync.App.lookup(APP, create_if_missing=True)
    line = _line(2)
    with pytest.warns(DeprecationError, match="environment_name") as record:
        sb = sandbox_core_sync.Sandbox.create("sleep", "60", app=app, environment_name="x", timeout=60)
    try:
        w = _only(record.list, DeprecationError)
        assert (w.filename, w.lineno) == (__file__, line)
        line = _line(2)
        with pytest.warns(DeprecationError, match="pty_info") as record:
            p = sb.exec("true", pty_info=PTY)
        w = _only(record.list, DeprecationError)
        assert (w.filename, w.lineno) == (__file__, line)
        assert p.wait() == 0
    finally:
        sb.terminate()


def test_facade_aio_deprecations_name_the_await_line(sandbox: sc.Sandbox) -> None:
    import asyncio

    async def main() -> tuple[str, int, int]:
        sb = await sandbox_core_sync.Sandbox.from_id.aio(sandbox.object_id)
        line = _line(2)
        with pytest.warns(DeprecationError, match="pty_info") as record:
            p = await sb.exec.aio("true", pty_info=PTY)
        assert await p.wait.aio() == 0
        w = _only(record.list, DeprecationError)
        return w.filename, w.lineno, line

    filename, lineno, line = asyncio.run(main())
    assert (filename, lineno) == (__file__, line)


# --------------------------------------------------------------------------------------------- a real program

PROGRAM = """\
import asyncio
import sys

import sandbox_core_sync as modal


async def main() -> None:
    app = modal.App.lookup(sys.argv[1], create_if_missing=True)
    sb = modal.Sandbox.create("sleep", "120", app=app, image=modal.Image.from_registry(sys.argv[2]), timeout=120)
    try:
        p = sb.exec("echo", "hello from main")
        print(p.stdout.read(), end="", flush=True)
        print("exit", p.wait(), flush=True)
    finally:
        sb.terminate()


asyncio.run(main())
"""


def _run_program(tmp_path: Path, app: str, *python_args: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "modal_program.py"
    script.write_text(PROGRAM)
    cmd = [sys.executable, *python_args, str(script), app, BUSYBOX]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=180)


def test_an_async_main_that_makes_blocking_calls_runs_with_warnings(tmp_path: Path) -> None:
    proc = _run_program(tmp_path, app_name("async-main"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello from main\nexit 0\n"
    script = str(tmp_path / "modal_program.py")
    # Each warning names the program's line and its rewrite; the source line follows ("Original line:").
    for lineno, rewrite in [
        (8, "app = await modal.App.lookup.aio(sys.argv[1], create_if_missing=True)"),
        (9, 'sb = await modal.Sandbox.create.aio("sleep", "120", app=app,'),
        (11, 'p = await sb.exec.aio("echo", "hello from main")'),
        (12, 'print(await p.stdout.read.aio(), end="", flush=True)'),
        (13, 'print("exit", await p.wait.aio(), flush=True)'),
        (15, "await sb.terminate.aio()"),
    ]:
        assert f"{script}:{lineno}: AsyncUsageWarning: A blocking sandbox_core_sync interface" in proc.stderr
        assert f"Suggested rewrite:\n  {rewrite}" in proc.stderr
    assert proc.stderr.count("AsyncUsageWarning") == 6


def test_an_async_main_in_strict_mode_stops_at_its_first_blocking_call(tmp_path: Path) -> None:
    app = app_name("async-main-strict")
    proc = _run_program(tmp_path, app, "-W", "error::sandbox_core_sync.exception.AsyncUsageWarning")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.rstrip().endswith("Original line:")
    assert "sandbox_core.exception.AsyncUsageWarning: A blocking sandbox_core_sync interface" in proc.stderr
    assert "app = await modal.App.lookup.aio(sys.argv[1], create_if_missing=True)" in proc.stderr
    with pytest.raises(NotFoundError):  # App.lookup never ran
        sandbox_core_sync.App.lookup(app)


async def test_the_facade_in_a_running_loop_warns_with_the_rewrite(sandbox: sc.Sandbox) -> None:
    line = _line(2)
    with pytest.warns(AsyncUsageWarning, match=r"await sandbox_core_sync\.Sandbox\.from_id\.aio\(") as record:
        sb = sandbox_core_sync.Sandbox.from_id(sandbox.object_id)
    assert (record.list[0].filename, record.list[0].lineno) == (__file__, line)
    assert sb.object_id == sandbox.object_id
