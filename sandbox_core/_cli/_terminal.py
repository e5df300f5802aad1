"""The interactive terminal of ``shell``: a remote PTY process bridged to the local terminal.

- The local terminal is put in raw mode (restored on every exit path), so every key — Ctrl-C, Ctrl-Z, Ctrl-D,
  arrows — reaches the remote PTY as a byte and its line discipline decides (Ctrl-C interrupts the remote
  foreground job, never this process).
- A SIGINT that still reaches this process (``kill -INT``, or input that is not a terminal) is sent on as Ctrl-C.
- The window size is applied at start and again on every SIGWINCH.
- The bridge ends when the remote process ends; its return code is the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import termios
import tty
from collections.abc import Callable, Iterator

import sandbox_core as sc

from ._output import FdSink
from ._stdin import StdinForwarder


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    """The terminal on ``fd`` in raw mode for the block, its previous settings restored afterwards."""
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd, termios.TCSADRAIN)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def signal_handler(loop: asyncio.AbstractEventLoop, signum: int, callback: Callable[[], None]) -> Iterator[None]:
    """``callback`` runs on the loop for ``signum`` during the block."""
    loop.add_signal_handler(signum, callback)
    try:
        yield
    finally:
        loop.remove_signal_handler(signum)


def window_size(fd: int) -> tuple[int, int] | None:
    """(rows, cols) of the terminal on ``fd``, or None when it is not a terminal."""
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return None
    return size.lines, size.columns


class _Resizer:
    """Applies the local window size to the remote PTY, one request at a time, the latest size winning."""

    def __init__(self, proc: sc.ContainerProcess[bytes], fd: int) -> None:
        self._proc = proc
        self._fd = fd
        self._task: asyncio.Task[None] | None = None
        self._again = False

    async def apply(self) -> None:
        size = window_size(self._fd)
        if size is not None and size[0] > 0 and size[1] > 0:
            with contextlib.suppress(sc.exception.Error):  # the process may have just ended
                await self._proc.resize(*size)

    def request(self) -> None:
        """Called on SIGWINCH: resize now, or right after the resize in flight."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        self._again = True
        while self._again:
            self._again = False
            await self.apply()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


async def bridge(proc: sc.ContainerProcess[bytes], *, stdin_fd: int = 0, stdout_fd: int = 1) -> int:
    """Connect ``proc`` (started with ``pty=True, text=False``) to the local terminal until it ends; returns its
    return code. Raw mode only when ``stdin_fd`` is a terminal; the window size comes from whichever of the two
    descriptors is one."""
    loop = asyncio.get_running_loop()
    resizer = _Resizer(proc, stdin_fd if os.isatty(stdin_fd) else stdout_fd)
    keys = StdinForwarder(proc.stdin, stdin_fd)
    await resizer.apply()
    with contextlib.ExitStack() as stack:
        if os.isatty(stdin_fd):
            stack.enter_context(raw_mode(stdin_fd))
        stack.enter_context(signal_handler(loop, signal.SIGWINCH, resizer.request))
        stack.enter_context(signal_handler(loop, signal.SIGINT, keys.interrupt))
        forwarding = loop.create_task(keys.run())
        try:
            screen = FdSink(stdout_fd)
            async for chunk in proc.stdout:
                screen.write(chunk)
            return await proc.wait()
        finally:
            forwarding.cancel()
            await asyncio.gather(forwarding, return_exceptions=True)
            await resizer.close()
