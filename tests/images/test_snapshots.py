"""Snapshots and mounts on the real engine: ``snapshot_filesystem`` → a new sandbox sees the files;
``snapshot_directory`` → ``mount_image`` → ``unmount_image`` restores; Modal's checks of section 1.9 in Modal's
order; ttl labels and their enforcement by the sweep, never removing an image a container uses."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

import sandbox_core as sc
from sandbox_core import _snapshots
from sandbox_core import exception as exc
from sandbox_core._engine import get_engine
from sandbox_core._engine import labels as L
from sandbox_core._imagebuild import gc, once
from sandbox_core._imagebuild.definition import ADDRESS_LABEL

from ..conftest import BUSYBOX, BUSYBOX_USER, RUN_ID, TEST_RUN_LABEL, app_name

pytestmark = pytest.mark.usefixtures("engine")


async def run(sb: sc.Sandbox, script: str) -> str:
    p = await sb.exec("sh", "-c", script)
    out = await p.stdout.read()
    assert await p.wait() == 0, (script, out, await p.stderr.read())
    return out


@pytest_asyncio.fixture(loop_scope="session")
async def snap_app() -> AsyncIterator[sc.App]:
    """An app of the test's own: sweeping it (everything) removes its sandboxes and snapshot images."""
    app = await sc.App.lookup(app_name("snap-" + uuid.uuid4().hex[:6]), create_if_missing=True)
    yield app
    await sc.sweep(app_id=app.app_id, everything=True)


async def new_sandbox(app: sc.App, image: sc.Image | None = None, **kw: object) -> sc.Sandbox:
    return await sc.Sandbox.create(app=app, image=image or sc.Image.from_registry(BUSYBOX), timeout=300, **kw)  # type: ignore[arg-type]


async def test_a_filesystem_snapshot_starts_a_sandbox_that_sees_the_files(snap_app: sc.App) -> None:
    sb = await new_sandbox(snap_app, env={"SECRET_TOKEN": "s3cr3t"})
    await run(sb, "mkdir -p /data && echo kept > /data/file && rm /etc/group")
    snap = await sb.snapshot_filesystem()
    assert snap.is_hydrated and snap.object_id.startswith("im-")
    labels = (await (await get_engine()).images.inspect("sha256:" + snap.object_id[3:])).labels  # type: ignore[union-attr]
    assert labels[L.KIND] == L.KIND_SNAPSHOT and labels[L.APP_ID] == snap_app.app_id
    assert abs(float(labels[L.EXPIRES_AT]) - (time.time() + 30 * 24 * 3600)) < 120
    assert labels[TEST_RUN_LABEL] == RUN_ID
    await sb.terminate()
    again = await new_sandbox(snap_app, snap)
    try:
        out = await run(again, 'cat /data/file; test -e /etc/group || echo deleted; echo "token=$SECRET_TOKEN"')
        assert out == "kept\ndeleted\ntoken=\n"  # deletions are kept; the sandbox's secret value is not
    finally:
        await again.terminate()


