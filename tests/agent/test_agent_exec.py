"""Exec through the agent, against the real binary in real containers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from sandbox_core._agent.client import Agent
from sandbox_core._agent.protocol import AgentOpError
from sandbox_core.exception import InvalidError
from tests.conftest import BUSYBOX, BUSYBOX_USER, NOSHELL

from .conftest import run


async def test_exec_separates_stdout_stderr_and_returns_the_exit_code(agent: Agent) -> None:
    code, out, err = await run(agent, "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (code, out, err) == (3, b"out\n", b"err\n")


async def test_stdin_reaches_the_program_and_eof_ends_it(agent: Agent) -> None:
    code, out, _ = await run(agent, "sh", "-c", "tr a-z A-Z; echo done", stdin=b"hello\n" * 1000)
    assert code == 0 and out == b"HELLO\n" * 1000 + b"done\n"


async def test_a_signal_death_is_128_plus_the_signal(agent: Agent) -> None:
    code, _, _ = await run(agent, "sh", "-c", "kill -TERM $$")
    assert code == 143


async def test_env_starts_from_the_sandbox_defaults_with_overrides(agent: Agent) -> None:
    _, out, _ = await run(agent, "sh", "-c", 'echo "$PATH|$A|$HOME"', env={"A": "1"})
    assert out.decode().strip().endswith("|1|/root") and "/bin" in out.decode()
    _, out, _ = await run(agent, "/bin/env", env={"B": "2"}, clear_env=True)
    assert out == b"B=2\n"


async def test_workdir_and_user(agent: Agent) -> None:
    _, out, _ = await run(agent, "pwd", workdir="/etc")
    assert out == b"/etc\n"
    _, out, _ = await run(agent, "sh", "-c", "id -u; id -g; echo $HOME", user="1000:1001")
    assert out == b"1000\n1001\n/\n" or out.startswith(b"1000\n1001\n")


async def test_start_failures_are_typed(agent: Agent) -> None:
    with pytest.raises(AgentOpError) as e:
        await agent.exec(["no-such-program"])
    assert e.value.kind == "NotFound"
    with pytest.raises(AgentOpError) as e:
        await agent.exec(["true"], workdir="/no/such/dir")
    assert e.value.kind == "NotFound" and "working directory" in e.value.message
    with pytest.raises(AgentOpError) as e:
        await agent.exec([])
    assert e.value.kind == "InvalidArgument"


async def test_pty_size_resize_and_veof(agent: Agent) -> None:
    p = await agent.exec(["sh", "-c", "stty size; read line; stty size; cat; echo end"], pty=(33, 101))
    async with p:
        first = await p.stdout.read()
        assert b"33 101" in first
        p.resize(40, 120)
        await p.write_stdin(b"go\n")
        await p.write_stdin(b"partial")
        p.close_stdin()  # VEOF twice: flushes "partial", then ends cat
        rest = await p.stdout.read_all()
        assert await p.wait() == 0
    text = (first + rest).decode()
    assert "40 120" in text and text.rstrip().endswith("end")


async def test_kill_takes_the_whole_tree_including_double_forked_daemons(agent: Agent) -> None:
    script = "setsid sh -c 'sleep 1000 & sleep 1001' & env -i sh -c 'sleep 1002 &'; sleep 1003"
    p = await agent.exec(["sh", "-c", script])
    await _wait_for_procs(agent, 4)
    p.kill()
    assert await p.wait() == 137
    await _wait_for_procs(agent, 0)


async def _wait_for_procs(agent: Agent, n: int) -> None:
    for _ in range(200):
        _, out, _ = await run(agent, "sh", "-c", "ps -o args | grep -c '^sleep 100[0-9]' || true")
        if int(out) == n:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {n} sleep processes, have {int(out)}")


async def test_tree_kill_works_at_the_pids_limit(
    container: Callable[..., str], connect: Callable[..., asyncio.Future[Agent]]
) -> None:
    agent = await connect(container(BUSYBOX, "--pids-limit", "64"))
    bomb = await agent.exec(["sh", "-c", "while :; do sleep 1000 & done"])
    await asyncio.sleep(1.0)  # the limit is hit: fork fails with EAGAIN from then on (and ash gives up)
    with pytest.raises(AgentOpError) as e:
        await run(agent, "true")
    assert e.value.kind == "ResourceExhausted", e.value.message
    bomb.kill()
    await bomb.wait()
    for _ in range(100):
        try:
            code, out, _ = await run(agent, "echo", "alive")
            break
        except AgentOpError:
            await asyncio.sleep(0.05)
    assert (code, out) == (0, b"alive\n")
    await _wait_for_procs(agent, 0)


async def test_100_concurrent_execs(agent: Agent) -> None:
    results = await asyncio.gather(*(run(agent, "sh", "-c", f"echo {i}") for i in range(100)))
    assert [r[1] for r in results] == [f"{i}\n".encode() for i in range(100)]
    assert await _channels_drain(agent)  # every id retired once the agent's CLOSE echoes arrive


async def test_a_slow_reader_stalls_only_its_own_exec(agent: Agent) -> None:
    flood = await agent.exec(["cat", "/dev/zero"])
    async with flood:
        await asyncio.sleep(0.3)
        assert flood.stdout.buffered <= agent.local.window
        t0 = time.monotonic()
        assert (await run(agent, "echo", "hi"))[1] == b"hi\n"
        assert time.monotonic() - t0 < 2
        chunk = await flood.stdout.read()
        assert chunk and set(chunk) == {0}
        flood.kill()
        assert await flood.wait() == 137


async def test_works_as_non_root_user_and_on_a_read_only_shell_less_image(
    container: Callable[..., str], connect: Callable[..., asyncio.Future[Agent]]
) -> None:
    user_agent = await connect(container(BUSYBOX_USER))
    assert (await user_agent.info())["uid"] == 1000
    assert (await run(user_agent, "id", "-u"))[1] == b"1000\n"
    with pytest.raises(AgentOpError) as e:
        await user_agent.exec(["true"], user="0")
    assert e.value.kind == "PermissionDenied"

    ro = await connect(container(NOSHELL, "--read-only", "--tmpfs", "/tmp"))
    assert (await run(ro, "sleep", "0"))[0] == 0
    await ro.write_file("/tmp/a/b.txt", b"x" * 100_000)
    assert await (await ro.read_file("/tmp/a/b.txt")).read_all() == b"x" * 100_000
    with pytest.raises(AgentOpError) as e:
        await ro.write_file("/etc/new", b"x")
    assert e.value.kind == "ReadOnlyFilesystem"


async def test_activity_reports_running_execs_and_last_io(agent: Agent) -> None:
    before = await agent.activity()
    p = await agent.exec(["sleep", "5"])
    during = await agent.activity()
    assert during.running == 1 and during.idle_for == 0
    p.kill()
    await p.wait()
    p.close()
    after = await agent.activity()
    assert after.running == 0 and after.last_activity >= before.last_activity


async def test_an_exec_cancelled_before_it_started_is_killed(agent: Agent) -> None:
    task = asyncio.create_task(agent.exec(["sh", "-c", "sleep 1005 & sleep 1006"]))
    await asyncio.sleep(0)  # the OPEN is queued; cancel while waiting for "started"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await _wait_for_procs(agent, 0)
    assert await _channels_drain(agent)


async def _channels_drain(agent: Agent) -> bool:
    """Whether every channel retires within a second."""
    for _ in range(100):
        if agent.open_channels == 0:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_an_oversized_request_is_refused_before_it_is_sent(agent: Agent) -> None:
    with pytest.raises(InvalidError, match="at most"):
        await agent.exec(["echo", "x" * (agent.peer.max_frame + 1)])
    assert (await run(agent, "echo", "still", "alive"))[1] == b"still alive\n"


async def test_wait_from_many_tasks_and_poll(agent: Agent) -> None:
    p = await agent.exec(["sh", "-c", "read x; exit 7"])
    async with p:
        assert p.poll() is None
        waiters = [asyncio.create_task(p.wait()) for _ in range(3)]
        await p.write_stdin(b"go\n")
        assert await asyncio.gather(*waiters) == [7, 7, 7]
        assert p.poll() == 7
