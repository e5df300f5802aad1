"""Ephemeral apps in the blocking API, written as Modal programs write them: ``with app.run():`` and
``async with app.run.aio():``."""

from __future__ import annotations

import asyncio
import re

import pytest

import sandbox_core_sync as modal
from sandbox_core.exception import AsyncUsageWarning
from tests.conftest import BUSYBOX, app_name

pytestmark = pytest.mark.usefixtures("engine")

APP_ID_RE = re.compile(r"^ap-[0-9A-Za-z]{22}$")


def _sleeper(app: modal.App) -> modal.Sandbox:
    return modal.Sandbox.create("sleep", "300", app=app, image=modal.Image.from_registry(BUSYBOX))


def test_with_app_run_gives_an_id_and_terminates_its_sandboxes_at_the_end() -> None:
    app = modal.App(app_name("sync-eph"))
    assert isinstance(app, modal.App) and app.app_id is None
    with pytest.raises(ValueError, match="App has not been initialized yet"):
        modal.Sandbox.create("true", app=app)
    with app.run() as running:
        assert running is app
        assert app.app_id is not None and APP_ID_RE.match(app.app_id)
        sb = _sleeper(app)
        p = sb.exec("echo", "hi")
        assert p.stdout.read() == "hi\n"
    assert sb.poll() == 137
    with pytest.raises(modal.exception.InvalidError, match="has stopped"):
        modal.Sandbox.create("true", app=app)


def test_an_exception_and_ctrl_c_end_the_run() -> None:
    app = modal.App(app_name("sync-eph-exc"))
    made: list[modal.Sandbox] = []

    def body() -> None:
        with app.run():
            made.append(_sleeper(app))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        body()
    assert made[0].poll() == 137
    with app.run():
        sb2 = _sleeper(app)
        raise KeyboardInterrupt  # suppressed, as Modal's run() does ("App aborted.")
    assert sb2.poll() == 137


def test_async_with_app_run_aio() -> None:
    app = modal.App(app_name("sync-eph-aio"))

    async def main() -> int | None:
        async with app.run.aio() as running:
            assert running is app
            sb = await modal.Sandbox.create.aio("sleep", "300", app=app, image=modal.Image.from_registry(BUSYBOX))
            p = await sb.exec.aio("echo", "hi")
            assert await p.stdout.read.aio() == "hi\n"
        return await sb.poll.aio()

    assert asyncio.run(main()) == 137


async def test_with_app_run_inside_an_event_loop_warns_and_runs() -> None:
    app = modal.App(app_name("sync-eph-loop"))
    with pytest.warns(AsyncUsageWarning), app.run():
        assert app.app_id is not None


def test_deploy_then_lookup_and_from_name() -> None:
    name = app_name("sync-deployed")
    app = modal.App(name).deploy()
    assert app.app_id == modal.App.lookup(name).app_id
    sb = modal.Sandbox.create("sleep", "300", app=app, name="w", image=modal.Image.from_registry(BUSYBOX))
    try:
        assert modal.Sandbox.from_name(name, "w").object_id == sb.object_id
    finally:
        sb.terminate()
