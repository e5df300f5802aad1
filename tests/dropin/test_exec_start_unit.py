"""The exec start-failure contract as pure logic: the runtime's text classified, the shell's wording, the agent's
errors mapped onto the same failures, and the screen in front of an engine stream."""

from __future__ import annotations

import pytest

from sandbox_core._engine.api import STDERR, STDOUT
from sandbox_core._engine.docker.startfail import ScreenedExecStream, classify
from sandbox_core._engine.errors import ExecStartFailed
from sandbox_core._engine.values import ExecInfo
from sandbox_core._execfail import StartFailure, StartScreen, from_agent_error

# The engine's texts as Docker 20.10 + runc 1.1 send them (recorded from the test engine), and older wordings.
RUNC_TEXTS = [
    (
        b'OCI runtime exec failed: exec failed: unable to start container process: exec: "node": executable file not '
        b"found in $PATH: unknown\r\n",
        "not_found",
        'exec: "node": executable file not found in $PATH',
    ),
    (
        b'OCI runtime exec failed: exec failed: unable to start container process: exec: "/no/such": stat /no/such: '
        b"no such file or directory: unknown\r\n",
        "not_found",
        'exec: "/no/such": stat /no/such: no such file or directory',
    ),
    (
        b'OCI runtime exec failed: exec failed: unable to start container process: exec: "/etc/passwd": permission '
        b"denied: unknown\r\n",
        "not_executable",
        'exec: "/etc/passwd": permission denied',
    ),
    (
        b'OCI runtime exec failed: exec failed: unable to start container process: chdir to cwd ("/nope") set in '
        b"config.json failed: no such file or directory: unknown\r\n",
        "bad_workdir",
        'chdir to cwd ("/nope") set in config.json failed: no such file or directory',
    ),
    (
        b"OCI runtime exec failed: exec failed: container_linux.go:380: starting container process caused: exec: "
        b'"x": executable file not found in $PATH: unknown\r\n',
        "not_found",
        'exec: "x": executable file not found in $PATH',
    ),
    (b"OCI runtime exec failed: something new: unknown\r\n", "other", "something new"),
]


@pytest.mark.parametrize(("text", "reason", "detail"), RUNC_TEXTS)
def test_the_runtimes_text_is_classified(text: bytes, reason: str, detail: str) -> None:
    assert classify(text) == (reason, detail)


@pytest.mark.parametrize(
    ("failure", "code", "line"),
    [
        (StartFailure("not_found", "node"), 127, "node: command not found"),
        (StartFailure("not_found", "/opt/x"), 127, "/opt/x: No such file or directory"),
        (
            StartFailure("not_executable", "/etc/passwd", detail="permission denied"),
            126,
            "/etc/passwd: Permission denied",
        ),
        (StartFailure("not_executable", "./a.out", detail="exec format error"), 126, "./a.out: Exec format error"),
        (
            StartFailure("bad_workdir", "ls", "/nope", detail="no such file or directory"),
            126,
            "cannot change to working directory /nope: No such file or directory",
        ),
        (
            StartFailure("bad_workdir", "ls", "/etc/passwd", detail="chdir ...: not a directory"),
            126,
            "cannot change to working directory /etc/passwd: Not a directory",
        ),
        (StartFailure("other", "x", detail="out of luck"), 126, "x: cannot execute: out of luck"),
    ],
)
def test_failures_read_as_a_shell_reports_them(failure: StartFailure, code: int, line: str) -> None:
    assert failure.returncode == code
    assert failure.message == line
    assert failure.frame(pty=False) == (STDERR, (line + "\n").encode())
    assert failure.frame(pty=True) == (STDOUT, (line + "\r\n").encode())  # a terminal is stdout and stderr at once


