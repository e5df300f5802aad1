"""Ephemeral apps (``App(name)`` + ``app.run()``), deployed apps, and Modal's errors around them — asyncio API.

The blocking API's forms of the same behaviour are in ``test_app_run_sync.py``.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest

import sandbox_core as sc
from sandbox_core._engine import get_engine
from sandbox_core._engine import labels as L
from sandbox_core.exception import InvalidError, NotFoundError
from tests.conftest import BUSYBOX, app_name

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]

APP_ID_RE = re.compile(r"^ap-[0-9A-Za-z]{22}$")


async def _running(app_id: str) -> list[str]:
    eng = await get_engine()
    return [c.id for c in await eng.containers.list({L.KIND: L.KIND_SANDBOX, L.APP_ID: app_id}, all=False)]


async def _sleeper(app: sc.App, **kw: object) -> sc.Sandbox:
    return await sc.Sandbox.create("sleep", "300", app=app, image=sc.Image.from_registry(BUSYBOX), **kw)  # type: ignore[arg-type]


async def test_an_app_that_never_ran_cannot_hold_sandboxes() -> None:
    app = sc.App(app_name("never"))
    assert app.app_id is None and app.name == app_name("never")
    with pytest.raises(
        ValueError, match=r"App has not been initialized yet\. To create an App lazily, use `App.lookup`"
    ):
        await sc.Sandbox.create("true", app=app)


async def test_constructor_checks_as_modal() -> None:
    with pytest.raises(InvalidError, match=r"Invalid value for `name`: Must be string\."):
        sc.App(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidError, match="Invalid tag key"):
        sc.App("a", tags={"bad key": "v"})
    with pytest.raises(InvalidError, match=r"`secrets=` has to be a list or tuple of `modal\.Secret` objects"):
        sc.App("a", secrets=[{"A": "b"}])  # type: ignore[list-item]
    with pytest.raises(InvalidError, match=r"`image=` has to be a `modal\.Image` object"):
        sc.App("a", image="busybox")  # type: ignore[arg-type]
    image = sc.Image.from_registry(BUSYBOX)
    assert sc.App("a", image=image, tags={"team": "x"}).image is image


async def test_run_gives_an_id_and_its_end_terminates_the_sandboxes() -> None:
    app = sc.App(app_name("eph"))
    async with app.run() as running:
        assert running is app
        assert app.app_id is not None and APP_ID_RE.match(app.app_id)
        sb = await _sleeper(app)
        assert await sb.poll() is None
        assert await _running(app.app_id) != []
    assert await _running(app.app_id) == []
    assert await sb.poll() == 137  # terminated, still inspectable for its retention period
    with pytest.raises(sc.exception.SandboxTerminatedError):
        await (await sc.Sandbox.from_id(sb.object_id)).wait()
    with pytest.raises(InvalidError, match=rf"App {app.app_id} has stopped"):
        await sc.Sandbox.create("true", app=app)


async def test_an_exception_in_the_block_still_ends_the_run() -> None:
    app = sc.App(app_name("eph-exc"))
    made: list[sc.Sandbox] = []

    async def body() -> None:
        async with app.run():
            made.append(await _sleeper(app))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await body()
    assert await made[0].poll() == 137
    assert app.app_id is not None and await _running(app.app_id) == []


async def test_ctrl_c_in_the_block_ends_the_run_quietly_as_modal() -> None:
    app = sc.App(app_name("eph-int"))
    async with app.run():
        sb = await _sleeper(app)
        raise KeyboardInterrupt  # Modal: "App aborted.", and the program goes on after the block
    assert await sb.poll() == 137


async def test_a_run_at_a_time_and_a_new_id_per_run() -> None:
    app = sc.App(app_name("eph-twice"))
    async with app.run():
        first = app.app_id
        with pytest.raises(InvalidError, match="App is already running and can't be started again"):
            async with app.run():
                pass
    async with app.run():
        assert app.app_id != first
    looked_up = await sc.App.lookup(app_name("deployed"), create_if_missing=True)
    with pytest.raises(InvalidError, match="App is already running"):
        async with looked_up.run():
            pass


async def test_detach_leaves_the_sandboxes_running() -> None:
    app = sc.App(app_name("eph-detach"))
    async with app.run(detach=True):
        sb = await _sleeper(app, timeout=60)
    try:
        assert await sb.poll() is None
        with pytest.raises(InvalidError, match="has stopped"):
            await sc.Sandbox.create("true", app=app)
    finally:
        await sb.terminate()


async def test_interactive_needs_output_as_modal() -> None:
    app = sc.App(app_name("eph-interactive"))
    with pytest.raises(InvalidError, match=r"Interactive mode requires output to be enabled"):
        async with app.run(interactive=True):
            pass
    assert app.app_id is None
    with sc.enable_output():
        async with app.run(interactive=True):
            assert app.app_id is not None


async def test_output_shows_the_run(capsys: pytest.CaptureFixture[str]) -> None:
    app = sc.App(app_name("eph-out"))
    with sc.enable_output():
        async with app.run(name="my-run"):
            pass
    err = capsys.readouterr().err
    assert f"Initialized. App {app.app_id} (my-run)." in err and "App completed." in err
    assert app.description == "my-run"


async def test_unnamed_app_is_described_by_the_script() -> None:
    app = sc.App()
    assert app.name is None and app.description is None
    async with app.run():
        assert app.description  # the running script's file name (pytest's here)


async def test_sandboxes_of_ephemeral_apps_are_not_found_by_name_but_deployed_ones_are() -> None:
    name = app_name("by-name")
    app = sc.App(name)
    async with app.run():
        await _sleeper(app, name="worker")
        with pytest.raises(NotFoundError):
            await sc.Sandbox.from_name(name, "worker")
    deployed = await sc.App(name).deploy()
    assert deployed.app_id == (await sc.App.lookup(name)).app_id
    sb = await _sleeper(deployed, name="worker")
    try:
        assert (await sc.Sandbox.from_name(name, "worker")).object_id == sb.object_id
    finally:
        await sb.terminate()


async def test_deploy_needs_a_name() -> None:
    with pytest.raises(InvalidError, match="You need to either supply a deployment name"):
        await sc.App().deploy()
    with pytest.raises(InvalidError, match="Invalid deployment strategy"):
        await sc.App(app_name("d")).deploy(strategy="blue-green")


async def test_a_create_racing_the_end_of_the_run_leaves_nothing_running() -> None:
    app = sc.App(app_name("eph-race"))
    async with app.run():
        creating = asyncio.create_task(_sleeper(app))
        await asyncio.sleep(0.01)  # the create is under way when the block exits
    assert app.app_id is not None
    outcome = (await asyncio.gather(creating, return_exceptions=True))[0]
    if isinstance(outcome, sc.Sandbox):  # it finished before the run's end found it: terminated with the others
        assert await outcome.poll() == 137
    else:  # it finished after the run's end: it removed its own sandbox
        assert isinstance(outcome, InvalidError) and "has stopped" in str(outcome)
    assert await _running(app.app_id) == []


async def test_the_stopped_run_is_forgotten_once_its_sandboxes_are_gone() -> None:
    app = sc.App(app_name("eph-records"))
    async with app.run():
        await _sleeper(app)
    assert app.app_id is not None
    eng = await get_engine()
    assert await eng.records.get(f"app-stopped.{app.app_id}") is not None
    assert await eng.records.get(f"app-run.{app.app_id}") is None
    await sc.sweep(app_id=app.app_id, everything=True)
    assert await eng.records.find({L.APP_ID: app.app_id}) == []


async def test_a_run_whose_process_died_is_stopped_by_the_sweep(run_py: object) -> None:
    name = app_name("eph-orphan")
    proc = run_py(  # type: ignore[operator]
        f"""
        import json, os, sys
        import sandbox_core_sync as modal
        app = modal.App({name!r})
        with app.run():
            sb = modal.Sandbox.create("sleep", "300", app=app, image=modal.Image.from_registry({BUSYBOX!r}))
            print(json.dumps([app.app_id, sb.object_id]), flush=True)
            os._exit(0)  # dies inside the block: nothing closes the run
        """
    )
    app_id, sandbox_id = json.loads(proc.stdout)
    sb = await sc.Sandbox.from_id(sandbox_id)
    assert await sb.poll() is None  # still running: its process is gone, but nobody noticed yet
    await sc.sweep()
    assert await sb.poll() == 137
    eng = await get_engine()
    assert await eng.records.get(f"app-run.{app_id}") is None
    await sc.sweep(app_id=app_id, everything=True)
