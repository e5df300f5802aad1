"""Runtime mechanics of the generated facade, against the fake package (fast, no Docker)."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback

import fakecore
import fakecore_sync
import pytest
from fakecore_sync import BlockingCallInEventLoopError, ForkedObjectError, Sandbox

from sandbox_core.exception import AsyncUsageWarning, InvalidError
from sandbox_core_sync import _runtime as rt

from .conftest import REPO, subprocess_env


def _wait_for(predicate: object, timeout: float = 10.0) -> None:
    """Poll a condition set by another thread (there is no event to wait on across the facade boundary)."""
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.005)


def test_blocking_call_runs_on_the_runtime_loop_thread(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)
    assert isinstance(sb, fakecore_sync.Sandbox)
    assert sb.thread_name() == rt.THREAD_NAME
    assert sb.get_tags() == {}
    assert sb.object_id == fake_name


def test_classmethod_staticmethod_and_module_function(fake_name: str) -> None:
    Sandbox.create(name=fake_name)
    assert Sandbox.count() >= 1
    assert Sandbox.from_id(fake_name).object_id == fake_name
    assert fakecore_sync.sweep() >= 1


def test_returned_objects_are_wrapped_with_stable_identity(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)
    p = sb.exec("a", "b")
    assert isinstance(p, fakecore_sync.ContainerProcess)
    assert isinstance(p.stdout, fakecore_sync.StreamReader)
    assert p.stdout is p.stdout
    assert p.sandbox is sb
    assert Sandbox.from_id(fake_name) is sb
    assert list(p.stdout) == ["a\n", "b\n"]
    assert p.wait() == 0
    assert p.returncode == 0


def test_wrapped_values_in_containers_are_unwrapped_and_rewrapped(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)
    p1, p2 = sb.exec("x"), sb.exec("y")
    out = sb.processes([p1, p2])
    assert out[0] is p1 and out[1] is p2
    assert sb.maybe_process(None) is None
    assert sb.maybe_process(p1) is p1


def test_text_false_gives_bytes_and_next_reads_one_item(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)
    p = sb.exec("a", "b", text=False)
    assert next(p.stdout) == b"a\n"
    assert p.stdout.read() == b"b\n"
    with pytest.raises(StopIteration):
        next(p.stdout)


def test_value_types_and_exceptions_are_the_same_objects(fake_name: str) -> None:
    assert fakecore_sync.Info is fakecore.Info
    assert fakecore_sync.StreamType is fakecore.StreamType
    assert fakecore_sync.exception.NotFoundError is fakecore.exception.NotFoundError
    sb = Sandbox.create(name=fake_name, tags={"k": "v"})
    assert sb.info == fakecore.Info(fake_name, {"k": "v"})


def test_exception_is_reraised_with_a_clean_traceback(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)
    with pytest.raises(fakecore.exception.NotFoundError, match="nope") as info:
        sb.fail("nope")
    files = [frame.filename for frame in traceback.extract_tb(info.value.__traceback__)]
    assert any(f.endswith(os.path.join("fakecore", "sandbox.py")) for f in files), files
    assert not any(os.sep + "concurrent" + os.sep in f or os.sep + "asyncio" + os.sep in f for f in files), files
    assert files.count(rt.__file__) == 1, files  # only the frame that re-raises (run_sync)


def test_full_tracebacks_on_request(fake_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_SYNC_FULL_TRACEBACK", "1")
    sb = Sandbox.create(name=fake_name)
    with pytest.raises(fakecore.exception.NotFoundError) as info:
        sb.fail("nope")
    files = [frame.filename for frame in traceback.extract_tb(info.value.__traceback__)]
    assert any(os.sep + "concurrent" + os.sep in f for f in files), files


def test_wrapper_classes_have_no_constructor() -> None:
    with pytest.raises(InvalidError, match="Class Sandbox has no constructor"):
        Sandbox()


def test_a_listed_constructor_builds_the_implementation_on_the_loop_thread() -> None:
    g = fakecore_sync.Group("g", size=3)
    assert isinstance(g._impl, fakecore.Group) and g._impl.built_in == rt.THREAD_NAME
    assert g.describe() == "g:3"  # the implementation is bound to the runtime's loop
    assert g.name == "g"
    assert g._experimental_self is g  # listed in private_members
    assert not hasattr(g, "_internal")
    with pytest.raises(TypeError):
        fakecore_sync.Group()  # type: ignore[call-arg]


def test_a_method_returning_a_context_manager_gives_with_and_async_with(events: list[tuple[str, str]]) -> None:
    g = fakecore_sync.Group("g")
    with g.run(label="sync") as got:
        assert got is g
        assert events == [("enter", "sync")]
    assert events[-1] == ("exit", "sync:ok")

    async def main() -> None:
        async with g.run.aio(label="async") as got:
            assert got is g
        with pytest.raises(ValueError, match="boom"):
            async with g.run.aio(label="fails"):
                raise ValueError("boom")

    asyncio.run(main())
    assert events[-3:] == [("exit", "async:ok"), ("enter", "fails"), ("exit", "fails:ValueError")]
    with g.run(label="ctrl-c"):  # __aexit__ returning True suppresses, as with any context manager
        raise KeyboardInterrupt
    assert events[-1] == ("exit", "ctrl-c:KeyboardInterrupt")


def test_generator_is_closed_on_early_break(fake_name: str, events: list[tuple[str, str]]) -> None:
    sb = Sandbox.create(name=fake_name)
    seen = []
    for ev in sb.watch("/p", limit=100):
        seen.append(ev)
        break
    assert seen == ["/p:0"]
    assert ("aclose", "/p") in events  # the implementation's finally ran before the loop statement finished
    assert [s.object_id for s in Sandbox.list(tags={})] != []
    gen = Sandbox.list()
    assert isinstance(next(gen), fakecore_sync.Sandbox)
    gen.close()
    assert ("aclose", "list") in events


def test_generator_runs_to_completion(fake_name: str, events: list[tuple[str, str]]) -> None:
    sb = Sandbox.create(name=fake_name)
    assert list(sb.watch("/q", limit=3)) == ["/q:0", "/q:1", "/q:2"]
    assert ("aclose", "/q") in events


def test_async_context_manager_is_a_sync_context_manager(fake_name: str, events: list[tuple[str, str]]) -> None:
    sb = Sandbox.create(name=fake_name)
    with sb.open("/x", "w") as f:
        assert isinstance(f, fakecore_sync.FileIO)
        f.write("hello")
    assert ("closed", "/x") in events

    def read_then_fail() -> None:
        with sb.open("/x") as f:
            assert f.read() == "hello"
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        read_then_fail()
    assert events.count(("closed", "/x")) == 2


def test_sync_methods_run_on_the_loop_unless_thread_safe(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name, tags={"a": "b"})
    assert sb.label("a") == "b"
    p = sb.exec("x")
    p.stdin.write("abc")  # thread-safe: runs in this thread
    p.stdin.drain()
    p.stdin.write_eof()  # loop-bound (checks its loop): runs on the loop thread
    impl = p.stdin._impl
    assert impl.written == [b"abc"] and impl.closed


def test_aio_from_asyncio_run(fake_name: str, events: list[tuple[str, str]]) -> None:
    async def main() -> None:
        sb = await Sandbox.create.aio(name=fake_name)
        assert await sb.thread_name.aio() == rt.THREAD_NAME
        p = await sb.exec.aio("a", "b")
        assert [line async for line in p.stdout] == ["a\n", "b\n"]
        assert await p.wait.aio() == 0
        assert [s async for s in sb.watch.aio("/w", limit=2)] == ["/w:0", "/w:1"]
        assert fake_name in [s.object_id async for s in Sandbox.list.aio()]
        async with await sb.open.aio("/y", "w") as f:
            await f.write.aio("z")
        with pytest.raises(fakecore.exception.NotFoundError):
            await sb.fail.aio("x")
        p2 = await sb.exec.aio("c")
        assert await anext(p2.stdout) == "c\n"

    asyncio.run(main())
    assert ("aclose", "/w") in events and ("closed", "/y") in events


def test_aio_cancellation_is_forwarded_and_waits_for_cleanup(fake_name: str, events: list[tuple[str, str]]) -> None:
    async def main() -> None:
        sb = await Sandbox.create.aio(name=fake_name)
        task = asyncio.create_task(sb.sleep.aio(30, cleanup_seconds=0.05))
        while ("sleeping", fake_name) not in events:  # noqa: ASYNC110 - set on the runtime's loop, not ours
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert ("cleanup", fake_name) in events  # cleanup finished before the caller saw CancelledError

    asyncio.run(main())


async def test_blocking_call_inside_a_running_loop_warns_and_runs(fake_name: str) -> None:
    """Modal's behaviour (details in test_sync_warnings): AsyncUsageWarning, then the call runs."""
    sb = await Sandbox.create.aio(name=fake_name)
    with pytest.warns(AsyncUsageWarning, match=r"await sb\.noop\.aio\(\)"):
        assert sb.noop() == 1
    with pytest.warns(AsyncUsageWarning, match=r"await Sandbox\.create\.aio\("):
        assert Sandbox.create(name=fake_name + "-2").object_id == fake_name + "-2"
    with pytest.warns(AsyncUsageWarning, match=r"async for"):
        assert list(sb.watch("/p")) == ["/p:0", "/p:1", "/p:2"]
    assert await sb.noop.aio() == 1


