"""The command line as a program: help, version, the console script, the missing-extra message, and the exit-code
contract for usage errors, an unreachable engine and ``--debug``."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys

import pytest

from ..conftest import REPO
from .conftest import Cli

COMMANDS = ("create", "run", "ls", "stop", "exec", "shell", "logs", "cp", "sweep", "image")


def test_help_lists_every_command(cli: Cli) -> None:
    out = cli.ok("--help")
    for name in COMMANDS:
        assert f" {name} " in out, name
    assert "ls" in cli.ok("image", "--help")


def test_version_is_the_package_version(cli: Cli) -> None:
    assert cli.ok("--version").strip() == f"sandbox-core {importlib.metadata.version('sandbox-core')}"


def test_console_script_is_installed() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "sandbox-core")
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: sandbox-core" in proc.stdout


def test_missing_extra_says_how_to_install_it() -> None:
    code = "import sys; sys.modules['typer'] = None; from sandbox_core._cli import main; main(['--help'])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 1
    assert "pip install 'sandbox-core[cli]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_option_is_a_usage_error(cli: Cli) -> None:
    assert cli("ls", "--no-such-option").returncode == 2


def test_malformed_tag_is_a_usage_error_on_one_line(cli: Cli) -> None:
    proc = cli("ls", "--tag", "novalue")
    assert proc.returncode == 2
    assert proc.stderr == "sandbox-core: UsageError: --tag must be KEY=VALUE, got 'novalue'\n"


def test_invalid_value_rejected_by_the_library_exits_2(cli: Cli) -> None:
    proc = cli("create", "--name", "no spaces allowed")
    assert proc.returncode == 2
    assert proc.stderr.startswith("sandbox-core: InvalidError: Invalid Sandbox name")
    assert len(proc.stderr.splitlines()) == 1


def test_unreachable_engine_exits_4_with_a_typed_json_error(cli: Cli, tmp_path: object) -> None:
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    proc = cli("ls", "--json", env=env)
    assert proc.returncode == 4
    assert proc.stdout == ""
    error = json.loads(proc.stderr)["error"]
    assert error["type"] == "ConnectionError"
    assert error["exit_code"] == 4
    assert "no-engine.sock" in error["message"]


def test_pass_through_commands_report_their_own_failures_as_125(cli: Cli, tmp_path: object) -> None:
    env = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    proc = cli("exec", "sb-00000000000000000000000", "true", env=env)
    assert proc.returncode == 125
    assert proc.stderr.startswith("sandbox-core: ConnectionError: ")


@pytest.mark.usefixtures("engine")
def test_debug_adds_the_traceback(cli: Cli) -> None:
    plain = cli("logs", "sb-00000000000000000000000")
    debug = cli("--debug", "logs", "sb-00000000000000000000000")
    assert plain.returncode == debug.returncode == 3
    assert "Traceback" not in plain.stderr
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().endswith(plain.stderr.rstrip())
