"""``ContainerProcess`` (what ``Sandbox.exec`` returns) and ``start_exec``, which validates and starts an exec.

The command runs through an exec backend (``_exec``): the sandbox's in-sandbox agent where it has one, the engine's
exec API otherwise; ``ContainerProcess`` is written once against ``RunningExec``. A task per exec runs the backend's
**pump**, which feeds the stdout/stderr ``StreamReader``s and is held while a reader is full (see ``streams``), and
learns the exit code.

The exec ``timeout`` is enforced by a separate task, independent of anyone reading: at the deadline the backend's
killer ends every process of the exec — the command and everything it started, backgrounded or not, even if the
command itself already exited — then the streams end quietly; ``wait``/``poll`` return -1 if the command was still
running. Every exec with a deadline carries a marker variable in its environment, which both killers look for.
Through the agent, the exec's processes also stay attributable after they clear their environment or double-fork
(a per-exec shim adopts them); through the engine, a process that both cleared its environment and left the
command's tree before the deadline is not found (the sandbox's own timeout still bounds it).

An exec that ends by SIGKILL (137) is asked about once more: the engine's event log tells whether the kernel's OOM
killer did it (``end_reason``). Whichever backend ran it, the process lives in the sandbox's memory cgroup.

When the sandbox runs under its own kernel (gVisor), an exec's transport can outlive the sandbox (its kernel killed,
the engine's exec — the command's own or the agent's session — stays attached), so a watcher task waits for the
container to stop and, ``GONE_GRACE`` seconds later, ends a stream still open: the process's return code is then
137, as for any process the sandbox's end killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Generic

from . import _oom
from ._engine import get_engine
from ._engine.api import STDERR, STDOUT
from ._exec.base import KILLED_WITH_SANDBOX, ExecBackend, ExecRequest, Killer, RunningExec
from ._exec.engine import ENGINE
from ._tasks import TaskSet
from ._validation import (
    check_env_keys,
    check_flag,
    check_seconds,
    check_window_size,
    check_workdir,
    pty_from_info,
    pty_info_window,
    validate_argv,
)
from .end_reason import EndReason
from .exception import Error, InvalidError
from .secret import Secret, check_env_args, known_keys, resolve_env
from .streams import StreamReader, StreamType, StreamWriter, T

logger = logging.getLogger("sandbox_core")

#: Environment variable marking every process of one exec (value: the exec's uuid), for the timeout kill.
MARKER_ENV = "SANDBOX_CORE_EXEC"
#: Exec stdin buffer limit (Modal's command-router limit).
EXEC_STDIN_LIMIT = 16 << 20
_RETURNCODE_MSG = (
    "You must call wait() before accessing the returncode. To poll for the status of a running process, use poll() "
    "instead."
)

#: Picks the backend of an exec once its arguments are checked (it may open a session, or find the sandbox gone).
BackendChoice = Callable[[], Awaitable[ExecBackend]]
#: Seconds an exec stream may stay open after its sandbox stopped (see the module docstring).
GONE_GRACE = 2.0
#: Seconds an exec's 137 waits for the engine's record of an OOM kill: the engine learns of it asynchronously, and
#: the agent reports an exit at once (seen 50 ms apart); paid in full only by a SIGKILL that was not the OOM killer.
OOM_RECORD_WAIT = 0.5
# Per container, the time of the newest OOM record of the episode last given to an exec of this process (``_oom``):
# records that continue it, however late they are stamped, are not counted again.
_oom_given: dict[str, float] = {}

# Every exec's pump and deadline task: they run for as long as the process does, whoever holds it.
_background = TaskSet()


async def _engine_backend() -> ExecBackend:
    return ENGINE


class ContainerProcess(Generic[T]):
    """A command running in a sandbox: its streams, and its exit status once known.

    Return codes: the exit code as is; ``128 + n`` when killed by signal ``n``; ``-1`` once the exec ``timeout``
    passed. ``end_reason`` tells a 137 of the kernel's OOM killer apart.
    """

    __slots__ = (
        "__weakref__",
        "_deadline",
        "_deadline_task",
        "_error",
        "_exec",
        "_exit_code",
        "_finished",
        "_gone",
        "_oom_killed",
        "_process_id",
        "_pty",
        "_pump_task",
        "_ref",
        "_returncode",
        "_started",
        "_stderr",
        "_stdin",
        "_stdout",
        "_timed_out",
        "_watch_task",
    )

    def __init__(
        self,
        *,
        running: RunningExec,
        process_id: str,
        stdout: StreamReader[T],
        stderr: StreamReader[T],
        pty: bool,
        deadline: float | None,
        ref: str = "",
        started: float = 0.0,
        watch_container: bool = False,
    ) -> None:
        """Internal: built by ``start_exec``, which also starts the pump. ``ref``: the sandbox's container;
        ``started``: Unix time just before the exec was started; ``watch_container``: end the streams once the
        container has stopped."""
        self._exec = running
        self._ref = ref
        self._started = started
        self._oom_killed = False
        self._process_id = process_id
        self._stdout: StreamReader[T] = stdout
        self._stderr: StreamReader[T] = stderr
        self._pty = pty
        self._deadline = deadline
        self._stdin = StreamWriter(self._send_stdin, limit=EXEC_STDIN_LIMIT)
        self._returncode: int | None = None
        self._exit_code: int | None = None
        self._error: BaseException | None = None
        self._timed_out = False
        self._gone = False
        self._finished = asyncio.Event()
        self._pump_task = _background.spawn(self._pump(), f"exec-pump-{process_id}")
        self._watch_task: asyncio.Task[Any] | None = None
        if watch_container:
            self._watch_task = _background.spawn(
                _end_with_container(weakref.ref(self), ref, self._pump_task), f"exec-watch-{process_id}"
            )
        self._deadline_task: asyncio.Task[Any] | None = None
        if deadline is not None:
            # The deadline task holds only a weak reference: a dropped process (and its unread output) is freed.
            enforce = _enforce_deadline(weakref.ref(self), running.killer(), process_id, self._pump_task, deadline)
            self._deadline_task = _background.spawn(enforce, f"exec-deadline-{process_id}")

    def __repr__(self) -> str:
        return f"ContainerProcess(process_id={self._process_id!r})"

    @property
    def stdout(self) -> StreamReader[T]:
        """The command's stdout (with ``pty=True``, stdout and stderr together)."""
        return self._stdout

    @property
    def stderr(self) -> StreamReader[T]:
        """The command's stderr (empty with ``pty=True``)."""
        return self._stderr

    @property
    def stdin(self) -> StreamWriter:
        """The command's stdin. ``write_eof`` + ``drain`` deliver EOF while its output is still being read."""
        return self._stdin

    @property
    def end_reason(self) -> EndReason | None:
        """Why the process ended, once its return code is known (None before): ``EndReason.TIMEOUT`` past the exec
        ``timeout`` (-1), ``EndReason.OOM`` when the kernel killed it for the sandbox's memory limit (137; an
        OOM kill of another process of the sandbox during this one's run counts too, except kills that continue an
        episode already reported to an earlier exec of this process, each less than a second after the one before),
        else ``EndReason.EXITED``."""
        if self._returncode is None:
            return None
        if self._returncode == -1 and self._past_deadline():
            return EndReason.TIMEOUT
        return EndReason.OOM if self._oom_killed and self._returncode == 137 else EndReason.EXITED

    @property
    def returncode(self) -> int:
        """The return code. Raises ``InvalidError`` until ``wait()`` returned or ``poll()`` saw the process end."""
        if self._returncode is None:
            raise InvalidError(_RETURNCODE_MSG)
        return self._returncode

    # --------------------------------------------------------------------------------------------- the pump

    async def _pump(self) -> None:
        try:
            self._exit_code = await self._exec.pump(self._stdout, self._stderr)
            if self._exit_code == 137:  # SIGKILL: was it the kernel's OOM killer? (asked only then: one request)
                self._oom_killed = await self._oom_killed_meanwhile()
        except asyncio.CancelledError:
            if not (self._timed_out or self._gone):
                raise
        except Exception as e:  # the pump gave it to the readers; wait() raises it too
            self._error = e
        finally:
            self._finished.set()
            if self._watch_task is not None:
                self._watch_task.cancel()

    async def _oom_killed_meanwhile(self) -> bool:
        """True when the engine reports an OOM kill in the sandbox since this exec started that belongs to no episode
        already given to an exec of this process (``_oom.claim``; False if it cannot tell)."""
        try:
            eng = await get_engine()

            async def first_after(since: float) -> float | None:
                return await eng.containers.first_oom_kill(self._ref, since, within=OOM_RECORD_WAIT)

            killed, last = await _oom.claim(first_after, self._started, _oom_given.get(self._ref))
        except Error:
            return False
        if last is not None:
            if len(_oom_given) >= 1024 and self._ref not in _oom_given:  # bounded: forget the oldest container
                del _oom_given[next(iter(_oom_given))]
            _oom_given[self._ref] = max(last, _oom_given.get(self._ref, last))
        return killed

    async def _send_stdin(self, data: bytes, eof: bool) -> None:
        try:
            if data:
                await self._exec.write(data)
            if eof:
                await self._exec.close_stdin()
        except BrokenPipeError:
            # The process ended (or closed its stdin): input to an exited process is discarded (as asyncio's
            # communicate() does).
            return

    # ------------------------------------------------------------------------------------------- exit status

    def _settle(self) -> int:
        if self._timed_out:
            self._returncode = -1
        elif self._gone:
            self._returncode = KILLED_WITH_SANDBOX
        elif self._error is not None:
            raise self._error
        elif self._exit_code is None:
            self._returncode = -1
            raise InvalidError("Unexpected exit status")
        else:
            self._returncode = self._exit_code
        return self._returncode

    def _past_deadline(self) -> bool:
        return self._timed_out or (self._deadline is not None and time.monotonic() >= self._deadline)

    async def poll(self) -> int | None:
        """The return code if the process has ended (cached), else None. ``-1`` once past the exec ``timeout``."""
        if self._returncode is not None:
            return self._returncode
        if self._finished.is_set():
            return self._settle()
        if self._past_deadline():
            self._returncode = -1
            return -1
        code = await self._exec.poll()
        if code is not None:
            self._returncode = code
        return code

    async def wait(self) -> int:
        """Wait for the process to end; returns its return code (``-1`` past the exec ``timeout``; never raises
        ``ExecTimeoutError``). Output nobody has read is kept meanwhile. Raises ``InvalidError("Unexpected exit
        status")`` when the engine reports none. Cancelling the caller does not affect the process."""
        if self._returncode is not None:
            return self._returncode
        self._stdout.release_unread()
        self._stderr.release_unread()
        await self._finished.wait()
        if self._returncode is not None:  # set by a concurrent poll()
            return self._returncode
        return self._settle()

    async def resize(self, rows: int, cols: int) -> None:
        """Set the window size of a ``pty=True`` process. Raises ``InvalidError`` without a PTY. Input written to
        stdin after this call reaches the process after the new size is set."""
        if not self._pty:
            raise InvalidError("resize() needs a process started with pty=True")
        check_window_size(rows, cols)
        await self._exec.resize(rows, cols)

    async def attach(self) -> None:
        """Interactive terminal bridge (``modal shell``): not supported by the local backend."""
        raise InvalidError("ContainerProcess.attach() is not supported by the local backend")


