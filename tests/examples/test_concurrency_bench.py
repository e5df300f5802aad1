"""The concurrency benchmark example (examples/concurrency_bench.py), run small, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from examples.concurrency_bench import percentile, summarize

from ..conftest import BUSYBOX, REPO, app_name

pytestmark = pytest.mark.usefixtures("engine")


def _bench(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "examples/concurrency_bench.py", "--image", BUSYBOX, "--app", app_name("bench"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=REPO, env=dict(os.environ))


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert summarize([0.3, 0.1, 0.2]) == {"count": 3, "min": 0.1, "p50": 0.2, "p90": 0.3, "p99": 0.3, "max": 0.3}
    assert summarize([]) == {"count": 0}


def test_n_sandboxes_times_m_execs_gives_percentiles_and_a_png(tmp_path: Path) -> None:
    png, out = tmp_path / "bench.png", tmp_path / "bench.json"
    proc = _bench("-n", "3", "-m", "4", "--png", str(png), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text())
    assert (result["create"]["count"], result["exec"]["count"], result["failures"]) == (3, 12, [])
    for what in ("create", "exec"):
        s = result[what]
        assert 0 < s["min"] <= s["p50"] <= s["p90"] <= s["p99"] <= s["max"] < 60
    assert proc.stdout.splitlines()[0].split() == ["count", "min", "p50", "p90", "p99", "max"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_failing_command_is_reported_and_fails_the_run(tmp_path: Path) -> None:
    proc = _bench("-n", "1", "-m", "2", "--command", "sh -c 'echo nope >&2; exit 3'")
    assert proc.returncode == 1
    assert proc.stderr.count("exited 3: nope") == 2
