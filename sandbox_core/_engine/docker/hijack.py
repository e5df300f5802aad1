"""Hijacked (``Upgrade: tcp``) exec/attach connections as ``ExecStream``s.

What aiodocker does not give and this module adds (see docker-engine-notes §2, §8):
- ``HijackedStream.close_write()``: a stdin **half-close** (the process sees EOF, its output keeps flowing). aiodocker
  only has ``Stream.close()``, which drops the read side too; the half-close goes through a private aiohttp
  attribute, isolated in ``transport_of`` (``tests/test_stream_engine.py`` fails if aiohttp changes it).
- Normalised write errors: after the other side went away aiodocker raises a bare ``AssertionError`` or
  ``RuntimeError``; here every such case is ``BrokenPipeError``.
- Detach keys that are never the daemon default (Ctrl-P Ctrl-Q would end a TTY stream on those two bytes).
"""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
from aiodocker.stream import Stream
from yarl import URL

from ... import exception as exc
from .errors import engine_errors
from .http import DockerClient

#: Detach sequence for hijacked streams (a TTY stream ends on it). The engine cannot disable detach keys; this
#: five-byte sequence of rarely used control characters (0x1e 0x1f 0x1e 0x1f 0x1e) stands in for "never".
DETACH_KEYS = "ctrl-^,ctrl-_,ctrl-^,ctrl-_,ctrl-^"


def transport_of(stream: Stream) -> asyncio.Transport | None:
    """The socket transport under an initialised aiodocker ``Stream``; None once the connection is gone.

    PRIVATE API: aiodocker keeps the upgraded response in ``Stream._resp`` and aiohttp exposes the socket as
    ``ClientResponse.connection.transport``. Neither is public; if either moves, ``test_half_close_uses_…`` fails.
    """
    resp = stream._resp
    if resp is None or resp.connection is None:
        return None
    transport = resp.connection.transport
    return transport


class HijackedStream:
    """One upgraded exec/attach connection (an ``ExecStream``).

    Flow control is aiodocker's: the socket stops being read while 128 KiB are queued, so a reader that stops
    calling ``read_frame`` stalls the process's writes instead of growing memory.
    """

    __slots__ = ("_closed", "_stream", "_tty")

    def __init__(self, stream: Stream, tty: bool) -> None:
        self._stream = stream
        self._closed = False
        self._tty = tty

    @property
    def tty(self) -> bool:
        return self._tty

    async def read_frame(self) -> tuple[int, bytes] | None:
        """The next frame, or None at EOF (also after ``close``). Raises ``ConnectionError`` on a broken link."""
        if self._closed:
            return None
        try:
            msg = await self._stream.read_out()
        except (aiohttp.ClientError, OSError) as e:
            if self._closed:
                return None
            raise exc.ConnectionError(f"exec stream broke: {e}") from e
        if msg is None:
            return None
        return msg.stream, msg.data

    async def write(self, data: bytes) -> None:
        """Write ``data`` to the process's stdin, waiting while the socket's buffer is full.

        Raises ``BrokenPipeError`` when the stream is closed (by us, or by the engine because the process ended).
        """
        if self._closed:
            raise BrokenPipeError("the stream is closed")
        transport = transport_of(self._stream)
        if transport is None or transport.is_closing():
            raise BrokenPipeError("the process no longer accepts input (its stream was closed)")
        try:
            await self._stream.write_in(data)
        except (AssertionError, RuntimeError, ConnectionError, aiohttp.ClientError, OSError) as e:
            # aiodocker reports a vanished peer as a bare AssertionError; normalise.
            raise BrokenPipeError(f"the process no longer accepts input: {e or type(e).__name__}") from e

    def close_write(self) -> bool:
        """Half-close: shut down our write side so the process sees EOF on stdin; reading continues.

        Returns False when the connection is already gone (nothing to close). Idempotent.
        """
        transport = transport_of(self._stream)
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
            await self._stream.close()

    @property
    def raw(self) -> Stream:
        """The aiodocker stream underneath (for the engine layer's own tests)."""
        return self._stream


async def open_hijacked(client: DockerClient, url: URL, body: bytes | None, tty: bool, what: str) -> HijackedStream:
    """POST ``url`` with ``Upgrade: tcp`` and return the upgraded stream (within the request deadline)."""

    async def setup() -> tuple[URL, bytes | None, bool]:
        return url, body, tty

    stream = Stream(client.docker, setup)
    try:
        async with engine_errors(what, client.request_timeout):
            await stream._init()
    except BaseException:
        with contextlib.suppress(Exception):
            await stream.close()
        raise
    return HijackedStream(stream, tty)
