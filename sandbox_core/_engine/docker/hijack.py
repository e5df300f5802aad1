"""Hijacked (``Upgrade: tcp``) exec/attach connections as ``ExecStream``s.

The upgrade is made here rather than through aiodocker's ``Stream``, whose parser hands on one item per engine frame
(often 4 KiB): the connection is read by a ``demux.ChunkQueue``, one chunk per read of the socket. Also added (see
docker-engine-notes §2, §8):
- ``HijackedStream.close_write()``: a stdin **half-close** (the process sees EOF, its output keeps flowing).
- Normalised write errors: after the other side went away every failed write is ``BrokenPipeError``.
- Detach keys that are never the daemon default (Ctrl-P Ctrl-Q would end a TTY stream on those two bytes).

PRIVATE API, the same aiodocker's ``Stream`` relies on (aiohttp is pinned below its next minor): the connection's
protocol is given the queue with ``set_parser`` and waited on for writes with ``_drain_helper``;
``tests/test_stream_engine.py`` fails if either changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import aiohttp
from yarl import URL

from ... import exception as exc
from ..api import ChunkReceiver
from .demux import ChunkQueue
from .errors import engine_errors
from .http import DockerClient

#: Detach sequence for hijacked streams (a TTY stream ends on it). The engine cannot disable detach keys; this
#: five-byte sequence of rarely used control characters (0x1e 0x1f 0x1e 0x1f 0x1e) stands in for "never".
DETACH_KEYS = "ctrl-^,ctrl-_,ctrl-^,ctrl-_,ctrl-^"


class HijackedStream:
    """One upgraded exec/attach connection (an ``ExecStream``). Frames come out coalesced (``demux``): as many
    bytes of one fd as one read of the socket brought, the first frame whole.

    Flow control is the queue's: the socket stops being read while 256 KiB are queued, so a reader that stops
    calling ``read_frame`` stalls the process's writes instead of growing memory.
    """

    __slots__ = ("_closed", "_queue", "_resp", "_tty")

    def __init__(self, resp: aiohttp.ClientResponse, queue: ChunkQueue, tty: bool) -> None:
        self._resp = resp
        self._queue = queue
        self._closed = False
        self._tty = tty

    @property
    def tty(self) -> bool:
        return self._tty

    def transport(self) -> asyncio.Transport | None:
        """The socket's transport; None once the connection is gone."""
        conn = self._resp.connection
        return None if conn is None else conn.transport

    async def read_frame(self) -> tuple[int, bytes] | None:
        """The next chunk, or None at EOF (also after ``close``). Raises ``ConnectionError`` on a broken link."""
        if self._closed:
            return None
        try:
            return await self._queue.read()
        except (aiohttp.ClientError, OSError) as e:
            if self._closed:
                return None
            raise exc.ConnectionError(f"exec stream broke: {e}") from e

    def push(self, receiver: ChunkReceiver) -> bool:
        """See ``ExecStream.push``; a broken connection ends the receiver with ``ConnectionError``."""
        if self._closed:
            return False
        self._queue.set_receiver(_Translating(receiver))
        return True

    async def write(self, data: bytes) -> None:
        """Write ``data`` to the process's stdin, waiting while the socket's buffer is full.

        Raises ``BrokenPipeError`` when the stream is closed (by us, or by the engine because the process ended).
        """
        if self._closed:
            raise BrokenPipeError("the stream is closed")
        conn = self._resp.connection
        transport = None if conn is None else conn.transport
        if conn is None or conn.protocol is None or transport is None or transport.is_closing():
            raise BrokenPipeError("the process no longer accepts input (its stream was closed)")
        try:
            transport.write(data)
            await conn.protocol._drain_helper()
        except (RuntimeError, ConnectionError, aiohttp.ClientError, OSError) as e:
            raise BrokenPipeError(f"the process no longer accepts input: {e or type(e).__name__}") from e

    def close_write(self) -> bool:
        """Half-close: shut down our write side so the process sees EOF on stdin; reading continues.

        Returns False when the connection is already gone (nothing to close). Idempotent.
        """
        transport = self.transport()
        if transport is None or transport.is_closing() or not transport.can_write_eof():
            return False
        with contextlib.suppress(OSError, RuntimeError):
            transport.write_eof()
        return True

    async def close(self) -> None:
        """Close both directions (unread output is lost). Idempotent; never raises."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self.close_write()
            self._resp.close()


class _Translating:
    """A ``demux.Receiver`` that hands chunks on and reports a broken connection as the library's error."""

    __slots__ = ("_receiver", "chunk")

    def __init__(self, receiver: ChunkReceiver) -> None:
        self._receiver = receiver
        self.chunk = receiver.chunk

    def end(self, error: BaseException | None) -> None:
        if error is not None and not isinstance(error, exc.Error):
            error = exc.ConnectionError(f"exec stream broke: {error}")
        self._receiver.end(error)


async def open_hijacked(client: DockerClient, url: URL, body: bytes | None, tty: bool, what: str) -> HijackedStream:
    """POST ``url`` with ``Upgrade: tcp`` and return the upgraded stream (within the request deadline)."""
    async with engine_errors(what, client.request_timeout):
        resp = await client.docker._do_query(
            url,
            "POST",
            data=body,
            headers={"Connection": "Upgrade", "Upgrade": "tcp"},
            # A stream has no read deadline; only the connect is bounded.
            timeout=aiohttp.ClientTimeout(sock_connect=10),
            read_until_eof=False,
        )
    try:
        async with engine_errors(what, client.request_timeout):
            await resp.read()  # an upgrade has no body; a refusal's body was read (and raised) by _do_query
        conn = resp.connection
        if conn is None or conn.protocol is None or conn.transport is None:
            raise exc.ConnectionError(f"{what}: the engine closed the connection instead of upgrading it")
        sock = conn.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        queue = ChunkQueue(conn.protocol, tty=tty)
        conn.protocol.set_parser(queue, queue)
        conn.protocol.force_close()
    except BaseException:
        resp.close()
        raise
    return HijackedStream(resp, queue, tty)
