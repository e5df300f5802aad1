"""Large transfers of an agent sandbox: the archive route exactly where it is equivalent (``_fs/ops.py``, rule 0).

Which transport moved the data is observed by wrapping the archive transport's ``read``/``write`` (they still run);
what the tests assert is what the sandbox sees: the bytes, the owner, and the mount the data landed in.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import sandbox_core as sc
from sandbox_core._engine import get_engine, tar
from sandbox_core._fs import archive
from sandbox_core._fs.agent import BULK_BYTES

from .conftest import BUSYBOX_USER, agent_path, engine_ref

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]

BIG = BULK_BYTES + (1 << 20) + 17


@pytest.fixture
def archive_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bytes]]:
    """Every read and write the archive transport serves, as (operation, path)."""
    calls: list[tuple[str, bytes]] = []
    real_read, real_write = archive.ArchiveTransport.read, archive.ArchiveTransport.write

    async def read(self: archive.ArchiveTransport, path: bytes, sink: Any, *, whole: Any = None) -> None:
        calls.append(("read", path))
        await real_read(self, path, sink, whole=whole)

    async def write(self: archive.ArchiveTransport, path: bytes, size: int, chunks: Any) -> None:
        calls.append(("write", path))
        await real_write(self, path, size, chunks)

    monkeypatch.setattr(archive.ArchiveTransport, "read", read)
    monkeypatch.setattr(archive.ArchiveTransport, "write", write)
    return calls


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def user_sandbox(app: sc.App) -> AsyncIterator[sc.Sandbox]:
    s = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX_USER), timeout=600)
    try:
        yield s
    finally:
        await s.terminate()


def _skip_without_agent(sb: sc.Sandbox) -> None:
    if not agent_path(sb):
        pytest.skip("the bulk route is a choice of the agent transport")


async def _sh(sb: sc.Sandbox, script: str) -> str:
    p = await sb.exec("sh", "-c", script)
    out = await p.stdout.read()
    assert await p.wait() == 0, out
    return str(out).strip()


async def test_large_transfers_outside_mounts_take_the_archive_route(
    shared_sandbox: sc.Sandbox, tmp_path: Path, archive_calls: list[tuple[str, bytes]]
) -> None:
    _skip_without_agent(shared_sandbox)
    fs = shared_sandbox.filesystem
    data = os.urandom(BIG)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    await fs.copy_from_local(src, "/srv/bulk/new/up.bin")
    await fs.copy_from_local(src, "/srv/bulk/new/up.bin")  # an overwrite
    assert await _sh(shared_sandbox, "md5sum < /srv/bulk/new/up.bin") == f"{hashlib.md5(data).hexdigest()}  -"
    dst = tmp_path / "down.bin"
    await fs.copy_to_local("/srv/bulk/new/up.bin", dst)
    assert dst.read_bytes() == data
    assert await fs.read_bytes("/srv/bulk/new/up.bin") == data
    await fs.write_bytes(data[:1000], "/srv/bulk/small")  # below the threshold: the agent
    assert await fs.read_bytes("/srv/bulk/small") == data[:1000]
    assert archive_calls == [("write", b"/srv/bulk/new/up.bin")] * 2 + [("read", b"/srv/bulk/new/up.bin")] * 2


async def test_large_transfers_under_a_mount_stay_on_the_agent(
    shared_sandbox: sc.Sandbox, tmp_path: Path, archive_calls: list[tuple[str, bytes]]
) -> None:
    """/tmp is a tmpfs mount: the engine's archive API would write beneath it, where the sandbox never looks."""
    _skip_without_agent(shared_sandbox)
    fs = shared_sandbox.filesystem
    data = os.urandom(BIG)
    await fs.write_bytes(data, "/tmp/bulk/w.bin")
    assert await _sh(shared_sandbox, "md5sum < /tmp/bulk/w.bin") == f"{hashlib.md5(data).hexdigest()}  -"
    dst = tmp_path / "down.bin"
    await fs.copy_to_local("/tmp/bulk/w.bin", dst)
    assert dst.read_bytes() == data
    assert archive_calls == []


@pytest.mark.podman_differs("the archive API writes into the sandbox's mounts, so no decoy can be planted beneath one")
async def test_large_read_through_a_symlinked_ancestor_reads_what_the_sandbox_sees(
    shared_sandbox: sc.Sandbox, archive_calls: list[tuple[str, bytes]]
) -> None:
    """/srv/into-tmp links into the /tmp mount, beneath which the image's file system holds a decoy: the engine
    would resolve the link in the image and read the decoy."""
    _skip_without_agent(shared_sandbox)
    fs = shared_sandbox.filesystem
    data = os.urandom(BIG)
    await fs.write_bytes(data, "/tmp/linked/f.bin")
    decoy = b"decoy"

    async def body() -> AsyncIterator[bytes]:
        yield b"".join(
            [
                tar.tar_header(b"linked/f.bin", size=len(decoy), mode=0o644),
                decoy,
                tar.tar_padding(len(decoy)),
                tar.TAR_END,
            ]
        )

    eng = await get_engine()
    await eng.archive.put(await engine_ref(shared_sandbox), b"/tmp", body())  # beneath the mount
    await _sh(shared_sandbox, "ln -s /tmp/linked /srv/into-tmp")
    assert await fs.read_bytes("/srv/into-tmp/f.bin") == data
    assert archive_calls == []


async def test_large_write_of_a_non_root_sandbox_stays_on_the_agent(
    user_sandbox: sc.Sandbox, archive_calls: list[tuple[str, bytes]]
) -> None:
    """The archive API writes as root, past the permissions of the sandbox's user."""
    _skip_without_agent(user_sandbox)
    fs = user_sandbox.filesystem
    home = await _sh(user_sandbox, 'echo "$HOME"')
    data = os.urandom(BIG)
    await fs.write_bytes(data, f"{home}/bulk.bin")
    assert await _sh(user_sandbox, f"stat -c %u {home}/bulk.bin") == "1000"
    assert await fs.read_bytes(f"{home}/bulk.bin") == data
    with pytest.raises(sc.exception.SandboxFilesystemPermissionError):
        await fs.write_bytes(data, "/etc/bulk.bin")
    assert archive_calls == []


async def test_large_overwrite_outside_mounts_keeps_owner_and_mode(
    shared_sandbox: sc.Sandbox, archive_calls: list[tuple[str, bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner and mode come from the agent's lstat, not from a tar read of the old file through the engine."""
    _skip_without_agent(shared_sandbox)

    async def no_tar_read(self: archive.ArchiveTransport, path: bytes) -> None:
        raise AssertionError(f"the engine was asked for the tar header of {path!r}")

    monkeypatch.setattr(archive.ArchiveTransport, "_lstat_member", no_tar_read)
    await _sh(
        shared_sandbox,
        "mkdir -p /srv/own && echo old > /srv/own/f && chown 1234:4321 /srv/own/f && chmod 640 /srv/own/f",
    )
    data = os.urandom(BIG)
    await shared_sandbox.filesystem.write_bytes(data, "/srv/own/f")
    assert await _sh(shared_sandbox, "stat -c '%u %g %a %s' /srv/own/f") == f"1234 4321 640 {BIG}"
    assert archive_calls == [("write", b"/srv/own/f")]
