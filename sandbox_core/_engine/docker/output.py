"""A container's main process: its output replayed from the engine's log store, and a stdin-only attach.

- Output: ``GET /containers/{id}/logs?follow=1`` from the beginning, one stream (stdout *or* stderr, or both
  interleaved when the caller asks for both) per request, so each reader is independent (reading only stdout never
  stalls on unread stderr). Logs are multiplexed frames
  for a non-TTY container and raw bytes for a TTY one. ``follow`` ends when the container stops and, unlike
  ``attach?stream=1``, does not hang on a stopped container (docker-engine-notes §3).
- Input: ``POST /containers/{id}/attach?stdin=1&stream=1`` with no stdout/stderr, so nothing on this connection can
  back-pressure PID 1. The container is created with ``StdinOnce``, so a half-close (or any disconnect) of this
  attach closes PID 1's stdin. Never attach to a stopped container: the engine would never answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
from yarl import URL

from ... import exception as exc
from ..api import STDERR, STDOUT
from ..values import LogRecord, engine_time_ns
from .demux import HEADER
from .hijack import DETACH_KEYS, HijackedStream, open_hijacked
from .http import DockerClient


def _since(ts: bytes) -> str | None:
    """The engine's ``since`` value (``seconds.nanoseconds``) for a log timestamp."""
    ns = engine_time_ns(ts.decode())
    return None if ns is None else f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


class LogStream:
    """The complete output ``fd`` of a container, following it until the container stops (a ``FrameSource``).

    aiohttp stops reading the socket while its buffer is full, so an unread LogStream holds no more than that.

    Engine quirk handled here: a following read can end (container stopped) **before the last entries** reach it
    (observed on 20.10 for a final line, about 1 run in 8). So at the end of the following read, entries after the
    last one seen are fetched again without ``follow``: non-TTY logs carry fixed-width timestamps
    (``timestamps=1``) and the catch-up starts ``since`` the last one, skipping entries already delivered; TTY logs
    are one raw byte stream, so the catch-up re-reads them and skips the bytes already delivered.
    """

    __slots__ = (
        "_caught_up",
        "_cid",
        "_client",
        "_closed",
        "_cut",
        "_fd",
        "_last_count",
        "_last_ts",
        "_resp",
        "_skip",
        "_tty",
    )

    def __init__(self, client: DockerClient, cid: str, fd: int | None, tty: bool, resp: aiohttp.ClientResponse) -> None:
        self._client = client
        self._cid = cid
        self._fd = fd
        self._tty = tty
        self._resp = resp
        self._closed = False
        self._caught_up = False
        self._cut = False  # end_follow() was called
        self._last_ts = b""  # timestamp of the last entry delivered (non-TTY)
        self._last_count = 0  # entries delivered with that timestamp
        self._skip = 0  # catch-up: entries (non-TTY) or bytes (TTY) still to skip

    async def read_frame(self) -> tuple[int, bytes] | None:
        """The next frame, or None at EOF. Raises ``ConnectionError`` when the connection breaks mid-stream."""
        while not self._closed:
            try:
                frame = await (self._read_raw() if self._tty else self._read_entry())
            except (aiohttp.ClientError, OSError, EOFError) as e:
                if self._closed:
                    return None
                if not (self._cut and not self._caught_up):
                    raise exc.ConnectionError(f"log stream broke: {e}") from e
                frame = None  # the follow was cut: what it did not deliver comes from the catch-up
            if frame is not None:
                return frame
            if self._caught_up:
                return None
            self._caught_up = True
            self._resp.close()
            since = self._catch_up_since()
            self._resp = await _logs_request(
                self._client, self._cid, self._fd, tty=self._tty, follow=False, since=since
            )
        return None

    def end_follow(self) -> None:
        """Stop following now; what the follow has not delivered yet comes from the catch-up read. For an engine
        known to keep a follow open after the container stopped; harmless at any time after the stop."""
        if self._caught_up or self._closed:
            return
        self._cut = True
        self._resp.close()

    def _catch_up_since(self) -> str | None:
        if self._tty or not self._last_ts:
            return None
        self._skip = self._last_count
        return _since(self._last_ts)

    async def _read_raw(self) -> tuple[int, bytes] | None:
        while True:
            data = await self._resp.content.readany()
            if not data:
                return None
            if not self._caught_up:
                self._skip += len(data)  # bytes the catch-up must skip
                return STDOUT, data
            if self._skip >= len(data):
                self._skip -= len(data)
                continue
            data, self._skip = data[self._skip :], 0
            return STDOUT, data

    async def _read_entry(self) -> tuple[int, bytes] | None:
        content = self._resp.content
        while True:
            try:
                header = await content.readexactly(HEADER.size)
            except asyncio.IncompleteReadError as e:
                if not e.partial:
                    return None  # a clean end between frames
                raise
            fd, size = HEADER.unpack(header)
            payload = await content.readexactly(size) if size else b""
            ts, _, data = payload.partition(b" ")
            if self._caught_up:
                if ts < self._last_ts:
                    continue
                if ts == self._last_ts and self._skip:
                    self._skip -= 1
                    continue
            if ts == self._last_ts:
                self._last_count += 1
            else:
                self._last_ts, self._last_count = ts, 1
            if data:
                return fd, data

    async def close(self) -> None:
        """Release the connection. Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._resp.close()


async def _logs_request(
    client: DockerClient,
    cid: str,
    fd: int | None,
    *,
    tty: bool,
    follow: bool,
    since: str | None,
    until: str | None = None,
    tail: int | None = None,
    timestamps: bool | None = None,
) -> aiohttp.ClientResponse:
    params = {
        "follow": "1" if follow else "0",
        "stdout": "1" if fd in (STDOUT, None) else "0",
        "stderr": "1" if fd in (STDERR, None) else "0",
        # By default TTY logs come without timestamps: in one raw stream they could not be told from the output
        # where an entry does not end a line.
        "timestamps": "1" if (not tty if timestamps is None else timestamps) else "0",
    }
    if since is not None:
        params["since"] = since
    if until is not None:
        params["until"] = until
    if tail is not None:
        params["tail"] = str(tail)
    return await client.open_stream("GET", f"containers/{cid}/logs", f"read the output of {cid[:12]}", params=params)


def _unix(ns: int) -> str:
    """The engine's ``since``/``until`` value for ``ns`` nanoseconds since the epoch."""
    ns = max(0, ns)
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


