"""Property tests over the arguments of ``Sandbox.exec`` and of ``sb.filesystem`` against one real sandbox shared by
the module (issue 17, fuzzing): each call ends, within a bounded time, in success or in the typed errors listed for
it here; an exec that starts also ends (its ``wait()`` is bounded too)."""

from __future__ import annotations

import time
import warnings
from collections.abc import AsyncIterator
from types import SimpleNamespace
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

# A bad exec argument is an InvalidError, raised before anything runs; as Modal's, a ``stdout``/``stderr`` that is no
# StreamType and ``bufsize=1`` without ``text`` are a ValueError.
EXEC_RAISES: tuple[type[BaseException], ...] = (exc.InvalidError,)
EXEC_VALUE_ERROR_FROM = {"stdout", "stderr", "bufsize"}
# A filesystem call fails with Modal's SandboxFilesystem* errors for what the path is (missing, a directory…), and
# InvalidError for an argument that is not a path or data at all.
FS_RAISES: tuple[type[BaseException], ...] = (exc.SandboxFilesystemError, exc.InvalidError)
# As Modal's, write_bytes/write_text raise TypeError for data that is not bytes-like/str.
WRITE_DATA = {"write_bytes": bytes | bytearray | memoryview, "write_text": str}

ROOT = "/tmp/fz"
# Paths under ROOT (so removes stay there) and any absolute or relative text; reads may name any path at all.
under_root = st.one_of(F.texts.map(lambda t: f"{ROOT}/{t}"), st.just(ROOT), st.just(ROOT + "/"))
any_path = st.one_of(under_root, F.texts, F.anything, st.sampled_from(["/dev/zero", "/proc/self/mem", "/", "/etc"]))
datas = st.one_of(st.binary(max_size=4096), F.texts, F.anything)

EXEC_KEYWORDS: dict[str, st.SearchStrategy[Any]] = {
    "stdout": F.anything,
    "stderr": F.anything,
    "timeout": st.one_of(F.numbers, F.anything),
    "workdir": st.one_of(F.texts, under_root, F.anything),
    "env": st.one_of(F.str_dicts, F.anything),
    "secrets": st.one_of(st.lists(F.anything, max_size=2), F.anything),
    "text": F.anything,
    "bufsize": st.one_of(st.sampled_from([-1, 1, 0, 2]), F.anything),
    "pty": F.anything,
    "pty_info": st.one_of(st.builds(SimpleNamespace, winsz_rows=F.numbers, winsz_cols=F.numbers), F.anything),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzz_sandbox() -> AsyncIterator[sc.Sandbox]:
    app = await sc.App.lookup(app_name(f"fuzz-sandbox-{time.monotonic_ns()}"), create_if_missing=True)
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), timeout=900)
    try:
        await (await sb.exec("mkdir", "-p", ROOT)).wait()
        yield sb
    finally:
        await sb.terminate()


@st.composite
def exec_calls(draw: st.DrawFn) -> tuple[list[Any], dict[str, Any]]:
    # a harmless program whose arguments are fuzzed (a fuzzed program name could be any busybox applet), or any
    # argument list at all when it cannot name a program
    args = draw(
        st.one_of(
            st.lists(F.texts, max_size=4).map(lambda a: ["echo", *a]),
            st.lists(F.anything, min_size=1, max_size=3).filter(lambda a: not isinstance(a[0], str)),
            st.just([]),
        )
    )
    chosen = draw(st.lists(st.sampled_from(sorted(EXEC_KEYWORDS)), max_size=3, unique=True))
    return args, {k: draw(EXEC_KEYWORDS[k]) for k in chosen}


async def check_exec(sb: sc.Sandbox, args: list[Any], kw: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pty_info is deprecated and warns, as Modal's does
        kinds = (*EXEC_RAISES, ValueError) if EXEC_VALUE_ERROR_FROM & set(kw) else EXEC_RAISES
        out = await F.bounded(sb.exec(*args, **kw), kinds)
    if isinstance(out, BaseException):
        return
    code = await F.bounded(out.wait(), ())
    assert isinstance(code, int)


@F.ENGINE
@given(call=exec_calls())
@example(call=([], {}))  # found: the agent's generic Error
@example(call=(["echo", "a\0b"], {}))  # found: the agent's generic Error
async def test_exec_arguments_end_typed(fuzz_sandbox: sc.Sandbox, call: tuple[list[Any], dict[str, Any]]) -> None:
    await check_exec(fuzz_sandbox, *call)


@pytest.mark.slow
@F.SLOW_ENGINE
@given(call=exec_calls())
async def test_exec_arguments_end_typed_many(fuzz_sandbox: sc.Sandbox, call: tuple[list[Any], dict[str, Any]]) -> None:
    await check_exec(fuzz_sandbox, *call)


@st.composite
def fs_calls(draw: st.DrawFn) -> tuple[str, list[Any], dict[str, Any]]:
    method = draw(
        st.sampled_from(
            ["read_bytes", "read_text", "write_bytes", "write_text", "make_directory", "stat", "list_files", "remove"]
        )
    )
    if method in ("write_bytes", "write_text"):
        return method, [draw(datas), draw(st.one_of(under_root, F.anything))], {}
    if method == "make_directory":
        return method, [draw(st.one_of(under_root, F.anything))], {"create_parents": draw(F.anything)}
    if method == "remove":
        return method, [draw(st.one_of(under_root, F.anything))], {"recursive": draw(F.anything)}
    return method, [draw(any_path)], {}


async def check_fs(sb: sc.Sandbox, method: str, args: list[Any], kw: dict[str, Any]) -> None:
    wrong_data = method in WRITE_DATA and not isinstance(args[0], WRITE_DATA[method])
    kinds = (*FS_RAISES, TypeError) if wrong_data else FS_RAISES
    out = await F.bounded(getattr(sb.filesystem, method)(*args, **kw), kinds)
    # read back what was written; paths with ``..`` or a trailing ``/`` are left out (a write resolves them by
    # name, a read through the kernel: they may differ, e.g. ``a/../b`` with no ``a``)
    plain = isinstance(args[-1], str) and ".." not in args[-1] and not args[-1].endswith("/")
    if method == "write_bytes" and not isinstance(out, BaseException) and plain:
        assert await F.bounded(sb.filesystem.read_bytes(args[1]), ()) == bytes(args[0])


@F.ENGINE
@given(call=fs_calls())
@example(call=("make_directory", [f"{ROOT}/x"], {"create_parents": b""}))  # found: a raw TypeError (JSON)
@example(call=("remove", [f"{ROOT}/x"], {"recursive": b""}))
async def test_filesystem_arguments_end_typed(
    fuzz_sandbox: sc.Sandbox, call: tuple[str, list[Any], dict[str, Any]]
) -> None:
    await check_fs(fuzz_sandbox, *call)


@pytest.mark.slow
@F.SLOW_ENGINE
@given(call=fs_calls())
async def test_filesystem_arguments_end_typed_many(
    fuzz_sandbox: sc.Sandbox, call: tuple[str, list[Any], dict[str, Any]]
) -> None:
    await check_fs(fuzz_sandbox, *call)
