"""``Sandbox.logs``: the entrypoint's output as timestamped ``LogEntry`` values, from the engine's log of the
container (Modal's ``SandboxLogsManager``).

What it reads is what the engine keeps of the main process: stdout and stderr (``source``), each entry a line (with
its newline) or a piece of a long one, in the order received; exec output is not included, and nothing is ever
``system``. It works after ``detach`` and after the sandbox ended, for as long as the finished sandbox is kept
(its retention period, then it is removed with its log). The log is bounded by the container's log rotation
(``ContainerSpec.log_max_size``/``log_max_files``): older output is gone.
"""

from __future__ import annotations

import collections
import datetime
import heapq
from collections.abc import AsyncIterator

from ._engine import get_engine
from ._engine.api import STDERR, STDOUT
from ._engine.errors import NoSuchContainer
from ._engine.values import LogRecord
from .exception import InvalidError, LogsFetchError, NotFoundError
from .types import LogEntry, LogSource

__all__ = ["SandboxLogsManager"]

#: Modal's limits (enforced by its client): entries per ``tail``, and the span of one ``fetch``.
MAX_TAIL = 20_000
MAX_FETCH_RANGE = datetime.timedelta(days=35)


def _fd_of(source: LogSource | None) -> int | None:
    if source == "stdout":
        return STDOUT
    if source == "stderr":
        return STDERR
    if source is None or source == "system":
        return None
    raise ValueError("source must be one of 'stdout', 'stderr', 'system', or None")


def _utc(value: object, name: str) -> datetime.datetime:
    """Modal's normalisation: a naive datetime is local time."""
    if not isinstance(value, datetime.datetime):
        raise TypeError(f"{name} must be a datetime")
    if value.tzinfo is None:
        value = value.astimezone()
    return value.astimezone(datetime.UTC)


class SandboxLogsManager:
    """``sb.logs``: ``fetch`` a time range or ``tail`` the last entries of the sandbox's entrypoint output."""

    __slots__ = ("_container_id", "_sandbox_id", "_tty")

    _sandbox_id: str
    _container_id: str
    _tty: bool

    def __init__(self) -> None:
        raise InvalidError("Class SandboxLogsManager has no constructor. Use Sandbox.logs instead.")

    async def fetch(
        self,
        *,
        since: datetime.datetime,
        until: datetime.datetime | None = None,
        source: LogSource | None = None,
        search_text: str = "",
    ) -> AsyncIterator[LogEntry]:
        """The entries received from ``since`` to ``until`` (default: now), both inclusive, oldest first; only
        ``source``'s when given, only those containing ``search_text`` (case-sensitive). A naive datetime is local
        time. ``TypeError`` for a non-datetime, ``ValueError`` for an unknown source, ``LogsFetchError`` for a range
        over 35 days."""
        start = _utc(since, "since")
        end = _utc(until if until is not None else datetime.datetime.now(datetime.UTC), "until")
        fd = _fd_of(source)
        if not isinstance(search_text, str):
            raise TypeError("search_text must be a str")
        if end - start > MAX_FETCH_RANGE:
            raise LogsFetchError(f"Time range cannot exceed {MAX_FETCH_RANGE.days} days.")
        if source == "system" or end < start:
            return
        # Timestamps are exposed to the microsecond: the bounds cover their whole microsecond.
        records = self._records(fd, since_ns=_ns(start), until_ns=_ns(end) + 999, tail=None)
        async for entry in _in_time_order(self._entries(records)):
            if search_text in entry.message:
                yield entry

    async def tail(self, entries: int = 100, *, source: LogSource | None = None) -> AsyncIterator[LogEntry]:
        """The last ``entries`` entries (only ``source``'s when given), oldest first. ``LogsFetchError`` for more
        than 20000."""
        if not isinstance(entries, int) or isinstance(entries, bool) or entries < 0:
            raise InvalidError(f"entries must be a non-negative int, got {entries!r}")
        if entries > MAX_TAIL:
            raise LogsFetchError(f"--tail value must not exceed {MAX_TAIL}.")
        fd = _fd_of(source)
        if source == "system" or entries == 0:
            return
        # The engine counts a tail over both streams: with one stream chosen, the last entries are picked here.
        tail = entries if self._tty or fd is None else None
        last: collections.deque[LogEntry] = collections.deque(maxlen=entries)
        async for entry in _in_time_order(self._entries(self._records(fd, since_ns=None, until_ns=None, tail=tail))):
            last.append(entry)
        for entry in last:
            yield entry

    async def _records(
        self, fd: int | None, *, since_ns: int | None, until_ns: int | None, tail: int | None
    ) -> AsyncIterator[LogRecord]:
        eng = await get_engine()
        # A TTY container logs everything as one stream (stdout): asking it for stderr gives nothing.
        if self._tty and fd == STDERR:
            return
        try:
            async for record in eng.containers.read_logs(
                self._container_id, tty=self._tty, fd=fd, since_ns=since_ns, until_ns=until_ns, tail=tail
            ):
                yield record
        except NoSuchContainer:
            raise NotFoundError(
                f"Sandbox {self._sandbox_id} no longer exists (finished sandboxes are removed with their logs after "
                "their retention period)"
            ) from None

    async def _entries(self, records: AsyncIterator[LogRecord]) -> AsyncIterator[LogEntry]:
        async for record in records:
            yield LogEntry(
                message=record.data.decode("utf-8", "replace"),
                timestamp=_EPOCH + datetime.timedelta(microseconds=record.time_ns // 1000),
                source="stderr" if record.fd == STDERR else "stdout",
                object_id=self._sandbox_id,
                context_ids=[self._container_id[:12]],
            )


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
#: Entries the engine stored out of time order are never further apart than this many.
_REORDER_WINDOW = 256


def _ns(moment: datetime.datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


async def _in_time_order(entries: AsyncIterator[LogEntry]) -> AsyncIterator[LogEntry]:
    """``entries`` sorted by timestamp (stable). The engine stores each stream in order, but an entry of one stream
    may land just before an earlier one of the other: a small window puts them right, in bounded memory."""
    window: list[tuple[datetime.datetime, int, LogEntry]] = []
    seq = 0
    async for entry in entries:
        heapq.heappush(window, (entry.timestamp, seq, entry))
        seq += 1
        if len(window) > _REORDER_WINDOW:
            yield heapq.heappop(window)[2]
    while window:
        yield heapq.heappop(window)[2]


def logs_manager(sandbox_id: str, container_id: str, tty: bool) -> SandboxLogsManager:
    """The log of sandbox ``sandbox_id`` (container ``container_id``; ``tty``: it runs on a pseudo-terminal)."""
    obj = object.__new__(SandboxLogsManager)
    obj._sandbox_id = sandbox_id
    obj._container_id = container_id
    obj._tty = tty
    return obj
