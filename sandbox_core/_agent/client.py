"""The client side of the agent protocol: one session over one transport, multiplexing every operation.

``AgentClient.connect(transport)`` exchanges HELLOs and starts two tasks: a reader that decodes frames and feeds
channels (it never blocks on a channel, so a slow reader of one exec never stalls another), and a writer that
batches queued frames into transport writes. Operations open channels; the typed handles live in ``ops.py``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import struct
import time
from collections.abc import AsyncIterable
from typing import Any, Self

from .. import exception as exc
from .channel import Channel
from .ops import Activity, ExecProcess, ReadStream, WatchStream, parse_entries
from .protocol import (
    HELLO_SIZE,
    VERSION,
    AgentLostError,
    AgentProtocolError,
    Frame,
    FrameDecoder,
    FrameType,
    Hello,
    decode_msg,
    encode_frame,
    encode_json,
    goaway_payload,
)
from .transport import AgentTransport

#: What this client announces by default: 256 KiB frames, 1 MiB credit per stream, 4096 channels.
DEFAULT_HELLO = Hello(version=VERSION, max_frame=256 << 10, window=1 << 20, max_channels=4096)


class AgentClient:
    """A session with one agent. Create with ``await AgentClient.connect(transport)``; ``await close()`` ends it.

    Every operation raises ``AgentLostError`` once the session is gone and ``AgentProtocolError`` if the agent
    broke the protocol; per-operation failures are ``AgentOpError`` with the agent's error kind.
    """

    def __init__(self, transport: AgentTransport, local: Hello, peer: Hello, leftover: bytes) -> None:
        self._transport = transport
        self.local = local
        self.peer = peer
        self._decoder = FrameDecoder(local.max_frame)
        self._leftover = leftover
        self._channels: dict[int, Channel] = {}
        self._next_id = 1
        self._slots = asyncio.Semaphore(peer.max_channels)
        self._slot_waiters = 0
        self._out: collections.deque[bytes] = collections.deque()
        self._out_ready = asyncio.Event()
        self._pings: dict[int, asyncio.Future[None]] = {}
        self._error: BaseException | None = None
        self.closed = asyncio.Event()
        self._reader = asyncio.create_task(self._read_loop(), name="agent-reader")
        self._writer = asyncio.create_task(self._write_loop(), name="agent-writer")

    @classmethod
    async def connect(cls, transport: AgentTransport, *, local: Hello = DEFAULT_HELLO, timeout: float = 10.0) -> Self:
        """Exchange HELLOs on ``transport``. Raises ``AgentProtocolError`` if the other end is not a compatible
        agent, ``AgentLostError`` if it ended first; the transport is closed on failure."""
        try:
            await transport.write(local.encode())
            async with asyncio.timeout(timeout):
                buf = b""
                while len(buf) < HELLO_SIZE:
                    chunk = await transport.read()
                    if chunk is None:
                        raise AgentLostError(f"the agent ended before its HELLO (got {buf[:200]!r})")
                    buf += chunk
        except BaseException:
            await transport.close()
            raise
        try:
            peer = Hello.decode(buf[:HELLO_SIZE])
        except AgentProtocolError:
            await transport.close()
            raise
        return cls(transport, local, peer, buf[HELLO_SIZE:])

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _send(self, frame: bytes) -> None:
        if self._error is None:
            self._out.append(frame)
            self._out_ready.set()

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._out_ready.wait()
                self._out_ready.clear()
                if self._error is not None and not self._out:
                    return  # the session ended and nothing is left to send (a final GOAWAY went out)
                while self._out:
                    batch = b"".join(self._out) if len(self._out) > 1 else self._out[0]
                    self._out.clear()
                    await self._transport.write(batch)
        except (OSError, ConnectionError) as e:
            self._fail(AgentLostError(f"writing to the agent failed: {e}"))

    async def _read_loop(self) -> None:
        try:
            if self._leftover:
                self._dispatch_all(self._decoder.feed(self._leftover))
                self._leftover = b""
            if self._transport.push(self._on_bytes, self._on_end):
                await self.closed.wait()
                return
            while True:
                data = await self._transport.read()
                if data is None:
                    self._fail(AgentLostError("the agent's stream ended"))
                    return
                self._dispatch_all(self._decoder.feed(data))
        except AgentProtocolError as e:
            self._send_now(encode_frame(FrameType.GOAWAY, 0, goaway_payload(1, str(e))))
            self._fail(e)
        except (OSError, ConnectionError) as e:
            self._fail(AgentLostError(f"reading from the agent failed: {e}"))

    def _on_bytes(self, data: bytes) -> None:
        """The transport's push: decode and dispatch right in its I/O callback."""
        if self._error is not None:
            return
        try:
            self._dispatch_all(self._decoder.feed(data))
        except AgentProtocolError as e:
            self._send_now(encode_frame(FrameType.GOAWAY, 0, goaway_payload(1, str(e))))
            self._fail(e)

    def _on_end(self, error: BaseException | None) -> None:
        if error is None:
            self._fail(AgentLostError("the agent's stream ended"))
        else:
            self._fail(AgentLostError(f"reading from the agent failed: {error}"))

    def _send_now(self, frame: bytes) -> None:
        self._out.append(frame)
        self._out_ready.set()

    def _dispatch_all(self, frames: list[Frame]) -> None:
        for f in frames:
            self._dispatch(f)

    def _dispatch(self, f: Frame) -> None:
        if f.type is FrameType.PING:
            if f.flags:
                fut = self._pings.pop(struct.unpack(">Q", f.payload)[0], None)
                if fut is not None and not fut.done():
                    fut.set_result(None)
            else:
                self._send(encode_frame(FrameType.PING, 0, f.payload, flags=1))
            return
        if f.type is FrameType.GOAWAY:
            reason = f.payload[4:].decode("utf-8", "replace")
            raise AgentProtocolError(f"the agent ended the session: {reason}")
        if f.type is FrameType.OPEN:
            raise AgentProtocolError("the agent opened a channel")
        ch = self._channels.get(f.channel)
        if ch is None:
            if f.channel >= self._next_id:
                raise AgentProtocolError(f"frame for channel {f.channel}, which was never opened")
            raise AgentProtocolError(f"frame for channel {f.channel}, which is closed")
        msg = decode_msg(f.payload) if f.type is FrameType.MSG else None
        ch.on_frame(f.type, f.stream, f.payload, msg)

    def _retire(self, channel_id: int) -> None:
        if self._channels.pop(channel_id, None) is not None:
            self._slots.release()

    def _fail(self, error: BaseException) -> None:
        if self._error is not None:
            return
        self._error = error
        for ch in list(self._channels.values()):
            ch.fail(error)
        for fut in self._pings.values():
            if not fut.done():
                fut.set_exception(error)
        self._pings.clear()
        for _ in range(self._slot_waiters):  # wake every open() waiting for a slot: it then raises
            self._slots.release()
        self.closed.set()
        self._out_ready.set()

    # -- channels ----------------------------------------------------------------------------------------------
    async def open(self, request: dict[str, Any]) -> Channel:
        """Open a channel with ``request`` (an op object, PROTOCOL.md §5); waits for a free slot if the agent's
        channel cap is reached."""
        if self._error is not None:
            raise self._error
        self._slot_waiters += 1
        try:
            await self._slots.acquire()
        finally:
            self._slot_waiters -= 1
        if self._error is not None:
            self._slots.release()
            raise self._error
        payload = encode_json(request)
        if len(payload) > self.peer.max_frame:
            self._slots.release()
            raise exc.InvalidError(
                f"the request is {len(payload)} bytes encoded; the agent accepts at most {self.peer.max_frame} "
                "(shorten argv/env)"
            )
        cid = self._next_id
        self._next_id += 1
        ch = Channel(cid, self.local.window, self.peer.window, self.peer.max_frame, self._send, self._retire)
        self._channels[cid] = ch
        self._send(encode_frame(FrameType.OPEN, cid, payload))
        return ch

    async def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """A request/response operation: open, await the ``result`` (or raise ``AgentOpError``)."""
        ch = await self.open(request)
        try:
            return await ch.expect("result")
        finally:
            ch.close()

    async def ping(self, timeout: float = 10.0) -> float:
        """Round-trip time of a PING, in seconds."""
        if self._error is not None:
            raise self._error
        token = int.from_bytes(os.urandom(8), "big")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pings[token] = fut
        t0 = time.perf_counter()
        self._send(encode_frame(FrameType.PING, 0, struct.pack(">Q", token)))
        async with asyncio.timeout(timeout):
            await fut
        return time.perf_counter() - t0

    @property
    def open_channels(self) -> int:
        """Channels not yet retired (both sides' CLOSE seen)."""
        return len(self._channels)

    @property
    def alive(self) -> bool:
        """False once the session ended."""
        return self._error is None

    async def close(self) -> None:
        """End the session: half-close (the agent exits on EOF; running processes keep running), then close.
        Idempotent."""
        if self._error is None:
            self._fail(AgentLostError("the agent session was closed"))
        with contextlib.suppress(OSError, ConnectionError):
            self._transport.close_write()
        self._writer.cancel()
        self._reader.cancel()
        for task in (self._writer, self._reader):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._transport.close()


