"""The exec timeout on the ENGINE path (no agent) stops a fork bomb at the default pids limit and 200 children:
``wait()`` returns within ~2 s of the deadline and the sandbox's processes are back to the baseline within 2 s,
without the engine's ``top`` (which cannot answer under pid exhaustion)."""

from __future__ import annotations

import time

import pytest

import sandbox_core as sc
from sandbox_core._engine.docker import cgroup
from sandbox_core.limits import DEFAULT_PIDS as DEFAULT_PIDS_LIMIT

from .conftest import BUSYBOX, agent_path, docker_inspect

pytestmark = pytest.mark.usefixtures("engine")


@pytest.fixture
def engine_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CORE_AGENT", "0")


def cgroup_pids(sb: sc.Sandbox) -> int:
    """The sandbox's process count, from its cgroup (the kernel's own count)."""
    path = cgroup.procs_file(docker_inspect(sb)["State"]["Pid"])
    assert path is not None, "the test needs a local engine"
    return len(cgroup.read_pids(path) or [])


@pytest.mark.parametrize(
    ("what", "script"),
    [
        ("fork bomb", "f() { f | f & }; f; sleep 1000"),
        ("200 children", "i=0; while [ $i -lt 200 ]; do sleep 1000 & i=$((i+1)); done; wait"),
        ("setsid daemons", "setsid sh -c 'sleep 1001 &'; setsid sh -c 'setsid sleep 1002 &'; sleep 1000"),
    ],
)
@pytest.mark.usefixtures("engine_path")
async def test_engine_exec_deadline_kills_the_whole_tree(app: sc.App, what: str, script: str) -> None:
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), timeout=120)
    try:
        assert not agent_path(sb)
        assert docker_inspect(sb)["HostConfig"]["PidsLimit"] == DEFAULT_PIDS_LIMIT
        baseline = cgroup_pids(sb)
        timeout = 4
        t0 = time.monotonic()
        p = await sb.exec("sh", "-c", script, timeout=timeout)
        deadline = t0 + timeout
        # -1: still running at the deadline; 2: the fork bomb's own shell could not fork its `sleep` once the
        # pids ran out and ended early, leaving the bomb to the deadline's kill (which runs either way)
        assert await p.wait() in ((-1, 2) if what == "fork bomb" else (-1,))
        waited = time.monotonic() - deadline
        while cgroup_pids(sb) != baseline:
            assert time.monotonic() - deadline < 30, f"{what}: the exec's processes outlived its deadline"
            time.sleep(0.02)
        back = time.monotonic() - deadline
        print(f"{what}: wait() {waited:.2f} s, pids at baseline {back:.2f} s after the deadline")
        assert waited < 2.5, f"{what}: wait() returned {waited:.2f} s after the deadline"
        assert back < 2.5, f"{what}: pids back {back:.2f} s after the deadline"
    finally:
        await sb.terminate()
