"""The deprecated file API (``Sandbox.open`` → ``FileIO``, ``ls``, ``mkdir``, ``rm``) against the real engine, and
FileIO's mode rules."""

from __future__ import annotations

import io
import warnings

import pytest

import sandbox_core as sc
from sandbox_core import file_io
from sandbox_core.exception import DeprecationError, FilesystemExecutionError

# async tests run on the session loop (asyncio_default_test_loop_scope); the mode-rule tests are plain functions
pytestmark = [
    pytest.mark.filterwarnings("ignore::sandbox_core.exception.DeprecationError"),
    pytest.mark.usefixtures("engine"),
]

INVALID_MODES = ["", "invalid", "rr", "rab", "r++", "+", "x+r", "wx", "rbb", " r", "r ", "R", "W", "\n", "rt", "b"]
VALID_MODES = ["r", "rb", "r+", "rb+", "r+b", "w", "wb", "w+", "wb+", "a", "ab", "a+", "ab+", "x", "xb", "x+", "xb+"]


# ------------------------------------------------------------------------------------------- mode rules (pure)


@pytest.mark.parametrize("mode", INVALID_MODES)
def test_invalid_modes_raise_value_error(mode: str) -> None:
    with pytest.raises(ValueError, match=r"Invalid file mode|exactly one of create/read/write/append mode"):
        file_io._validate_mode(mode)


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("rw", "must have exactly one of create/read/write/append mode"),
        ("wx", "must have exactly one of create/read/write/append mode"),
        ("x+r", "must have exactly one of create/read/write/append mode"),
        ("rr", "must have exactly one of create/read/write/append mode"),
        ("bb", "Invalid file mode: bb"),
        ("rbb", "Invalid file mode: rbb"),
        ("rt", "Invalid file mode: rt"),
        ("+", "Invalid file mode: +"),
        ("", "Invalid file mode: "),
    ],
)
def test_mode_error_messages(mode: str, message: str) -> None:
    with pytest.raises(ValueError, match=r".") as info:
        file_io._validate_mode(mode)
    assert str(info.value) == message


@pytest.mark.parametrize("mode", VALID_MODES)
def test_valid_modes_and_their_flags(mode: str) -> None:
    readable, writable, append, binary = file_io._validate_mode(mode)
    assert readable == ("r" in mode or "+" in mode)
    assert writable == any(c in mode for c in "wax+")
    assert append == ("a" in mode)
    assert binary == ("b" in mode)


# ----------------------------------------------------------------------------------------- FileIO behaviour


async def test_open_warns_and_rejects_invalid_modes_before_io(shared_sandbox: sc.Sandbox) -> None:
    with pytest.warns(DeprecationError, match="Sandbox.open"):
        with pytest.raises(ValueError, match="Invalid file mode"):
            await shared_sandbox.open("/tmp/fio/never", "rbb")
    with pytest.raises(sc.exception.SandboxFilesystemNotFoundError):
        await shared_sandbox.filesystem.stat("/tmp/fio/never")


async def test_read_methods(shared_sandbox: sc.Sandbox) -> None:
    await shared_sandbox.filesystem.write_text("a\n\n\nlast", "/tmp/fio/lines.txt")
    f = await shared_sandbox.open("/tmp/fio/lines.txt")
    assert await f.readline() == "a\n"
    assert await f.readlines() == ["\n", "\n", "last"]
    assert await f.read() == ""
    await f.seek(0)
    assert await f.read(3) == "a\n\n"
    await f.seek(-4, 2)
    assert await f.read() == "last"
    await f.seek(0)
    await f.seek(2, 1)
    assert await f.read(1) == "\n"
    with pytest.raises(ValueError, match="Invalid whence value: 3"):
        await f.seek(0, 3)
    with pytest.raises(io.UnsupportedOperation, match="not writeable"):
        await f.write("x")
    with pytest.raises(io.UnsupportedOperation, match="not writeable"):
        await f.flush()
    with pytest.raises(ValueError, match="Read request payload exceeds 100 MiB limit"):
        await f.read(100 * 1024 * 1024 + 1)
    await f.close()
    await f.close()  # idempotent
    for op in (f.read(), f.readline(), f.readlines(), f.seek(0)):
        with pytest.raises(ValueError, match="I/O operation on closed file"):
            await op
    await shared_sandbox.filesystem.write_text("a\n\n\n", "/tmp/fio/trail.txt")
    async with await shared_sandbox.open("/tmp/fio/trail.txt") as f2:
        assert await f2.readlines() == ["a\n", "\n", "\n"]
    await shared_sandbox.filesystem.write_text("cr\rstays\r\nx", "/tmp/fio/cr.txt")
    async with await shared_sandbox.open("/tmp/fio/cr.txt", "rb") as f3:
        assert await f3.readlines() == [b"cr\rstays\r\n", b"x"]
        await f3.seek(0)
        assert await f3.readline() == b"cr\rstays\r\n"


async def test_binary_mode_returns_bytes(shared_sandbox: sc.Sandbox) -> None:
    await shared_sandbox.filesystem.write_bytes(b"\x00\xffdata", "/tmp/fio/bin")
    async with await shared_sandbox.open("/tmp/fio/bin", "rb") as f:
        assert await f.read(2) == b"\x00\xff"
        assert await f.read() == b"data"