def _record(fd: int, payload: bytes) -> LogRecord | None:
    ts, _, data = payload.partition(b" ")
    ns = engine_time_ns(ts.decode("ascii", "replace"))
    return None if ns is None or not data else LogRecord(fd, ns, data)


async def read_logs(
    client: DockerClient,
    cid: str,
    *,
    tty: bool,
    fd: int | None,
    since_ns: int | None,
    until_ns: int | None,
    tail: int | None,
) -> AsyncIterator[LogRecord]:
    """``ContainersAPI.read_logs``: the log entries with their timestamps, without following.

    Non-TTY logs are multiplexed frames, one entry each; a TTY log is one raw stream in which each entry starts with
    its timestamp and (the engine splits a TTY's output at newlines) ends with a newline, except a long line's
    pieces and a last line without one.
    """
    resp = await _logs_request(
        client,
        cid,
        fd,
        tty=tty,
        follow=False,
        since=None if since_ns is None else _unix(since_ns),
        until=None if until_ns is None else _unix(until_ns),
        tail=tail,
        timestamps=True,
    )
    what = f"read the log of {cid[:12]}"
    try:
        content = resp.content
        while True:
            try:
                if tty:
                    line = await content.readline()
                    if not line:
                        return
                    record = _record(STDOUT, line)
                else:
                    try:
                        header = await content.readexactly(HEADER.size)
                    except asyncio.IncompleteReadError as e:
                        if not e.partial:
                            return
                        raise
                    stream, size = HEADER.unpack(header)
                    record = _record(stream, await content.readexactly(size) if size else b"")
            except (aiohttp.ClientError, OSError, EOFError) as e:
                raise exc.ConnectionError(f"{what}: the log stream broke: {e}") from e
            if record is not None:
                yield record
    finally:
        resp.close()


async def follow_logs(client: DockerClient, cid: str, *, fd: int | None, tty: bool) -> LogStream:
    """Open the container's output ``fd`` from its first byte, following until the container stops."""
    resp = await _logs_request(client, cid, fd, tty=tty, follow=True, since=None)
    return LogStream(client, cid, fd, tty, resp)


async def attach_stdin(client: DockerClient, cid: str, *, tty: bool, with_output: bool = False) -> HijackedStream:
    """Open a stdin attach to a **running** container (the caller checks; a stopped one would hang); stdin-only
    unless ``with_output`` (then the caller drains the output it does not want)."""
    out = "1" if with_output else "0"
    url = URL(f"containers/{cid}/attach").with_query(
        {"stdin": "1", "stdout": out, "stderr": out, "stream": "1", "detachKeys": DETACH_KEYS}
    )
    return await open_hijacked(client, url, None, tty, f"attach to the stdin of {cid[:12]}")
