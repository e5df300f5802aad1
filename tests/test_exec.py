"""``Sandbox.exec`` and ``ContainerProcess`` against the real engine: streams, stdin, exit codes, timeout, checks."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time

import pytest

import sandbox_core as sc
from sandbox_core._engine.docker.execs import DockerExecs
from sandbox_core.exception import ClientClosed, ConflictError, InvalidError

from .conftest import container_id, docker_engine

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]


async def _ps(sb: sc.Sandbox) -> str:
    p = await sb.exec("ps", "-o", "pid,args")
    out = await p.stdout.read()
    assert await p.wait() == 0
    return out


# ------------------------------------------------------------------------------------------------ output


async def test_text_exec_gives_str_and_separate_streams(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "echo out; echo err >&2")
    assert await p.stdout.read() == "out\n"
    assert await p.stderr.read() == "err\n"
    assert await p.wait() == 0


async def test_bytes_exec_gives_bytes(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "printf 'a\\000b'", text=False)
    assert await p.stdout.read() == b"a\x00b"
    assert await p.stderr.read() == b""
    assert await p.wait() == 0


async def test_output_is_consumed_once(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("echo", "hi")
    assert await p.stdout.read() == "hi\n"
    assert await p.stdout.read() == ""
    assert p.stdout.at_eof()
    assert [x async for x in p.stdout] == []


async def test_bufsize_1_iterates_lines_and_keeps_empty_lines(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "printf 'fo'; sleep 0.2; printf 'o\\n\\nbar\\n\\nbaz'", bufsize=1)
    assert [line async for line in p.stdout] == ["foo\n", "\n", "bar\n", "\n", "baz"]


async def test_default_bufsize_iterates_chunks_as_they_arrive(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "printf 'a\\nb'; sleep 0.3; printf 'c\\n'")
    chunks = [c async for c in p.stdout]
    assert chunks == ["a\nb", "c\n"]


async def test_utf8_character_split_across_frames_is_reassembled(own_sandbox: sc.Sandbox) -> None:
    # 'é' is c3 a9: the two bytes leave the process in two writes 0.2 s apart, hence in two engine frames.
    script = "printf 'caf\\303'; sleep 0.2; printf '\\251!'"
    p = await own_sandbox.exec("sh", "-c", script)
    assert [c async for c in p.stdout] == ["caf", "é!"]
    p = await own_sandbox.exec("sh", "-c", script)
    assert await p.stdout.read() == "café!"
    p = await own_sandbox.exec("sh", "-c", script, text=False)
    assert [c async for c in p.stdout] == [b"caf\xc3", b"\xa9!"]


async def test_invalid_utf8_raises_unicode_decode_error(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "printf 'ok\\377'")
    with pytest.raises(UnicodeDecodeError):
        await p.stdout.read()
    await p.wait()


async def test_readline_readexactly_and_read_n(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "printf 'line1\\nabcdefé\\ntail'")
    assert await p.stdout.readline() == "line1\n"
    assert await p.stdout.readexactly(3) == "abc"
    assert await p.stdout.read(4) == "defé"
    assert await p.stdout.readline() == "\n"
    with pytest.raises(asyncio.IncompleteReadError) as info:
        await p.stdout.readexactly(10)
    assert info.value.partial == "tail"  # type: ignore[comparison-overlap]
    assert await p.stdout.readline() == ""


async def test_file_descriptors(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("true")
    assert (p.stdout.file_descriptor, p.stderr.file_descriptor) == (1, 2)
    await p.wait()


async def test_devnull_streams_refuse_reads(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("echo", "x", stdout=sc.StreamType.DEVNULL)
    with pytest.raises(ValueError, match=r"StreamType\.DEVNULL"):
        await p.stdout.read()
    with pytest.raises(ValueError, match=r"StreamType\.DEVNULL"):
        p.stdout.__aiter__()
    assert await p.wait() == 0


async def test_stdout_stream_type_prints_locally(own_sandbox: sc.Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    p = await own_sandbox.exec("sh", "-c", "echo printed; echo kept >&2", stdout=sc.StreamType.STDOUT)
    assert await p.stderr.read() == "kept\n"
    assert await p.wait() == 0
    with pytest.raises(InvalidError, match="PIPE stream type"):
        await p.stdout.read()
    assert "printed\n" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------------- stdin


async def test_write_eof_delivers_eof_while_output_is_read(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("cat")
    p.stdin.write("hello ")
    p.stdin.write(b"world")
    p.stdin.write_eof()
    await p.stdin.drain()
    assert await p.stdout.read() == "hello world"
    assert await p.wait() == 0


async def test_10mb_into_sha256sum(own_sandbox: sc.Sandbox) -> None:
    payload = os.urandom(10 << 20)
    p = await own_sandbox.exec("sha256sum", text=False)
    for i in range(0, len(payload), 1 << 20):
        p.stdin.write(payload[i : i + (1 << 20)])
        await p.stdin.drain()
    p.stdin.write_eof()
    await p.stdin.drain()
    out = await p.stdout.read()
    assert out.split()[0].decode() == hashlib.sha256(payload).hexdigest()
    assert await p.wait() == 0


async def test_stdin_write_checks(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("cat")
    with pytest.raises(TypeError, match="bytes-like object, not int"):
        p.stdin.write(1)  # type: ignore[arg-type]
    with pytest.raises(BufferError, match="Buffer size exceed limit"):
        p.stdin.write(b"x" * ((16 << 20) + 1))
    p.stdin.writelines(["a", b"b"])
    p.stdin.write_eof()
    with pytest.raises(ValueError, match="Stdin is closed"):
        p.stdin.write("c")
    await p.stdin.drain()
    await p.stdin.drain()  # a second EOF is harmless
    assert await p.stdout.read() == "ab"
    assert await p.wait() == 0


# -------------------------------------------------------------------------------------------- exit codes


@pytest.mark.parametrize(("script", "code"), [("exit 0", 0), ("exit 3", 3), ("kill -9 $$", 137), ("kill $$", 143)])
async def test_exit_codes(own_sandbox: sc.Sandbox, script: str, code: int) -> None:
    p = await own_sandbox.exec("sh", "-c", script)
    assert await p.wait() == code
    assert p.returncode == code
    assert await p.poll() == code


async def test_returncode_before_wait_raises_and_poll_sees_running(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("cat")
    with pytest.raises(InvalidError, match=r"You must call wait\(\) before accessing the returncode"):
        _ = p.returncode
    assert await p.poll() is None
    p.stdin.write_eof()
    await p.stdin.drain()
    assert await p.wait() == 0


async def test_repr(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("true")
    assert repr(p) == f"ContainerProcess(process_id='{p._process_id}')"
    assert len(p._process_id) == 36
    await p.wait()


async def test_missing_binary_exit_code(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("/no/such/binary")
    code = await p.wait()
    assert code in (126, 127)


# ----------------------------------------------------------------------------------------------- timeout


async def test_timeout_kills_the_process_tree_and_returns_minus_1(own_sandbox: sc.Sandbox) -> None:
    t0 = time.monotonic()
    p = await own_sandbox.exec("sh", "-c", "echo started; sleep 1000 & sleep 1000", timeout=1)
    assert await p.stdout.read() == "started\n"  # the stream ends quietly at the deadline
    assert await p.wait() == -1
    assert await p.poll() == -1
    assert time.monotonic() - t0 < 10
    assert "sleep 1000" not in await _ps(own_sandbox)


async def test_timeout_kills_children_that_cleared_their_environment(own_sandbox: sc.Sandbox) -> None:
    # ``env -i`` drops the marker the kill looks for; such processes are found as descendants of the exec instead,
    # including ones a cleared-environment loop keeps forking while the kill is in progress.
    script = "env -i sleep 1001 & env -i sh -c 'while :; do sleep 1002 & sleep 0.01; done' & sleep 1000"
    p = await own_sandbox.exec("sh", "-c", script, timeout=1)
    assert await p.wait() == -1
    ps = await _ps(own_sandbox)
    assert "sleep 100" not in ps and "while" not in ps, ps


async def test_timeout_holds_when_the_caller_is_cancelled_and_never_reads(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "yes & yes >&2 & sleep 1000", timeout=1)
    waiter = asyncio.ensure_future(p.wait())
    await asyncio.sleep(0.1)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await p._finished.wait()  # the deadline ends it without anybody waiting
    ps = await _ps(own_sandbox)
    assert "yes" not in ps and "sleep 1000" not in ps
    assert await p.wait() == -1


async def test_zero_timeout_means_no_deadline(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "sleep 0.2; exit 5", timeout=0)
    assert await p.wait() == 5


# ------------------------------------------------------------------------------------------ env & workdir


async def test_env_is_merged_over_secrets_and_none_is_dropped(own_sandbox: sc.Sandbox) -> None:
    secret = sc.Secret.from_dict({"A": "secret", "B": "secret"})
    p = await own_sandbox.exec("sh", "-c", 'echo "$A,$B,${C-unset}"', env={"A": "env", "C": None}, secrets=[secret])
    assert await p.stdout.read() == "env,secret,unset\n"


async def test_workdir(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("pwd", workdir="/tmp")
    assert await p.stdout.read() == "/tmp\n"


# ---------------------------------------------------------------------------------------------------- pty


async def test_pty_merges_stderr_and_ends_input_with_ctrl_d(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "tty; echo err >&2", pty=True)
    out = await p.stdout.read()
    assert "/dev/pts/" in out and "err" in out
    assert await p.stderr.read() == ""
    assert await p.wait() == 0
    p = await own_sandbox.exec("cat", pty=True)
    p.stdin.write("abc\n")
    p.stdin.write_eof()
    await p.stdin.drain()
    assert await asyncio.wait_for(p.wait(), 10) == 0
    assert "abc" in await p.stdout.read()


async def test_pty_window_size_is_settable(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "read x; stty size", pty=True)
    await p.resize(33, 101)
    p.stdin.write("go\n")
    await p.stdin.drain()
    assert "33 101" in await p.stdout.read()
    assert await p.wait() == 0
    q = await own_sandbox.exec("true")
    with pytest.raises(InvalidError, match="pty=True"):
        await q.resize(10, 10)


# ----------------------------------------------------------------------------------------------- checks


async def test_validation_errors_in_modal_order(own_sandbox: sc.Sandbox) -> None:
    with pytest.raises(InvalidError, match="workdir must be an absolute path, got: rel"):
        await own_sandbox.exec(1, workdir="rel")  # type: ignore[arg-type]
    with pytest.raises(InvalidError, match="must be strings"):
        await own_sandbox.exec("echo", 1, bufsize=1, text=False)  # type: ignore[arg-type, call-overload]
    with pytest.raises(InvalidError, match="cannot exceed 65536 bytes"):
        await own_sandbox.exec("echo", "x" * 65536)
    with pytest.raises(InvalidError, match="env_dict"):
        await own_sandbox.exec("echo", env={"A": 1}, bufsize=1, text=False)  # type: ignore[dict-item, call-overload]
    with pytest.raises(ValueError, match="line-buffering is only supported when text=True"):
        await own_sandbox.exec("echo", bufsize=1, text=False, stdout="pipe")  # type: ignore[arg-type, call-overload]
    with pytest.raises(ValueError, match="Unsupported StreamType for stdout"):
        await own_sandbox.exec("echo", stdout="pipe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unsupported StreamType for stderr"):
        await own_sandbox.exec("echo", stderr=None)  # type: ignore[arg-type]


async def test_exec_on_a_finished_sandbox_raises_conflict(own_sandbox: sc.Sandbox) -> None:
    await own_sandbox.terminate(wait=True)
    with pytest.raises(ConflictError, match="Sandbox already finished"):
        await own_sandbox.exec("echo", "hi")


async def test_exec_on_a_detached_handle_raises_client_closed(own_sandbox: sc.Sandbox) -> None:
    await own_sandbox.detach()
    with pytest.raises(ClientClosed):
        await own_sandbox.exec("echo", "hi")


async def test_pty_eof_after_a_partial_line(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "cat > /tmp/partial; echo saved", pty=True)
    p.stdin.write("no newline")
    await p.stdin.drain()
    p.stdin.write_eof()
    await p.stdin.drain()
    assert await asyncio.wait_for(p.wait(), 10) == 0
    q = await own_sandbox.exec("cat", "/tmp/partial")
    assert await q.stdout.read() == "no newline"


async def test_wait_after_reading_a_little_does_not_deadlock(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "echo first; head -c 8000000 /dev/zero; head -c 3000000 /dev/zero >&2")
    assert await p.stdout.readline() == "first\n"
    assert await asyncio.wait_for(p.wait(), 30) == 0
    assert len(await p.stdout.read()) == 8000000
    assert len(await p.stderr.read()) == 3000000


async def test_an_exec_running_when_its_sandbox_is_terminated_ends_with_137(app: sc.App, image: sc.Image) -> None:
    """Both exec paths: the process was killed with its sandbox (the agent's session ends with it, which is not an
    error of the exec)."""
    sb = await sc.Sandbox.create(app=app, image=image)
    p = await sb.exec("sh", "-c", "echo started; sleep 100")
    assert await p.stdout.readline() == "started\n"
    await sb.terminate()
    assert await p.stdout.read() == ""
    assert await p.wait() == 137


@pytest.mark.single_engine
async def test_timeout_kills_without_a_shell_in_the_image(app: sc.App) -> None:
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry("sandbox-core/noshell:1"), timeout=60)
    try:
        containers, ref = (await docker_engine()).containers, container_id(sb)
        assert await (await sb.exec("sleep", "0")).wait() == 0  # opens the agent session, if the sandbox has one
        before = set(await containers.host_pids(ref))
        p = await sb.exec("sleep", "1000", timeout=1)
        for _ in range(100):  # the engine reports the exec before runc has started it: poll until it shows
            if not set(await containers.host_pids(ref)) <= before:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the exec never appeared")
        assert await p.wait() == -1
        assert set(await containers.host_pids(ref)) <= before  # a process of `before` may have ended meanwhile
    finally:
        await sb.terminate()


async def test_timeout_kill_falls_back_to_an_exec_when_host_pids_are_not_visible(
    own_sandbox: sc.Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def not_visible(*args: object) -> None:
        return None  # as when the engine runs in another pid namespace (a remote engine)

    monkeypatch.setenv("SANDBOX_CORE_AGENT", "0")  # the engine's exec API: its kill is what this is about
    monkeypatch.setattr(DockerExecs, "_kill_from_host", not_visible)
    p = await own_sandbox.exec("sh", "-c", "sleep 1000 & sleep 1000", timeout=1)
    assert await p.wait() == -1
    assert "sleep 1000" not in await _ps(own_sandbox)


async def test_reading_only_stdout_does_not_stall_on_unread_stderr(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "head -c 5000000 /dev/zero >&2; echo done")
    assert await asyncio.wait_for(p.stdout.read(), 30) == "done\n"
    assert await p.wait() == 0


async def test_timeout_also_kills_what_an_ended_command_left_in_the_background(own_sandbox: sc.Sandbox) -> None:
    # sh exits at once (code 0) leaving an orphan that does not hold the stream; it dies at the 3 s deadline.
    p = await own_sandbox.exec("sh", "-c", "sleep 1000 >/dev/null 2>&1 &", timeout=3)
    assert await p.wait() == 0
    assert "sleep 1000" in await _ps(own_sandbox)
    assert p._deadline_task is not None
    await p._deadline_task
    assert "sleep 1000" not in await _ps(own_sandbox)
    assert await p.poll() == 0  # the command itself had ended before the deadline


async def test_a_dropped_process_is_freed_before_its_deadline(own_sandbox: sc.Sandbox) -> None:
    import gc
    import weakref

    p = await own_sandbox.exec("echo", "unread", timeout=600)
    await p.wait()
    deadline_task = p._deadline_task
    assert deadline_task is not None
    ref = weakref.ref(p)
    del p
    gc.collect()
    assert ref() is None
    assert not deadline_task.done()  # still guarding against leftovers until the deadline
    deadline_task.cancel()


async def test_a_3mb_line_with_bufsize_1(own_sandbox: sc.Sandbox) -> None:
    p = await own_sandbox.exec("sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' a; echo; echo next", bufsize=1)
    lines = [line async for line in p.stdout]
    assert [len(x) for x in lines] == [3000001, 5]


async def test_ctrl_p_ctrl_q_does_not_detach_a_pty_exec(own_sandbox: sc.Sandbox) -> None:
    # The daemon's default detach keys would end the stream on these two bytes; ours are set to something else.
    p = await own_sandbox.exec("sh", "-c", "stty raw -echo; echo ready; head -c 4 | od -An -tx1", pty=True)
    assert "ready" in await asyncio.wait_for(p.stdout.readline(), 10)  # raw mode is on before input is sent
    p.stdin.write(b"\x10\x11ab")
    await p.stdin.drain()
    assert "10 11 61 62" in await asyncio.wait_for(p.stdout.read(), 10)
    assert await p.wait() == 0