async def test_write_modes(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.write_text("old content", "/tmp/fio/w.txt")
    f = await shared_sandbox.open("/tmp/fio/w.txt", "w")
    assert await fs.read_text("/tmp/fio/w.txt") == ""  # truncated at open
    with pytest.raises(io.UnsupportedOperation, match="not readable"):
        await f.read()
    with pytest.raises(TypeError, match="Expected str when in text mode"):
        await f.write(b"bytes")
    await f.write("hello ")
    await f.write("world")
    await f.flush()
    assert await fs.read_text("/tmp/fio/w.txt") == "hello world"
    await f.write("!")
    await f.close()
    assert await fs.read_text("/tmp/fio/w.txt") == "hello world!"
    with pytest.raises(ValueError, match="I/O operation on closed file"):
        await f.write("x")

    async with await shared_sandbox.open("/tmp/fio/w.txt", "a") as a:
        await a.write(" more")
    assert await fs.read_text("/tmp/fio/w.txt") == "hello world! more"

    async with await shared_sandbox.open("/tmp/fio/w.txt", "r+") as rp:
        assert await rp.read(5) == "hello"
        await rp.seek(0)
        await rp.write("HELLO")
    assert await fs.read_text("/tmp/fio/w.txt") == "HELLO world! more"

    async with await shared_sandbox.open("/tmp/fio/new/dir/b.bin", "wb+") as wb:
        with pytest.raises(TypeError, match="Expected bytes when in binary mode"):
            await wb.write("text")
        await wb.write(b"\x01\x02")
        await wb.seek(0)
        assert await wb.read() == b"\x01\x02"
    assert await fs.read_bytes("/tmp/fio/new/dir/b.bin") == b"\x01\x02"

    async with await shared_sandbox.open("/tmp/fio/created-by-a", "a+") as ap:
        await ap.write("x")
        await ap.seek(0)
        await ap.write("y")  # append mode: always at the end
    assert await fs.read_text("/tmp/fio/created-by-a") == "xy"


async def test_exclusive_creation(shared_sandbox: sc.Sandbox) -> None:
    async with await shared_sandbox.open("/tmp/fio/x.txt", "x") as f:
        await f.write("once")
    assert await shared_sandbox.filesystem.read_text("/tmp/fio/x.txt") == "once"
    with pytest.raises(FileExistsError):
        await shared_sandbox.open("/tmp/fio/x.txt", "x")


async def test_write_size_limit_warns_first(shared_sandbox: sc.Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_io, "WRITE_FILE_SIZE_LIMIT", 10)
    f = await shared_sandbox.open("/tmp/fio/limit", "wb")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="Write request payload exceeds 1 GiB limit"):
            await f.write(b"x" * 11)
    assert any(issubclass(w.category, DeprecationError) for w in caught)
    await f.close()


async def test_errno_mapping(shared_sandbox: sc.Sandbox) -> None:
    await shared_sandbox.filesystem.write_text("f", "/tmp/fio/errs/file")
    with pytest.raises(FileNotFoundError):
        await shared_sandbox.open("/tmp/fio/errs/missing")
    with pytest.raises(IsADirectoryError):
        await shared_sandbox.open("/tmp/fio/errs")
    with pytest.raises(IsADirectoryError):
        await shared_sandbox.open("/tmp/fio/errs", "w")
    with pytest.raises(NotADirectoryError):
        await shared_sandbox.open("/tmp/fio/errs/file/x", "w")
    async with await shared_sandbox.open("relative.txt", "w") as f:  # relative to the working directory (/ here)
        await f.write("rel")
    assert await shared_sandbox.filesystem.read_text("/relative.txt") == "rel"
    await shared_sandbox.rm("relative.txt")


# ------------------------------------------------------------------------------------------ ls / mkdir / rm


async def test_legacy_ls_mkdir_rm(shared_sandbox: sc.Sandbox) -> None:
    with pytest.warns(DeprecationError, match="Sandbox.mkdir"):
        await shared_sandbox.mkdir("/tmp/leg/a/b", parents=True)
    with pytest.raises(FileNotFoundError):
        await shared_sandbox.mkdir("/tmp/leg/x/y")
    with pytest.raises(FileExistsError):
        await shared_sandbox.mkdir("/tmp/leg/a")
    await shared_sandbox.filesystem.write_text("f", "/tmp/leg/a/f")
    with pytest.warns(DeprecationError, match="Sandbox.ls"):
        assert await shared_sandbox.ls("/tmp/leg/a") == ["b", "f"]
    with pytest.raises(NotADirectoryError):
        await shared_sandbox.ls("/tmp/leg/a/f")
    with pytest.raises(FileNotFoundError):
        await shared_sandbox.ls("/tmp/leg/missing")
    with pytest.raises(FilesystemExecutionError):
        await shared_sandbox.rm("/tmp/leg")  # not empty: no errno class for it in Modal's mapping
    with pytest.warns(DeprecationError, match="Sandbox.rm"):
        await shared_sandbox.rm("/tmp/leg", recursive=True)
    with pytest.raises(FileNotFoundError):
        await shared_sandbox.rm("/tmp/leg")
