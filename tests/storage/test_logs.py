"""``Sandbox.logs``: tail and fetch of the entrypoint's output, with since/until/source/search_text, Modal's argument
errors, after detach, and with a PTY."""

from __future__ import annotations

import datetime
import re
from collections.abc import AsyncIterator

import pytest

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._logs_manager import _in_time_order

from ..conftest import app_name

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]

UTC = datetime.UTC
# The pauses only give each line its own moment: the two streams are read separately by the engine, so lines
# written in the same instant to both may be stamped in either order.
_SCRIPT = (
    "echo one; sleep 0.05; echo two >&2; sleep 0.05; echo three; sleep 0.05; echo four; sleep 0.05;"
    " echo 'needle five' >&2; sleep 0.05; echo six"
)


@pytest.fixture(scope="module")
def epoch() -> datetime.datetime:
    return datetime.datetime.now(UTC) - datetime.timedelta(days=1)


@pytest.fixture
async def finished(app: sc.App, busybox: sc.Image) -> sc.Sandbox:
    sb = await sc.Sandbox.create("sh", "-c", _SCRIPT, app=app, image=busybox)
    await sb.wait()
    return sb


async def _messages(gen: object) -> list[str]:
    return [str(e) async for e in gen]  # type: ignore[attr-defined]


async def test_tail_gives_the_last_entries_in_order(finished: sc.Sandbox) -> None:
    entries = [e async for e in finished.logs.tail()]
    assert [e.message for e in entries] == ["one\n", "two\n", "three\n", "four\n", "needle five\n", "six\n"]
    assert [e.source for e in entries] == ["stdout", "stderr", "stdout", "stdout", "stderr", "stdout"]
    assert all(e.object_id == finished.object_id and e.context_ids for e in entries)
    assert all(e.timestamp.tzinfo is not None for e in entries)
    assert [e.timestamp for e in entries] == sorted(e.timestamp for e in entries)
    assert str(entries[0]) == "one\n"
    assert await _messages(finished.logs.tail(2)) == ["needle five\n", "six\n"]
    assert await _messages(finished.logs.tail(2, source="stdout")) == ["four\n", "six\n"]
    assert await _messages(finished.logs.tail(source="stderr")) == ["two\n", "needle five\n"]
    assert await _messages(finished.logs.tail(source="system")) == []
    assert await _messages(finished.logs.tail(0)) == []


@pytest.mark.podman_differs("log entries are stamped in whole seconds, so entries of one second share a time")
async def test_fetch_by_time_source_and_text(finished: sc.Sandbox, epoch: datetime.datetime) -> None:
    every = [e async for e in finished.logs.fetch(since=epoch)]
    assert len(every) == 6
    four = every[3]
    later = await _messages(finished.logs.fetch(since=four.timestamp))
    assert later == ["four\n", "needle five\n", "six\n"]  # since is inclusive
    window = await _messages(finished.logs.fetch(since=every[1].timestamp, until=four.timestamp))
    assert window == ["two\n", "three\n", "four\n"]  # until is inclusive too
    assert await _messages(finished.logs.fetch(since=epoch, source="stderr")) == ["two\n", "needle five\n"]
    assert await _messages(finished.logs.fetch(since=epoch, search_text="needle")) == ["needle five\n"]
    assert await _messages(finished.logs.fetch(since=epoch, source="stdout", search_text="needle")) == []
    naive_local = four.timestamp.astimezone().replace(tzinfo=None)  # a naive datetime is local time
    assert await _messages(finished.logs.fetch(since=naive_local)) == later
    future = datetime.datetime.now(UTC) + datetime.timedelta(hours=1)
    assert await _messages(finished.logs.fetch(since=future)) == []


async def test_argument_errors_are_modals(finished: sc.Sandbox, epoch: datetime.datetime) -> None:
    with pytest.raises(ValueError, match=re.escape("source must be one of 'stdout', 'stderr', 'system', or None")):
        await _messages(finished.logs.tail(source="out"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="since must be a datetime"):
        await _messages(finished.logs.fetch(since="yesterday"))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="until must be a datetime"):
        await _messages(finished.logs.fetch(since=epoch, until=5))  # type: ignore[arg-type]
    with pytest.raises(exc.LogsFetchError, match=r"--tail value must not exceed 20000\."):
        await _messages(finished.logs.tail(20001))
    with pytest.raises(exc.InvalidError, match="entries must be a non-negative int"):
        await _messages(finished.logs.tail(-1))
    with pytest.raises(exc.LogsFetchError, match=r"Time range cannot exceed 35 days\."):
        await _messages(finished.logs.fetch(since=epoch - datetime.timedelta(days=40)))


async def test_logs_after_detach_exclude_exec_output(app: sc.App, busybox: sc.Image) -> None:
    sb = await sc.Sandbox.create("sh", "-c", "echo entry; sleep 300", app=app, image=busybox)
    try:
        p = await sb.exec("echo", "from exec")
        assert await p.stdout.read() == "from exec\n"
        await sb.stdout.__anext__()  # the entrypoint's line is there
        await sb.detach()
        assert await _messages(sb.logs.tail()) == ["entry\n"]
    finally:
        await (await sc.Sandbox.from_id(sb.object_id)).terminate()


async def test_pty_sandbox_logs_are_stdout(app: sc.App, busybox: sc.Image) -> None:
    sb = await sc.Sandbox.create("sh", "-c", "echo on-tty; echo err >&2", app=app, image=busybox, pty=True)
    await sb.wait()
    entries = [e async for e in sb.logs.tail()]
    assert [(e.source, e.message.rstrip("\r\n")) for e in entries] == [("stdout", "on-tty"), ("stdout", "err")]
    assert await _messages(sb.logs.tail(source="stderr")) == []


async def test_logs_of_a_removed_sandbox_are_not_found(busybox: sc.Image) -> None:
    own = await sc.App.lookup(app_name("logs-removed"), create_if_missing=True)  # swept whole below
    sb = await sc.Sandbox.create("true", app=own, image=busybox)
    await sb.wait()
    logs = sb.logs
    await sc.sweep(app_id=own.app_id, everything=True)
    with pytest.raises(exc.NotFoundError, match="no longer exists"):
        await _messages(logs.tail())


async def test_entries_stored_slightly_out_of_time_order_come_out_sorted() -> None:
    base = datetime.datetime(2026, 1, 1, tzinfo=UTC)

    def at(ms: int, text: str) -> sc.LogEntry:
        return sc.LogEntry(text, base + datetime.timedelta(milliseconds=ms), "stdout", "sb-x", [])

    stored = [at(1, "a"), at(3, "c"), at(2, "b"), at(3, "c2"), at(5, "e"), at(4, "d")]

    async def source() -> AsyncIterator[sc.LogEntry]:
        for e in stored:
            yield e

    assert [e.message async for e in _in_time_order(source())] == ["a", "b", "c", "c2", "d", "e"]