async def test_a_snapshot_without_ttl_never_expires_and_the_legacy_mode(
    snap_app: sc.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    sb = await new_sandbox(snap_app)
    try:
        forever = await sb.snapshot_filesystem(ttl=None)
        eng = await get_engine()
        info = await eng.images.inspect("sha256:" + forever.object_id[3:])
        assert info is not None and L.EXPIRES_AT not in info.labels
        monkeypatch.setenv("MODAL_USE_LEGACY_FILESYSTEM_SNAPSHOT", "1")
        with pytest.raises(exc.InvalidError, match="ttl is not supported with MODAL_USE_LEGACY_FILESYSTEM_SNAPSHOT"):
            await sb.snapshot_filesystem(ttl=60)
        legacy = await sb.snapshot_filesystem()
        assert legacy.is_hydrated
    finally:
        await sb.terminate()


async def test_a_snapshot_timeout_raises_and_leaves_no_image(snap_app: sc.App) -> None:
    sb = await new_sandbox(snap_app)
    try:
        await run(sb, "dd if=/dev/zero of=/big bs=1M count=64 2>/dev/null")
        with pytest.raises(exc.TimeoutError, match="Timeout expired"):
            await sb.snapshot_filesystem(timeout=0)
        await _snapshots.settled()  # the commit the engine finished anyway, removed in the background
        eng = await get_engine()
        assert await eng.images.list({L.APP_ID: snap_app.app_id, L.KIND: L.KIND_SNAPSHOT}) == []
    finally:
        await sb.terminate()


async def test_snapshot_directory_mount_and_unmount_restore(snap_app: sc.App) -> None:
    src = await new_sandbox(snap_app)
    dst = await new_sandbox(snap_app, sc.Image.from_registry(BUSYBOX_USER))
    try:
        await run(src, "mkdir -p /proj/sub && echo a > /proj/a.txt && echo b > /proj/sub/b.txt && ln -s a.txt /proj/l")
        snap = await src.snapshot_directory("/proj")
        assert snap.is_hydrated
        await run(dst, "mkdir -p /home/sandbox/work && echo original > /home/sandbox/work/old.txt")
        await dst.mount_image("/home/sandbox/work", snap)
        listing = await run(dst, "cd /home/sandbox/work && ls -A && cat a.txt sub/b.txt l")
        assert listing == "a.txt\nl\nsub\na\nb\na\n"
        await dst.unmount_image("/home/sandbox/work")
        assert await run(dst, "ls -A /home/sandbox/work && cat /home/sandbox/work/old.txt") == "old.txt\noriginal\n"
        await dst.mount_image("/opt/new/place", snap)  # a path that did not exist is created …
        assert await run(dst, "cat /opt/new/place/a.txt") == "a\n"
        await dst.unmount_image("/opt/new/place")  # … and removed again
        assert await run(dst, "test -e /opt/new/place || echo gone") == "gone\n"
        with pytest.raises(exc.InvalidError, match="is not a mount point"):
            await dst.unmount_image("/home/sandbox/work")
    finally:
        await src.terminate()
        await dst.terminate()


async def test_mounting_an_empty_image_a_built_one_and_remounting(snap_app: sc.App) -> None:
    sb = await new_sandbox(snap_app)
    try:
        await run(sb, "mkdir -p /m && echo here > /m/x")
        await sb.mount_image("/m", sc.Image.from_scratch())
        assert await run(sb, "ls -A /m | wc -l") == "0\n"
        built = (
            await sc.Image.from_registry(BUSYBOX).run_commands(f"echo {uuid.uuid4().hex} > /etc/built").build(snap_app)
        )
        await sb.mount_image("/m", built)  # over a mount: the empty image goes, the original stays saved
        out = await run(sb, "ls -A /m; cat /m/etc/built | wc -c")
        assert "bin" in out.split() and "etc" in out.split() and ".dockerenv" not in out.split()
        await sb.unmount_image("/m")
        assert await run(sb, "cat /m/x") == "here\n"
    finally:
        await sb.terminate()


async def test_modals_checks_of_section_1_9_in_order(snap_app: sc.App, tmp_path: Path) -> None:
    sb = await new_sandbox(snap_app)
    key = b"k" * 16
    try:
        with pytest.raises(TypeError, match=r"expects an Image object, got 'nope'"):
            await sb.mount_image("relative", "nope")  # type: ignore[arg-type]
        layered = sc.Image.from_registry(BUSYBOX).add_local_dir(tmp_path, "/x")
        with pytest.raises(exc.InvalidError, match=r"add_local\*.*copy=True.*\.build\(\)"):
            await sb.mount_image("relative", layered)
        with pytest.raises(exc.InvalidError, match=r"prebuilt using `image\.build"):
            await sb.mount_image("relative", sc.Image.from_registry(BUSYBOX))
        with pytest.raises(exc.InvalidError, match="Mount path must be absolute; got: relative"):
            await sb.mount_image("relative", sc.Image.from_scratch(), _experimental_encryption_key="bad")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="_experimental_encryption_key must be bytes"):
            await sb.mount_image("/m", sc.Image.from_scratch(), _experimental_encryption_key="bad")  # type: ignore[arg-type]
        for bad, message in ((b"", "must not be empty"), (b"k", "at least 16"), (b"k" * 600, "at most 512")):
            with pytest.raises(exc.InvalidError, match=message):
                await sb.mount_image("/m", sc.Image.from_scratch(), _experimental_encryption_key=bad)
        with pytest.raises(exc.InvalidError, match="not supported by the local backend"):
            await sb.mount_image("/m", sc.Image.from_scratch(), _experimental_encryption_key=key)
        with pytest.raises(exc.InvalidError, match="Unmount path must be absolute; got: m"):
            await sb.unmount_image("m")
        with pytest.raises(exc.InvalidError, match="ttl must be positive, or None to disable expiry"):
            await sb.snapshot_directory("relative", ttl=0)
        with pytest.raises(exc.InvalidError, match="Snapshot path must be absolute; got: relative"):
            await sb.snapshot_directory("relative", _experimental_encryption_key="bad")  # type: ignore[arg-type]
        with pytest.raises(exc.InvalidError, match="ttl must be positive"):
            await sb.snapshot_filesystem(ttl=-5)
        with pytest.raises(exc.NotFoundError, match="does not exist: /no/such/dir"):
            await sb.snapshot_directory("/no/such/dir")
        with pytest.raises(exc.InvalidError, match="must be a directory"):
            await sb.snapshot_directory("/etc/passwd")
        with pytest.raises(TypeError, match="positional"):
            await sb.snapshot_directory("/etc", 5)  # type: ignore[call-arg]
        await sb.detach()
        for call in (
            sb.snapshot_filesystem(),
            sb.snapshot_directory("/etc"),
            sb.mount_image("/m", sc.Image.from_scratch()),
            sb.unmount_image("/m"),
        ):
            with pytest.raises(exc.ClientClosed):
                await call
    finally:
        await (await sc.Sandbox.from_id(sb.object_id)).terminate()
    with pytest.raises(exc.ConflictError, match="Sandbox already finished"):
        await (await sc.Sandbox.from_id(sb.object_id)).snapshot_filesystem()


