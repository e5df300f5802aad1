"""A client SIGKILLed at every step of create (issue 17): before the engine's create, between create and start,
after start (before ``create`` returns), and during the name claim. Afterwards no sandbox outlives its deadline
and the name is never half-claimed: a new ``create(name=...)`` succeeds at once (or, for a sandbox that did start,
once its deadline ended it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import sandbox_core as sc
from sandbox_core import _create, _lifecycle
from sandbox_core import exception as exc
from sandbox_core._engine import labels as L
from sandbox_core._testhooks import PAUSE_ENV

from .conftest import BUSYBOX, REPO, app_name

pytestmark = pytest.mark.usefixtures("engine")

DEADLINE = 6


def killed_at(step: str, app: sc.App, name: str) -> None:
    """Run a client that creates sandbox ``name`` (timeout ``DEADLINE``) and pauses at ``step``; SIGKILL it there."""
    code = textwrap.dedent(f"""
        import asyncio
        import sandbox_core as sc
        async def main():
            app = await sc.App.lookup({app.name!r})
            await sc.Sandbox.create(app=app, name={name!r}, image=sc.Image.from_registry({BUSYBOX!r}),
                                    timeout={DEADLINE})
        asyncio.run(main())
    """)
    env = dict(os.environ, **{PAUSE_ENV: step})
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.strip() == f"paused at {step}", line
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def containers_named(app: sc.App) -> list[tuple[str, str]]:
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label={L.APP_ID}={app.app_id}", "--format", "{{.ID}} {{.State}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [tuple(line.split(" ", 1)) for line in out.splitlines()]  # type: ignore[misc]


async def create_named(app: sc.App, name: str) -> sc.Sandbox:
    return await sc.Sandbox.create(app=app, name=name, image=sc.Image.from_registry(BUSYBOX), timeout=60)


@pytest.mark.parametrize("step", ["create", "start"])
async def test_a_client_killed_before_start_leaves_no_half_claimed_name(step: str) -> None:
    app = await sc.App.lookup(app_name(f"death-{step}"), create_if_missing=True)
    killed_at(step, app, "n")
    t0 = time.monotonic()
    sb = await create_named(app, "n")  # at once: a created holder of a dead client is taken over
    try:
        assert time.monotonic() - t0 < 5
        assert [state for _, state in containers_named(app)] == ["running"]
    finally:
        await sb.terminate()


async def test_a_client_killed_after_start_leaves_no_orphan_past_its_deadline() -> None:
    app = await sc.App.lookup(app_name("death-started"), create_if_missing=True)
    t0 = time.monotonic()
    killed_at("started", app, "n")
    with pytest.raises(exc.AlreadyExistsError):
        await create_named(app, "n")  # a started sandbox holds its name until its deadline
    while any(state == "running" for _, state in containers_named(app)):
        assert time.monotonic() - t0 < DEADLINE + 10, "the sandbox outlived its deadline"
        time.sleep(0.2)
    sb = await create_named(app, "n")
    await sb.terminate()


async def test_a_client_killed_during_the_name_claim_leaves_the_name_claimable() -> None:
    app = await sc.App.lookup(app_name("death-claim"), create_if_missing=True)
    first = await create_named(app, "n")
    await first.terminate(wait=True)  # a finished holder: the next create claims the name from it
    killed_at("claim", app, "n")
    t0 = time.monotonic()
    sb = await create_named(app, "n")
    try:
        assert time.monotonic() - t0 < 5
    finally:
        await sb.terminate()


async def test_the_supervisor_is_ensured_before_the_container_exists(
    app: sc.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    ensure, start = _lifecycle.ensure_supervisor, _create.start_container

    def ensure_recorded(eng: object) -> None:
        order.append("ensure_supervisor")
        ensure(eng)  # type: ignore[arg-type]

    async def start_recorded(*a: object, **kw: object) -> str:
        order.append("start_container")
        return await start(*a, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(_lifecycle, "ensure_supervisor", ensure_recorded)
    monkeypatch.setattr(_create, "start_container", start_recorded)
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), timeout=60)
    await sb.terminate()
    assert order == ["ensure_supervisor", "start_container"]
