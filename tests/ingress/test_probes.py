"""Readiness probes against the real engine: TCP and exec probes with servers that start late, Modal's errors of
``wait_until_ready``, and probe execs that do not keep an idle sandbox alive."""

from __future__ import annotations

import time

import pytest

import sandbox_core as sc
from sandbox_core import _lifecycle
from sandbox_core import exception as exc

pytestmark = pytest.mark.usefixtures("engine")


async def test_a_tcp_probe_waits_for_a_server_that_starts_late(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create(
        "sh",
        "-c",
        "sleep 2; exec httpd -f -p 8080 -h /etc",
        app=app,
        image=image,
        readiness_probe=sc.Probe.with_tcp(8080, interval_ms=50),  # 8080 is not declared: probed at its address
    )
    started = time.monotonic()
    try:
        await sb.wait_until_ready(timeout=60)
        assert time.monotonic() - started >= 1.5
        p = await sb.exec("wget", "-qO-", "http://127.0.0.1:8080/hostname")
        assert await p.wait() == 0  # ready means the server accepts
        await sb.wait_until_ready()  # once ready, always ready
    finally:
        await sb.terminate()


async def test_an_exec_probe_is_ready_once_its_command_exits_0(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create(app=app, image=image, readiness_probe=sc.Probe.with_exec("test", "-f", "/tmp/ready"))
    try:
        with pytest.raises(exc.TimeoutError) as info:
            await sb.wait_until_ready(timeout=1)
        assert str(info.value) == "Timeout expired" and not isinstance(info.value, exc.SandboxTimeoutError)
        await (await sb.exec("touch", "/tmp/ready")).wait()
        await sb.wait_until_ready(timeout=60)
    finally:
        await sb.terminate()


async def test_wait_until_ready_raises_modals_errors(app: sc.App, image: sc.Image, own_sandbox: sc.Sandbox) -> None:
    with pytest.raises(exc.InvalidError, match=r"^`timeout` must be positive, got: 0$"):
        await own_sandbox.wait_until_ready(timeout=0)
    with pytest.raises(exc.ConflictError, match=r"^Sandbox does not have a readiness probe configured$"):
        await own_sandbox.wait_until_ready()
    never = sc.Probe.with_exec("false", interval_ms=200)
    sb = await sc.Sandbox.create("sleep", "2", app=app, image=image, readiness_probe=never)
    try:
        with pytest.raises(exc.ConflictError, match=r"^Sandbox already finished$"):
            await sb.wait_until_ready(timeout=60)  # it ends while we wait
        with pytest.raises(exc.ConflictError, match=r"^Sandbox already finished$"):
            await sb.wait_until_ready()
    finally:
        await sb.terminate()
    await own_sandbox.detach()
    with pytest.raises(exc.ClientClosed):
        await own_sandbox.wait_until_ready()


async def test_probe_execs_do_not_keep_an_idle_sandbox_alive(app: sc.App, image: sc.Image) -> None:
    probe = sc.Probe.with_exec("false", interval_ms=100)  # an exec every ~0.1 s, forever
    sb = await sc.Sandbox.create(app=app, image=image, idle_timeout=3, timeout=120, readiness_probe=probe)
    started = time.monotonic()
    try:
        await sb.wait()
        assert sb._link.status == _lifecycle.IDLE_TIMEOUT
        assert time.monotonic() - started < 15
    finally:
        await sb.terminate()
