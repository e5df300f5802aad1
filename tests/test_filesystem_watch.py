"""``Sandbox.filesystem.watch`` against the real engine: create/modify/remove/rename, recursion, filters, timeout,
``break``, errors."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

import sandbox_core as sc
from sandbox_core._fs.process import SH_SNAPSHOT, ProcessTransport, argv_path, parse_snapshot
from sandbox_core.exception import InvalidError, SandboxFilesystemNotFoundError
from sandbox_core.types import FileWatchEvent, FileWatchEventType

from .conftest import BUSYBOX_USER, engine_ref

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]

Create, Modify, Remove = FileWatchEventType.Create, FileWatchEventType.Modify, FileWatchEventType.Remove


async def run(s: sc.Sandbox, script: str) -> None:
    p = await s.exec("sh", "-c", script)
    assert await p.wait() == 0, await p.stderr.read()


class Watcher:
    """Consumes ``fs._watch`` in a task (the public ``watch`` is the same generator plus ``ready``)."""

    def __init__(self, fs: sc.SandboxFilesystem, path: str, **kwargs: object) -> None:
        self.events: list[FileWatchEvent] = []
        self.ready = asyncio.Event()
        self.changed = asyncio.Event()
        self._gen = fs._watch(path, ready=self.ready, **kwargs)  # type: ignore[arg-type]
        self.task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        async for event in self._gen:
            self.events.append(event)
            self.changed.set()

    async def __aenter__(self) -> Watcher:
        ready = asyncio.create_task(self.ready.wait())
        await asyncio.wait([ready, self.task], return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self.task.done():
            self.task.result()  # raise the watch's error
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass
        await self._gen.aclose()

    async def until(self, predicate: Callable[[list[FileWatchEvent]], bool], timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while not predicate(self.events):
                self.changed.clear()
                await self.changed.wait()


async def keep_creating(fs: sc.SandboxFilesystem, directory: str) -> None:
    """Create a new file every 0.3 s until cancelled (the public ``watch`` has no "ready" signal)."""
    for i in range(100):
        await fs.write_text(str(i), f"{directory}/x{i}")
        await asyncio.sleep(0.3)


def has(kind: FileWatchEventType, *paths: str) -> Callable[[list[FileWatchEvent]], bool]:
    return lambda events: any(e.type == kind and e.paths == list(paths) for e in events)


async def test_create_modify_rename_remove_in_a_directory(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.write_text("old", "/tmp/w1/existing")
    async with Watcher(fs, "/tmp/w1", filter=None, recursive=False, timeout=None) as w:
        await fs.write_text("new", "/tmp/w1/created")
        await w.until(has(Create, "/tmp/w1/created"))
        await run(shared_sandbox, "echo more >> /tmp/w1/existing")
        await w.until(has(Modify, "/tmp/w1/existing"))
        await run(shared_sandbox, "mv /tmp/w1/created /tmp/w1/moved")
        await w.until(has(Modify, "/tmp/w1/created", "/tmp/w1/moved"))  # a rename is a Modify [src, dst]
        await fs.remove("/tmp/w1/existing")
        await w.until(has(Remove, "/tmp/w1/existing"))
    # (through the agent, as in Modal, opening and closing files is also reported: Access)
    assert all(e.type in (Create, Modify, Remove, FileWatchEventType.Access) for e in w.events)
    assert not any(e.paths == ["/tmp/w1"] for e in w.events)  # the directory's own mtime is not reported


async def test_recursive_sees_descendants_and_non_recursive_does_not(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.make_directory("/tmp/w2/sub/deeper")
    async with (
        Watcher(fs, "/tmp/w2", filter=None, recursive=True, timeout=None) as deep,
        Watcher(fs, "/tmp/w2", filter=None, recursive=False, timeout=None) as flat,
    ):
        await fs.write_text("x", "/tmp/w2/sub/deeper/f")
        await deep.until(has(Create, "/tmp/w2/sub/deeper/f"))
        await fs.write_text("y", "/tmp/w2/top")
        await flat.until(has(Create, "/tmp/w2/top"))
        await deep.until(has(Create, "/tmp/w2/top"))
    assert not any("/tmp/w2/sub/deeper/f" in e.paths for e in flat.events)


async def test_watching_a_file(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.write_text("1", "/tmp/w3/f")
    async with Watcher(fs, "/tmp/w3/f", filter=None, recursive=False, timeout=None) as w:
        await fs.write_text("2", "/tmp/w3/f")
        await w.until(has(Modify, "/tmp/w3/f"))
        await fs.remove("/tmp/w3/f")
        await w.until(has(Remove, "/tmp/w3/f"))
        await asyncio.wait_for(w.task, 5)  # the watched path is gone: the watch ends


async def test_filter_selects_event_types(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.write_text("x", "/tmp/w4/a")
    await fs.write_text("y", "/tmp/w4/b")
    async with Watcher(fs, "/tmp/w4", filter=[Remove], recursive=False, timeout=None) as w:
        await fs.write_text("z", "/tmp/w4/c")  # Create: filtered out
        await fs.write_text("yy", "/tmp/w4/b")  # Modify: filtered out
        await run(shared_sandbox, "sleep 0.5; rm /tmp/w4/a")
        await w.until(has(Remove, "/tmp/w4/a"))
    assert {e.type for e in w.events} == {Remove}


async def test_empty_filter_yields_nothing_until_timeout(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.make_directory("/tmp/w5")
    got: list[FileWatchEvent] = []

    async def changes() -> None:
        for i in range(5):
            await fs.write_text(str(i), f"/tmp/w5/{i}")

    writer = asyncio.create_task(changes())
    async for event in fs.watch("/tmp/w5", filter=[], timeout=2):
        got.append(event)
    await writer
    assert got == []


async def test_timeout_ends_without_raising(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.make_directory("/tmp/w6")
    t0 = time.monotonic()
    events = [e async for e in fs.watch("/tmp/w6", timeout=1)]
    elapsed = time.monotonic() - t0
    assert events == []
    assert 0.9 <= elapsed < 5
    t0 = time.monotonic()
    assert [e async for e in fs.watch("/tmp/w6", timeout=0)] == []
    # Generous bounds: CI shares 2 loaded vCPUs; a watch that ignored its timeout would never end at all.
    assert time.monotonic() - t0 < 2


async def test_break_stops_the_watch_promptly(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.make_directory("/tmp/w7")
    gen = fs.watch("/tmp/w7", recursive=True)
    poker = asyncio.create_task(keep_creating(fs, "/tmp/w7"))
    async for event in gen:
        # Modify when the watch came up between a file's creation and its write (there is no "ready" signal)
        assert event.type in (Create, Modify) and event.paths[0].startswith("/tmp/w7/x")
        break
    poker.cancel()
    t0 = time.monotonic()
    await gen.aclose()
    assert time.monotonic() - t0 < 3
    # nothing of the watch keeps running in the sandbox: no find/stat of it is left
    p = await shared_sandbox.exec("sh", "-c", "ps -o args | grep -c '[f]ind -H' || true")
    assert (await p.stdout.read()).strip() == "0"


async def test_watch_errors(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    with pytest.raises(SandboxFilesystemNotFoundError, match="/tmp/w8/missing"):
        async for _ in fs.watch("/tmp/w8/missing"):
            pass
    with pytest.raises(InvalidError, match="filter"):
        async for _ in fs.watch("/tmp", filter=["Create"]):  # type: ignore[list-item]
            pass


async def test_legacy_watch_treats_an_empty_filter_as_everything(shared_sandbox: sc.Sandbox) -> None:
    await shared_sandbox.filesystem.make_directory("/tmp/w9")

    poker = asyncio.create_task(keep_creating(shared_sandbox.filesystem, "/tmp/w9"))
    gen = shared_sandbox.watch("/tmp/w9", filter=[], timeout=10)
    with pytest.warns(sc.exception.DeprecationError, match="Sandbox.watch"):
        event = await anext(gen)
    poker.cancel()
    await gen.aclose()
    assert event.type == Create and event.paths[0].startswith("/tmp/w9/x")


async def test_hostile_names_in_a_watched_tree(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.make_directory("/tmp/w10/locked")
    # a directory whose name looks like a stat line must not disturb the snapshots
    await fs.make_directory("/tmp/w10/x\n1 81a4 0 2020-01-01 00:00:00.0 +0000")
    async with Watcher(fs, "/tmp/w10", filter=None, recursive=True, timeout=None) as w:
        for name in ("new\nline", "-rf", "caf\udce9", "$(touch PWNED)"):
            await fs.write_text("x", f"/tmp/w10/locked/{name}")
            await w.until(has(Create, f"/tmp/w10/locked/{name}"))


async def test_watch_in_a_non_root_sandbox_with_an_unsearchable_directory(app: sc.App) -> None:
    s = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX_USER))
    try:
        fs = s.filesystem
        await fs.write_text("x", "/home/sandbox/wt/noexec/f")
        await run(s, "chmod 644 /home/sandbox/wt/noexec")  # listable, but its entries cannot be stat'ed
        async with Watcher(fs, "/home/sandbox/wt", filter=None, recursive=True, timeout=None) as w:
            await fs.write_text("y", "/home/sandbox/wt/new")
            await w.until(has(Create, "/home/sandbox/wt/new"))
    finally:
        await s.terminate()


async def test_both_snapshot_forms_agree(shared_sandbox: sc.Sandbox) -> None:
    fs = shared_sandbox.filesystem
    await fs.write_text("1", "/tmp/w11/a/b")
    await fs.write_text("2", "/tmp/w11/new\nline")
    snaps = []
    ref = await engine_ref(shared_sandbox)
    for form in ("batch", "each"):
        code, out, err = await ProcessTransport(ref).run(SH_SNAPSHOT, [argv_path(b"/tmp/w11"), "1", form])
        assert code == 0
        snap = parse_snapshot(out, err)
        assert snap is not None
        snaps.append(snap)
    assert snaps[0] == snaps[1]
    assert sorted(snaps[0]) == [b"/tmp/w11", b"/tmp/w11/a", b"/tmp/w11/a/b", b"/tmp/w11/new\nline"]
