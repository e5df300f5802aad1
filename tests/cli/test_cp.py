"""``cp`` to and from a sandbox: a checksummed round trip, directory destinations, errors and their codes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from .conftest import Cli

pytestmark = pytest.mark.usefixtures("engine")

SIZE = 3 * 1024 * 1024 + 17


def test_cp_round_trip_keeps_every_byte(cli: Cli, sandbox_id: str, tmp_path: Path) -> None:
    data = os.urandom(SIZE)
    digest = hashlib.sha256(data).hexdigest()
    src = tmp_path / "payload.bin"
    src.write_bytes(data)
    up = cli.json("cp", str(src), f"{sandbox_id}:/tmp/cp/payload.bin")
    assert up["direction"] == "upload" and up["bytes"] == SIZE and up["destination"] == "/tmp/cp/payload.bin"
    assert set(up) == {"direction", "sandbox_id", "source", "destination", "bytes", "seconds"}
    remote = cli.ok("exec", sandbox_id, "sha256sum", "/tmp/cp/payload.bin")
    assert remote.split()[0] == digest
    back = tmp_path / "back.bin"
    down = cli.json("cp", f"{sandbox_id}:/tmp/cp/payload.bin", str(back))
    assert down["direction"] == "download" and down["bytes"] == SIZE and down["sandbox_id"] == sandbox_id
    assert hashlib.sha256(back.read_bytes()).hexdigest() == digest


def test_cp_into_directories_keeps_the_file_name(cli: Cli, sandbox_id: str, tmp_path: Path) -> None:
    src = tmp_path / "note.txt"
    src.write_text("hello\n")
    out = cli.ok("cp", str(src), f"{sandbox_id}:/tmp/")
    assert out.startswith("copied 6 B to ") and out.rstrip().endswith("s")
    assert cli.ok("exec", sandbox_id, "cat", "/tmp/note.txt") == "hello\n"
    cli.ok("exec", sandbox_id, "mkdir", "-p", "/tmp/into")
    cli.ok("cp", str(src), f"{sandbox_id}:/tmp/into")  # an existing directory without the slash
    assert cli.ok("exec", sandbox_id, "cat", "/tmp/into/note.txt") == "hello\n"
    local_dir = tmp_path / "down"
    local_dir.mkdir()
    cli.ok("cp", f"{sandbox_id}:/tmp/into/note.txt", str(local_dir))
    assert (local_dir / "note.txt").read_text() == "hello\n"


def test_cp_by_sandbox_name(cli: Cli, tmp_path: Path) -> None:
    sid = cli.json("create", "--name", "files")["id"]
    try:
        src = tmp_path / "n.txt"
        src.write_text("by name")
        cli.ok("cp", "--app", cli.app, str(src), "files:/tmp/n.txt")
        assert cli.ok("exec", sid, "cat", "/tmp/n.txt") == "by name"
    finally:
        cli.ok("stop", sid)


def test_cp_missing_files_exit_3(cli: Cli, sandbox_id: str, tmp_path: Path) -> None:
    missing_remote = cli("cp", f"{sandbox_id}:/tmp/does-not-exist", str(tmp_path / "x"))
    assert missing_remote.returncode == 3
    assert missing_remote.stderr.startswith("sandbox-core: SandboxFilesystemNotFoundError: ")
    missing_local = cli("cp", str(tmp_path / "nope"), f"{sandbox_id}:/tmp/x")
    assert missing_local.returncode == 3
    assert missing_local.stderr.startswith("sandbox-core: FileNotFoundError: ")
    assert not (tmp_path / "x").exists()


def test_cp_needs_exactly_one_remote_side(cli: Cli, sandbox_id: str, tmp_path: Path) -> None:
    both_local = cli("cp", str(tmp_path / "a"), str(tmp_path / "b"))
    assert both_local.returncode == 2
    assert "exactly one of SOURCE and DESTINATION" in both_local.stderr
    relative = cli("cp", str(tmp_path / "a"), f"{sandbox_id}:tmp/a")
    assert relative.returncode == 2
    assert "must be absolute" in relative.stderr


def test_cp_of_a_directory_is_refused(cli: Cli, sandbox_id: str, tmp_path: Path) -> None:
    proc = cli("cp", f"{sandbox_id}:/tmp", str(tmp_path / "t"))
    assert proc.returncode == 1
    assert proc.stderr.startswith("sandbox-core: SandboxFilesystemIsADirectoryError: ")
    assert cli("cp", str(tmp_path), f"{sandbox_id}:/tmp/t").returncode == 1
