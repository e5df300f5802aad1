"""The sandbox's own process (its entrypoint): ``Sandbox.stdout``/``stderr`` readers and the ``Sandbox.stdin`` writer.

- Output is kept by the engine (json-file logs), so every new reader (e.g. on a handle from ``from_id`` in another
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
import weakref
from typing import TYPE_CHECKING, Any

from ._engine import get_engine
from ._engine.api import ExecStream, FrameSource
from .exception import Error, InvalidError, NotFoundError
from .streams import StreamReader, StreamWriter

if TYPE_CHECKING:
    from .sandbox import Sandbox

#: Sandbox stdin buffer limit (Modal's V1 limit).
STDIN_LIMIT = 2 << 20
_FINISHED = "Sandbox already finished"


class _HandleStreams:
    """What one Sandbox handle has open: log pumps and the stdin attach."""

    __slots__ = ("attach", "tasks")

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[Any]] = set()
        self.attach: ExecStream | None = None


_handles: weakref.WeakKeyDictionary[Sandbox, _HandleStreams] = weakref.WeakKeyDictionary()


def _state(sb: Sandbox) -> _HandleStreams:
    st = _handles.get(sb)
    if st is None:
        st = _handles[sb] = _HandleStreams()
    return st


async def _pump_logs(cid: str, fd: int, tty: bool, reader: StreamReader[str]) -> None:
    stream: FrameSource | None = None
    try:
        eng = await get_engine()
        stream = await eng.containers.follow_output(cid, fd=fd, tty=tty)
        while (frame := await stream.read_frame()) is not None:
            reader.feed_data(frame[1])
            if reader._over_limit():
                await reader._wait_for_space()
    except Exception as e:
        reader.set_exception(e)
    finally:
        if stream is not None:
            await stream.close()
        reader.feed_eof()


def entrypoint_reader(sb: Sandbox, fd: int) -> StreamReader[str]:
    """A new text, line-iterating reader of the entrypoint's ``fd`` (1 stdout, 2 stderr; 2 is empty with a PTY).

    Builds nothing on the event loop (the blocking facade may call it from any thread); the log stream is opened
    on the first read.
    """
    cid, tty = sb._container_id, sb._pty
    st = _state(sb)

    def start() -> None:
        sb._check_attached()  # a reader kept past detach() raises ClientClosed instead of reconnecting
        task = asyncio.get_running_loop().create_task(_pump_logs(cid, fd, tty, reader), name=f"logs-{cid[:12]}-{fd}")
        st.tasks.add(task)
        task.add_done_callback(st.tasks.discard)

    reader: StreamReader[str] = StreamReader(file_descriptor=fd, text=True, by_line=True, start=start)
    return reader


class _EntrypointStdin:
    """The sink of ``Sandbox.stdin``: writes through a stdin-only attach opened on first use."""

    __slots__ = ("_closed", "_last_mark", "_sb", "_stream", "_tail", "_trailing_mark", "_watcher")

    def __init__(self, sb: Sandbox) -> None:
        self._sb = sb
        self._stream: ExecStream | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._closed = False
        self._tail = b"\n"  # last byte sent (a TTY needs a second VEOF after a partial line)
        self._last_mark = -math.inf  # loop time of the last activity mark
        self._trailing_mark: asyncio.Task[None] | None = None

    async def _finished(self) -> bool:
        try:
            return await self._sb._refresh() is not None
        except NotFoundError:
            return True

    async def _note_activity(self) -> None:
        """Tell the supervisor about input, at most once per ``_mark_interval``: each mark is an exec the engine
        keeps until the container is gone, so a chatty writer must not create one per drain. Input within the
        interval after a mark gets one trailing mark at the interval's end, so the last write is always covered
        (a sandbox may then idle out up to one interval late, never early)."""
        idle_timeout = self._sb._idle_timeout
        assert idle_timeout is not None
        interval = _mark_interval(idle_timeout)
        loop = asyncio.get_running_loop()
        wait = self._last_mark + interval - loop.time()
        if wait <= 0:
            self._last_mark = loop.time()
            await self._mark()
        elif self._trailing_mark is None:
            task = loop.create_task(self._mark_later(wait), name="stdin-activity-mark")
            self._trailing_mark = task
            st = _state(self._sb)
            st.tasks.add(task)
            task.add_done_callback(st.tasks.discard)

    async def _mark_later(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._trailing_mark = None
        self._last_mark = asyncio.get_running_loop().time()
        await self._mark()

    async def _mark(self) -> None:
        with contextlib.suppress(Error):  # a finished sandbox is reported by _finished()
            await (await get_engine()).execs.note_activity(self._sb._container_id)

    async def __call__(self, data: bytes, eof: bool) -> None:
        sb = self._sb
        sb._check_attached()  # a writer kept past detach() raises ClientClosed instead of reconnecting
        # One inspect per drain (as Modal's V1 path makes one request per drain): writes into an attach whose
        # container just stopped could otherwise vanish without an error. With an idle_timeout, input is
        # activity: the supervisor learns of it from an engine event, requested alongside that inspect.
        if sb._idle_timeout is not None and (data or eof):
            finished, _ = await asyncio.gather(self._finished(), self._note_activity())
        else:
            finished = await self._finished()
        if finished:
            raise ValueError(_FINISHED)
        if self._closed:
            return  # EOF already delivered; a duplicate is harmless
        if self._stream is None:
            eng = await get_engine()
            stream = await eng.containers.attach_stdin(sb._container_id, tty=sb._pty)
            # The engine upgrades before it looks at the container; one that stopped meanwhile would swallow input.
            if await self._finished():
                await stream.close()
                raise ValueError(_FINISHED)
            st = _state(sb)
            self._stream = st.attach = stream
            self._watcher = asyncio.get_running_loop().create_task(_watch_attach(stream), name="stdin-attach")
            st.tasks.add(self._watcher)
            self._watcher.add_done_callback(st.tasks.discard)
        stream = self._stream
        try:
            if data:
                await stream.write(data)
                self._tail = data[-1:]
            if eof:
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
        except BrokenPipeError:
            if await self._finished():
                raise ValueError(_FINISHED) from None
            raise


async def _watch_attach(stream: ExecStream) -> None:
    """Close the stdin attach once the engine ends it (the container stopped, or stdin was closed)."""
    try:
        while await stream.read_frame() is not None:
            pass
    except Exception:
        pass
    finally:
        await stream.close()


def _mark_interval(idle_timeout: float) -> float:
    """Seconds between two stdin activity marks: a tenth of the idle timeout, within [0.2, 30]."""
    return min(max(idle_timeout / 10, 0.2), 30.0)


def entrypoint_writer(sb: Sandbox) -> StreamWriter:
    """The entrypoint's stdin (buffer limit 2 MiB). Builds nothing on the event loop."""
    return StreamWriter(_EntrypointStdin(sb), limit=STDIN_LIMIT, always_send=True)


async def resize_tty(sb: Sandbox, rows: int, cols: int) -> None:
    """Set the window size of a ``pty=True`` sandbox. Raises ``InvalidError`` without a PTY or for bad sizes."""
    if not sb._pty:
        raise InvalidError("resizing needs a sandbox created with pty=True")
    if not (isinstance(rows, int) and isinstance(cols, int) and rows > 0 and cols > 0):
        raise InvalidError(f"rows and cols must be positive integers, got {rows!r} x {cols!r}")
    await (await get_engine()).containers.resize(sb._container, rows=rows, cols=cols)


async def close_streams(sb: Sandbox) -> None:
    """Close what the handle has open (``Sandbox.detach``): log readers end, the stdin attach is closed."""
    st = _handles.pop(sb, None)
    if st is None:
        return
    for task in list(st.tasks):
        task.cancel()
    if st.tasks:
        await asyncio.gather(*st.tasks, return_exceptions=True)
    if st.attach is not None:
        await st.attach.close()
