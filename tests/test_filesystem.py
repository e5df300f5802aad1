"""``Sandbox.filesystem`` against the real engine: transfers, every error class, hostile names, planted links,
copy_to_local atomicity, list/stat against ``stat`` inside the sandbox, non-root permissions, shell-less images."""

from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

import sandbox_core as sc
from sandbox_core import filesystem as fsmod
from sandbox_core._agent.channel import InboundStream
from sandbox_core._agent.sessions import existing_slot
from sandbox_core._engine import get_engine, tar
from sandbox_core._engine.docker import archive
from sandbox_core._fs import local
from sandbox_core._fs.process import argv_path
from sandbox_core.exception import (
    ClientClosed,
    InvalidError,
    NotFoundError,
    SandboxFilesystemDirectoryNotEmptyError,
    SandboxFilesystemError,
    SandboxFilesystemIsADirectoryError,
    SandboxFilesystemNotADirectoryError,
    SandboxFilesystemNotFoundError,
    SandboxFilesystemPathAlreadyExistsError,
    SandboxFilesystemPermissionError,
)

from .conftest import BUSYBOX, BUSYBOX_USER, NOSHELL, agent_path, container_id, engine_ref

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]

HOSTILE = [
    " lead and trail ",
    "new\nline",
    "-rf",
    "--",
    "caf\udce9-latin1",  # byte 0xE9: not UTF-8
    "$(touch PWNED)",
    "`touch PWNED`",
    "quo'te\"s",
    "*",
    "back\\slash",
    "tab\there",
]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def usb(app: sc.App) -> AsyncIterator[sc.Sandbox]:
    """A sandbox whose image runs as uid 1000, with root-only fixtures made through the engine (as root)."""
    s = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX_USER), timeout=600)
    try:
        eng = await get_engine()
        body = b"".join(
            [
                tar.tar_header(b"opt/" + b"secret", mode=0o700, directory=True),
                tar.tar_header(b"opt/" + b"secret/f", size=3, mode=0o600),
                b"abc" + tar.tar_padding(3),
                tar.tar_header(b"opt/" + b"locked", mode=0o755, directory=True),
                tar.tar_header(b"opt/" + b"locked/ro", size=2, mode=0o644),
                b"ro" + tar.tar_padding(2),
                tar.tar_header(b"opt/" + b"locked/sub", mode=0o755, directory=True),
                tar.TAR_END,
            ]
        )

        async def gen() -> AsyncIterator[bytes]:
            yield body

        await eng.archive.put(await engine_ref(s), b"/", gen())
        yield s
    finally:
        await s.terminate()


async def sh(s: sc.Sandbox, script: str, *args: str) -> tuple[int, bytes, bytes]:
    """Run ``script`` in the sandbox (paths as argv only); returns (exit code, stdout, stderr)."""
    p = await s.exec("sh", "-c", script, "sh", *args, text=False)
    out, err = await p.stdout.read(), await p.stderr.read()
    return await p.wait(), out, err


def raw(path: str) -> str:
    """argv form of a path for ``sh``: exec args cannot carry non-UTF-8 bytes, so octal-escape like the library."""
    return argv_path(path.encode("utf-8", "surrogateescape"))


def _names(directory: Path) -> list[str]:
    return sorted(os.listdir(directory))


DEC = 'p=$(printf "%bx" "$1"); p=${p%x}; '


# ------------------------------------------------------------------------------------------ argument checks


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("read_bytes", ()),
        ("read_text", ()),
        ("list_files", ()),
        ("stat", ()),
        ("make_directory", ()),
        ("remove", ()),
    ],
)
async def test_relative_paths_are_refused_before_any_io(
    shared_sandbox: sc.Sandbox, method: str, args: tuple[str, ...]
) -> None:
    with pytest.raises(InvalidError, match=rf"Sandbox.filesystem.{method}\(\) currently only supports absolute"):
        await getattr(shared_sandbox.filesystem, method)("tmp/x", *args)


async def test_relative_paths_are_refused_for_writes_copies_and_watch(
    shared_sandbox: sc.Sandbox, tmp_path: Path
) -> None:
    fs = shared_sandbox.filesystem
    with pytest.raises(InvalidError, match="write_bytes"):
        await fs.write_bytes(b"x", "x")
    with pytest.raises(InvalidError, match="write_text"):
        await fs.write_text(b"not str", "x")  # type: ignore[arg-type]  # the path is checked first
    with pytest.raises(InvalidError, match="copy_to_local"):
        await fs.copy_to_local("x", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    with pytest.raises(InvalidError, match="copy_from_local"):
        await fs.copy_from_local(tmp_path / "missing", "x")  # the remote path is checked before the local open
    with pytest.raises(InvalidError, match="watch"):
        async for _ in fs.watch("x"):
            pass


async def test_write_type_errors(shared_sandbox: sc.Sandbox) -> None:
    with pytest.raises(TypeError, match="data must be bytes-like"):
        await shared_sandbox.filesystem.write_bytes("text", "/tmp/t")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="data must be str"):
        await shared_sandbox.filesystem.write_text(b"bytes", "/tmp/t")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ payloads


