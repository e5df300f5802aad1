"""The filesystem through the blocking facade: ``with sb.open(...) as f`` and ``for ev in sb.filesystem.watch(...)``."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

import sandbox_core_sync as sync
from tests.conftest import BUSYBOX, app_name

pytestmark = pytest.mark.usefixtures("engine")


@pytest.fixture(scope="module")
def sb() -> Iterator[sync.Sandbox]:
    app = sync.App.lookup(app_name("fs-sync"), create_if_missing=True)
    s = sync.Sandbox.create(app=app, image=sync.Image.from_registry(BUSYBOX), timeout=300)
    try:
        yield s
    finally:
        s.terminate()


@pytest.mark.filterwarnings("ignore::sandbox_core.exception.DeprecationError")
def test_with_open_as_f(sb: sync.Sandbox) -> None:
    with sb.open("/tmp/sync/f.txt", "w") as f:
        f.write("line 1\n")
        f.write("line 2\n")
    with sb.open("/tmp/sync/f.txt") as f:
        assert f.readline() == "line 1\n"
        assert f.read() == "line 2\n"
    assert sb.filesystem.read_text("/tmp/sync/f.txt") == "line 1\nline 2\n"
    with pytest.raises(ValueError, match="I/O operation on closed file"):
        f.read()


def test_for_event_in_watch_and_break(sb: sync.Sandbox) -> None:
    fs = sb.filesystem
    fs.make_directory("/tmp/syncw")
    stop = threading.Event()

    def keep_creating() -> None:  # the blocking watch has no "ready" signal: create until one is seen
        i = 0
        while not stop.is_set():
            fs.write_text("x", f"/tmp/syncw/f{i}")
            i += 1
            stop.wait(0.3)

    writer = threading.Thread(target=keep_creating)
    writer.start()
    try:
        for event in fs.watch("/tmp/syncw"):
            # The watch may start in the middle of a write (its Modify or Access come first): wait for a Create.
            assert event.paths[0].startswith("/tmp/syncw/f")
            if event.type == sync.FileWatchEventType.Create:
                break
    finally:
        stop.set()
        writer.join()
    t0 = time.monotonic()
    assert list(fs.watch("/tmp/syncw", timeout=1, filter=[])) == []
    assert time.monotonic() - t0 < 5
    infos = fs.list_files("/tmp/syncw")
    assert infos and all(isinstance(i, sync.FileInfo) and i.is_file() for i in infos)
