"""``watch``: changes in a sandbox's tree.

Through the sandbox's agent (when it has one): inotify, as Modal's watch (notify-rs) reports it — Create; Modify
(also attribute changes); Access (a file opened, read or closed); Remove; a rename is one ``Modify`` with
``[src, dst]`` (only the side inside the watched tree when it crosses its edge); nothing is lost between events,
so a file created and removed at once is reported twice; a new directory in a recursive watch is watched and its
entries reported as Create. The watch ends when its path is removed.

Otherwise by polling (busybox has no inotify tool): the tree is snapshotted every ``WATCH_POLL_INTERVAL`` seconds
and the differences are reported — Create, Modify, Remove; a rename within the watched tree, recognised by inode,
is ``Modify`` with ``[src, dst]``; a move into or out of it looks like Create or Remove. ``Access`` events are never
reported, and changes that cancel out within one interval are not seen.
"""

from __future__ import annotations

import asyncio
import stat as statmod
from collections.abc import AsyncIterator, Collection

from .. import exception as exc
from .._agent.ops import WatchStream
from .._validation import check_flag, is_real
from ..types import FileWatchEvent, FileWatchEventType
from .agent import AgentTransport
from .base import Snapshot, check_path, decode, norm
from .ops import FileOps, modal_errors

#: Seconds between two snapshots of a watched tree.
WATCH_POLL_INTERVAL = 0.2


def _check_filter(filter: object) -> list[FileWatchEventType] | None:
    """``filter`` as a list, or ``InvalidError`` unless it is None or a collection of ``FileWatchEventType``."""
    if filter is None:
        return None
    if isinstance(filter, str | bytes) or not isinstance(filter, Collection):
        raise exc.InvalidError(f"filter must be a list of FileWatchEventType values or None, got {filter!r}")
    for f in filter:
        if not isinstance(f, FileWatchEventType):
            raise exc.InvalidError(f"filter must contain FileWatchEventType values, got {f!r}")
    return list(filter)


async def watch(
    ops: FileOps,
    remote_path: str,
    *,
    filter: Collection[FileWatchEventType] | None,
    recursive: bool,
    timeout: float | None,
    ready: asyncio.Event | None = None,
) -> AsyncIterator[FileWatchEvent]:
    """The events under ``remote_path`` until ``timeout`` passes, the iterator is closed or the sandbox ends; see
    ``SandboxFilesystem.watch``. ``ready`` is set once the first snapshot is taken."""
    path = check_path("watch", remote_path)
    filter = _check_filter(filter)
    check_flag(recursive, "recursive")
    if timeout is not None and not (is_real(timeout) or timeout == float("inf")):
        raise exc.InvalidError(f"timeout must be a number of seconds or None, got {timeout!r}")
    if timeout is not None and timeout <= 0:
        return
    loop = asyncio.get_running_loop()
    # min(): a huge integer would overflow the float arithmetic; 10**9 s is as good as never
    deadline = None if timeout is None else loop.time() + min(timeout, 1e9)
    target = norm(path)
    agent = await ops.agent(path)
    if agent is not None:
        async for event in _inotify(agent, remote_path, target, filter, recursive, deadline, ready):
            yield event
        return
    previous = await ops.first_snapshot(remote_path, target, recursive=recursive)
    if ready is not None:
        ready.set()
    allowed = None if filter is None else set(filter)
    while True:
        remaining = None if deadline is None else deadline - loop.time()
        if remaining is not None and remaining <= 0:
            return
        await asyncio.sleep(WATCH_POLL_INTERVAL if remaining is None else min(WATCH_POLL_INTERVAL, remaining))
        if allowed is not None and not allowed:
            continue  # filter=[]: nothing can pass, but the watch still lasts until timeout/close
        try:
            current = await ops.next_snapshot(target, recursive=recursive)
        except (exc.NotFoundError, exc.ClientClosed):
            return  # the sandbox ended
        if current is None:
            continue  # inconsistent snapshot (the tree changed during it): try again
        for event in diff(previous, current):
            if allowed is None or event.type in allowed:
                yield event
        previous = current
        if not current:
            return  # the watched path itself is gone


async def _inotify(
    agent: AgentTransport,
    remote_path: str,
    target: bytes,
    filter: list[FileWatchEventType] | None,
    recursive: bool,
    deadline: float | None,
    ready: asyncio.Event | None,
) -> AsyncIterator[FileWatchEvent]:
    """The agent's events until ``deadline`` (loop time), the consumer stops, or the watch or the sandbox ends."""
    names = None if filter is None else [f.value for f in filter]
    async with modal_errors("watch", remote_path):
        stream: WatchStream = await agent.watch(target, recursive=recursive, filter=names)
    try:
        if ready is not None:
            ready.set()
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    event = await anext(stream)
            except (StopAsyncIteration, TimeoutError):
                return  # the watch ended (its path is gone, or the sandbox), or its timeout passed
            if event.paths:  # as Modal's client, which drops events without paths
                yield FileWatchEvent(paths=list(event.paths), type=FileWatchEventType(event.type))
    finally:
        stream.close()


def diff(old: Snapshot, new: Snapshot) -> list[FileWatchEvent]:
    """Events turning snapshot ``old`` into ``new``; a path gone and another appeared with its inode is a rename."""
    events: list[FileWatchEvent] = []
    gone = [p for p in old if p not in new]
    born = [p for p in new if p not in old]
    by_inode: dict[int, list[bytes]] = {}
    for p in gone:
        by_inode.setdefault(old[p][0], []).append(p)
    renamed_from: set[bytes] = set()
    creates: list[bytes] = []
    for p in sorted(born):
        candidates = by_inode.get(new[p][0], [])
        if len(candidates) == 1 and candidates[0] not in renamed_from:
            src = candidates[0]
            renamed_from.add(src)
            events.append(FileWatchEvent(paths=[decode(src), decode(p)], type=FileWatchEventType.Modify))
        else:
            creates.append(p)
    for p in creates:
        events.append(FileWatchEvent(paths=[decode(p)], type=FileWatchEventType.Create))
    for p in sorted(new):
        if p in old:
            o, n = old[p], new[p]
            if statmod.S_ISDIR(n[1]) and statmod.S_ISDIR(o[1]):
                continue  # a directory's own mtime changes whenever an entry changes: not reported (as Modal)
            if o != n:
                events.append(FileWatchEvent(paths=[decode(p)], type=FileWatchEventType.Modify))
    for p in sorted(gone):
        if p not in renamed_from:
            events.append(FileWatchEvent(paths=[decode(p)], type=FileWatchEventType.Remove))
    return events
