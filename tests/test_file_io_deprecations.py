"""FileIO's data methods each warn as Modal's do (``deprecation_warning`` of 2026-03-09, Modal's text), at the
caller's line."""

from __future__ import annotations

import warnings

import pytest

import sandbox_core as sc
from sandbox_core import exception as exc

READ = (
    " Use `Sandbox.filesystem.read_text()`, `Sandbox.filesystem.read_bytes()`,"
    " or `Sandbox.filesystem.copy_to_local()` instead."
)
WRITE = (
    " Use `Sandbox.filesystem.write_text()`, `Sandbox.filesystem.write_bytes()`,"
    " or `Sandbox.filesystem.copy_from_local()` instead."
)
SEEK = (
    " Use the `Sandbox.filesystem` APIs instead. If you specifically need the ability to write to specific offsets"
    " in a file, please contact support@modal.com."
)


def only(record: list[warnings.WarningMessage], method: str, advice: str) -> None:
    ours = [w for w in record if issubclass(w.category, exc.DeprecationError) and "FileIO." in str(w.message)]
    assert [str(w.message) for w in ours] == [f"2026-03-09: `FileIO.{method}()` is deprecated.{advice}"]
    assert ours[0].filename == __file__


async def test_each_data_method_warns_like_modal(shared_sandbox: sc.Sandbox) -> None:
    await shared_sandbox.filesystem.write_text("a\nb\n", "/tmp/fileio-dep.txt")
    with pytest.warns(exc.DeprecationError):
        f = await shared_sandbox.open("/tmp/fileio-dep.txt", "r+")
    try:
        for method, advice, call in (
            ("read", READ, lambda: f.read(1)),
            ("readline", READ, lambda: f.readline()),
            ("readlines", READ, lambda: f.readlines()),
            ("seek", SEEK, lambda: f.seek(0)),
            ("write", WRITE, lambda: f.write("c")),
            ("flush", WRITE, lambda: f.flush()),
        ):
            with warnings.catch_warnings(record=True) as record:
                warnings.simplefilter("always")
                await call()
            only(record, method, advice)
    finally:
        await f.close()


async def test_the_warning_comes_before_the_closed_check(shared_sandbox: sc.Sandbox) -> None:
    await shared_sandbox.filesystem.write_text("x", "/tmp/fileio-dep2.txt")
    with pytest.warns(exc.DeprecationError):
        f = await shared_sandbox.open("/tmp/fileio-dep2.txt", "r")
    await f.close()
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="closed file"):
            await f.read()
    only(record, "read", READ)