async def test_the_sweep_removes_expired_snapshots_but_never_one_in_use(snap_app: sc.App) -> None:
    eng = await get_engine()
    sb = await new_sandbox(snap_app)
    try:
        short = await sb.snapshot_filesystem(ttl=1)
        used = await sb.snapshot_filesystem(ttl=1)
        kept = await sb.snapshot_filesystem(ttl=None)
    finally:
        await sb.terminate()
    user = await new_sandbox(snap_app, used)
    try:
        later = time.time() + 5  # the ttl has passed by then; no waiting needed
        swept = await gc.collect(eng, later, app_id=snap_app.app_id)
        assert swept.snapshots == 1
        assert await eng.images.inspect("sha256:" + short.object_id[3:]) is None
        assert await eng.images.inspect("sha256:" + used.object_id[3:]) is not None  # a container uses it
        assert await eng.images.inspect("sha256:" + kept.object_id[3:]) is not None  # no ttl
    finally:
        await user.terminate()
    result = await sc.sweep(app_id=snap_app.app_id, everything=True)
    assert result.images_removed >= 2
    for image in (used, kept):
        assert await eng.images.inspect("sha256:" + image.object_id[3:]) is None


async def test_unused_step_images_are_collected_after_the_gc_age(snap_app: sc.App) -> None:
    eng = await get_engine()
    salt = uuid.uuid4().hex
    only = {TEST_RUN_LABEL: RUN_ID}
    stale = await sc.Image.from_registry(BUSYBOX).run_commands(f"echo {salt}-stale > /s").build(snap_app)
    fresh = await sc.Image.from_registry(BUSYBOX).run_commands(f"echo {salt}-fresh > /s").build(snap_app)
    busy = await sc.Image.from_registry(BUSYBOX).run_commands(f"echo {salt}-busy > /s").build(snap_app)
    user = await new_sandbox(snap_app, busy)
    try:
        old = time.time() - 10 * 24 * 3600
        for image in (stale, busy):
            info = await eng.images.inspect("sha256:" + image.object_id[3:])
            assert info is not None
            stamp = os.path.join(once.lock_dir(), "used", info.labels[ADDRESS_LABEL])
            os.utime(stamp, (old, old))
        swept = await gc.collect(eng, time.time(), age=7 * 24 * 3600, only=only)
        assert swept.steps >= 1
        assert await eng.images.inspect("sha256:" + stale.object_id[3:]) is None
        assert await eng.images.inspect("sha256:" + fresh.object_id[3:]) is not None
        assert await eng.images.inspect("sha256:" + busy.object_id[3:]) is not None
    finally:
        await user.terminate()
