"""The Modal-style workspace flow — create a volume, sandbox A writes, sandbox B reads, the client reads the file —
written once as Modal code and run unchanged with the blocking facade (``modal.X`` → ``sandbox_core_sync.X``) and
with the asyncio API (``X.aio`` → ``X``); plus secrets and logs through the facade, and the collection of a volume
whose owning process died."""

from __future__ import annotations

import asyncio
import io
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

import sandbox_core
import sandbox_core_sync as modal

from ..conftest import BUSYBOX, app_name
from .conftest import volume_name

pytestmark = pytest.mark.usefixtures("engine")


def workspace_flow_blocking(vol_name: str) -> bytes:
    """Modal's documented pattern, in its blocking form."""
    app = modal.App.lookup(app_name("ws-sync"), create_if_missing=True)
    image = modal.Image.from_registry(BUSYBOX)
    vol = modal.Volume.from_name(vol_name, create_if_missing=True)
    writer = modal.Sandbox.create(
        "sh", "-c", "mkdir -p /ws/out && echo result > /ws/out/answer.txt", app=app, image=image, volumes={"/ws": vol}
    )
    writer.wait()
    reader = modal.Sandbox.create(app=app, image=image, volumes={"/ws": vol})
    p = reader.exec("cat", "/ws/out/answer.txt")
    assert p.stdout.read() == "result\n"
    reader.terminate()
    data = b""
    for chunk in vol.read_file("out/answer.txt"):
        data += chunk
    with vol.batch_upload(force=True) as batch:
        batch.put_file(io.BytesIO(b"more"), "/out/more.txt")
    assert [e.path for e in vol.listdir("/out")] == ["out/answer.txt", "out/more.txt"]
    with modal.Volume.ephemeral() as scratch:
        assert scratch.listdir("/") == []
    modal.Volume.objects.delete(vol_name)
    return data


async def workspace_flow_async(vol_name: str) -> bytes:
    """The same, with the asyncio API (Modal's ``.aio`` calls)."""
    sc = sandbox_core
    app = await sc.App.lookup(app_name("ws-async"), create_if_missing=True)
    image = sc.Image.from_registry(BUSYBOX)
    vol = sc.Volume.from_name(vol_name, create_if_missing=True)
    writer = await sc.Sandbox.create(
        "sh", "-c", "mkdir -p /ws/out && echo result > /ws/out/answer.txt", app=app, image=image, volumes={"/ws": vol}
    )
    await writer.wait()
    reader = await sc.Sandbox.create(app=app, image=image, volumes={"/ws": vol})
    p = await reader.exec("cat", "/ws/out/answer.txt")
    assert await p.stdout.read() == "result\n"
    await reader.terminate()
    data = b""
    async for chunk in vol.read_file("out/answer.txt"):
        data += chunk
    async with vol.batch_upload(force=True) as batch:
        batch.put_file(io.BytesIO(b"more"), "/out/more.txt")
    assert [e.path for e in await vol.listdir("/out")] == ["out/answer.txt", "out/more.txt"]
    async with sc.Volume.ephemeral() as scratch:
        assert await scratch.listdir("/") == []
    await sc.Volume.objects.delete(vol_name)
    return data


def test_workspace_flow_blocking() -> None:
    assert workspace_flow_blocking(volume_name("ws")) == b"result\n"


def test_workspace_flow_asyncio() -> None:
    assert asyncio.run(workspace_flow_async(volume_name("ws"))) == b"result\n"


def test_facade_classes_are_wrappers_of_the_implementation() -> None:
    for name in (
        "Volume",
        "Secret",
        "VolumeManager",
        "SecretManager",
        "SandboxLogsManager",
        "VolumeUploadContextManager",
    ):
        assert getattr(modal, name) is not getattr(sandbox_core, name)
    for name in ("FileEntry", "FileEntryType", "LogEntry"):
        assert getattr(modal, name) is getattr(sandbox_core, name)
    assert modal.Secret.objects is modal.SecretManager and modal.Volume.objects is modal.VolumeManager
    assert modal.volume.Volume is modal.Volume and modal.secret.SecretManager is modal.SecretManager


def test_secrets_and_logs_through_the_facade(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SANDBOX_CORE_CONFIG_DIR", str(tmp_path))
    modal.Secret.objects.create("facade", {"GREETING": "hi"})
    app = modal.App.lookup(app_name("ws-sync"), create_if_missing=True)
    sb = modal.Sandbox.create("sh", "-c", 'echo "$GREETING"', app=app, secrets=[modal.Secret.from_name("facade")])
    sb.wait()
    entries = list(sb.logs.tail())
    assert [str(e) for e in entries] == ["hi\n"] and isinstance(entries[0], modal.LogEntry)
    assert [e.message for e in sb.logs.fetch(since=entries[0].timestamp)] == ["hi\n"]
    assert [s.name for s in modal.Secret.objects.list()] == ["facade"]
    modal.Secret.objects.delete("facade")


def test_an_ephemeral_volume_of_a_killed_process_is_collected(
    run_py: Callable[..., subprocess.CompletedProcess[str]],
) -> None:
    proc = run_py(
        """
        import os, signal, sandbox_core_sync as modal
        with modal.Volume.ephemeral() as vol:
            print(vol.object_id, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        """,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL
    vid = proc.stdout.strip()
    name = f"sandbox-core-volume.{vid}"
    assert subprocess.run(["docker", "volume", "inspect", name], capture_output=True).returncode == 0
    app = modal.App.lookup(app_name("ws-sync"), create_if_missing=True)
    swept = asyncio.run(sandbox_core.sweep(app_id=app.app_id))  # the volume part is not per app
    assert swept.volumes_removed >= 1
    assert subprocess.run(["docker", "volume", "inspect", name], capture_output=True).returncode != 0
