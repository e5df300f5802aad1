"""The sandbox's own process: ``Sandbox.stdout``/``stderr`` (kept, replayable) and ``Sandbox.stdin``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

import sandbox_core as sc

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]


@pytest_asyncio.fixture(loop_scope="session")
async def make(app: sc.App, image: sc.Image) -> AsyncIterator[Callable[..., Any]]:
    """Create sandboxes running a given command; all are terminated after the test."""
    made: list[sc.Sandbox] = []

    async def create(*args: str, **kwargs: Any) -> sc.Sandbox:
        sb = await sc.Sandbox.create(*args, app=app, image=image, timeout=120, **kwargs)
        made.append(sb)
        return sb

    yield create
    for sb in made:
        await (await sc.Sandbox.from_id(sb.object_id)).terminate()


async def test_stdout_and_stderr_are_separate_text_lines(make: Callable[..., Any]) -> None:
    sb = await make("sh", "-c", "echo a; echo err >&2; printf 'b\\n\\nc'")
    assert [line async for line in sb.stdout] == ["a\n", "b\n", "\n", "c"]
    assert await sb.stderr.read() == "err\n"
    assert await sb.stdout.read() == ""  # consumed once
    await sb.wait()
    assert sb.returncode == 0


async def test_stdout_arrives_while_the_sandbox_runs(make: Callable[..., Any]) -> None:
    sb = await make("sh", "-c", "echo first; read x; echo second")
    it = sb.stdout.__aiter__()
    assert await asyncio.wait_for(it.__anext__(), 10) == "first\n"  # before the sandbox ended
    assert sb.returncode is None
    sb.stdin.write("go\n")
    await sb.stdin.drain()
    assert await asyncio.wait_for(it.__anext__(), 10) == "second\n"
    with pytest.raises(StopAsyncIteration):
        await it.__anext__()


async def test_stdout_is_replayed_from_the_start_in_another_process(
    make: Callable[..., Any], run_py: Callable[..., Any]
) -> None:
    sb = await make("sh", "-c", "echo one; echo two; echo oops >&2")
    assert await sb.stdout.read() == "one\ntwo\n"
    proc = run_py(
        f"""
        import asyncio, sandbox_core as sc
        async def main():
            sb = await sc.Sandbox.from_id({sb.object_id!r})
            print(repr(await sb.stdout.read()), repr(await sb.stderr.read()))
        asyncio.run(main())
        """
    )
    assert proc.stdout.strip() == "'one\\ntwo\\n' 'oops\\n'"


@pytest.mark.single_engine
async def test_stdin_reaches_the_sandboxes_own_cat_and_eof_ends_it(make: Callable[..., Any]) -> None:
    sb = await make("cat")
    sb.stdin.write("hello\n")
    sb.stdin.write(b"world")
    await sb.stdin.drain()
    sb.stdin.write_eof()
    await sb.stdin.drain()
    assert await asyncio.wait_for(sb.stdout.read(), 20) == "hello\nworld"
    await sb.wait()
    assert sb.returncode == 0


async def test_drain_on_a_finished_sandbox_raises_value_error(make: Callable[..., Any]) -> None:
    sb = await make("true")
    await sb.wait()
    sb.stdin.write("late")
    with pytest.raises(ValueError, match="already finished"):
        await sb.stdin.drain()


async def test_drain_after_the_sandbox_was_terminated_raises_value_error(make: Callable[..., Any]) -> None:
    sb = await make("cat")
    sb.stdin.write("x\n")
    await sb.stdin.drain()
    await sb.terminate(wait=True)
    sb.stdin.write("y\n")
    with pytest.raises(ValueError, match="already finished"):
        await sb.stdin.drain()


async def test_pty_sandbox_merges_output_and_ends_input_with_ctrl_d(make: Callable[..., Any]) -> None:
    sb = await make("sh", "-c", "tty; echo err >&2; cat", pty=True)
    sb.stdin.write("typed\n")
    sb.stdin.write_eof()
    await sb.stdin.drain()
    out = await asyncio.wait_for(sb.stdout.read(), 20)
    assert "/dev/pts/" in out and "err" in out and "typed" in out
    assert await sb.stderr.read() == ""
    await sb.wait()
    assert sb.returncode == 0


async def test_pty_sandbox_window_size(make: Callable[..., Any]) -> None:
    sb = await make("sh", "-c", "read x; stty size", pty=True)
    await sb._stdio.resize(40, 120)
    sb.stdin.write("go\n")
    await sb.stdin.drain()
    assert "40 120" in await asyncio.wait_for(sb.stdout.read(), 20)


async def test_detach_ends_open_readers(make: Callable[..., Any]) -> None:
    sb = await make("sh", "-c", "echo hi; sleep 1000")
    reader = sb.stdout
    assert await reader.readline() == "hi\n"
    await sb.detach()
    assert await asyncio.wait_for(reader.read(), 5) == ""


async def test_streams_kept_past_detach_raise_client_closed(make: Callable[..., Any]) -> None:
    sb = await make("cat")
    reader, writer = sb.stdout, sb.stdin
    await sb.detach()
    with pytest.raises(sc.exception.ClientClosed):
        await reader.read()
    writer.write("x")
    with pytest.raises(sc.exception.ClientClosed):
        await writer.drain()
