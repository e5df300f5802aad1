"""Exec start failures are data (``sandbox_core._execfail``): against the engine, in both APIs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

import sandbox_core as sc
import sandbox_core_sync as modal
from tests.conftest import BUSYBOX, app_name

pytestmark = pytest.mark.usefixtures("engine")  # async tests: asyncio mode "auto", the session loop

CASES = [
    (("node", "-v"), {}, 127, "node: command not found\n"),
    (("/no/such/binary",), {}, 127, "/no/such/binary: No such file or directory\n"),
    (("/etc/passwd",), {}, 126, "/etc/passwd: Permission denied\n"),
    (("ls",), {"workdir": "/nope"}, 126, "cannot change to working directory /nope: No such file or directory\n"),
    (("ls",), {"workdir": "/etc/passwd"}, 126, "cannot change to working directory /etc/passwd: Not a directory\n"),
]


@pytest.mark.parametrize(("argv", "kw", "code", "stderr"), CASES)
async def test_a_command_that_cannot_start_reports_like_a_shell(
    shared_sandbox: sc.Sandbox, argv: tuple[str, ...], kw: dict[str, str], code: int, stderr: str
) -> None:
    p = await shared_sandbox.exec(*argv, **kw)  # type: ignore[arg-type]
    assert await p.stdout.read() == ""  # never the runtime's text
    assert await p.stderr.read() == stderr
    assert await p.wait() == code
    assert p.returncode == code


async def test_poll_sees_the_contracts_code_not_the_engines(shared_sandbox: sc.Sandbox) -> None:
    p = await shared_sandbox.exec("node")
    info_said = None
    for _ in range(200):  # the engine knows at once; poll asks it, never waits for the pump's verdict to be read
        info_said = await p.poll()
        if info_said is not None:
            break
        await asyncio.sleep(0.01)
    assert info_said == 127


async def test_with_a_pty_the_line_is_on_the_terminal(shared_sandbox: sc.Sandbox) -> None:
    p = await shared_sandbox.exec("node", pty=True)
    assert await p.stdout.read() == "node: command not found\r\n"
    assert await p.wait() == 127


async def test_bytes_and_streams_redirected(shared_sandbox: sc.Sandbox) -> None:
    p = await shared_sandbox.exec("node", text=False)
    assert await p.stderr.read() == b"node: command not found\n"
    p = await shared_sandbox.exec("node", stderr=sc.StreamType.DEVNULL)
    assert await p.wait() == 127  # the line went where the program's stderr would have gone: nowhere


async def test_a_program_printing_the_runtimes_words_is_left_alone(shared_sandbox: sc.Sandbox) -> None:
    text = "OCI runtime exec failed: exec failed: made up"
    p = await shared_sandbox.exec("sh", "-c", f"echo '{text}'; exit 126")
    assert await p.stdout.read() == text + "\n"
    assert await p.wait() == 126
    # ... and its first line arrives while it still runs (no waiting for its end to decide)
    p = await shared_sandbox.exec("sh", "-c", f"echo '{text}'; sleep 30")
    async with asyncio.timeout(10):
        async for line in p.stdout:
            assert line == text + "\n"
            break


@pytest.fixture(scope="module")
def sync_sandbox() -> Iterator[modal.Sandbox]:
    app = modal.App.lookup(app_name("dropin-sync"), create_if_missing=True)
    sb = modal.Sandbox.create(app=app, image=modal.Image.from_registry(BUSYBOX), timeout=300)
    try:
        yield sb
    finally:
        sb.terminate()


@pytest.mark.parametrize(("argv", "kw", "code", "stderr"), CASES)
def test_the_same_in_the_blocking_api(
    sync_sandbox: modal.Sandbox, argv: tuple[str, ...], kw: dict[str, str], code: int, stderr: str
) -> None:
    p = sync_sandbox.exec(*argv, **kw)  # type: ignore[arg-type]
    assert p.stdout.read() == ""
    assert p.stderr.read() == stderr
    assert p.wait() == code
