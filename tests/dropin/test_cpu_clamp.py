"""A ``cpu`` limit beyond the engine's host is clamped to it, with a ``LocalBackendWarning`` at the caller's line."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

import sandbox_core as sc
import sandbox_core_sync as modal
from sandbox_core.exception import LocalBackendWarning
from tests.conftest import BUSYBOX, app_name, docker_inspect

HERE = os.path.abspath(__file__)

pytestmark = pytest.mark.usefixtures("engine")  # async tests: asyncio mode "auto", the session loop


def _host_cpus() -> int:
    out = subprocess.run(["docker", "info", "--format", "{{.NCPU}}"], capture_output=True, text=True, check=True)
    return int(out.stdout)


async def test_a_limit_above_the_host_is_clamped_with_a_warning(app: sc.App) -> None:
    cpus = _host_cpus()
    with pytest.warns(
        LocalBackendWarning, match=rf"cpu limit 64 exceeds the {cpus} CPUs .* limited to {cpus} CPUs"
    ) as w:
        sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), cpu=(0.5, 64))
    try:
        assert w[0].filename == HERE  # the caller's line
        host: dict[str, Any] = docker_inspect(sb)["HostConfig"]
        assert host["NanoCpus"] == cpus * 10**9
        assert host["CpuShares"] == 512  # the request is kept
    finally:
        await sb.terminate()


async def test_a_limit_below_the_minimum_is_raised(app: sc.App) -> None:
    with pytest.warns(LocalBackendWarning, match="below the local engine's minimum of 0.01 CPU"):
        sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), cpu=(0.001, 0.001))
    try:
        assert docker_inspect(sb)["HostConfig"]["NanoCpus"] == 10**7
    finally:
        await sb.terminate()


async def test_a_limit_that_fits_is_kept_without_a_warning(app: sc.App, recwarn: pytest.WarningsRecorder) -> None:
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), cpu=(0.25, 0.5))
    try:
        assert docker_inspect(sb)["HostConfig"]["NanoCpus"] == 5 * 10**8
        assert not [w for w in recwarn if issubclass(w.category, LocalBackendWarning)]
    finally:
        await sb.terminate()


def test_the_blocking_api_warns_at_the_callers_line_too() -> None:
    app = modal.App.lookup(app_name("cpu-sync"), create_if_missing=True)
    with pytest.warns(LocalBackendWarning, match="exceeds the") as w:
        sb = modal.Sandbox.create(app=app, image=modal.Image.from_registry(BUSYBOX), cpu=(1, 1000))
    try:
        assert w[0].filename == HERE
        assert sb.exec("true").wait() == 0
    finally:
        sb.terminate()