class Agent(AgentClient):
    """``AgentClient`` plus the operations of PROTOCOL.md §5 as typed calls."""

    async def exec(
        self,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        clear_env: bool = False,
        workdir: str | None = None,
        user: str | None = None,
        pty: tuple[int, int] | None = None,
    ) -> ExecProcess:
        """Start ``argv`` (resolved against the PATH of its environment: the sandbox's defaults plus ``env``)
        and return once it runs. Raises ``AgentOpError`` (``NotFound``, ``PermissionDenied``, ...) if it
        cannot start. ``pty`` is (rows, cols)."""
        req: dict[str, Any] = {"op": "exec", "argv": list(argv)}
        if env:
            req["env"] = dict(env)
        if clear_env:
            req["clear_env"] = True
        if workdir is not None:
            req["workdir"] = workdir
        if user is not None:
            req["user"] = user
        if pty is not None:
            req["pty"] = {"rows": pty[0], "cols": pty[1]}
        ch = await self.open(req)
        try:
            msg = await ch.expect("started")
        except BaseException:
            # Cancelled (or failed) before the caller got a handle: nobody could ever stop the program, so
            # kill it if it started (the agent handles messages queued before our CLOSE).
            ch.send_msg(encode_json({"t": "signal", "signal": 9, "tree": True}))
            ch.close()
            raise
        return ExecProcess(ch, int(msg.get("pid", 0)))

    async def stat(self, path: str) -> dict[str, Any]:
        """The lstat entry of ``path`` (FileEntry fields of Appendix A)."""
        entry = (await self.call({"op": "stat", "path": path})).get("entry")
        if not isinstance(entry, dict):
            raise AgentProtocolError("stat result without an entry")
        return entry

    async def list_files(self, path: str) -> list[dict[str, Any]]:
        """The entries of directory ``path``, sorted by name."""
        ch = await self.open({"op": "list", "path": path})
        try:
            body = await _body_or_error(ch)
            await ch.expect("result")
        finally:
            ch.close()
        return parse_entries(body)

    async def mkdir(self, path: str, *, parents: bool) -> None:
        """Create directory ``path`` (``parents``: like ``mkdir -p``)."""
        await self.call({"op": "mkdir", "path": path, "parents": parents})

    async def remove(self, path: str, *, recursive: bool) -> None:
        """Remove ``path`` (never following a final symlink)."""
        await self.call({"op": "remove", "path": path, "recursive": recursive})

    async def read_file(self, path: str, *, max_size: int | None = None) -> ReadStream:
        """Open ``path`` for a streamed read; raises ``AgentOpError`` (``NotFound``, ``IsDirectory``,
        ``FileTooLarge``, ...) before any data."""
        req: dict[str, Any] = {"op": "read", "path": path}
        if max_size is not None:
            req["max_size"] = max_size
        ch = await self.open(req)
        try:
            msg = await ch.expect("started")
        except BaseException:
            ch.close()
            raise
        return ReadStream(ch, int(msg.get("size", 0)))

    async def write_file(self, path: str, data: bytes | AsyncIterable[bytes]) -> int:
        """Write ``data`` (bytes, or chunks streamed as they come) to ``path``, creating parents; returns the
        size written. Raises ``AgentOpError`` (``NotDirectory``, ``IsDirectory``, ``PermissionDenied``, ...)."""
        ch = await self.open({"op": "write", "path": path})
        try:
            await ch.expect("started")
            if isinstance(data, bytes | bytearray | memoryview):
                await ch.write(data)
            else:
                async for chunk in data:
                    await ch.write(chunk)
            ch.write_eof()
            return int((await ch.expect("result")).get("size", 0))
        except BrokenPipeError:
            await ch.expect("result")  # the agent stopped reading: its error message says why
            raise
        finally:
            ch.close()

    async def watch(self, path: str, *, recursive: bool = False, filter: list[str] | None = None) -> WatchStream:
        """Watch ``path`` (followed if a symlink); ``filter`` None means every event type, [] none."""
        ch = await self.open({"op": "watch", "path": path, "recursive": recursive, "filter": filter})
        try:
            await ch.expect("started")
        except BaseException:
            ch.close()
            raise
        return WatchStream(ch)

    async def activity(self, *, sandbox: bool = False) -> Activity:
        """When this session was last active (execs running, exec or file I/O); with ``sandbox`` also the census
        of every session in the sandbox (PROTOCOL.md, ``activity``)."""
        r = await self.call({"op": "activity", "scope": "sandbox" if sandbox else "session"})
        try:
            base = (float(r["last_activity"]), float(r["now"]), int(r["running"]))
            if not sandbox:
                return Activity(*base)
            return Activity(*base, int(r["sandbox_running"]), int(r["peers"]), int(r["peer_io"]))
        except (KeyError, TypeError, ValueError) as e:
            raise AgentProtocolError(f"malformed activity result {r!r}") from e

    async def kill_marked(self, marker: str, *, signal: int = 9, wait: float = 2.0) -> tuple[int, int]:
        """Signal every process whose environment holds ``marker`` (``KEY=value``) and all their descendants: the
        whole tree of an exec started with that marker, from any session. Waits up to ``wait`` seconds until they
        are gone; returns (signalled, still there)."""
        r = await self.call({"op": "kill", "env": marker, "signal": signal, "wait": wait})
        return int(r.get("signalled", 0)), int(r.get("remaining", 0))

    async def info(self) -> dict[str, Any]:
        """The agent's version, pid, uid, gid, cwd and features."""
        return await self.call({"op": "info"})


async def _body_or_error(ch: Channel) -> bytes:
    """Read stdout to EOF; if the agent closes it with an error first, raise that error."""
    try:
        return await ch.stdout.read_all()
    except AgentLostError:
        await ch.expect("result")
        raise
