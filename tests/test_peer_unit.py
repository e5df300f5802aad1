"""When a process on this host started (``_engine/docker/peer.py``, no engine): the engine's restart is told from
its process's start time, which must be exact to a few clock ticks — a container that started half a second before
the restart must not look as if it started after it."""

from __future__ import annotations

import os
import subprocess
import time

from sandbox_core._engine.docker.peer import process_started_at

TICK = 1 / os.sysconf("SC_CLK_TCK")


def test_a_process_start_time_is_exact_to_a_few_clock_ticks() -> None:
    for _ in range(5):
        before = time.time()
        child = subprocess.Popen(["sleep", "30"])
        after = time.time()
        try:
            started = process_started_at(child.pid)
        finally:
            child.kill()
            child.wait()
        assert started is not None
        assert before - 2 * TICK <= started <= after + 2 * TICK, (before, started, after)


def test_a_process_that_is_gone_has_no_start_time() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    assert process_started_at(child.pid) is None
