"""``Sandbox._experimental_sidecars``: extra containers in the sandbox's network namespace, sharing its lifecycle."""

from __future__ import annotations

import asyncio
import re
import subprocess

import pytest

import sandbox_core as sc
import sandbox_core_sync as modal
from sandbox_core._engine import get_engine
from sandbox_core._engine import labels as L
from sandbox_core._sidecar_policy import SIDECAR_OF
from sandbox_core.exception import (
    AlreadyExistsError,
    ConflictError,
    InvalidError,
    NotFoundError,
    SandboxTerminatedError,
)
from tests.conftest import BUSYBOX, NOSHELL, app_name

pytestmark = pytest.mark.usefixtures("engine")

IMAGE = sc.Image.from_registry(BUSYBOX)


async def _sidecar_containers(sandbox_id: str, *, all: bool = True) -> list[str]:
    eng = await get_engine()
    query = {L.KIND: L.KIND_SIDECAR, SIDECAR_OF: sandbox_id}
    return [c.id for c in await eng.containers.list(query, all=all)]


async def test_a_sidecar_shares_localhost_with_the_sandbox(own_sandbox: sc.Sandbox) -> None:
    sidecars = own_sandbox._experimental_sidecars
    server = await sidecars.create(
        "sh", "-c", "echo from-sidecar > /index.html && httpd -f -p 8099 -h /", name="web", image=IMAGE
    )
    assert re.match(r"^sc-[0-9A-Za-z]{22}$", server.object_id) and server.name == "web"
    fetch = "for i in $(seq 50); do wget -qO- http://127.0.0.1:8099/index.html && exit 0; sleep 0.1; done; exit 1"
    p = await own_sandbox.exec("sh", "-c", fetch)
    assert await p.stdout.read() == "from-sidecar\n"
    assert await p.wait() == 0
    # its own filesystem, its own processes
    assert await server.filesystem.read_text("/index.html") == "from-sidecar\n"
    with pytest.raises(sc.exception.SandboxFilesystemNotFoundError):
        await own_sandbox.filesystem.read_text("/index.html")
    q = await server.exec("cat", "/index.html")
    assert await q.stdout.read() == "from-sidecar\n" and await q.wait() == 0
    q = await server.exec("node")
    assert await q.stderr.read() == "node: command not found\n" and await q.wait() == 127


@pytest.mark.podman_differs(
    "containers are listed in no creation order, stamped in whole seconds: sidecars of one second come in either order"
)
async def test_get_list_terminate_wait_poll(own_sandbox: sc.Sandbox) -> None:
    sidecars = own_sandbox._experimental_sidecars
    a = await sidecars.create("sleep", "300", name="a", image=IMAGE)
    b = await sidecars.create(name="b", image=IMAGE, env={"X": "1"}, workdir="/tmp")  # the image's command
    assert [s.name for s in await sidecars.list()] == ["a", "b"]
    assert (await sidecars.get(name="b")).object_id == b.object_id
    p = await b.exec("sh", "-c", "echo $X $(pwd)")
    assert await p.stdout.read() == "1 /tmp\n"
    assert await a.poll() is None
    assert await a.terminate(wait=True) == 137
    with pytest.raises(SandboxTerminatedError):
        await a.wait()
    await a.wait(raise_on_termination=False)
    assert [s.name for s in await sidecars.list()] == ["b"]
    assert [s.name for s in await sidecars.list(include_terminated=True)] == ["a", "b"]
    with pytest.raises(NotFoundError):
        await sidecars.get(name="a")
    assert (await sidecars.get(name="a", include_terminated=True)).object_id == a.object_id
    # the name is free again once its holder ended
    a2 = await sidecars.create("sleep", "300", name="a", image=IMAGE)
    assert a2.object_id != a.object_id
    with pytest.raises(AlreadyExistsError):
        await sidecars.create("sleep", "300", name="a", image=IMAGE)
    ended = await sidecars.create("sh", "-c", "exit 3", name="quits", image=IMAGE)
    await ended.wait()
    assert await ended.poll() == 3


