"""``shell`` through a real terminal: tmux runs the command line in a PTY, ``send-keys`` types, ``capture-pane``
reads the screen. Skipped (with the reason) where tmux is not installed."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import BUSYBOX, REPO
from .conftest import CLI, Cli

pytestmark = [
    pytest.mark.skipif(
        shutil.which("tmux") is None,
        reason="tmux is not installed (apt-get install -y tmux): the shell tests drive a real terminal with it",
    ),
    pytest.mark.usefixtures("engine"),
]

# The screen has no event to wait on: it is read every POLL seconds until the text shows or DEADLINE passes.
POLL = 0.05
DEADLINE = 30.0
# A foreground job that reports the SIGWINCH its terminal gets when resized (after saying it is ready for it).
WAIT_FOR_WINCH = "sh -c 'trap \"echo resized; exit\" WINCH; echo armed; while :; do usleep 50000; done'"
SLEEP_RUNNING = 'until ps -o args | grep -qx "sleep 31"; do usleep 50000; done'


class Terminal:
    """One tmux session (on a private server) running one command line in an 80x24 terminal."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.socket = f"sandbox-core-test-{uuid.uuid4().hex[:8]}"
        self.exit_file = tmp / "exit-code"
        self.conf = tmp / "tmux.conf"
        self.conf.write_text("set -g status off\nset -g history-limit 1000\n")
        self.env = env

    def tmux(self, *args: str, timeout: float = 30) -> str:
        cmd = ["tmux", "-L", self.socket, "-f", str(self.conf), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=timeout, check=True)
        return proc.stdout

    def start(self, *cli_args: str) -> None:
        line = shlex.join([*CLI, *cli_args])
        done = f"{line}; echo $? > {shlex.quote(str(self.exit_file))}; tmux -L {self.socket} wait-for -S done"
        self.tmux("new-session", "-d", "-s", "t", "-x", "80", "-y", "24", "-c", REPO, done)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", "t", "-l", text)
        self.tmux("send-keys", "-t", "t", "Enter")

    def key(self, name: str) -> None:
        self.tmux("send-keys", "-t", "t", name)

    def screen(self) -> list[str]:
        return [line.rstrip() for line in self.tmux("capture-pane", "-p", "-t", "t").splitlines()]

    def wait_for_line(self, text: str, count: int = 1) -> None:
        """Until ``count`` screen lines equal ``text``."""
        deadline = time.monotonic() + DEADLINE
        while self.screen().count(text) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} (x{count}) never showed; the screen:\n" + "\n".join(self.screen()))
            time.sleep(POLL)

    def resize(self, cols: int, rows: int) -> None:
        self.tmux("resize-window", "-t", "t", "-x", str(cols), "-y", str(rows))

    def exit_code(self) -> int:
        """Wait for the command line to end; its exit code."""
        self.tmux("wait-for", "done", timeout=DEADLINE)
        return int(self.exit_file.read_text())

    def still_running(self) -> bool:
        return not self.exit_file.exists()

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env)


@pytest.fixture
def terminal(cli: Cli, tmp_path: Path) -> Iterator[Terminal]:
    env = {k: v for k, v in cli.env.items() if not k.startswith("TMUX")}
    term = Terminal(tmp_path, env)
    try:
        yield term
    finally:
        term.close()


def test_shell_runs_what_is_typed_and_exits_with_its_code(terminal: Terminal, sandbox_id: str) -> None:
    terminal.start("shell", sandbox_id)
    terminal.type("echo $((6 * 7))")
    terminal.wait_for_line("42")
    terminal.type("exit 3")
    assert terminal.exit_code() == 3


def test_shell_window_resize_reaches_the_remote_terminal(terminal: Terminal, sandbox_id: str) -> None:
    terminal.start("shell", sandbox_id)
    terminal.type("stty size")
    terminal.wait_for_line("24 80")
    terminal.type(WAIT_FOR_WINCH)
    terminal.wait_for_line("armed")
    terminal.resize(100, 30)
    terminal.wait_for_line("resized")  # the remote foreground job got SIGWINCH: the new size was applied
    terminal.type("stty size")
    terminal.wait_for_line("30 100")
    terminal.type("exit")
    assert terminal.exit_code() == 0


def test_shell_ctrl_c_interrupts_the_remote_command_not_the_cli(terminal: Terminal, cli: Cli, sandbox_id: str) -> None:
    terminal.start("shell", sandbox_id)
    terminal.type("sleep 31; echo after-sleep")
    cli.ok("exec", "--timeout", "30", sandbox_id, "sh", "-c", SLEEP_RUNNING)
    started = time.monotonic()
    terminal.key("C-c")
    terminal.type("echo alive-$((1 + 1))")
    terminal.wait_for_line("alive-2")
    assert time.monotonic() - started < 25
    assert terminal.still_running()
    assert "after-sleep" not in terminal.screen()
    assert "sleep 31" not in cli.ok("exec", sandbox_id, "ps", "-o", "args").splitlines()
    terminal.type("exit 0")
    assert terminal.exit_code() == 0


def test_shell_without_a_sandbox_makes_one_and_terminates_it(terminal: Terminal, cli: Cli) -> None:
    before = {r["id"] for r in cli.json("ls", "--all")}
    terminal.start("shell", "--image", BUSYBOX)
    terminal.type("echo in-$((40 + 2))")
    terminal.wait_for_line("in-42")
    made = [r for r in cli.json("ls") if r["id"] not in before]
    assert [r["state"] for r in made] == ["running"]
    terminal.type("exit 4")
    assert terminal.exit_code() == 4
    after = {r["id"]: r for r in cli.json("ls", "--all")}[made[0]["id"]]
    assert (after["state"], after["returncode"]) == ("finished", 137)


def test_shell_forwards_sigint_to_the_remote_terminal(terminal: Terminal, cli: Cli, sandbox_id: str) -> None:
    """A SIGINT sent to the command line itself (not typed) also reaches the remote foreground job."""
    terminal.start("shell", sandbox_id)
    terminal.type("sleep 31; echo after-sleep")
    cli.ok("exec", "--timeout", "30", sandbox_id, "sh", "-c", SLEEP_RUNNING)
    pids = terminal.tmux("list-panes", "-t", "t", "-F", "#{pane_pid}").split()
    children = subprocess.run(["pgrep", "-P", pids[0]], capture_output=True, text=True).stdout.split()
    assert children, "the command line is not running"
    os.kill(int(children[0]), 2)
    # The signal and typed keys reach the command line by different paths: type only once the remote terminal
    # has taken the Ctrl-C (it echoes ^C), or the line discipline's flush on Ctrl-C could swallow the typing.
    terminal.wait_for_line("^C")
    terminal.type("echo alive-$((2 + 2))")
    terminal.wait_for_line("alive-4")
    assert terminal.still_running()
    terminal.type("exit 0")
    assert terminal.exit_code() == 0
