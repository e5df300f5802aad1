"""Volumes without a sandbox: names and ids, the managers, ephemeral volumes, and the file API (through helper
containers only)."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import time
from pathlib import Path

import pytest

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._engine import get_engine
from sandbox_core._volumes import store

from .conftest import engine_volume, read_all, volume_name

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]


# ------------------------------------------------------------------------------------------- names and ids


async def test_a_missing_volume_is_not_found_when_used() -> None:
    vol = sc.Volume.from_name(volume_name("missing"))
    assert not vol.is_hydrated
    with pytest.raises(AttributeError, match="unhydrated"):
        _ = vol.object_id
    with pytest.raises(exc.NotFoundError, match=r"Volume 'pytest-.*' not found"):
        await vol.hydrate()
    with pytest.raises(exc.NotFoundError):
        await vol.listdir("/")


async def test_create_if_missing_gives_one_volume_to_concurrent_callers() -> None:
    name = volume_name("race")
    vols = [sc.Volume.from_name(name, create_if_missing=True) for _ in range(8)]
    try:
        await asyncio.gather(*(v.hydrate() for v in vols))
        ids = {v.object_id for v in vols}
        assert len(ids) == 1 and next(iter(ids)).startswith("vo-") and len(next(iter(ids))) == 25
        assert (await sc.Volume.from_id(vols[0].object_id).hydrate()).name == name
        # One label filter: Podman ORs several (docs/podman.md 1.3); the kind is checked here.
        listed = subprocess.run(
            [
                *("docker", "volume", "ls", "--filter", f"label={store.VOLUME_ID}={vols[0].object_id}"),
                *("--format", '{{.Name}} {{.Label "sandbox-core.kind"}}'),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        found = [line.split()[0] for line in listed if line.split()[1:] == ["volume"]]
        assert found == [f"sandbox-core-volume.{vols[0].object_id}"]
    finally:
        await sc.Volume.objects.delete(name)


async def test_version_must_match_an_existing_volume() -> None:
    name = volume_name("ver")
    await sc.Volume.objects.create(name, version=2)
    try:
        assert (await sc.Volume.from_name(name, version=2).hydrate()).is_hydrated
        with pytest.raises(exc.InvalidError, match=r"exists but has version v2, not v1 as requested"):
            await sc.Volume.from_name(name, version=1).hydrate()
    finally:
        await sc.Volume.objects.delete(name)


async def test_objects_create_list_delete_and_rename() -> None:
    name, other = volume_name("mgr"), volume_name("mgr")
    await sc.Volume.objects.create(name)
    try:
        with pytest.raises(exc.AlreadyExistsError, match=f"Volume '{name}' already exists"):
            await sc.Volume.objects.create(name)
        await sc.Volume.objects.create(name, allow_existing=True)
        listed = {v.name: v for v in await sc.Volume.objects.list()}
        assert name in listed and listed[name].is_hydrated
        vid = listed[name].object_id
        info = await listed[name].info()
        assert info.name == name and info.created_by and info.created_at.tzinfo is not None
        assert abs(info.created_at.timestamp() - time.time()) < 120
        with pytest.raises(exc.InvalidError, match="max_objects cannot be negative"):
            await sc.Volume.objects.list(max_objects=-1)
        assert len(await sc.Volume.objects.list(max_objects=1)) == 1
        await sc.Volume.rename(name, other)
        assert (await sc.Volume.from_name(other).hydrate()).object_id == vid
        assert (await sc.Volume.from_id(vid).hydrate()).name == other
        with pytest.raises(exc.NotFoundError):
            await sc.Volume.from_name(name).hydrate()
    finally:
        await sc.Volume.objects.delete(name, allow_missing=True)
        await sc.Volume.objects.delete(other, allow_missing=True)
    with pytest.raises(exc.NotFoundError, match=f"Volume '{other}' not found"):
        await sc.Volume.objects.delete(other)
    with pytest.raises(exc.NotFoundError):
        await sc.Volume.from_id(vid).hydrate()


async def test_deprecated_delete_warns_and_deletes() -> None:
    name = volume_name("old")
    await sc.Volume.objects.create(name)
    with pytest.warns(exc.DeprecationError, match="2025-08-06: `modal.Volume.delete` is deprecated"):
        await sc.Volume.delete(name)
    assert name not in {v.name for v in await sc.Volume.objects.list()}


async def test_ephemeral_volume_is_removed_after_the_block_also_when_it_raises() -> None:
    async with sc.Volume.ephemeral() as vol:
        assert vol.is_hydrated and vol.name is None
        assert engine_volume(vol) is not None
        assert await vol.listdir("/") == []
    assert engine_volume(vol) is None
    raised = sc.Volume.ephemeral()

    async def failing_block() -> None:
        async with raised:
            async with raised.batch_upload() as batch:
                batch.put_file(io.BytesIO(b"x"), "x")
            assert engine_volume(raised) is not None
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_block()
    assert engine_volume(raised) is None
    with pytest.raises(exc.InvalidError, match=r"only Volume\.ephemeral"):
        await sc.Volume.from_name("x").__aenter__()


# ------------------------------------------------------------------------------------------------ file API


async def _upload(vol: sc.Volume, files: dict[str, bytes], *, force: bool = False, fail: bool = False) -> None:
    async with vol.batch_upload(force=force) as batch:
        for path, data in files.items():
            batch.put_file(io.BytesIO(data), path)
        if fail:
            raise RuntimeError("the block failed")


async def test_upload_list_read_remove(named_volume: sc.Volume, tmp_path: Path) -> None:
    (tmp_path / "tree" / "sub").mkdir(parents=True)
    (tmp_path / "tree" / "a.txt").write_bytes(b"alpha")
    (tmp_path / "tree" / "sub" / "b.bin").write_bytes(b"\0" * 3000)
    (tmp_path / "run.sh").write_bytes(b"#!/bin/sh\n")
    os.chmod(tmp_path / "run.sh", 0o750)
    async with named_volume.batch_upload() as batch:
        batch.put_directory(tmp_path / "tree", "/data")
        batch.put_file(tmp_path / "run.sh", "bin/run.sh")
        batch.put_file(io.BytesIO(b"from memory"), "/mem.txt")
    top = {e.path: e for e in await named_volume.listdir("/")}
    assert set(top) == {"data", "bin", "mem.txt"}
    assert top["data"].type == sc.FileEntryType.DIRECTORY and top["mem.txt"].type == sc.FileEntryType.FILE
    assert top["mem.txt"].size == 11
    every = {e.path: e for e in await named_volume.listdir("/", recursive=True)}
    assert {"data/a.txt", "data/sub", "data/sub/b.bin", "bin/run.sh"} <= set(every)
    assert [e.path async for e in named_volume.iterdir("data/sub")] == ["data/sub/b.bin"]
    assert await named_volume.listdir("/data/a.txt") == [every["data/a.txt"]]  # a file lists itself
    assert await read_all(named_volume, "/data/sub/b.bin") == b"\0" * 3000
    buf = io.BytesIO(b"prefix:")
    buf.seek(0, io.SEEK_END)
    progress: list[int] = []
    assert await named_volume.read_file_into_fileobj("data/a.txt", buf, lambda advance: progress.append(advance)) == 5
    assert buf.getvalue() == b"prefix:alpha" and sum(progress) == 5
    with pytest.raises(FileNotFoundError):
        await read_all(named_volume, "nope")
    with pytest.raises(IsADirectoryError):
        await read_all(named_volume, "data")
    with pytest.raises(exc.NotFoundError, match="No such file or directory"):
        await named_volume.listdir("nope")
    with pytest.raises(exc.InvalidError, match="Please pass recursive=True instead"):
        await named_volume.listdir("data/**")
    with pytest.raises(exc.InvalidError, match="Please remove the glob `\\*` suffix"):
        await named_volume.listdir("data/*")
    with pytest.raises(exc.InvalidError, match="not empty: pass recursive=True"):
        await named_volume.remove_file("data")
    await named_volume.remove_file("data", recursive=True)
    await named_volume.remove_file("/mem.txt")
    with pytest.raises(FileNotFoundError):
        await named_volume.remove_file("/mem.txt")
    assert [e.path for e in await named_volume.listdir("/", recursive=True)] == ["bin", "bin/run.sh"]


async def test_paths_cannot_leave_the_volume(named_volume: sc.Volume) -> None:
    async with named_volume.batch_upload() as batch:
        batch.put_file(io.BytesIO(b"inside"), "../../etc/escaped")
    assert [e.path for e in await named_volume.listdir("/", recursive=True)] == ["etc", "etc/escaped"]
    assert await read_all(named_volume, "/../../etc/escaped") == b"inside"
    with pytest.raises(exc.InvalidError, match="root of a volume"):
        await named_volume.remove_file("/..", recursive=True)


async def test_odd_file_names_list_and_read_exactly(named_volume: sc.Volume) -> None:
    names = ["new\nline", "-rf", "sp ace", "ünï", "tab\there"]
    async with named_volume.batch_upload() as batch:
        for i, name in enumerate(names):
            batch.put_file(io.BytesIO(str(i).encode()), name)
    listed = sorted(e.path for e in await named_volume.listdir("/"))
    assert listed == sorted(names)
    for i, name in enumerate(names):
        assert await read_all(named_volume, name) == str(i).encode()


async def test_batch_upload_force_semantics(named_volume: sc.Volume) -> None:
    async with named_volume.batch_upload() as batch:
        batch.put_file(io.BytesIO(b"one"), "f")
        batch.put_file(io.BytesIO(b"d"), "dir/inner")
    with pytest.raises(FileExistsError, match="f: already exists"):
        await _upload(named_volume, {"f": b"two", "g": b"new"})
    assert await read_all(named_volume, "f") == b"one"
    assert [e.path for e in await named_volume.listdir("/")] == ["dir", "f"]  # nothing of the batch was written
    async with named_volume.batch_upload(force=True) as batch:
        batch.put_file(io.BytesIO(b"two"), "f")
    assert await read_all(named_volume, "f") == b"two"
    with pytest.raises(IsADirectoryError):
        await _upload(named_volume, {"dir": b"x"}, force=True)
    with pytest.raises(ValueError, match=r"remote_path \(/\) must refer to a file - cannot end with /"):
        await _upload(named_volume, {"/": b"x"})
    with pytest.raises(RuntimeError, match="the block failed"):
        await _upload(named_volume, {"never": b"never"}, fail=True)
    assert "never" not in {e.path for e in await named_volume.listdir("/")}


async def test_copy_files_follows_cp_and_version_rules(named_volume: sc.Volume) -> None:
    async with named_volume.batch_upload() as batch:
        batch.put_file(io.BytesIO(b"a"), "bar/example.txt")
        batch.put_file(io.BytesIO(b"b"), "bar/other.txt")
    await named_volume.copy_files(["bar/example.txt"], "bar/example2.txt")
    await named_volume.copy_files(["bar/example.txt", "bar/other.txt"], "bar2/")
    assert await read_all(named_volume, "bar/example2.txt") == b"a"
    assert sorted(e.path for e in await named_volume.listdir("bar2")) == ["bar2/example.txt", "bar2/other.txt"]
    with pytest.raises(exc.NotFoundError, match="Source file not found: nope"):
        await named_volume.copy_files(["nope"], "x")
    with pytest.raises(exc.InvalidError, match=r"bar/example\.txt is not a directory\."):
        await named_volume.copy_files(["bar/example.txt", "bar/other.txt"], "bar/example.txt")
    with pytest.raises(ValueError, match="`recursive` is not supported for V1 volumes"):
        await named_volume.copy_files(["bar"], "bar3", recursive=True)
    with pytest.raises(exc.InvalidError, match="/bar is a directory: pass recursive=True"):
        await named_volume.copy_files(["bar"], "bar4")
    name = volume_name("v2")
    v2 = sc.Volume.from_name(name, create_if_missing=True, version=2)
    try:
        async with v2.batch_upload() as batch:
            batch.put_file(io.BytesIO(b"a"), "bar/example.txt")
        await v2.copy_files(["bar"], "bar3", recursive=True)
        assert await read_all(v2, "bar3/example.txt") == b"a"
        for dst in ("bar", "bar/", "bar/sub"):
            with pytest.raises(exc.InvalidError, match="cannot copy /bar into itself"):
                await v2.copy_files(["bar"], dst, recursive=True)
        assert sorted(e.path for e in await v2.listdir("bar")) == ["bar/example.txt"]
    finally:
        await sc.Volume.objects.delete(name)


async def test_copy_files_onto_itself_is_refused(named_volume: sc.Volume) -> None:
    async with named_volume.batch_upload() as batch:
        batch.put_file(io.BytesIO(b"a"), "f")
        batch.put_file(io.BytesIO(b"b"), "d/g")
    for src, dst in (("/f", "/d/../f"), ("/f", "/"), ("d/g", "d/")):
        with pytest.raises(exc.InvalidError, match="are the same file"):
            await named_volume.copy_files([src], dst)
    assert await read_all(named_volume, "f") == b"a"
    assert await read_all(named_volume, "d/g") == b"b"


async def test_read_only_view_refuses_the_file_apis_writes(named_volume: sc.Volume) -> None:
    ro = named_volume.read_only()
    for attempt in (ro.remove_file("x"), ro.copy_files(["x"], "y")):
        with pytest.raises(exc.InvalidError, match="Read-only Volume can not be written to"):
            await attempt
    with pytest.raises(exc.InvalidError, match="Read-only Volume can not be written to"):
        await ro.batch_upload().__aenter__()
    assert await ro.listdir("/") == []  # reading is fine
    with pytest.raises(exc.InvalidError, match=r"Cannot call with_mount_options\(\) on a Volume that has \.read_only"):
        ro.with_mount_options(sub_path="/a")
    with pytest.raises(exc.InvalidError, match=r"Cannot call read_only\(\) on a Volume that has with_mount_options"):
        named_volume.with_mount_options(read_only=True).read_only()
    await named_volume.commit()
    await named_volume.reload()


async def test_a_large_read_streams_with_bounded_memory(named_volume: sc.Volume) -> None:
    size = 64 << 20
    async with named_volume.batch_upload() as batch:
        batch.put_file(io.BytesIO(os.urandom(1 << 20) * 64), "big.bin")
    biggest, total = 0, 0
    async for chunk in named_volume.read_file("big.bin"):
        biggest, total = max(biggest, len(chunk)), total + len(chunk)
    assert total == size and biggest <= 1 << 20


async def test_helpers_are_labelled_and_gone_after_each_call(named_volume: sc.Volume) -> None:
    eng = await get_engine()
    seen: list[dict[str, str]] = []

    async def watch() -> None:
        while True:
            for c in await eng.containers.list({"sandbox-core.kind": "volume-helper"}, all=True):
                seen.append(dict(c.labels))
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    try:
        await named_volume.listdir("/")
        async with named_volume.batch_upload() as batch:
            batch.put_file(io.BytesIO(b"x"), "x")
    finally:
        watcher.cancel()
    assert seen and all(lbl[store.VOLUME_ID] == named_volume.object_id for lbl in seen)
    assert (
        await eng.containers.list(
            {"sandbox-core.kind": "volume-helper", store.VOLUME_ID: named_volume.object_id}, all=True
        )
        == []
    )
