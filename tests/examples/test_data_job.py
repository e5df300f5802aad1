"""The blocking data-processing example (examples/data_job.py), run as a user runs it: a separate process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import REPO, app_name

pytestmark = pytest.mark.usefixtures("engine")


def _run(input_dir: Path, output_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "examples/data_job.py", str(input_dir), str(output_dir), "--app", app_name("data-job")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
        env=dict(os.environ),
    )


def test_the_job_uploads_processes_and_downloads(tmp_path: Path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    inp.mkdir()
    (inp / "sales.csv").write_text("region,units,price\nnorth,3,2.5\nsouth,5,1.5\n")
    rows = "".join(f"{i},{i * i}\n" for i in range(1000))
    (inp / "squares.csv").write_text("n,square\n" + rows)
    (inp / "notes.txt").write_text("not a CSV: not uploaded")

    proc = _run(inp, out)

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "processed sales.csv\nprocessed squares.csv\n"
    assert sorted(p.name for p in out.iterdir()) == ["report.txt", "sales.json", "squares.json"]
    sales = json.loads((out / "sales.json").read_text())
    assert sales == {
        "file": "sales.csv",
        "rows": 2,
        "columns": {"units": {"sum": 8.0, "mean": 4.0}, "price": {"sum": 4.0, "mean": 2.0}},
    }
    assert json.loads((out / "squares.json").read_text())["columns"]["square"]["sum"] == sum(i * i for i in range(1000))
    assert (out / "report.txt").read_text().splitlines()[0] == "sales.csv: 2 rows, numeric columns ['price', 'units']"


def test_a_failing_tool_gives_its_exit_code_and_message(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = _run(tmp_path / "empty", tmp_path / "out")
    assert proc.returncode == 1
    assert proc.stderr.strip().endswith("no CSV files to process")
    assert not (tmp_path / "out").exists()