async def test_the_sidecars_end_and_go_with_their_sandbox(app: sc.App) -> None:
    sb = await sc.Sandbox.create(app=app, image=IMAGE)
    side = await sb._experimental_sidecars.create("sleep", "300", name="s", image=IMAGE)
    await sb.terminate()
    assert await side.poll() == 137  # ended with it, at once
    assert await _sidecar_containers(sb.object_id, all=False) == []
    await sc.sweep(app_id=None)  # retention not over: the finished sidecar stays inspectable
    assert len(await _sidecar_containers(sb.object_id)) == 1


async def test_a_sandbox_that_exits_takes_its_sidecars_along_at_the_next_pass(app: sc.App) -> None:
    sb = await sc.Sandbox.create("sh", "-c", "sleep 2", app=app, image=IMAGE)
    side = await sb._experimental_sidecars.create("sleep", "300", name="s", image=IMAGE)
    await sb.wait()
    await sc.sweep()  # what every supervisor pass does
    assert await side.poll() == 137


async def test_an_ephemeral_runs_end_terminates_its_sidecars() -> None:
    app = sc.App(app_name("sidecar-eph"))
    async with app.run():
        sb = await sc.Sandbox.create(app=app, image=IMAGE)
        side = await sb._experimental_sidecars.create("sleep", "300", name="s", image=IMAGE)
    assert await side.poll() == 137
    assert app.app_id is not None
    await sc.sweep(app_id=app.app_id, everything=True)
    assert await _sidecar_containers(sb.object_id) == []  # removed with their sandbox


async def test_modal_checks_and_the_local_refusals(shared_sandbox: sc.Sandbox) -> None:
    sidecars = shared_sandbox._experimental_sidecars
    with pytest.raises(InvalidError, match="The name 'main' is reserved"):
        await sidecars.create(name="main", image=IMAGE)
    with pytest.raises(InvalidError, match="Cannot get the main sandbox container"):
        await sidecars.get(name="main")
    with pytest.raises(InvalidError, match="workdir must be an absolute path"):
        await sidecars.create(name="x", image=IMAGE, workdir="rel")
    with pytest.raises(InvalidError, match="All entrypoint arguments must be strings"):
        await sidecars.create("sleep", 3, name="x", image=IMAGE)  # type: ignore[arg-type]
    with pytest.raises(InvalidError, match="shares its sandbox's network namespace"):
        await sidecars.create(name="x", image=IMAGE, outbound_cidr_allowlist=[])
    with pytest.raises(InvalidError, match="volumes"):
        await sidecars.create(name="x", image=IMAGE, volumes={"/data": object()})
    with pytest.raises(InvalidError, match="Invalid sidecar name"):
        await sidecars.create(name="no spaces", image=IMAGE)
    assert await _sidecar_containers(shared_sandbox.object_id) == []


async def test_no_sidecar_for_a_finished_sandbox(app: sc.App) -> None:
    sb = await sc.Sandbox.create("true", app=app, image=IMAGE)
    await sb.wait()
    with pytest.raises(ConflictError, match="Sandbox already finished"):
        await sb._experimental_sidecars.create(name="late", image=IMAGE)


async def test_an_image_without_a_shell_works(own_sandbox: sc.Sandbox) -> None:
    side = await own_sandbox._experimental_sidecars.create(name="bare", image=sc.Image.from_registry(NOSHELL))
    assert await side.poll() is None  # runs its image's command (sleep)
    await side.terminate()


def test_the_blocking_api() -> None:
    app = modal.App(app_name("sidecar-sync"))
    with app.run():
        sb = modal.Sandbox.create(app=app, image=modal.Image.from_registry(BUSYBOX))
        side = sb._experimental_sidecars.create("sleep", "300", name="s", image=modal.Image.from_registry(BUSYBOX))
        assert isinstance(side, modal.sandbox.SidecarContainer)
        assert [s.name for s in sb._experimental_sidecars.list()] == ["s"]
        p = side.exec("echo", "hi")
        assert p.stdout.read() == "hi\n"
        side.filesystem.write_text("x", "/tmp/f")
        assert side.filesystem.read_text("/tmp/f") == "x"

        async def from_async() -> str:
            found = await sb._experimental_sidecars.get.aio(name="s")
            return found.object_id

        assert asyncio.run(from_async()) == side.object_id
    assert side.poll() == 137
    out = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label={L.SANDBOX_ID}={sb.object_id}"], capture_output=True
    )
    assert out.stdout.strip() == b""
