"""The blocking facade against the real engine: every wrapped class, both call styles, Ctrl-C, fork and threads."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator

import pytest

import sandbox_core
import sandbox_core_sync
from sandbox_core._engine import labels as L
from sandbox_core_sync import App, ContainerProcess, ForkedObjectError, Sandbox
from tests.conftest import BUSYBOX, REPO, app_name

pytestmark = pytest.mark.usefixtures("engine")

APP = app_name("sync")


@pytest.fixture(scope="module")
def sync_app() -> App:
    app = App.lookup(APP, create_if_missing=True)
    assert isinstance(app, sandbox_core_sync.App)
    return app


@pytest.fixture(scope="module")
def sb(sync_app: App) -> Iterator[Sandbox]:
    """One running busybox sandbox shared by the read-only tests of this module."""
    sandbox = Sandbox.create(
        "sleep", "600", app=sync_app, image=sandbox_core_sync.Image.from_registry(BUSYBOX), timeout=600
    )
    try:
        yield sandbox
    finally:
        sandbox.terminate()


@pytest.fixture
def own_sb(sync_app: App) -> Iterator[Sandbox]:
    """A sandbox for one test that changes its state."""
    sandbox = Sandbox.create("sleep", "600", app=sync_app, timeout=300)
    try:
        yield sandbox
    finally:
        sandbox.terminate()


def _running_containers(sandbox_id: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-q", "--filter", f"label={L.SANDBOX_ID}={sandbox_id}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def test_exec_returns_wrapped_process_whose_streams_read_and_wait(sb: Sandbox) -> None:
    p = sb.exec("sh", "-c", "echo out; echo err >&2; exit 3")
    assert isinstance(p, ContainerProcess)
    assert isinstance(p.stdout, sandbox_core_sync.StreamReader)
    assert p.stdout is p.stdout
    assert p.stdout.read() == "out\n"
    assert p.stderr.read() == "err\n"
    assert p.wait() == 3
    assert p.returncode == 3


def test_iterating_stdout_yields_lines_then_ends(sb: Sandbox) -> None:
    p = sb.exec("sh", "-c", "for i in 1 2 3; do echo line$i; done", bufsize=1)
    assert list(p.stdout) == ["line1\n", "line2\n", "line3\n"]
    assert p.wait() == 0


def test_next_and_bytes_mode(sb: Sandbox) -> None:
    p = sb.exec("sh", "-c", "echo a; sleep 0.2; echo b", text=False)
    first = next(p.stdout)
    assert isinstance(first, bytes) and first.startswith(b"a")
    assert b"".join([first, *p.stdout]) == b"a\nb\n"
    assert p.wait() == 0


def test_stdin_write_eof_drain(sb: Sandbox) -> None:
    p = sb.exec("cat")
    assert isinstance(p.stdin, sandbox_core_sync.StreamWriter)
    p.stdin.write("hello\n")
    p.stdin.writelines([b"bytes\n"])
    p.stdin.write_eof()
    p.stdin.drain()
    assert p.stdout.read() == "hello\nbytes\n"
    assert p.wait() == 0


def test_lookups_list_and_tags(sb: Sandbox, sync_app: App) -> None:
    again = Sandbox.from_id(sb.object_id)
    assert isinstance(again, Sandbox) and again.object_id == sb.object_id
    assert sb.poll() is None
    sb.set_tags({"suite": "sync"})
    assert again.get_tags() == {"suite": "sync"}
    listed = [s.object_id for s in Sandbox.list(app_id=sync_app.app_id, tags={"suite": "sync"})]
    assert listed == [sb.object_id]
    for found in Sandbox.list(app_id=sync_app.app_id):  # leaving the generator early closes it cleanly
        assert isinstance(found, Sandbox)
        break
    assert sb.hydrate() is sb


def test_terminate_then_wait_reports_the_signal(own_sb: Sandbox) -> None:
    own_sb.terminate()
    own_sb.wait(raise_on_termination=False)
    assert own_sb.returncode == 137
    with pytest.raises(sandbox_core.exception.SandboxTerminatedError):
        own_sb.wait()
    assert _running_containers(own_sb.object_id) == []


def test_exceptions_are_the_implementation_classes(sb: Sandbox) -> None:
    assert sandbox_core_sync.exception.NotFoundError is sandbox_core.exception.NotFoundError
    with pytest.raises(sandbox_core.exception.NotFoundError):
        Sandbox.from_id("sb-doesnotexist0000000000")


def test_open_is_a_sync_context_manager(sb: Sandbox) -> None:
    def roundtrip() -> str:
        with sb.open("/tmp/sync-facade.txt", "w") as f:
            assert isinstance(f, sandbox_core_sync.FileIO)
            f.write("written through the facade")
        with sb.open("/tmp/sync-facade.txt", "r") as f:
            return f.read()

    with pytest.warns(sandbox_core.exception.DeprecationError):  # Sandbox.open is deprecated, as in Modal
        text = roundtrip()
    assert text == "written through the facade"


def test_aio_forms_from_asyncio_run(sync_app: App) -> None:
    async def main() -> None:
        sandbox = await Sandbox.create.aio("sleep", "600", app=sync_app, timeout=300)
        try:
            p = await sandbox.exec.aio("sh", "-c", "echo one; echo two", bufsize=1)
            assert [line async for line in p.stdout] == ["one\n", "two\n"]
            assert await p.wait.aio() == 0
            assert (await Sandbox.from_id.aio(sandbox.object_id)).object_id == sandbox.object_id
            assert sandbox.object_id in [s.object_id async for s in Sandbox.list.aio(app_id=sync_app.app_id)]
        finally:
            await sandbox.terminate.aio()
        assert await sandbox.poll.aio() == 137

    asyncio.run(main())


def test_many_threads_use_one_sandbox_at_once(sb: Sandbox) -> None:
    errors: list[BaseException] = []
    outputs: dict[int, str] = {}

    def work(i: int) -> None:
        try:
            p = sb.exec("echo", str(i))
            outputs[i] = p.stdout.read()
            assert p.wait() == 0
            assert sb.poll() is None
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert outputs == {i: f"{i}\n" for i in range(8)}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_after_fork_parent_objects_fail_fast_and_new_ones_work(sb: Sandbox) -> None:
    assert sb.poll() is None  # the runtime loop is running in the parent
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            result: dict[str, object] = {}
            try:
                sb.poll()
                result["parent_object"] = "worked"
            except ForkedObjectError as e:
                result["parent_object"] = "ForkedObjectError" if "fork" in str(e) else str(e)
            fresh = Sandbox.from_id(sb.object_id)
            result["fresh_poll"] = fresh.poll()
            p = fresh.exec("echo", "child")
            result["fresh_exec"] = p.stdout.read()
            os.write(w, json.dumps(result).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r) as f:
        result = json.loads(f.read() or "{}")
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert result == {"parent_object": "ForkedObjectError", "fresh_poll": None, "fresh_exec": "child\n"}
    assert sb.poll() is None


CTRL_C_CHILD = textwrap.dedent(
    """
    import sys, threading, time
    from sandbox_core_sync import App, Sandbox
    from sandbox_core_sync import _runtime

    app = App.lookup(sys.argv[1], create_if_missing=True)
    sb = Sandbox.create("sleep", "600", app=app, timeout=60)
    main = threading.main_thread().ident

    def announce_when_blocked() -> None:
        # Tell the parent once the main thread is inside the blocking wait() (waiting on the runtime).
        while True:
            frame = sys._current_frames().get(main)
            names = set()
            while frame is not None:
                names.add(frame.f_code.co_name)
                frame = frame.f_back
            if "run_sync" in names and "__call__" in names:
                print(sb.object_id, flush=True)
                return
            time.sleep(0.01)

    threading.Thread(target=announce_when_blocked, daemon=True).start()
    try:
        sb.wait()
    finally:
        sb.terminate()
        print("terminated", flush=True)
    """
)


def test_ctrl_c_during_a_blocking_wait_raises_keyboard_interrupt_and_leaves_no_container() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_CHILD, APP],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        sandbox_id = proc.stdout.readline().strip()
        assert sandbox_id.startswith("sb-"), proc.stderr.read() if proc.stderr else ""
        assert _running_containers(sandbox_id) != []
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "terminated" in out  # the finally block ran a blocking call after the interrupt
    assert "KeyboardInterrupt" in err
    assert proc.returncode != 0
    assert _running_containers(sandbox_id) == []


def test_filesystem_methods_and_watch_generator(sb: Sandbox) -> None:
    fs = sb.filesystem
    assert isinstance(fs, sandbox_core_sync.SandboxFilesystem)
    assert sb.filesystem is fs
    fs.make_directory("/tmp/sync-watch")
    fs.write_text("hello", "/tmp/sync-watch/a.txt")
    assert fs.read_text("/tmp/sync-watch/a.txt") == "hello"
    assert [info.path for info in fs.list_files("/tmp/sync-watch")] == ["/tmp/sync-watch/a.txt"]
    assert isinstance(fs.stat("/tmp/sync-watch/a.txt"), sandbox_core_sync.FileInfo)

    stop = threading.Event()

    def keep_changing() -> None:
        # The watch has no readiness signal through the facade: keep changing the tree until an event arrives.
        i = 0
        while not stop.is_set():
            fs.write_text(str(i), f"/tmp/sync-watch/n{i}")
            i += 1
            stop.wait(0.2)

    writer = threading.Thread(target=keep_changing)
    writer.start()
    try:
        for event in fs.watch("/tmp/sync-watch", timeout=60):
            assert isinstance(event, sandbox_core_sync.FileWatchEvent)
            break  # leaving early closes the implementation's async generator (mechanics: test_sync_runtime)
    finally:
        stop.set()
        writer.join()
    assert list(fs.watch("/tmp/sync-watch", timeout=1)) == []  # ends by itself at its timeout