def test_blocking_call_on_the_runtime_loop_thread_raises(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)

    async def on_loop() -> str:
        try:
            sb.noop()
        except BlockingCallInEventLoopError as e:
            return str(e)
        return "no error"

    message = rt.run_sync(on_loop())
    assert "own event-loop thread" in message and ".aio" in message


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="needs the main thread")
def test_ctrl_c_cancels_the_coroutine_and_waits_for_its_cleanup(fake_name: str, events: list[tuple[str, str]]) -> None:
    sb = Sandbox.create(name=fake_name)
    main = threading.get_ident()

    def interrupt() -> None:
        _wait_for(lambda: ("sleeping", fake_name) in events)
        signal.pthread_kill(main, signal.SIGINT)

    t = threading.Thread(target=interrupt)
    t.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            sb.sleep(30, cleanup_seconds=0.2)
        # The cancelled coroutine's async cleanup completed before KeyboardInterrupt reached us.
        assert ("cleanup", fake_name) in events
    finally:
        t.join()
    assert sb.noop() == 1  # the runtime is still usable


def test_many_threads_at_once(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)
    errors: list[BaseException] = []
    results: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        try:
            for _ in range(50):
                assert sb.noop() == 1
            p = sb.exec(str(i))
            assert p.stdout.read() == f"{i}\n"
            assert p.wait() == 0
            with lock:
                results.append(i)
        except BaseException as e:
            with lock:
                errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(results) == list(range(16))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_objects_from_the_parent_fail_fast_after_fork_and_new_ones_work(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)
    assert sb.noop() == 1
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report through the pipe, never return into pytest
        code = 1
        try:
            os.close(r)
            try:
                sb.noop()
                result = "parent object worked"
            except ForkedObjectError:
                assert sb.object_id == fake_name  # plain values stay readable, to look objects up again
                child = Sandbox.create(name=fake_name + "-child")
                result = "ok" if child.noop() == 1 and child.thread_name() == rt.THREAD_NAME else "child failed"
            os.write(w, result.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r) as f:
        result = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert result == "ok"
    assert sb.noop() == 1  # the parent is unaffected


