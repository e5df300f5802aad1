"""Watch through the agent (inotify): event mapping, renames, recursion, nothing lost, overflow."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from sandbox_core._agent.client import Agent
from sandbox_core._agent.ops import WatchEvent, WatchStream
from sandbox_core._agent.protocol import VERSION, AgentOpError, Hello

from .conftest import run


async def collect(w: WatchStream, until: WatchEvent, timeout: float = 10) -> list[WatchEvent]:
    """Events up to and including ``until``."""
    out: list[WatchEvent] = []
    async with asyncio.timeout(timeout):
        async for e in w:
            out.append(e)
            if e == until:
                return out
    raise AssertionError(f"watch ended before {until}: {out}")


def ev(t: str, *paths: str) -> WatchEvent:
    return WatchEvent(t, paths)


async def test_create_and_remove_at_once_are_both_reported(agent: Agent) -> None:
    await agent.mkdir("/tmp/w1", parents=True)
    async with await agent.watch("/tmp/w1", filter=["Create", "Remove"]) as w:
        await run(agent, "sh", "-c", "touch /tmp/w1/f && rm /tmp/w1/f && touch /tmp/w1/end")
        got = await collect(w, ev("Create", "/tmp/w1/end"))
    assert got == [ev("Create", "/tmp/w1/f"), ev("Remove", "/tmp/w1/f"), ev("Create", "/tmp/w1/end")]


async def test_a_rename_is_one_modify_with_both_paths(agent: Agent) -> None:
    await run(agent, "sh", "-c", "mkdir -p /tmp/w2/a && touch /tmp/w2/a/x")
    async with await agent.watch("/tmp/w2", recursive=True, filter=["Modify", "Create"]) as w:
        await run(agent, "sh", "-c", "mv /tmp/w2/a/x /tmp/w2/y && mv /tmp/w2/a /tmp/w2/b && touch /tmp/w2/b/z")
        got = await collect(w, ev("Create", "/tmp/w2/b/z"))
    assert got == [ev("Modify", "/tmp/w2/a/x", "/tmp/w2/y"), ev("Modify", "/tmp/w2/a", "/tmp/w2/b"),
                   ev("Create", "/tmp/w2/b/z")]  # fmt: skip


async def test_new_directories_are_scanned_in_a_recursive_watch(agent: Agent) -> None:
    await agent.mkdir("/tmp/w3", parents=True)
    async with await agent.watch("/tmp/w3", recursive=True, filter=["Create"]) as w:
        await run(agent, "sh", "-c", "mkdir -p /tmp/w3/d/e/f && touch /tmp/w3/d/e/f/g && touch /tmp/w3/end")
        got = await collect(w, ev("Create", "/tmp/w3/end"))
    paths = [e.paths[0] for e in got]
    for p in ("/tmp/w3/d", "/tmp/w3/d/e", "/tmp/w3/d/e/f", "/tmp/w3/d/e/f/g"):
        assert p in paths


async def test_a_non_recursive_watch_ignores_subdirectories(agent: Agent) -> None:
    await agent.mkdir("/tmp/w4/sub", parents=True)
    async with await agent.watch("/tmp/w4", filter=["Create"]) as w:
        await run(agent, "sh", "-c", "touch /tmp/w4/sub/hidden && touch /tmp/w4/seen")
        got = await collect(w, ev("Create", "/tmp/w4/seen"))
    assert got == [ev("Create", "/tmp/w4/seen")]


async def test_access_modify_and_a_watched_file(agent: Agent) -> None:
    await agent.write_file("/tmp/w5", b"a")
    async with await agent.watch("/tmp/w5") as w:
        await run(agent, "sh", "-c", "cat /tmp/w5 >/dev/null; echo b >> /tmp/w5; rm /tmp/w5")
        got = await collect(w, ev("Remove", "/tmp/w5"))
    types = [e.type for e in got]
    assert "Access" in types and "Modify" in types and types[-1] == "Remove"
    assert all(e.paths == ("/tmp/w5",) for e in got)


async def test_an_empty_filter_yields_nothing_and_bad_input_is_refused(agent: Agent) -> None:
    await agent.mkdir("/tmp/w6", parents=True)
    async with await agent.watch("/tmp/w6", filter=[]) as quiet, await agent.watch("/tmp/w6") as loud:
        await run(agent, "touch", "/tmp/w6/x")
        await collect(loud, ev("Create", "/tmp/w6/x"))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await quiet.__anext__()
    with pytest.raises(AgentOpError) as e:
        await agent.watch("/tmp/none")
    assert e.value.kind == "NotFound"
    with pytest.raises(AgentOpError) as e:
        await agent.watch("/tmp", filter=["Rename"])
    assert e.value.kind == "InvalidArgument"


async def test_an_unread_watch_overflows_into_one_unknown_event(
    container: Callable[..., str], connect: Callable[..., asyncio.Future[Agent]]
) -> None:
    small = Hello(version=VERSION, max_frame=65536, window=65536, max_channels=16)
    agent = await connect(container(), hello=small)
    await agent.mkdir("/tmp/w7", parents=True)
    async with await agent.watch("/tmp/w7", filter=["Create", "Unknown"]) as w:
        # more events than a 64 KiB window of JSON lines plus the agent's per-watch queue (4096) can hold
        await run(agent, "sh", "-c", "cd /tmp/w7 && seq 1 8000 | xargs touch")
        got = await collect(w, ev("Unknown", "/tmp/w7"))
        assert 4096 < len(got) < 8001
        await run(agent, "touch", "/tmp/w7/after")  # after the Unknown, events flow again
        assert await collect(w, ev("Create", "/tmp/w7/after")) == [ev("Create", "/tmp/w7/after")]


async def test_a_recursive_watch_of_the_root_skips_kernel_filesystems(agent: Agent) -> None:
    async with asyncio.timeout(20):
        async with await agent.watch("/", recursive=True, filter=["Create"]) as w:
            await run(agent, "touch", "/tmp/rootwatch")
            assert await collect(w, ev("Create", "/tmp/rootwatch")) == [ev("Create", "/tmp/rootwatch")]
