"""The progress probes and the plain progress lines (pure logic on local files; no engine)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from sandbox_core._cli import _progress
from sandbox_core._cli._transfer import _ReadOffset, _TempFileSize


def test_temp_file_probe_reports_the_download_in_progress(tmp_path: Path) -> None:
    probe = _TempFileSize(str(tmp_path), since=0.0)
    assert probe() is None
    (tmp_path / ".modal-sandbox-fs-tmp-abc123").write_bytes(b"x" * 1000)
    (tmp_path / "unrelated.bin").write_bytes(b"x" * 5000)
    assert probe() == 1000


def test_read_offset_probe_follows_the_open_file(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(os.urandom(100_000))
    probe = _ReadOffset(str(path))
    assert probe() is None
    with open(path, "rb") as f:
        f.raw.read(4096)
        assert probe() == 4096
        f.raw.read(10_000)
        assert probe() == 14_096


async def test_plain_progress_lines_while_work_runs(capsys: pytest.CaptureFixture[str]) -> None:
    done = asyncio.Event()
    polls: list[int] = []

    def probe() -> int | None:
        polls.append(len(polls))
        if len(polls) == 2:
            done.set()  # the work ends after the second look
        return 1024 * len(polls)

    async def work() -> str:
        await done.wait()
        return "result"

    result = await _progress.track_bytes("copy", 4096, probe, work(), plain_every=0.01)
    assert result == "result"
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("copy: 1.0 KiB of 4.0 KiB after ")
    assert all(line.startswith("copy: ") for line in lines)
