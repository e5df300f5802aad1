"""Warnings through the facade (fast, no Docker): AsyncUsageWarning for blocking calls inside a running loop, and
the implementation's warnings attributed to the caller's line in both call styles."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import types
import warnings
from pathlib import Path

import fakecore
import pytest
from fakecore_sync import BlockingCallInEventLoopError, Sandbox

from sandbox_core import _warnings
from sandbox_core.exception import AsyncUsageWarning, DeprecationError
from sandbox_core_sync import _runtime as rt
from sandbox_core_sync import _usage

from .conftest import REPO, subprocess_env


def _line(offset: int = 1) -> int:
    """The caller's current line plus ``offset`` (where the call under test is)."""
    return sys._getframe(1).f_lineno + offset


def _only(caught: list[warnings.WarningMessage], category: type[Warning]) -> warnings.WarningMessage:
    found = [w for w in caught if issubclass(w.category, category)]
    assert len(found) == 1, [str(w.message) for w in caught]
    return found[0]


# --------------------------------------------------------------------------------------------- AsyncUsageWarning


async def test_a_blocking_call_in_a_running_loop_warns_at_the_callers_line_and_runs(fake_name: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        line = _line()
        sb = Sandbox.create(name=fake_name)
    assert sb.object_id == fake_name  # it ran
    w = _only(caught, AsyncUsageWarning)
    assert (w.filename, w.lineno) == (__file__, line)
    text = str(w.message)
    assert text.startswith("A blocking sandbox_core_sync interface is being used in an async context.")
    assert "Suggested rewrite:\n  sb = await Sandbox.create.aio(name=fake_name)\n\nOriginal line:" in text
    assert issubclass(AsyncUsageWarning, UserWarning)


async def test_the_warning_is_shown_once_per_call_site(fake_name: str) -> None:
    sb = await Sandbox.create.aio(name=fake_name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            assert sb.noop() == 1
        assert sb.noop() == 1
    assert [w.category for w in caught] == [AsyncUsageWarning, AsyncUsageWarning]
    assert caught[1].lineno == caught[0].lineno + 1


async def test_iteration_with_and_next_get_their_own_rewrites(fake_name: str) -> None:
    sb = await Sandbox.create.aio(name=fake_name)
    p = await sb.exec.aio("a", "b", "c")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for event in sb.watch("/p"):
            assert event.startswith("/p:")
        assert next(p.stdout) == "a\n"
        for line in p.stdout:
            assert line in ("b\n", "c\n")
        with sb.open("/f", "w") as f:
            f.write("x")
    hints = [str(w.message).split("Suggested rewrite:\n  ")[1].split("\n")[0] for w in caught]
    # One warning per line: the steps of an iteration and __exit__ do not warn again, and the ``with`` line warns
    # once for the open() call and its __enter__ together.
    assert hints == [
        'async for event in sb.watch.aio("/p"):',
        'assert await anext(p.stdout) == "a\\n"',
        "async for line in p.stdout:",
        'async with await sb.open.aio("/f", "w") as f:',
        'await f.write.aio("x")',
    ]


@pytest.mark.parametrize(
    ("line", "name", "kind", "hint"),
    [
        ("p = sb.exec('ls', text=False)", "exec", "call", "p = await sb.exec.aio('ls', text=False)"),
        ("x = f(sb.poll(), 2)", "poll", "call", "x = f(await sb.poll.aio(), 2)"),
        ("app = sc.App.lookup('x', create_if_missing=True)", "lookup", "call",
         "app = await sc.App.lookup.aio('x', create_if_missing=True)"),
        ("ok = a or sb.poll()", "poll", "call", "await ...poll.aio(...)"),
        ("if sb.poll() is None:", "poll", "call", "await ...poll.aio(...)"),
        ("    'sleep', '1')", "create", "call", "await ...create.aio(...)"),  # a continuation line
        ("for s in Sandbox.list(app_id=a):", "list", "iter", "async for s in Sandbox.list.aio(app_id=a):"),
        ("items = list(sb.watch('/p'))", "watch", "iter", "async for ... in ...watch.aio(...)"),
        ("with f:", "__aenter__", "enter", "async with f:"),
        ("r = f('é', sb.exec('ü'))", "exec", "call", "r = f('é', await sb.exec.aio('ü'))"),
    ],
)  # fmt: skip
def test_suggested_rewrites(line: str, name: str, kind: str, hint: str) -> None:
    assert _usage.suggest(line, name, kind) == hint


@pytest.mark.filterwarnings("error::sandbox_core.exception.AsyncUsageWarning")
async def test_strict_mode_by_filterwarnings_raises_before_anything_runs(fake_name: str) -> None:
    with pytest.raises(AsyncUsageWarning, match=r"await Sandbox\.create\.aio\(name=fake_name\)"):
        Sandbox.create(name=fake_name)
    assert fake_name not in [s.object_id async for s in Sandbox.list.aio()]


async def test_strict_mode_by_simplefilter_raises_and_leaves_no_unawaited_coroutine(fake_name: str) -> None:
    sb = await Sandbox.create.aio(name=fake_name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error", AsyncUsageWarning)
        warnings.simplefilter("default", RuntimeWarning)
        with pytest.raises(AsyncUsageWarning):
            sb.deprecated()
        with pytest.raises(AsyncUsageWarning):
            list(sb.watch("/p"))
        gc.collect()
    assert caught == []  # no "coroutine ... was never awaited"
    assert ("deprecated-ran", fake_name) not in fakecore.sandbox.EVENTS


W_SCRIPT = """
import asyncio
from fakecore_sync import Sandbox

async def main():
    sb = Sandbox.create(name="w-option")
    print("reached", sb.object_id)

asyncio.run(main())
"""


@pytest.mark.parametrize(
    ("how", "option"),
    [
        ("-W", "error::sandbox_core.exception.AsyncUsageWarning"),
        ("-W", "error::sandbox_core_sync.exception.AsyncUsageWarning"),
        ("PYTHONWARNINGS", "error::sandbox_core_sync.exception.AsyncUsageWarning"),
        ("-W", "ignore::sandbox_core.exception.AsyncUsageWarning"),
    ],
)
def test_strict_mode_by_the_W_option_and_PYTHONWARNINGS(tmp_path: Path, how: str, option: str) -> None:
    """Python drops such options at startup (before site-packages import); sandbox_core applies them itself."""
    script = tmp_path / "prog.py"
    script.write_text(W_SCRIPT)
    env = subprocess_env()
    cmd = [sys.executable, str(script)]
    if how == "-W":
        cmd[1:1] = ["-W", option]
    else:
        env["PYTHONWARNINGS"] = option
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=60)
    if option.startswith("ignore"):
        assert proc.returncode == 0, proc.stderr
        assert "reached w-option" in proc.stdout and "AsyncUsageWarning" not in proc.stderr
        return
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "reached" not in proc.stdout
    assert "sandbox_core.exception.AsyncUsageWarning: A blocking sandbox_core_sync interface" in proc.stderr
    assert 'sb = await Sandbox.create.aio(name="w-option")' in proc.stderr


async def test_no_warning_in_an_interactive_ipython_session(fake_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: object()))
    with warnings.catch_warnings():
        warnings.simplefilter("error", AsyncUsageWarning)
        assert Sandbox.create(name=fake_name).object_id == fake_name


def test_a_blocking_call_on_the_facades_own_loop_thread_still_raises(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)

    async def on_loop() -> str:
        with pytest.raises(BlockingCallInEventLoopError, match="own event-loop thread"):
            list(sb.watch("/p"))
        try:
            sb.noop()
        except BlockingCallInEventLoopError as e:
            return str(e)
        return "no error"

    assert "would deadlock" in rt.run_sync(on_loop())


# --------------------------------------------------------------------------------------------- implementation warnings


def test_a_deprecation_inside_a_blocking_call_names_the_callers_line(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)
    line = _line(2)
    with pytest.warns(DeprecationError, match="`old` is deprecated") as record:
        sb.deprecated(old=1)
    w = _only(record.list, DeprecationError)
    assert (w.filename, w.lineno) == (__file__, line)
    line = _line(2)
    with pytest.warns(DeprecationError) as record:  # emitted by a task the call gathered
        sb.deprecated(old=1, in_subtask=True)
    w = _only(record.list, DeprecationError)
    assert (w.filename, w.lineno) == (__file__, line)


def test_a_deprecation_inside_an_aio_call_names_the_await_line(fake_name: str) -> None:
    async def main() -> tuple[str, int, int]:
        sb = await Sandbox.create.aio(name=fake_name)
        line = _line(2)
        with pytest.warns(DeprecationError) as record:
            await sb.deprecated.aio(old=1)
        w = _only(record.list, DeprecationError)
        return w.filename, w.lineno, line

    filename, lineno, line = asyncio.run(main())
    assert (filename, lineno) == (__file__, line)


def test_a_deprecation_during_iteration_names_the_for_line(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        line = _line()
        for item in sb.noisy():
            assert item in ("a", "b")
    w = _only(caught, DeprecationError)
    assert (w.filename, w.lineno) == (__file__, line)


def test_the_caller_module_registry_shows_it_once_per_line_and_error_stops_the_call(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for _ in range(3):
            sb.deprecated(old=1)
    assert len(caught) == 1
    fakecore.sandbox.EVENTS.clear()
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=DeprecationError, module=__name__)
        with pytest.raises(DeprecationError, match="`old` is deprecated"):
            sb.deprecated(old=1)
    assert ("deprecated-ran", fake_name) not in fakecore.sandbox.EVENTS  # raised where it was emitted
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        warnings.filterwarnings("error", category=DeprecationError, module="some_other_module")
        sb.deprecated(old=1)  # the module pattern is matched against the caller's module: not an error here
    assert len(caught) == 1


def test_a_task_left_running_by_a_call_does_not_keep_or_blame_the_callers_frame(
    fake_name: str, events: list[tuple[str, str]]
) -> None:
    sb = Sandbox.create(name=fake_name)
    sb.warn_later()
    with pytest.warns(DeprecationError, match="`later` is deprecated") as record:
        sb.release()
    assert ("origin-frame", "none") in events  # the frame of the warn_later() call was released when it returned
    assert record.list[0].filename != __file__


def test_the_async_api_names_the_await_line_directly() -> None:
    async def main() -> tuple[str, int, int]:
        sb = await fakecore.Sandbox.create(name="direct")
        line = _line(2)
        with pytest.warns(DeprecationError) as record:
            await sb.deprecated(old=1, in_subtask=False)
        w = _only(record.list, DeprecationError)
        await sb.terminate()
        return w.filename, w.lineno, line

    filename, lineno, line = asyncio.run(main())
    assert (filename, lineno) == (__file__, line)


def test_user_frame_skips_library_and_asyncio_frames() -> None:
    assert _warnings.user_frame(sys._getframe()) is sys._getframe()
    assert _warnings.user_frame(None) is None
    frame = rt.call_sync(sys._getframe)  # a frame on the loop thread: only asyncio/threading/runtime frames
    assert _warnings.user_frame(frame) is None


def test_library_code_emits_warnings_only_through_the_locating_helper() -> None:
    """``warnings.warn(..., stacklevel=n)`` cannot name the user's line through the facade: use _warnings.warn."""
    import ast
    from pathlib import Path

    import sandbox_core

    offenders = []
    for root in (Path(sandbox_core.__file__).parent, Path(rt.__file__).parent):
        for path in root.rglob("*.py"):
            if path.name == "_warnings.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                called = ast.unparse(node.func) if isinstance(node, ast.Call) else ""
                if called.rpartition(".")[2] in ("warn", "warn_explicit") and called != "_warnings.warn":
                    offenders.append(f"{path.name}:{node.lineno}: {called}")
    assert offenders == []