def test_the_agents_errors_map_onto_the_same_failures() -> None:
    argv = ("node", "-v")
    assert from_agent_error("NotFound", "node: executable file not found in $PATH", argv, None) == StartFailure(
        "not_found", "node", None, "node: executable file not found in $PATH"
    )
    wd = from_agent_error(
        "NotFound", "cannot enter working directory /nope: stat /nope: no such file", ("ls",), "/nope"
    )
    assert wd is not None and wd.reason == "bad_workdir" and wd.returncode == 126
    denied = from_agent_error("PermissionDenied", "/etc/passwd: permission denied", ("/etc/passwd",), None)
    assert denied is not None and denied.reason == "not_executable" and denied.returncode == 126
    assert from_agent_error("InvalidArgument", "exec request: bad", argv, None) is None  # the agent's own error


class _Stream:
    def __init__(self, frames: list[tuple[int, bytes] | Exception]) -> None:
        self.frames = frames
        self.tty = False

    async def read_frame(self) -> tuple[int, bytes] | None:
        if not self.frames:
            return None
        item = self.frames.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    async def write(self, data: bytes) -> None: ...

    def close_write(self) -> bool:
        return True

    async def close(self) -> None: ...


async def test_the_screen_turns_the_engines_failure_into_one_stderr_line_then_eof() -> None:
    screen = StartScreen(_Stream([ExecStartFailed("not_found", 'exec: "node": ...')]), ("node",), None)
    assert await screen.read_frame() == (STDERR, b"node: command not found\n")
    assert await screen.read_frame() is None
    assert screen.failure is not None and screen.failure.returncode == 127


async def test_the_screen_passes_a_program_s_output_through() -> None:
    screen = StartScreen(_Stream([(STDOUT, b"hi\n"), (STDERR, b"err\n")]), ("sh",), None)
    assert [await screen.read_frame() for _ in range(3)] == [(STDOUT, b"hi\n"), (STDERR, b"err\n"), None]
    assert screen.failure is None


# --------------------------------------------------------------------------------- the engine stream's screen

OCI = b'OCI runtime exec failed: exec failed: unable to start container process: exec: "x": executable file not found'


def _screened(frames: list[tuple[int, bytes]], info: ExecInfo) -> tuple[ScreenedExecStream, list[int]]:
    asked: list[int] = []

    async def inspect() -> ExecInfo:
        asked.append(1)
        return info

    return ScreenedExecStream(_Stream(list(frames)), inspect), asked  # type: ignore[arg-type]


async def test_an_ordinary_first_frame_costs_no_inspect() -> None:
    stream, asked = _screened([(STDOUT, b"hello\n")], ExecInfo(running=False, exit_code=0, pid=7))
    assert await stream.read_frame() == (STDOUT, b"hello\n")
    assert await stream.read_frame() is None and asked == []


async def test_the_runtimes_text_of_a_process_that_never_ran_raises() -> None:
    stream, asked = _screened([(STDOUT, OCI + b": unknown\r\n")], ExecInfo(running=False, exit_code=126, pid=0))
    with pytest.raises(ExecStartFailed) as e:
        await stream.read_frame()
    assert e.value.reason == "not_found" and asked == [1]


@pytest.mark.parametrize(
    "info",
    [
        ExecInfo(running=True, exit_code=None, pid=0),  # still running: a program printed it
        ExecInfo(running=False, exit_code=126, pid=4321),  # it had a process
        ExecInfo(running=False, exit_code=0, pid=0),
    ],
)
async def test_the_same_text_from_a_program_is_its_output(info: ExecInfo) -> None:
    stream, _ = _screened([(STDOUT, OCI + b"\n"), (STDOUT, b"more\n")], info)
    assert [await stream.read_frame() for _ in range(3)] == [(STDOUT, OCI + b"\n"), (STDOUT, b"more\n"), None]


async def test_text_followed_by_more_output_is_a_programs_even_with_no_pid() -> None:
    stream, _ = _screened([(STDOUT, OCI + b"\n"), (STDERR, b"more\n")], ExecInfo(running=False, exit_code=126, pid=0))
    assert [await stream.read_frame() for _ in range(3)] == [(STDOUT, OCI + b"\n"), (STDERR, b"more\n"), None]
