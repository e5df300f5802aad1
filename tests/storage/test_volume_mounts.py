"""Volumes in sandboxes: the workspace flow, read-only and sub_path mounts, concurrent writers, a 50 MiB upload read
back inside, Modal's mount checks in their order, reload_volumes, and what happens to a volume still in use."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._agent.volume import MOUNT_DIR as AGENT_MOUNT
from sandbox_core._volumes import store

from ..conftest import app_name, docker_inspect
from .conftest import engine_volume, read_all, volume_name

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]


async def _run(sb: sc.Sandbox, script: str) -> tuple[int, str, str]:
    p = await sb.exec("sh", "-c", script)
    out, err = await p.stdout.read(), await p.stderr.read()
    return await p.wait(), out, err


async def test_workspace_flow_a_writes_b_reads_the_client_reads(
    app: sc.App, busybox: sc.Image, named_volume: sc.Volume
) -> None:
    a = await sc.Sandbox.create(
        "sh", "-c", "mkdir -p /ws/src && echo 'print(1)' > /ws/src/main.py", app=app, image=busybox,
        volumes={"/ws": named_volume},
    )  # fmt: skip
    await a.wait()
    assert a.returncode == 0
    b = await sc.Sandbox.create(app=app, image=busybox, volumes={"/workspace": named_volume})
    try:
        assert await _run(b, "cat /workspace/src/main.py") == (0, "print(1)\n", "")
        assert await _run(b, "echo more >> /workspace/src/main.py") == (0, "", "")
        assert await read_all(named_volume, "/src/main.py") == b"print(1)\nmore\n"
        mounts = [m for m in docker_inspect(b)["Mounts"] if m["Destination"] != AGENT_MOUNT]  # the agent's, read-only
        assert [(m["Type"], m["Destination"], m["RW"]) for m in mounts] == [("volume", "/workspace", True)]
        assert docker_inspect(b)["Config"]["Labels"][store.SANDBOX_VOLUMES] == named_volume.object_id
    finally:
        await b.terminate()


async def test_uploaded_50_mib_reads_back_identically_in_a_sandbox(
    app: sc.App, busybox: sc.Image, named_volume: sc.Volume, tmp_path: Path
) -> None:
    local = tmp_path / "blob.bin"
    with open(local, "wb") as f:
        for _ in range(50):
            f.write(os.urandom(1 << 20))
    digest = hashlib.sha256(local.read_bytes()).hexdigest()
    os.chmod(local, 0o640)
    async with named_volume.batch_upload() as batch:
        batch.put_file(local, "/in/blob.bin")
        batch.put_file(io.BytesIO(b"#!/bin/sh\necho ran\n"), "/in/run.sh", mode=0o755)
    sb = await sc.Sandbox.create(app=app, image=busybox, volumes={"/data": named_volume})
    try:
        code, out, _ = await _run(sb, "sha256sum /data/in/blob.bin; stat -c %a /data/in/blob.bin; /data/in/run.sh")
        assert code == 0
        assert out.split() == [digest, "/data/in/blob.bin", "640", "ran"]
    finally:
        await sb.terminate()


async def test_read_only_mount_refuses_writes_with_erofs(
    app: sc.App, busybox: sc.Image, named_volume: sc.Volume
) -> None:
    async with named_volume.batch_upload() as batch:
        batch.put_file(io.BytesIO(b"kept"), "kept.txt")
    for view in (named_volume.with_mount_options(read_only=True), named_volume.read_only()):
        sb = await sc.Sandbox.create(app=app, image=busybox, volumes={"/ro": view})
        try:
            code, _, err = await _run(sb, "cat /ro/kept.txt && echo x > /ro/new")
            assert code != 0 and "Read-only file system" in err
            p = await sb.exec("cat", "/ro/kept.txt")
            assert await p.stdout.read() == "kept"
        finally:
            await sb.terminate()
    assert [e.path for e in await named_volume.listdir("/")] == ["kept.txt"]


async def test_sub_path_mounts_only_that_directory_creating_it(
    app: sc.App, busybox: sc.Image, named_volume: sc.Volume
) -> None:
    async with named_volume.batch_upload() as batch:
        batch.put_file(io.BytesIO(b"secret of bob"), "users/bob/notes")
    alice = named_volume.with_mount_options(sub_path="/users/alice")
    sb = await sc.Sandbox.create(app=app, image=busybox, volumes={"/home/alice": alice})
    try:
        assert await _run(sb, "ls -A /home/alice; echo hi > /home/alice/f; ls -A /home/alice") == (0, "f\n", "")
        code, _, _ = await _run(sb, "cat /home/alice/../bob/notes")
        assert code != 0
    finally:
        await sb.terminate()
    assert await read_all(named_volume, "users/alice/f") == b"hi\n"
    whole = named_volume.with_mount_options(sub_path="/")  # "/": the whole volume
    sb = await sc.Sandbox.create(app=app, image=busybox, volumes={"/v": whole.with_mount_options(read_only=True)})
    try:
        assert (await _run(sb, "ls /v/users"))[1].split() == ["alice", "bob"]
    finally:
        await sb.terminate()


async def test_sub_path_through_a_symbolic_link_is_refused(
    app: sc.App, busybox: sc.Image, named_volume: sc.Volume
) -> None:
    sb = await sc.Sandbox.create(app=app, image=busybox, volumes={"/v": named_volume})
    try:
        assert (await _run(sb, "ln -s / /v/escape && mkdir /v/dir && ln -s /etc /v/dir/link"))[0] == 0
    finally:
        await sb.terminate()
    for sub in ("/escape", "/escape/etc", "/dir/link"):
        with pytest.raises(exc.InvalidError, match="passes through a symbolic link"):
            await sc.Sandbox.create(
                app=app, image=busybox, volumes={"/x": named_volume.with_mount_options(sub_path=sub)}
            )


async def test_two_sandboxes_writing_at_once_lose_nothing(
    app: sc.App, busybox: sc.Image, named_volume: sc.Volume
) -> None:
    writers = await asyncio.gather(
        *(sc.Sandbox.create(app=app, image=busybox, volumes={"/shared": named_volume}) for _ in range(2))
    )
    try:
        script = (
            "i=0; while [ $i -lt 300 ]; do echo {w}-$i > /shared/{w}-$i; echo {w}-$i >> /shared/log; i=$((i+1)); done"
        )
        results = await asyncio.gather(*(_run(sb, script.format(w=w)) for w, sb in enumerate(writers)))
        assert [r[0] for r in results] == [0, 0]
    finally:
        await asyncio.gather(*(sb.terminate() for sb in writers))
    files = {e.path for e in await named_volume.listdir("/")}
    assert files == {"log"} | {f"{w}-{i}" for w in range(2) for i in range(300)}
    lines = (await read_all(named_volume, "log")).decode().split()
    assert sorted(lines) == sorted(f"{w}-{i}" for w in range(2) for i in range(300))


async def test_ephemeral_volume_shared_by_sandboxes(app: sc.App, busybox: sc.Image) -> None:
    async with sc.Volume.ephemeral() as vol:
        sb = await sc.Sandbox.create("sh", "-c", "echo eph > /e/x", app=app, image=busybox, volumes={"/e": vol})
        await sb.wait()
        assert await read_all(vol, "x") == b"eph\n"
    # The finished sandbox still holds the volume: it goes once the sandbox is removed (the sweep does that).
    assert engine_volume(vol) is not None
    swept = await sc.sweep(app_id=app.app_id, everything=False)
    assert swept.volumes_removed == 0
    await (await sc.Sandbox.from_id(sb.object_id)).terminate()
    assert engine_volume(vol) is not None


async def test_deleting_a_volume_in_use_frees_the_name_and_keeps_the_data_until_released(busybox: sc.Image) -> None:
    app = await sc.App.lookup(app_name("busy-volume"), create_if_missing=True)  # swept whole below
    name = volume_name("busy")
    vol = await sc.Volume.from_name(name, create_if_missing=True).hydrate()
    sb = await sc.Sandbox.create(app=app, image=busybox, volumes={"/d": vol})
    try:
        await sc.Volume.objects.delete(name)
        assert (await _run(sb, "echo still > /d/x && cat /d/x"))[1] == "still\n"
        fresh = await sc.Volume.from_name(name, create_if_missing=True).hydrate()
        assert fresh.object_id != vol.object_id and await fresh.listdir("/") == []
        await sc.Volume.objects.delete(name)
    finally:
        await sb.terminate()
    assert engine_volume(vol) is not None  # the finished sandbox's container still mounts it
    await sc.sweep(app_id=app.app_id, everything=True)
    assert engine_volume(vol) is None


async def test_reload_volumes_checks_its_timeout(own_sandbox: sc.Sandbox) -> None:
    await own_sandbox.reload_volumes()
    await own_sandbox.reload_volumes(timeout=1)
    for bad in (0, -5):
        with pytest.raises(exc.InvalidError, match=r"The `timeout` argument to `reload_volumes` must be positive\."):
            await own_sandbox.reload_volumes(timeout=bad)


# ------------------------------------------------------------------------------------------ Modal's checks

_VOL = sc.Volume.from_name("never-looked-up")
_CASES: list[tuple[Callable[[], dict[str, Any]], str]] = [
    (lambda: {"volumes": {"data": _VOL}}, "Volume data must be a canonical, absolute path."),
    (lambda: {"volumes": {"/a/../b": _VOL}}, "Volume /a/../b must be a canonical, absolute path."),
    (lambda: {"volumes": {"/": _VOL}}, "Volume / cannot be mounted into root directory."),
    (lambda: {"volumes": {"/root": _VOL}}, "Volume /root cannot be mounted at '/root'."),
    (lambda: {"volumes": {"/tmp": _VOL}}, "Volume /tmp cannot be mounted at '/tmp'."),
    (lambda: {"volumes": {"/a": _VOL, "/b": _VOL}}, "The same Volume cannot be mounted in multiple locations"),
    (lambda: {"volumes": {"/a": "not a volume"}}, "Object of type <class 'str'> mounted at '/a' is not usable"),
    (lambda: {"volumes": [("/a", _VOL)]}, "`volume_likes` should be a dict[str | PurePosixPath, Volume]"),
    (
        lambda: {"volumes": {"/data": _VOL, PurePosixPath("/data"): sc.Volume.from_name("other")}},
        "Two volumes are mounted at /data: a mount path takes one volume.",
    ),
    (
        lambda: {"volumes": {"/.sandbox-core-agent/x": _VOL}},
        "Volume mount path /.sandbox-core-agent/x is reserved: sandbox-core mounts its in-sandbox agent at",
    ),
    (lambda: {"network_file_systems": {"/": object()}}, "NetworkFileSystem / cannot be mounted into root directory."),
    (lambda: {"network_file_systems": {"/n": _VOL}}, "mounted at '/n' is not useable as a network file system."),
]


@pytest.mark.parametrize(("kwargs", "message"), _CASES, ids=[m[:40] for _, m in _CASES])
async def test_mount_checks_with_modals_messages(
    app: sc.App, kwargs: Callable[[], dict[str, Any]], message: str
) -> None:
    with pytest.raises(exc.InvalidError, match=re.escape(message)):
        await sc.Sandbox.create(app=app, **kwargs())


async def test_mount_checks_come_in_modals_order(named_volume: sc.Volume) -> None:
    # 6: network file systems before the workdir before volumes; all before the app check (7)
    order = [
        ({"network_file_systems": {"/tmp": object()}, "workdir": "rel", "volumes": {"/": _VOL}}, "NetworkFileSystem"),
        ({"workdir": "rel", "volumes": {"/": _VOL}}, "workdir must be an absolute path"),
        ({"volumes": {"/": _VOL}, "region": "us"}, "cannot be mounted into root directory"),
        ({"volumes": {"/ok": _VOL}}, "Sandboxes require an App"),
    ]
    for kwargs, message in order:
        with pytest.raises(exc.InvalidError, match=re.escape(message)):
            await sc.Sandbox.create(**kwargs)


async def test_same_volume_by_id_and_a_missing_volume(app: sc.App, named_volume: sc.Volume) -> None:
    again = sc.Volume.from_name(named_volume.name or "")
    with pytest.raises(exc.InvalidError, match=r"multiple locations for the same function: /a, /b"):
        await sc.Sandbox.create(app=app, volumes={"/b": again, "/a": named_volume.with_mount_options(read_only=True)})
    with pytest.raises(exc.NotFoundError, match="Volume 'never-looked-up' not found"):
        await sc.Sandbox.create(app=app, volumes={"/x": _VOL})
