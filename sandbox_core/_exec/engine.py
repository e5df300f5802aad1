"""The engine backend: one engine exec per command (create, start — one hijacked stream —, read to EOF, one
inspect for the exit code). Works on every image and engine; the agent backend is faster where it runs.

Its killer SIGKILLs every process carrying the exec's marker variable and, where the engine can see host pids, the
command's whole process tree (``ExecsAPI.kill_marked``).

An exec whose sandbox stops under it ends with ``KILLED_WITH_SANDBOX``, as through the agent: under gVisor, when the
sandbox's kernel dies, the runtime's exec ends with ``RUNTIME_LOST`` (the program's own code is lost with the kernel),
so that code is taken for the sandbox's end when the container stops within ``STOP_WAIT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from .._engine import EngineAPI, get_engine
from .._engine.errors import ContainerNotRunning, NoSuchContainer, NoSuchExec
from .._engine.values import ExecSpec
from .._execfail import StartScreen
from .._pump import pump
from ..exception import ConflictError, Error
from ..streams import StreamReader
from .base import KILLED_WITH_SANDBOX, ExecRequest, Killer

logger = logging.getLogger("sandbox_core")

#: What runsc's exec answers when the sandbox's kernel died under the program.
RUNTIME_LOST = 128
#: Seconds an exec that ended with ``RUNTIME_LOST`` waits for its container to be reported stopped.
STOP_WAIT = 2.0


class EngineExec:
    """A ``RunningExec`` over one engine exec stream."""

    __slots__ = ("_eng", "_exec_id", "_exit_code", "_marker", "_pumped", "_ref", "_stdin_tail", "_stream")

    def __init__(self, eng: EngineAPI, ref: str, exec_id: str, stream: StartScreen, marker: str | None) -> None:
        self._eng = eng
        self._ref = ref
        self._exec_id = exec_id
        self._stream = stream
        self._marker = marker
        self._stdin_tail = b"\n"  # last byte sent to stdin (a TTY needs a second VEOF after a partial line)
        self._exit_code: int | None = None
        self._pumped = asyncio.Event()

    async def pump(self, stdout: StreamReader[Any], stderr: StreamReader[Any]) -> int | None:
        # The exit code is asked for after EOF: only then is the engine's answer trustworthy.
        try:
            await pump(self._stream, stdout, stderr, at_eof=self._learn_exit_code)
        finally:
            self._pumped.set()
        return self._exit_code

    async def _learn_exit_code(self) -> None:
        failure = self._stream.failure
        if failure is not None:  # the program never started: the code is the contract's, not the engine's 126
            self._exit_code = failure.returncode
            return
        code = await self._eng.execs.exit_code(self._exec_id)
        if code == RUNTIME_LOST and await self._container_stops():
            code = KILLED_WITH_SANDBOX
        self._exit_code = code

    async def _container_stops(self) -> bool:
        """True when the container is (or within ``STOP_WAIT`` is reported) stopped."""
        try:
            async with asyncio.timeout(STOP_WAIT):
                await self._eng.containers.wait(self._ref)
        except NoSuchContainer:
            return True
        except (TimeoutError, Error):
            return False
        return True

    async def write(self, data: bytes) -> None:
        await self._stream.write(data)
        if data:
            self._stdin_tail = data[-1:]

    async def close_stdin(self) -> None:
        if self._stream.tty:
            # A TTY ignores a half-close; VEOF ends input (twice when a partial line is pending).
            await self._stream.write(b"\x04" if self._stdin_tail == b"\n" else b"\x04\x04")
        else:
            self._stream.close_write()

    async def poll(self) -> int | None:
        info = await self._eng.execs.inspect(self._exec_id)
        if not info.running and info.exit_code is not None and info.pid == 0:
            # It never started: the pump is about to turn that into the start-failure contract (at once: the
            # engine has closed the stream), whose code is what to report.
            await self._pumped.wait()
            return self._exit_code
        # The stream is still open (we never abandon it), so this is the real code, not the 126 of a drop.
        return info.exit_code if not info.running else None

    async def resize(self, rows: int, cols: int) -> None:
        await self._eng.execs.resize(self._exec_id, rows=rows, cols=cols)

    def killer(self) -> Killer:
        eng, ref, exec_id, marker = self._eng, self._ref, self._exec_id, self._marker

        async def kill() -> None:
            if marker is None:
                return
            key, _, value = marker.partition("=")
            root_pid: int | None = None
            with contextlib.suppress(Error):
                info = await eng.execs.inspect(exec_id)
                if info.running and info.pid:
                    root_pid = info.pid
            await eng.execs.kill_marked(ref, key, value, root_pid=root_pid)

        return kill

    async def close(self) -> None:
        await self._stream.close()


class EngineBackend:
    """``ExecBackend`` through the engine's exec API."""

    __slots__ = ()

    async def start(self, ref: str, req: ExecRequest) -> EngineExec:
        eng = await get_engine()
        try:
            exec_id = await eng.execs.create(
                ref, ExecSpec(cmd=req.args, env=dict(req.env), workdir=req.workdir, tty=req.pty)
            )
            stream = StartScreen(await eng.execs.start(exec_id, tty=req.pty), req.args, req.workdir)
        except (ContainerNotRunning, NoSuchContainer, NoSuchExec):
            raise ConflictError("Sandbox already finished") from None
        return EngineExec(eng, ref, exec_id, stream, req.marker)


ENGINE = EngineBackend()