async def _enforce_deadline(
    process: weakref.ref[ContainerProcess[Any]],
    kill: Killer,
    process_id: str,
    pump_task: asyncio.Task[None],
    deadline: float,
) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
    proc = process()
    if proc is not None and not pump_task.done():
        proc._timed_out = True
    del proc
    # Also when the command already ended: what it left running in the background dies at the deadline.
    try:
        await kill()
    except Exception:
        # Nobody awaits this task: report here. The sandbox's own deadline still bounds the processes.
        logger.warning("could not kill exec %s at its timeout", process_id, exc_info=True)
    finally:
        # The streams end quietly, keeping what was already received.
        pump_task.cancel()


async def _end_with_container(
    process: weakref.ref[ContainerProcess[Any]], ref: str, pump_task: asyncio.Task[None]
) -> None:
    """Once container ``ref`` has stopped, give the exec's stream ``GONE_GRACE`` seconds to end, then end it."""
    with contextlib.suppress(Error):
        eng = await get_engine()
        await eng.containers.wait(ref)
    await asyncio.sleep(GONE_GRACE)
    proc = process()
    if proc is not None and not pump_task.done():
        proc._gone = True
        pump_task.cancel()


async def start_exec(
    ref: str,
    args: tuple[str, ...],
    *,
    stdout: StreamType = StreamType.PIPE,
    stderr: StreamType = StreamType.PIPE,
    timeout: int | None = None,
    workdir: str | None = None,
    env: dict[str, str | None] | None = None,
    secrets: Collection[Secret] | None = None,
    text: bool = True,
    bufsize: int = -1,
    pty: bool = False,
    pty_info: Any = None,
    backend: BackendChoice = _engine_backend,
    watch_container: bool = False,
) -> ContainerProcess[Any]:
    """Validate (Modal's order and messages) and start ``args`` in container ``ref``; returns its process.
    ``watch_container``: the streams may outlive the container (a gVisor sandbox): end them once it stopped.

    ``backend`` picks the exec backend once the arguments passed (default: the engine's exec API). Raises, in this
    order: ``InvalidError`` for a relative ``workdir``, no arguments, non-str ones or more than 65536 bytes of them, bad
    ``env``/``secrets`` (keys must be environment variable names), a ``timeout`` that is not a number of seconds in
    [0, 24 h] (a fractional one is kept as is), a bad ``pty_info`` window size; ``ValueError`` for ``bufsize=1``
    without ``text`` and for an unsupported ``StreamType``; ``ConflictError("Sandbox already finished")`` when the
    sandbox is not running (learned from the backend's answer, no extra round trip). A program that cannot be
    started (missing, not executable, a missing ``workdir``) is not an exception: its process ends with code 126.
    """
    pty = pty_from_info(pty, pty_info)
    check_flag(pty, "pty")
    check_workdir(workdir)
    validate_argv(args)
    if not args:
        raise InvalidError("exec needs a command: pass the program and its arguments, e.g. exec('ls', '-l')")
    check_env_args(secrets, env)
    check_env_keys(known_keys(secrets, env))
    check_seconds(timeout, "timeout", allow_zero=True, optional=True)
    rows, cols = pty_info_window(pty_info)
    if bufsize == 1 and not text:
        raise ValueError("line-buffering is only supported when text=True")
    for name, st in (("stdout", stdout), ("stderr", stderr)):
        if st not in (StreamType.PIPE, StreamType.DEVNULL, StreamType.STDOUT):
            raise ValueError(f"Unsupported StreamType for {name}")
    merged_env = await resolve_env(secrets, env)  # reads stored secrets and .env files: NotFoundError here

    process_id = str(uuid.uuid4())
    # The deadline is the timeout as given: a fractional one is kept (Modal's int() would make 0.5 mean "no time").
    deadline = time.monotonic() + timeout if timeout else None
    marker = None
    if deadline is not None:
        merged_env[MARKER_ENV] = process_id
        marker = f"{MARKER_ENV}={process_id}"
    out: StreamReader[Any] = StreamReader(file_descriptor=STDOUT, text=text, by_line=bufsize == 1, stream_type=stdout)
    err: StreamReader[Any] = StreamReader(file_descriptor=STDERR, text=text, by_line=bufsize == 1, stream_type=stderr)

    request = ExecRequest(args=args, env=merged_env, workdir=workdir, pty=pty, marker=marker)
    chosen = await backend()
    started = time.time()
    running = await chosen.start(ref, request)
    try:
        proc: ContainerProcess[Any] = ContainerProcess(
            running=running,
            process_id=process_id,
            stdout=out,
            stderr=err,
            pty=pty,
            deadline=deadline,
            ref=ref,
            started=started,
            watch_container=watch_container,
        )
    except BaseException:
        await running.close()
        raise
    if pty and rows and cols:
        with contextlib.suppress(Exception):
            await proc.resize(rows, cols)
    return proc
