"""The sandbox's own process (its entrypoint): ``Sandbox.stdout``/``stderr`` readers and the ``Sandbox.stdin`` writer.

- Output is kept by the engine (its log store), so every new reader (e.g. on a handle from ``from_id`` in another
  process) replays it from the beginning; each reader consumes it once, by line, as text. A reader opens its log
  stream lazily, on its first read, and ends when the sandbox stops.
- Input goes through one stdin-only attach per handle, opened on the first ``drain``. ``write_eof`` + ``drain``
  delivers EOF (a half-close, which the container's ``StdinOnce`` turns into EOF for PID 1; ``\\x04`` with a PTY).
  Because of ``StdinOnce``, PID 1's stdin also closes when that attach goes away (``detach``, or this process
  exiting). ``drain`` on a finished sandbox raises ``ValueError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math

from ._engine import get_engine
from ._engine.api import STDERR, STDOUT, ExecStream
from ._link import SandboxLink
from ._pump import pump
from ._tasks import TaskSet
from ._validation import check_window_size
from .exception import Error, InvalidError
from .streams import StreamReader, StreamWriter

#: Sandbox stdin buffer limit (Modal's V1 limit).
STDIN_LIMIT = 2 << 20
_FINISHED = "Sandbox already finished"


def _mark_interval(idle_timeout: float) -> float:
    """Seconds between two stdin activity marks: a tenth of the idle timeout, within [0.2, 30]."""
    return min(max(idle_timeout / 10, 0.2), 30.0)


class EntrypointStdio:
    """What one Sandbox handle has of its entrypoint's I/O: the readers and writer it handed out, their log pumps
    and the stdin attach. Builds nothing on the event loop (the blocking facade may call it from any thread)."""

    __slots__ = ("_link", "_stderr", "_stdin", "_stdout", "attach", "tasks")

    def __init__(self, link: SandboxLink) -> None:
        self._link = link
        self._stdout: StreamReader[str] | None = None
        self._stderr: StreamReader[str] | None = None
        self._stdin: StreamWriter | None = None
        self.tasks = TaskSet()
        self.attach: ExecStream | None = None

    @property
    def stdout(self) -> StreamReader[str]:
        if self._stdout is None:
            self._stdout = self._reader(STDOUT)
        return self._stdout

    @property
    def stderr(self) -> StreamReader[str]:
        if self._stderr is None:
            self._stderr = self._reader(STDERR)
        return self._stderr

    @property
    def stdin(self) -> StreamWriter:
        if self._stdin is None:
            self._stdin = StreamWriter(_EntrypointStdin(self._link, self), limit=STDIN_LIMIT, always_send=True)
        return self._stdin

    def _reader(self, fd: int) -> StreamReader[str]:
        """A text, line-iterating reader of output ``fd``; its log stream is opened on the first read."""
        link = self._link

        def start() -> None:
            link.check_attached()  # a reader kept past detach() raises ClientClosed instead of reconnecting
            self.tasks.spawn(_follow(link.container_id, fd, link.pty, reader), f"logs-{link.container_id[:12]}-{fd}")

        reader: StreamReader[str] = StreamReader(file_descriptor=fd, text=True, by_line=True, start=start)
        return reader

    async def resize(self, rows: int, cols: int) -> None:
        """Set the window size of a ``pty=True`` sandbox. ``InvalidError`` without a PTY or for bad sizes."""
        if not self._link.pty:
            raise InvalidError("resizing needs a sandbox created with pty=True")
        check_window_size(rows, cols)
        await (await get_engine()).containers.resize(self._link.ref, rows=rows, cols=cols)

    async def close(self) -> None:
        """Close what the handle has open (``Sandbox.detach``): readers end, the stdin attach is closed."""
        await self.tasks.cancel_all()
        if self.attach is not None:
            await self.attach.close()


async def _follow(cid: str, fd: int, tty: bool, reader: StreamReader[str]) -> None:
    try:
        source = await (await get_engine()).containers.follow_output(cid, fd=fd, tty=tty)
    except Exception as e:
        reader.set_exception(e)
        reader.feed_eof()
        return
    with contextlib.suppress(Exception):  # delivered to the reader by the pump
        await pump(source, reader)


class _EntrypointStdin:
    """The sink of ``Sandbox.stdin``: writes through a stdin-only attach opened on first use."""

    __slots__ = ("_closed", "_last_mark", "_link", "_stdio", "_stream", "_tail", "_trailing_mark", "_watcher")

    def __init__(self, link: SandboxLink, stdio: EntrypointStdio) -> None:
        self._link = link
        self._stdio = stdio
        self._stream: ExecStream | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._closed = False
        self._tail = b"\n"  # last byte sent (a TTY needs a second VEOF after a partial line)
        self._last_mark = -math.inf  # loop time of the last activity mark
        self._trailing_mark: asyncio.Task[None] | None = None

    async def _note_activity(self, idle_timeout: float) -> None:
        """Tell the supervisor about input, at most once per ``_mark_interval``: each mark is an exec the engine
        keeps until the container is gone, so a chatty writer must not create one per drain. Input within the
        interval after a mark gets one trailing mark at the interval's end, so the last write is always covered
        (a sandbox may then idle out up to one interval late, never early)."""
        loop = asyncio.get_running_loop()
        wait = self._last_mark + _mark_interval(idle_timeout) - loop.time()
        if wait <= 0:
            self._last_mark = loop.time()
            await self._mark()
        elif self._trailing_mark is None:
            self._trailing_mark = self._stdio.tasks.spawn(self._mark_later(wait), "stdin-activity-mark")

    async def _mark_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._trailing_mark = None
        self._last_mark = asyncio.get_running_loop().time()
        await self._mark()

    async def _mark(self) -> None:
        with contextlib.suppress(Error):  # a finished sandbox is reported by the caller's check
            await (await get_engine()).execs.note_activity(self._link.container_id)

    async def _open(self) -> ExecStream:
        stream = await (await get_engine()).containers.attach_stdin(self._link.container_id, tty=self._link.pty)
        # The engine upgrades before it looks at the container; one that stopped meanwhile would swallow input.
        if await self._link.finished():
            await stream.close()
            raise ValueError(_FINISHED)
        self._stream = self._stdio.attach = stream
        self._watcher = self._stdio.tasks.spawn(_watch_attach(stream), "stdin-attach")
        return stream

    async def __call__(self, data: bytes, eof: bool) -> None:
        link = self._link
        link.check_attached()  # a writer kept past detach() raises ClientClosed instead of reconnecting
        # One inspect per drain (as Modal's V1 path makes one request per drain): writes into an attach whose
        # container just stopped could otherwise vanish without an error. With an idle_timeout, input is
        # activity: the supervisor learns of it from an engine event, requested alongside that inspect.
        if link.idle_timeout is not None and (data or eof):
            finished, _ = await asyncio.gather(link.finished(), self._note_activity(link.idle_timeout))
        else:
            finished = await link.finished()
        if finished:
            raise ValueError(_FINISHED)
        if self._closed:
            return  # EOF already delivered; a duplicate is harmless
        stream = self._stream if self._stream is not None else await self._open()
        try:
            if data:
                await stream.write(data)
                self._tail = data[-1:]
            if eof:
                await self._send_eof(stream)
        except BrokenPipeError:
            if await link.finished():
                raise ValueError(_FINISHED) from None
            raise

    async def _send_eof(self, stream: ExecStream) -> None:
        if stream.tty:
            # A TTY ignores a half-close; VEOF ends input (twice when a partial line is pending).
            await stream.write(b"\x04" if self._tail == b"\n" else b"\x04\x04")
        else:
            stream.close_write()
            # Let the engine take the EOF (it ends the attach once stdin is closed) before we hang up.
            assert self._watcher is not None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._watcher), 2)
            await stream.close()
        self._closed = True


async def _watch_attach(stream: ExecStream) -> None:
    """Close the stdin attach once the engine ends it (the container stopped, or stdin was closed)."""
    try:
        while await stream.read_frame() is not None:
            pass
    except Exception:
        pass
    finally:
        await stream.close()
