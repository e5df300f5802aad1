"""Local input forwarded to a remote stdin (``exec -i``, ``shell``), without blocking the event loop."""

from __future__ import annotations

import asyncio
import os

import sandbox_core as sc

_READ = 1 << 16
_CTRL_C = b"\x03"


class StdinForwarder:
    """Local input on ``fd`` to a remote stdin, in order, EOF included; ``interrupt`` inserts a Ctrl-C byte."""

    def __init__(self, stdin: sc.StreamWriter, fd: int) -> None:
        self._stdin = stdin
        self._fd = fd
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()

    def interrupt(self) -> None:
        """Send Ctrl-C (to a PTY's line discipline: SIGINT for the remote foreground job) after what is queued."""
        self._queue.put_nowait(_CTRL_C)

    async def run(self) -> None:
        """Forward until local EOF (then the remote stdin gets EOF) or cancellation."""
        loop = asyncio.get_running_loop()
        thread_reader: asyncio.Task[None] | None = None
        try:
            loop.add_reader(self._fd, self._on_readable)
            watched = True
        except OSError:
            # Regular files and /dev/null cannot be watched; reading them never blocks for long.
            watched = False
            thread_reader = loop.create_task(self._read_in_thread())
        try:
            while True:
                data = await self._queue.get()
                if data:
                    self._stdin.write(data)
                else:
                    self._stdin.write_eof()
                await self._stdin.drain()
                if not data:
                    return
        finally:
            if watched:
                loop.remove_reader(self._fd)
            if thread_reader is not None:
                thread_reader.cancel()
                await asyncio.gather(thread_reader, return_exceptions=True)

    def _on_readable(self) -> None:
        try:
            data = os.read(self._fd, _READ)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._fd)
        self._queue.put_nowait(data)

    async def _read_in_thread(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await loop.run_in_executor(None, os.read, self._fd, _READ):
                self._queue.put_nowait(data)
        except OSError:
            pass  # an unreadable stdin (e.g. closed) ends input like EOF
        self._queue.put_nowait(b"")
