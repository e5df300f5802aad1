"""Property tests over the arguments of ``sb.filesystem.watch``, ``copy_to_local``/``copy_from_local``,
``Image.from_dockerfile`` (definition only: nothing is built) and a volume's data methods (issue 17, fuzzing): each
call ends, within a bounded time, in success or in the typed errors listed for it here."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import example, given
from hypothesis import strategies as st

import sandbox_core as sc
from sandbox_core import exception as exc

from . import _fuzz as F
from .conftest import BUSYBOX, app_name

pytestmark = pytest.mark.usefixtures("engine")

ROOT = "/tmp/fzt"
FS_RAISES: tuple[type[BaseException], ...] = (exc.SandboxFilesystemError, exc.InvalidError)
# A local path that is missing, a directory, or not allowed says so as Python does (OSError); one that is not a
# path at all is the TypeError of ``os.fspath``; a NUL in it is os's ValueError.
LOCAL_RAISES: tuple[type[BaseException], ...] = (OSError, TypeError, ValueError)
# Volume data methods raise Python's file errors for what the path is, as Modal's do (and, as Modal's, ValueError
# for ``recursive`` on a version-1 volume).
VOLUME_RAISES: tuple[type[BaseException], ...] = (
    exc.InvalidError,
    exc.NotFoundError,
    FileNotFoundError,
    IsADirectoryError,
    NotADirectoryError,
    FileExistsError,
    ValueError,
)

remote_paths = st.one_of(
    F.texts.map(lambda t: f"{ROOT}/{t}"), F.texts, F.anything, st.sampled_from([ROOT, "/", "/dev/zero", "/proc/1"])
)
watch_filters = st.one_of(st.none(), st.lists(st.sampled_from(list(sc.FileWatchEventType)), max_size=3), F.anything)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzz_sandbox() -> AsyncIterator[sc.Sandbox]:
    app = await sc.App.lookup(app_name(f"fuzz-transfers-{time.monotonic_ns()}"), create_if_missing=True)
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), timeout=900)
    try:
        await (await sb.exec("sh", "-c", f"mkdir -p {ROOT}/d && echo hi > {ROOT}/f")).wait()
        yield sb
    finally:
        await sb.terminate()


@pytest.fixture(scope="module")
def local_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fuzz-transfers")
    (d / "file").write_bytes(b"local data")
    (d / "dir").mkdir()
    return d


def local_paths(base: Path) -> st.SearchStrategy[Any]:
    """Paths a caller might give for a local file: the prepared file and directory, missing ones, text, junk."""
    return st.one_of(
        st.sampled_from([base / "file", base / "dir", base / "missing", base / "dir" / "new", str(base / "file")]),
        F.texts.map(lambda t: base / "dir" / t if t and "\0" not in t else base / "dir" / "x"),
        F.anything,
    )


async def first_event_or_live(sb: sc.Sandbox, path: Any, kw: dict[str, Any]) -> None:
    """Start a watch and take its first event or its end; a watch still live after a second counts as started."""
    it = sb.filesystem.watch(path, **kw).__aiter__()
    try:
        with contextlib.suppress(TimeoutError, StopAsyncIteration):
            await asyncio.wait_for(it.__anext__(), 1.0)
    finally:
        await it.aclose()  # type: ignore[attr-defined]


@F.ENGINE
@given(
    path=remote_paths,
    kw=st.fixed_dictionaries(
        {},
        optional={
            "filter": watch_filters,
            "recursive": F.anything,
            "timeout": st.one_of(st.none(), F.numbers, F.anything),
        },
    ),
)
@example(path=ROOT + "/", kw={"timeout": []})  # found: a raw TypeError
@example(path=ROOT + "/", kw={"recursive": b""})  # found: a JSON TypeError from the agent's request
async def test_watch_arguments_end_typed(fuzz_sandbox: sc.Sandbox, path: Any, kw: dict[str, Any]) -> None:
    await F.bounded(first_event_or_live(fuzz_sandbox, path, kw), FS_RAISES)


@F.ENGINE
@given(data=st.data(), remote=remote_paths)
async def test_copy_to_local_ends_typed(
    fuzz_sandbox: sc.Sandbox, local_dir: Path, data: st.DataObject, remote: Any
) -> None:
    local = data.draw(local_paths(local_dir))
    out = await F.bounded(fuzz_sandbox.filesystem.copy_to_local(remote, local), (*FS_RAISES, *LOCAL_RAISES))
    if not isinstance(out, BaseException):
        assert os.path.isfile(local)  # noqa: ASYNC240 - a test's check, after the call
    leftovers = [p for p in local_dir.rglob("*") if ".modal-sandbox-fs-tmp-" in p.name]  # noqa: ASYNC240
    assert leftovers == [], "a temporary download file was left behind"


@F.ENGINE
@given(data=st.data(), remote=remote_paths)
async def test_copy_from_local_ends_typed(
    fuzz_sandbox: sc.Sandbox, local_dir: Path, data: st.DataObject, remote: Any
) -> None:
    local = data.draw(local_paths(local_dir))
    out = await F.bounded(fuzz_sandbox.filesystem.copy_from_local(local, remote), (*FS_RAISES, *LOCAL_RAISES))
    plain = isinstance(remote, str) and remote.startswith(ROOT + "/") and ".." not in remote
    if not isinstance(out, BaseException) and plain and not remote.endswith("/"):
        assert await F.bounded(fuzz_sandbox.filesystem.read_bytes(remote), ()) == b"local data"


# ------------------------------------------------------------------------------------------ from_dockerfile


@pytest.fixture(scope="module")
def dockerfile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("fuzz-dockerfile")
    (d / "Dockerfile").write_text(f"FROM {BUSYBOX}\nCOPY a.txt /a.txt\n")
    (d / "a.txt").write_text("a")
    return d


@F.FAST
@given(data=st.data())
def test_from_dockerfile_definition_is_an_image_or_refused(dockerfile_dir: Path, data: st.DataObject) -> None:
    path = data.draw(
        st.one_of(
            st.sampled_from([dockerfile_dir / "Dockerfile", dockerfile_dir / "missing", dockerfile_dir]),
            F.texts,
            F.anything,
        )
    )
    kw = data.draw(
        st.fixed_dictionaries(
            {},
            optional={
                "context_dir": st.one_of(st.none(), st.just(dockerfile_dir), F.texts, F.anything),
                "env": st.one_of(st.none(), F.str_dicts, F.anything),
                "build_args": st.one_of(F.str_dicts, F.anything),
                "force_build": F.anything,
                "add_python": st.one_of(st.none(), F.texts, F.anything),
                "gpu": st.one_of(st.none(), F.anything),
            },
        )
    )
    out = F.raises_only(sc.Image.from_dockerfile, (exc.InvalidError, *LOCAL_RAISES), path, **kw)
    assert isinstance(out, sc.Image | BaseException)


# ---------------------------------------------------------------------------------------------------- volumes


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzz_volume(local_dir: Path) -> AsyncIterator[sc.Volume]:
    async with sc.Volume.ephemeral() as vol:
        async with vol.batch_upload() as up:
            up.put_file(local_dir / "file", "/f")
            up.put_file(local_dir / "file", "/d/g")
        yield vol


volume_paths = st.one_of(
    st.sampled_from(["/f", "f", "/d", "/d/g", "/", "", "/missing", "/d/../f"]), F.texts, F.anything
)


@st.composite
def volume_calls(draw: st.DrawFn) -> tuple[str, list[Any], dict[str, Any]]:
    method = draw(st.sampled_from(["listdir", "read_file", "remove_file", "copy_files", "put_file"]))
    if method == "copy_files":
        srcs = draw(st.one_of(st.lists(volume_paths, max_size=3), F.anything))
        return method, [srcs, draw(volume_paths)], {"recursive": draw(F.anything)}
    if method == "put_file":
        return method, [draw(volume_paths)], {}
    if method == "read_file":
        return method, [draw(volume_paths)], {}
    return method, [draw(volume_paths)], {"recursive": draw(F.anything)}


async def call_volume(vol: sc.Volume, local: Path, method: str, args: list[Any], kw: dict[str, Any]) -> Any:
    if method == "read_file":
        return b"".join([chunk async for chunk in vol.read_file(*args)])
    if method == "put_file":
        async with vol.batch_upload(force=True) as up:
            up.put_file(local / "file", *args)
        return None
    return await getattr(vol, method)(*args, **kw)


@F.ENGINE
@given(call=volume_calls())
@example(call=("copy_files", [[], "/f"], {"recursive": None}))  # found: cp's usage text as a ServiceError
@example(call=("listdir", [None], {"recursive": None}))  # found: a raw AttributeError
async def test_volume_methods_end_typed(
    fuzz_volume: sc.Volume, local_dir: Path, call: tuple[str, list[Any], dict[str, Any]]
) -> None:
    await F.bounded(call_volume(fuzz_volume, local_dir, *call), (*VOLUME_RAISES, TypeError))