@pytest.mark.parametrize("size", [0, 1, 17 << 20])
async def test_roundtrip_payload_sizes(shared_sandbox: sc.Sandbox, size: int) -> None:
    data = os.urandom(size)
    path = f"/tmp/payload/{size}.bin"
    await shared_sandbox.filesystem.write_bytes(data, path)
    assert await shared_sandbox.filesystem.read_bytes(path) == data
    code, out, _ = await sh(shared_sandbox, 'sha256sum "$1"', path)
    assert code == 0 and out.split()[0].decode() == hashlib.sha256(data).hexdigest()


async def test_non_utf8_content_and_text_decoding(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    blob = bytes(range(256)) * 3
    await fs.write_bytes(bytearray(blob), "/tmp/enc/blob")
    assert await fs.read_bytes("/tmp/enc/blob") == blob
    with pytest.raises(UnicodeDecodeError):
        await fs.read_text("/tmp/enc/blob")
    await fs.write_text("héllo ✓\n", "/tmp/enc/t.txt")
    assert await fs.read_text("/tmp/enc/t.txt") == "héllo ✓\n"
    assert await fs.read_bytes("/tmp/enc/t.txt") == "héllo ✓\n".encode()
    await fs.write_bytes(memoryview(b"view"), "/tmp/enc/mv")
    assert await fs.read_text("/tmp/enc/mv") == "view"


async def test_empty_file_reads_as_empty(shared_sandbox: sc.Sandbox) -> None:
    await sh(shared_sandbox, ": > /tmp/empty")
    assert await shared_sandbox.filesystem.read_bytes("/tmp/empty") == b""
    assert await shared_sandbox.filesystem.read_text("/tmp/empty") == ""


async def test_write_creates_parents_and_overwrites_keeping_mode_and_owner(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.write_text("first version, longer", "/tmp/w/a/b/c/f.txt")
    code, out, _ = await sh(
        shared_sandbox, 'chmod 750 "$1" && chown 1000:1000 "$1" && stat -c "%a %u" /tmp/w/a/b', "/tmp/w/a/b/c/f.txt"
    )
    assert code == 0 and out.split()[0] == b"755"
    await fs.write_text("second", "/tmp/w/a/b/c/f.txt")
    assert await fs.read_text("/tmp/w/a/b/c/f.txt") == "second"
    code, out, _ = await sh(shared_sandbox, 'stat -c "%a %u %g" "$1"', "/tmp/w/a/b/c/f.txt")
    assert out.split() == [b"750", b"1000", b"1000"]


# --------------------------------------------------------------------------------------------- read errors


async def test_read_errors(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await sh(
        shared_sandbox,
        "mkdir -p /tmp/re/dir && echo x > /tmp/re/file && ln -s file /tmp/re/link && ln -s /nowhere /tmp/re/dangling",
    )
    with pytest.raises(SandboxFilesystemNotFoundError, match="No such file or directory: /tmp/re/missing"):
        await fs.read_bytes("/tmp/re/missing")
    with pytest.raises(SandboxFilesystemIsADirectoryError, match="/tmp/re/dir"):
        await fs.read_bytes("/tmp/re/dir")
    with pytest.raises(SandboxFilesystemNotFoundError):
        await fs.read_bytes("/tmp/re/dangling")
    with pytest.raises(SandboxFilesystemError) as info:
        await fs.read_text("/tmp/re/file/below")
    assert "Not a directory" in str(info.value)
    assert "overlay2" not in str(info.value) and "/var/lib/docker" not in str(info.value)
    assert await fs.read_text("/tmp/re/link") == "x\n"  # links are followed for reads


async def test_proc_is_read_inside_the_sandbox(shared_sandbox: sc.Sandbox) -> None:
    assert b"sleep" in await shared_sandbox.filesystem.read_bytes("/proc/1/cmdline")
    assert (await shared_sandbox.filesystem.read_text("/proc/sys/kernel/ostype")).strip() == "Linux"


# -------------------------------------------------------------------------------------------- write errors


async def test_write_errors(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await sh(shared_sandbox, "mkdir -p /tmp/we/dir && echo x > /tmp/we/file")
    with pytest.raises(SandboxFilesystemIsADirectoryError, match="/tmp/we/dir"):
        await fs.write_bytes(b"x", "/tmp/we/dir")
    with pytest.raises(SandboxFilesystemIsADirectoryError):
        await fs.write_bytes(b"x", "/")
    with pytest.raises(SandboxFilesystemNotADirectoryError, match="/tmp/we/file/sub/x"):
        await fs.write_bytes(b"x", "/tmp/we/file/sub/x")
    assert await fs.read_text("/tmp/we/file") == "x\n"


async def test_copy_from_local_errors_are_native_and_remote_errors_mapped(
    shared_sandbox: sc.Sandbox, tmp_path: Path
) -> None:
    fs = shared_sandbox.filesystem
    with pytest.raises(FileNotFoundError):
        await fs.copy_from_local(tmp_path / "missing", "/tmp/cfl/x")
    with pytest.raises(IsADirectoryError):
        await fs.copy_from_local(tmp_path, "/tmp/cfl/x")
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    await sh(shared_sandbox, "mkdir -p /tmp/cfl/dir")
    with pytest.raises(SandboxFilesystemIsADirectoryError):
        await fs.copy_from_local(src, "/tmp/cfl/dir")


async def test_copy_both_ways_17_mib(shared_sandbox: sc.Sandbox, tmp_path: Path) -> None:
    data = os.urandom(17 << 20)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    await shared_sandbox.filesystem.copy_from_local(str(src), "/tmp/copy/deep/up.bin")
    dst = tmp_path / "new" / "parents" / "down.bin"
    await shared_sandbox.filesystem.copy_to_local("/tmp/copy/deep/up.bin", dst)
    assert dst.read_bytes() == data
    assert sorted(p.name for p in dst.parent.iterdir()) == ["down.bin"]


# ------------------------------------------------------------------------------------ copy_to_local atomicity


async def test_copy_to_local_failure_leaves_destination_untouched(
    shared_sandbox: sc.Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = shared_sandbox.filesystem
    dst = tmp_path / "keep.txt"
    dst.write_text("original")
    with pytest.raises(SandboxFilesystemNotFoundError):
        await fs.copy_to_local("/tmp/ctl/missing", dst)
    with pytest.raises(SandboxFilesystemIsADirectoryError):
        await fs.copy_to_local("/tmp", dst)
    assert dst.read_text() == "original"
    assert _names(tmp_path) == ["keep.txt"]

    # a failure in the middle of the stream: the connection breaks after the first chunk (outside /tmp, a tmpfs
    # mount that the engine path serves through a process, not the archive stream this test breaks)
    await fs.write_bytes(os.urandom(8 << 20), "/var/ctl/big")
    calls = 0
    if agent_path(shared_sandbox):
        real_agent_read = InboundStream.read

        async def broken_agent_read(self: InboundStream, n: int = -1) -> bytes:
            nonlocal calls
            calls += 1
            if calls == 2:  # the agent's session breaks off
                slot = existing_slot(container_id(shared_sandbox))
                assert slot is not None
                await slot.close()
            return await real_agent_read(self, n)

        monkeypatch.setattr(InboundStream, "read", broken_agent_read)
    else:
        real_read = tar.TarReader.read

        async def broken_read(self: tar.TarReader, n: int) -> bytes:
            nonlocal calls
            calls += 1
            if calls > 1:
                raise sc.exception.ServiceError("the archive stream from the engine broke off (simulated)")
            return await real_read(self, n)

        monkeypatch.setattr(tar.TarReader, "read", broken_read)
    with pytest.raises(NotFoundError, match="The Sandbox is unavailable"):
        await fs.copy_to_local("/var/ctl/big", dst)
    # the break came after the first chunk (through the agent, the closing session's other reads may count too)
    assert calls >= 2 if agent_path(shared_sandbox) else calls == 2
    monkeypatch.undo()
    assert dst.read_text() == "original"
    assert _names(tmp_path) == ["keep.txt"]


@pytest.mark.parametrize("which", ["root", "user"])
async def test_copy_to_local_local_disk_failure_leaves_nothing(
    shared_sandbox: sc.Sandbox, usb: sc.Sandbox, which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = shared_sandbox if which == "root" else usb
    await s.filesystem.write_bytes(os.urandom(6 << 20), "/tmp/disk-full.bin")
    dst = tmp_path / "keep.bin"
    dst.write_bytes(b"original")

    def no_space(fd: int, chunks: list[bytes], offset: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(local, "write_all", no_space)
    with pytest.raises(OSError, match="No space left on device"):
        await asyncio.wait_for(s.filesystem.copy_to_local("/tmp/disk-full.bin", dst), 60)
    assert dst.read_bytes() == b"original"
    assert _names(tmp_path) == ["keep.bin"]


async def test_copy_to_local_writes_on_the_loop_until_a_write_is_slow(
    shared_sandbox: sc.Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    payload = os.urandom(6 << 20)
    await shared_sandbox.filesystem.write_bytes(payload, "/tmp/slow-disk.bin")
    real_write = local.write_all
    threads: list[str] = []
    slow_after: int | None = None
    # a threshold no real write of a chunk reaches, even on a loaded CI machine: only the simulated slow disk does
    monkeypatch.setattr(local, "SLOW_WRITE", 0.25)

    def recording(fd: int, chunks: list[bytes], offset: int) -> None:
        threads.append(threading.current_thread().name)
        if slow_after is not None and len(threads) > slow_after:
            time.sleep(local.SLOW_WRITE * 2)  # as a throttled disk would
        real_write(fd, chunks, offset)

    monkeypatch.setattr(local, "write_all", recording)
    main = threading.current_thread().name
    await shared_sandbox.filesystem.copy_to_local("/tmp/slow-disk.bin", tmp_path / "fast.bin")
    assert (tmp_path / "fast.bin").read_bytes() == payload
    assert len(threads) >= 3 and set(threads) == {main}  # a fast disk: every write on the loop thread

    threads.clear()
    slow_after = 1  # the second write is slow: it still runs on the loop, every later one in a worker thread
    await shared_sandbox.filesystem.copy_to_local("/tmp/slow-disk.bin", tmp_path / "slow.bin")
    assert (tmp_path / "slow.bin").read_bytes() == payload
    assert threads[:2] == [main, main] and len(threads) >= 3 and main not in threads[2:], threads

    # a disk error in a worker thread still fails the copy and leaves no file behind
    def failing_in_threads(fd: int, chunks: list[bytes], offset: int) -> None:
        if threading.current_thread().name != main:
            raise OSError(28, "No space left on device")
        time.sleep(local.SLOW_WRITE * 2)
        real_write(fd, chunks, offset)

    monkeypatch.setattr(local, "write_all", failing_in_threads)
    with pytest.raises(OSError, match="No space left on device"):
        await shared_sandbox.filesystem.copy_to_local("/tmp/slow-disk.bin", tmp_path / "full.bin")
    assert _names(tmp_path) == ["fast.bin", "slow.bin"]


@pytest.mark.parametrize("which", ["root", "user"])
async def test_copy_from_local_read_failure_is_raised_as_is(
    shared_sandbox: sc.Sandbox, usb: sc.Sandbox, which: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = shared_sandbox if which == "root" else usb
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 << 20))

    class Failing:
        def __init__(self, f: Any) -> None:
            self._f, self._reads = f, 0

        def read(self, n: int) -> bytes:
            self._reads += 1
            if self._reads > 1:
                raise OSError(5, "Input/output error")
            return bytes(self._f.read(n))

        def fileno(self) -> int:
            return int(self._f.fileno())

        def __enter__(self) -> Failing:
            return self

        def __exit__(self, *exc: object) -> None:
            self._f.close()

    monkeypatch.setattr(fsmod, "open", lambda p, mode: Failing(open(p, mode)), raising=False)  # noqa: SIM115
    with pytest.raises(OSError, match="Input/output error"):
        await asyncio.wait_for(s.filesystem.copy_from_local(src, "/tmp/cfl-fail.bin"), 60)


async def test_copy_to_local_onto_a_directory(shared_sandbox: sc.Sandbox, tmp_path: Path) -> None:
    await shared_sandbox.filesystem.write_text("x", "/tmp/ctld/f")
    (tmp_path / "d").mkdir()
    with pytest.raises(IsADirectoryError):
        await shared_sandbox.filesystem.copy_to_local("/tmp/ctld/f", tmp_path / "d")
    assert _names(tmp_path) == ["d"]
    assert _names(tmp_path / "d") == []


# ----------------------------------------------------------------------------------------- make_directory


async def test_make_directory(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.make_directory("/tmp/md/a/b/c")
    await fs.make_directory("/tmp/md/a/b/c")  # idempotent with create_parents
    assert (await fs.stat("/tmp/md/a/b/c")).is_dir()
    await fs.make_directory("/tmp/md/a/b/c/d", create_parents=False)
    with pytest.raises(SandboxFilesystemPathAlreadyExistsError):
        await fs.make_directory("/tmp/md/a/b/c/d", create_parents=False)
    with pytest.raises(SandboxFilesystemNotFoundError):
        await fs.make_directory("/tmp/md/nope/x", create_parents=False)
    await fs.write_text("f", "/tmp/md/file")
    for parents in (True, False):
        with pytest.raises(SandboxFilesystemPathAlreadyExistsError):
            await fs.make_directory("/tmp/md/file", create_parents=parents)
        with pytest.raises(SandboxFilesystemNotADirectoryError):
            await fs.make_directory("/tmp/md/file/sub", create_parents=parents)
    _, out, _ = await sh(shared_sandbox, 'stat -c "%a %U" "$1"', "/tmp/md/a/b/c/d")
    assert out.split() == [b"755", b"root"]


# ------------------------------------------------------------------------------------------------- remove


async def test_remove(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await sh(
        shared_sandbox,
        "mkdir -p /tmp/rm/empty /tmp/rm/empty2 /tmp/rm/full/sub /tmp/rm/target && echo x > /tmp/rm/full/sub/f "
        "&& echo y > /tmp/rm/file && echo z > /tmp/rm/target/keep && ln -s /tmp/rm/target /tmp/rm/link",
    )
    await fs.remove("/tmp/rm/file")
    await fs.remove("/tmp/rm/empty")
    await fs.remove("/tmp/rm/empty2", recursive=True)
    with pytest.raises(SandboxFilesystemDirectoryNotEmptyError, match="Directory not empty: /tmp/rm/full"):
        await fs.remove("/tmp/rm/full")
    await fs.remove("/tmp/rm/full", recursive=True)
    await fs.remove("/tmp/rm/link", recursive=True)  # the link goes, never what it points to
    assert await fs.read_text("/tmp/rm/target/keep") == "z\n"
    with pytest.raises(SandboxFilesystemNotFoundError, match="/tmp/rm/file"):
        await fs.remove("/tmp/rm/file")
    _, out, _ = await sh(shared_sandbox, "ls -A /tmp/rm")
    assert out.split() == [b"target"]
    with pytest.raises(SandboxFilesystemPermissionError, match="root directory"):
        await fs.remove("//", recursive=True)


# ---------------------------------------------------------------------------------------- stat and list


async def _inside_stat(s: sc.Sandbox, path: str) -> list[bytes]:
    code, out, err = await sh(s, DEC + 'stat -c "%f|%s|%U|%G|%Y|%a" -- "$p"', raw(path))
    assert code == 0, err
    return out.strip().split(b"|")


def _matches(info: sc.FileInfo, inside: list[bytes]) -> None:
    mode, size, user, group, mtime, perms = inside
    assert info.mode == int(mode, 16)
    assert info.size == int(size)
    assert info.owner == user.decode() and info.group == group.decode()
    assert int(info.modified_time) == int(mtime)
    assert info.permissions == f"{int(perms, 8):04o}"


async def test_stat_matches_stat_inside_the_sandbox(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await sh(
        shared_sandbox,
        "mkdir -p /tmp/st/dir && printf 12345 > /tmp/st/file && chown 1000:65534 /tmp/st/file && chmod 4750 "
        "/tmp/st/file && ln -s ../st/file /tmp/st/rel && ln -s /nowhere /tmp/st/dangling && chmod 1777 /tmp/st/dir",
    )
    f = await fs.stat("/tmp/st/file")
    assert (f.name, f.path, f.type, f.size, f.permissions) == ("file", "/tmp/st/file", sc.FileType.FILE, 5, "4750")
    assert (f.owner, f.group) == ("sandbox", "nogroup")
    assert f.is_file() and not f.is_dir() and not f.is_symlink() and f.symlink_target is None
    assert stat.S_ISREG(f.mode)
    _matches(f, await _inside_stat(shared_sandbox, "/tmp/st/file"))
    d = await fs.stat("/tmp/st/dir/")
    assert d.name == "dir" and d.path == "/tmp/st/dir/" and d.is_dir() and d.permissions == "1777"
    _matches(d, await _inside_stat(shared_sandbox, "/tmp/st/dir"))
    rel = await fs.stat("/tmp/st/rel")
    assert rel.is_symlink() and rel.symlink_target == "../st/file" and stat.S_ISLNK(rel.mode)
    _matches(rel, await _inside_stat(shared_sandbox, "/tmp/st/rel"))
    dangling = await fs.stat("/tmp/st/dangling")
    assert dangling.is_symlink() and dangling.symlink_target == "/nowhere"
    with pytest.raises(SandboxFilesystemNotFoundError):
        await fs.stat("/tmp/st/missing")
    with pytest.raises(SandboxFilesystemNotADirectoryError):
        await fs.stat("/tmp/st/file/x")


async def test_file_info_is_frozen(shared_sandbox: sc.Sandbox) -> None:
    info = await shared_sandbox.filesystem.stat("/tmp")
    with pytest.raises(AttributeError):
        info.size = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="permissions"):
        sc.FileInfo("n", "/n", sc.FileType.FILE, 0, 0, "644", "root", "root", 0.0)


async def test_list_files_order_and_fields(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await sh(
        shared_sandbox,
        "mkdir -p /tmp/ls/sub /tmp/ls/emptydir && printf abc > /tmp/ls/b && printf '' > /tmp/ls/.hidden && "
        "printf 1 > /tmp/ls/A && ln -s b /tmp/ls/link && ln -s /nowhere /tmp/ls/dangling && ln -s /tmp/ls /tmp/lsl",
    )
    infos = await fs.list_files("/tmp/ls")
    names = [i.name for i in infos]
    assert names == sorted(names) == [".hidden", "A", "b", "dangling", "emptydir", "link", "sub"]
    for i in infos:
        assert i.path == f"/tmp/ls/{i.name}"
        _matches(i, await _inside_stat(shared_sandbox, i.path))
    by = {i.name: i for i in infos}
    assert by["link"].symlink_target == "b" and by["link"].is_symlink()
    assert by["dangling"].symlink_target == "/nowhere"
    assert by["sub"].is_dir() and by["b"].is_file() and by["b"].size == 3
    assert await fs.list_files("/tmp/ls/emptydir") == []
    via_link = await fs.list_files("/tmp/lsl")  # a link to a directory is followed; paths keep the link
    assert [i.path for i in via_link] == [f"/tmp/lsl/{n}" for n in names]
    with pytest.raises(SandboxFilesystemNotFoundError):
        await fs.list_files("/tmp/ls/missing")
    with pytest.raises(SandboxFilesystemNotADirectoryError):
        await fs.list_files("/tmp/ls/b")
    with pytest.raises(SandboxFilesystemNotADirectoryError):
        await fs.list_files("/tmp/ls/b/x")


# -------------------------------------------------------------------------------------------- hostile names


async def test_hostile_names_round_trip(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.make_directory("/tmp/hostile")
    for i, name in enumerate(HOSTILE):
        await fs.write_bytes(f"{i}".encode(), f"/tmp/hostile/{name}")
    listed = await fs.list_files("/tmp/hostile")
    assert sorted(i.name for i in listed) == sorted(HOSTILE)
    for i, name in enumerate(HOSTILE):
        path = f"/tmp/hostile/{name}"
        assert await fs.read_bytes(path) == f"{i}".encode()
        info = await fs.stat(path)
        assert info.name == name and info.path == path and info.size == len(str(i))
    code, _, _ = await sh(shared_sandbox, "[ -e /PWNED ] || [ -e /tmp/hostile/PWNED ] || [ -e /tmp/PWNED ]")
    assert code == 1  # no injected command ran
    # the names really are those bytes inside the sandbox
    code, out, _ = await sh(shared_sandbox, DEC + 'cat -- "$p"', raw("/tmp/hostile/caf\udce9-latin1"))
    assert code == 0 and out == str(HOSTILE.index("caf\udce9-latin1")).encode()
    for name in HOSTILE:
        await fs.remove(f"/tmp/hostile/{name}")
    assert await fs.list_files("/tmp/hostile") == []
    await fs.make_directory("/tmp/hostile/-n e\nw")
    assert [i.name for i in await fs.list_files("/tmp/hostile")] == ["-n e\nw"]
    await fs.remove("/tmp/hostile", recursive=True)
    with pytest.raises(SandboxFilesystemNotFoundError):
        await fs.stat("/tmp/hostile")


# -------------------------------------------------------------------------------------------- planted links


async def test_planted_symlinks_cannot_redirect_writes(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.write_text("mine", "/tmp/esc/target/file")
    passwd = await fs.read_bytes("/etc/passwd")
    # sandboxed code swaps the directory for a link to /etc
    await sh(shared_sandbox, "rm -rf /tmp/esc/target && ln -s /etc /tmp/esc/target")
    with pytest.raises(SandboxFilesystemError, match="symbolic link"):
        await fs.write_text("owned", "/tmp/esc/target/passwd")
    with pytest.raises(SandboxFilesystemError, match="symbolic link"):
        await fs.make_directory("/tmp/esc/target/newdir")
    assert await fs.read_bytes("/etc/passwd") == passwd
    with pytest.raises(SandboxFilesystemNotFoundError):
        await fs.stat("/etc/newdir")
    # a link at the target itself is replaced, never written through
    await sh(shared_sandbox, "ln -s /etc/passwd /tmp/esc/file-link")
    await fs.write_text("replaced", "/tmp/esc/file-link")
    assert await fs.read_bytes("/etc/passwd") == passwd
    info = await fs.stat("/tmp/esc/file-link")
    assert info.is_file() and await fs.read_text("/tmp/esc/file-link") == "replaced"


async def test_planted_symlinks_cannot_redirect_writes_of_a_non_root_sandbox(usb: sc.Sandbox) -> None:
    fs = usb.filesystem
    await fs.write_text("victim", "/home/sandbox/victim")
    await sh(usb, "mkdir -p /tmp/uesc && ln -s /home/sandbox /tmp/uesc/dir && ln -s /home/sandbox/victim /tmp/uesc/f")
    with pytest.raises(SandboxFilesystemError, match="symbolic link"):
        await fs.write_text("owned", "/tmp/uesc/dir/victim")
    await fs.write_text("replaced", "/tmp/uesc/f")
    assert await fs.read_text("/home/sandbox/victim") == "victim"
    assert (await fs.stat("/tmp/uesc/f")).is_file()


# ----------------------------------------------------------------------------------- non-root permissions


async def test_non_root_sandbox_gets_permission_errors(usb: sc.Sandbox) -> None:
    fs = usb.filesystem
    with pytest.raises(SandboxFilesystemPermissionError, match="Permission denied: /opt/secret/f"):
        await fs.read_bytes("/opt/secret/f")
    with pytest.raises(SandboxFilesystemPermissionError):
        await fs.list_files("/opt/secret")
    with pytest.raises(SandboxFilesystemPermissionError):
        await fs.stat("/opt/secret/f")
    with pytest.raises(SandboxFilesystemPermissionError):
        await fs.write_bytes(b"x", "/opt/locked/ro")
    with pytest.raises(SandboxFilesystemPermissionError):
        await fs.write_bytes(b"x", "/opt/locked/new/deeper")
    with pytest.raises(SandboxFilesystemPermissionError):
        await fs.make_directory("/opt/locked/newdir")
    with pytest.raises(SandboxFilesystemPermissionError):
        await fs.remove("/opt/locked/ro")
    with pytest.raises(SandboxFilesystemPermissionError):
        await fs.remove("/opt/locked/sub")
    with pytest.raises(SandboxFilesystemPermissionError):
        async for _ in fs.watch("/opt/secret"):
            pass
    assert await fs.read_text("/opt/locked/ro") == "ro"
    # and what the user owns works, owned by the user
    await fs.write_text("mine", "/home/sandbox/new/f.txt")
    info = await fs.stat("/home/sandbox/new/f.txt")
    assert (info.owner, info.group, info.permissions) == ("sandbox", "sandbox", "0644")
    assert [i.name for i in await fs.list_files("/home/sandbox/new")] == ["f.txt"]
    await fs.make_directory("/home/sandbox/new/d/e")
    await fs.remove("/home/sandbox/new", recursive=True)
    with pytest.raises(SandboxFilesystemNotFoundError):
        await fs.stat("/home/sandbox/new")


async def test_non_root_sandbox_handles_hostile_and_deep_paths(usb: sc.Sandbox) -> None:
    fs = usb.filesystem
    deep = "/home/sandbox/-a b/new\nline/*/caf\udce9/" + "/".join(f"d{i}" for i in range(60)) + "/f"
    await fs.write_text("deep", deep)
    assert await fs.read_text(deep) == "deep"
    await fs.make_directory(deep + "-dir/x", create_parents=True)
    assert [i.name for i in await fs.list_files("/home/sandbox/-a b/new\nline")] == ["*"]
    await fs.remove("/home/sandbox/-a b", recursive=True)
    with pytest.raises(SandboxFilesystemNotFoundError):
        await fs.stat("/home/sandbox/-a b")


async def test_non_root_sandbox_streams_17_mib(usb: sc.Sandbox, tmp_path: Path) -> None:
    data = os.urandom(17 << 20)
    await usb.filesystem.write_bytes(data, "/home/sandbox/big.bin")
    assert await usb.filesystem.read_bytes("/home/sandbox/big.bin") == data
    await usb.filesystem.copy_to_local("/home/sandbox/big.bin", tmp_path / "big.bin")
    assert (tmp_path / "big.bin").read_bytes() == data


# --------------------------------------------------------------------------------------- no shell, no sandbox


async def test_shell_less_image_supports_archive_operations(app: sc.App, tmp_path: Path) -> None:
    s = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(NOSHELL))
    try:
        fs = s.filesystem
        await fs.write_text("no shell needed", "/var/ns/a/f.txt")
        assert await fs.read_text("/var/ns/a/f.txt") == "no shell needed"
        await fs.make_directory("/var/ns/b/c")
        assert (await fs.stat("/var/ns/b/c")).is_dir()
        info = await fs.stat("/var/ns/a/f.txt")
        assert (info.size, info.owner, info.permissions) == (15, "root", "0644")
        await fs.copy_to_local("/var/ns/a/f.txt", tmp_path / "f.txt")
        assert (tmp_path / "f.txt").read_text() == "no shell needed"
        await fs.copy_from_local(tmp_path / "f.txt", "/var/ns/copy.txt")
        assert await fs.read_text("/var/ns/copy.txt") == "no shell needed"
        with pytest.raises(SandboxFilesystemNotFoundError):
            await fs.read_bytes("/var/ns/missing")
        if agent_path(s):  # the agent needs no shell: everything works, in the /tmp tmpfs mount too
            assert [i.name for i in await fs.list_files("/var/ns")] == ["a", "b", "copy.txt"]
            await fs.remove("/var/ns/copy.txt")
            assert [e async for e in fs.watch("/var/ns", timeout=1)] == []
            await fs.write_text("in tmpfs", "/tmp/x")
            assert await fs.read_text("/tmp/x") == "in tmpfs"
            return
        for call in (fs.list_files("/tmp"), fs.remove("/var/ns/copy.txt")):
            with pytest.raises(InvalidError, match="no /bin/sh"):
                await call
        with pytest.raises(InvalidError, match="no /bin/sh"):
            async for _ in fs.watch("/var"):
                pass
        # /tmp is a tmpfs mount inside the sandbox (Limits.tmp_mib): only a process there can reach it
        with pytest.raises(InvalidError, match="under a mount of the sandbox"):
            await fs.write_text("x", "/tmp/x")
    finally:
        await s.terminate()


async def test_finished_sandbox_is_unavailable(app: sc.App, tmp_path: Path) -> None:
    s = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX))
    fs = s.filesystem
    await fs.write_text("x", "/tmp/x")
    await s.terminate()
    calls = [
        fs.read_bytes("/tmp/x"),
        fs.write_text("y", "/tmp/x"),
        fs.list_files("/tmp"),
        fs.stat("/tmp/x"),
        fs.make_directory("/tmp/d"),
        fs.remove("/tmp/x"),
        fs.copy_to_local("/tmp/x", tmp_path / "x"),
    ]
    for call in calls:
        with pytest.raises(
            NotFoundError, match=r"^The Sandbox is unavailable. This Sandbox may have already shut down.$"
        ):
            await call
    assert not (tmp_path / "x").exists()
    with pytest.raises(InvalidError):  # the path check comes before anything touches the (gone) sandbox
        await fs.read_bytes("relative/path")


async def test_detached_handle_raises_client_closed(app: sc.App) -> None:
    s = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX))
    try:
        fs = s.filesystem
        await s.detach()
        with pytest.raises(ClientClosed):
            await fs.read_bytes("/etc/passwd")
        with pytest.raises(ClientClosed):
            _ = s.filesystem
    finally:
        await (await sc.Sandbox.from_id(s.object_id)).terminate()


async def test_engine_messages_are_sanitised() -> None:
    msg = (
        "lstat /var/lib/docker/overlay2/0f78318b679c16c3a2896420b4d31c32b49e6e1a6b51f71b09d2acf0f4e67fe3/merged"
        "/tmp/f/x: not a directory"
    )
    assert archive.sanitize(msg) == "lstat /tmp/f/x: not a directory"
    assert (
        archive.sanitize("Could not find the file /nope in container 0619d82e8f6e") == "Could not find the file /nope"
    )
    hostile = 'Error processing tar file(exit status 1): cannot overwrite non-directory "/x cannot overwrite directory'
    assert archive.classify(500, hostile + ' is a directory" with directory "/"', "w").kind == "exists"  # type: ignore[attr-defined]
    real = 'Error processing tar file(exit status 1): cannot overwrite directory "/tmp/d/x" with non-directory "/tmp/d"'
    assert archive.classify(500, real, "w").kind == "is_a_directory"  # type: ignore[attr-defined]
    assert archive.classify(500, "lstat /tmp/a: not a directory: x/: no such file or directory", "r").kind == "missing"  # type: ignore[attr-defined]
    assert isinstance(archive.classify(404, "No such container: abc", "r"), NotFoundError)
    assert archive.go_mode_to_posix(2147484141) == stat.S_IFDIR | 0o755
    assert archive.go_mode_to_posix(134218239) == stat.S_IFLNK | 0o777
    assert archive.go_mode_to_posix(420 | (1 << 23)) == stat.S_IFREG | stat.S_ISUID | 0o644


async def test_link_targets_with_newlines(shared_sandbox: sc.Sandbox) -> None:
    await sh(
        shared_sandbox, 'mkdir -p /tmp/lnl && ln -s "$(printf "a\\nb\\n\\nc")" /tmp/lnl/odd && ln -s plain /tmp/lnl/p'
    )
    listed = {i.name: i.symlink_target for i in await shared_sandbox.filesystem.list_files("/tmp/lnl")}
    assert listed == {"odd": "a\nb\n\nc", "p": "plain"}
    assert (await shared_sandbox.filesystem.stat("/tmp/lnl/odd")).symlink_target == "a\nb\n\nc"


@pytest.mark.parametrize("which", ["root", "user"])
async def test_error_classes_are_the_same_for_root_and_non_root_sandboxes(
    shared_sandbox: sc.Sandbox, usb: sc.Sandbox, which: str
) -> None:
    s = shared_sandbox if which == "root" else usb
    fs = s.filesystem
    base = f"/tmp/parity-{which}"
    await fs.write_text("f", f"{base}/file")
    await fs.make_directory(f"{base}/dir/sub")
    cases: list[tuple[Any, type[Exception]]] = [
        (fs.read_bytes(f"{base}/missing"), SandboxFilesystemNotFoundError),
        (fs.read_bytes(f"{base}/dir"), SandboxFilesystemIsADirectoryError),
        (fs.write_bytes(b"x", f"{base}/dir"), SandboxFilesystemIsADirectoryError),
        (fs.write_bytes(b"x", f"{base}/file/x"), SandboxFilesystemNotADirectoryError),
        (fs.list_files(f"{base}/missing"), SandboxFilesystemNotFoundError),
        (fs.list_files(f"{base}/file"), SandboxFilesystemNotADirectoryError),
        (fs.make_directory(f"{base}/file"), SandboxFilesystemPathAlreadyExistsError),
        (fs.make_directory(f"{base}/dir", create_parents=False), SandboxFilesystemPathAlreadyExistsError),
        (fs.make_directory(f"{base}/file/x"), SandboxFilesystemNotADirectoryError),
        (fs.make_directory(f"{base}/no/x", create_parents=False), SandboxFilesystemNotFoundError),
        (fs.remove(f"{base}/missing"), SandboxFilesystemNotFoundError),
        (fs.remove(f"{base}/dir"), SandboxFilesystemDirectoryNotEmptyError),
        (fs.stat(f"{base}/missing"), SandboxFilesystemNotFoundError),
        (fs.stat(f"{base}/file/x"), SandboxFilesystemNotADirectoryError),
    ]
    for call, expected in cases:
        with pytest.raises(expected) as info:
            await call
        assert type(info.value) is expected
        assert f": {base}/" in str(info.value)  # "<reason>: <path>"
    await fs.make_directory(f"{base}/dir")  # create_parents=True on an existing directory: fine
    await fs.remove(base, recursive=True)