def test_interpreter_exit_is_bounded_with_calls_in_flight() -> None:
    script = textwrap.dedent(
        """
        import threading
        from fakecore_sync import Sandbox
        from sandbox_core_sync import _runtime
        Sandbox.create(name="before").noop()
        _runtime.shutdown()  # stops the loop thread; the next call starts a new one
        assert _runtime.loop_thread_id() is None
        sb = Sandbox.create(name="exit")
        threading.Thread(target=lambda: sb.sleep(3600), daemon=True).start()
        print(sb.noop(), flush=True)
        """
    )
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=subprocess_env(), cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1"
    # Leftover tasks are cancelled at exit; the join is bounded (EXIT_JOIN_TIMEOUT), so the exit cannot hang.
    assert time.monotonic() - start < 30


def test_wrappers_are_collected_when_unused(fake_name: str) -> None:
    sb = Sandbox.create(name=fake_name)
    p = sb.exec("a")
    key = id(p._impl)
    del p
    gc.collect()
    assert key not in rt._cache


def test_an_interrupt_before_the_task_exists_means_the_call_never_runs() -> None:
    ran: list[bool] = []

    async def work() -> None:
        ran.append(True)

    coro = work()
    call = rt._Call()
    call.task = None
    rt._interrupt(call, coro)  # Ctrl-C landed before _start was scheduled
    assert call.cancelled()
    assert coro.cr_frame is None  # closed: no "never awaited" warning, and it can never start
    loop = rt._LT.get()
    loop.call_soon_threadsafe(rt._start, loop, work(), call, None)  # a late _start sees the cancelled call
    assert rt.run_sync(asyncio.sleep(0.01, result="after")) == "after"
    assert ran == []


def test_iteration_uses_the_iterators_facade_step_when_it_has_one() -> None:
    """A step costs a thread crossing, so an iterator offering ``_facade_anext`` (StreamReader: everything buffered)
    is stepped through it; one without is stepped through ``__anext__``."""

    class Plain:
        def __init__(self) -> None:
            self.left = [b"a", b"b"]

        def __aiter__(self) -> Plain:
            return self

        async def __anext__(self) -> bytes:
            if not self.left:
                raise StopAsyncIteration
            return self.left.pop(0)

    class Batching(Plain):
        async def _facade_anext(self) -> bytes:
            if not self.left:
                raise StopAsyncIteration
            out, self.left = b"".join(self.left), []
            return out

    assert list(rt.iter_sync(Plain)) == [b"a", b"b"]
    assert list(rt.iter_sync(Batching)) == [b"ab"]
    it = Batching()
    assert rt.next_sync(it) == b"ab"
    with pytest.raises(StopIteration):
        rt.next_sync(it)
