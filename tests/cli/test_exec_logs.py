"""``exec`` (live streams, exit codes, stdin, timeout) and ``logs`` (replay, follow, JSON) against the engine."""

from __future__ import annotations

import json
import shlex
import subprocess
import time

import pytest

import sandbox_core_sync as scs

from .conftest import CLI, Cli

pytestmark = pytest.mark.usefixtures("engine")

WAIT_FOR_GO = "while [ ! -f /tmp/{0} ]; do sleep 0.05; done"


def test_exec_separates_the_streams_and_returns_the_exit_code(cli: Cli, sandbox_id: str) -> None:
    proc = cli("exec", sandbox_id, "sh", "-c", "echo out; echo err >&2; exit 7")
    assert (proc.returncode, proc.stdout, proc.stderr) == (7, "out\n", "err\n")


def test_exec_passes_options_after_the_command_to_it(cli: Cli, sandbox_id: str) -> None:
    assert cli.ok("exec", sandbox_id, "echo", "-n", "--json") == "--json"


def test_exec_by_name_with_env_and_workdir(cli: Cli) -> None:
    sid = cli.json("create", "--name", "named")["id"]
    try:
        out = cli.ok(
            "exec", "--app", cli.app, "-e", "GREETING=hi", "-w", "/tmp", "named", "sh", "-c", "echo $GREETING; pwd"
        )
        assert out == "hi\n/tmp\n"
    finally:
        cli.ok("stop", sid)


def test_exec_streams_output_while_the_command_runs(cli: Cli, sandbox_id: str) -> None:
    script = f"echo first; echo first-err >&2; {WAIT_FOR_GO.format('go-exec')}; echo second"
    proc = cli.popen("exec", sandbox_id, "sh", "-c", script)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == "first\n"
        assert proc.stderr.readline() == "first-err\n"
        assert proc.poll() is None  # the command is still waiting: the lines came live, not at the end
        cli.ok("exec", sandbox_id, "touch", "/tmp/go-exec")
        assert proc.stdout.read() == "second\n"
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]


def test_exec_stdin_is_forwarded_with_eof_only_with_dash_i(cli: Cli, sandbox_id: str) -> None:
    assert cli.ok("exec", "-i", sandbox_id, "sh", "-c", "cat; echo done", input="hello\nworld") == "hello\nworlddone\n"
    assert cli.ok("exec", sandbox_id, "sh", "-c", "cat; echo done", input="ignored") == "done\n"


def test_exec_timeout_exits_124(cli: Cli, sandbox_id: str) -> None:
    started = time.monotonic()
    proc = cli("exec", "--timeout", "1", sandbox_id, "sleep", "60")
    assert proc.returncode == 124
    assert time.monotonic() - started < 30


def test_exec_killed_command_passes_137_through(cli: Cli, sandbox_id: str) -> None:
    assert cli("exec", sandbox_id, "sh", "-c", "kill -9 $$").returncode == 137


def test_exec_on_a_finished_sandbox_is_a_cli_failure(cli: Cli) -> None:
    sid = cli.json("create")["id"]
    cli.ok("stop", sid)
    proc = cli("exec", sid, "true")
    assert proc.returncode == 125
    assert proc.stderr == "sandbox-core: ConflictError: Sandbox already finished\n"


def test_logs_replays_a_finished_sandbox_by_stream(cli: Cli) -> None:
    sid = cli.json("create", "sh", "-c", "echo a; echo b >&2; echo c; exit 2")["id"]
    scs.Sandbox.from_id(sid).wait()
    proc = cli("logs", sid)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "a\nc\n", "b\n")
    lines = [json.loads(line) for line in cli.ok("logs", "--json", sid).splitlines()]
    assert sorted(lines, key=lambda d: d["text"]) == [
        {"stream": "stdout", "text": "a\n"},
        {"stream": "stderr", "text": "b\n"},
        {"stream": "stdout", "text": "c\n"},
    ]


def test_logs_without_follow_returns_what_a_running_sandbox_printed(cli: Cli) -> None:
    sid = cli.json("create", "sh", "-c", "echo ready; sleep 600")["id"]
    try:
        assert scs.Sandbox.from_id(sid).stdout.readline() == "ready\n"  # it has printed
        started = time.monotonic()
        assert cli.ok("logs", sid) == "ready\n"
        assert time.monotonic() - started < 30
    finally:
        cli.ok("stop", sid)


def test_logs_follow_streams_until_the_sandbox_ends(cli: Cli) -> None:
    sid = cli.json("create", "sh", "-c", f"echo first; {WAIT_FOR_GO.format('go-logs')}; echo second")["id"]
    proc = cli.popen("logs", "-f", sid)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "first\n"
        assert proc.poll() is None
        cli.ok("exec", sid, "touch", "/tmp/go-logs")
        assert proc.stdout.read() == "second\n"  # ends at EOF: the sandbox finished
        assert proc.wait(timeout=60) == 0
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
        cli("stop", sid)


def test_exec_into_a_closed_pipe_runs_the_command_to_its_end(cli: Cli, sandbox_id: str) -> None:
    line = shlex.join([*CLI, "exec", sandbox_id, "sh", "-c", "seq 1 200000; echo finished >&2; exit 6"])
    proc = subprocess.run(
        ["bash", "-c", f"{line} | head -n 2; echo cli-exit=${{PIPESTATUS[0]}} >&2"],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli.env,
    )
    assert proc.stdout == "1\n2\n"
    assert proc.stderr == "finished\ncli-exit=6\n"  # no BrokenPipeError: the rest of stdout was dropped
