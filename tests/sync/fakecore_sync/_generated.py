# GENERATED from `fakecore` by sandbox_core_sync._codegen -- DO NOT EDIT.
# Regenerate: python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST
# Check:      python -m sandbox_core_sync._codegen --manifest fakecore_manifest:MANIFEST --check
# Generator sha256: 1b048d1832477c20
"""Blocking facade of ``fakecore`` (generated; see ``sandbox_core_sync._codegen``).

Every async method ``m`` of the implementation is ``obj.m(...)`` (blocking) and ``await obj.m.aio(...)``.
"""

from __future__ import annotations

import builtins
import typing
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Sequence
from types import TracebackType
from typing import Any, Literal

import fakecore.group as _i_group
import fakecore.process as _i_process
import fakecore.sandbox as _i_sandbox
import fakecore.streams as _i_streams
from fakecore.process import T
from fakecore.sandbox import _DEFAULT_TIMEOUT, Info
from fakecore.sandbox import T as T_3
from fakecore.streams import StreamType
from fakecore.streams import T as T_2

import sandbox_core_sync._runtime as _rt

__all__ = ["ContainerProcess", "FileIO", "Group", "GroupRun", "Sandbox", "StreamReader", "StreamWriter", "sweep"]

# Warnings name the user's line: frames of these packages are skipped when looking for it.
_rt.register_library_packages("fakecore", "fakecore_sync")


class _Sandbox_create(_rt.Function):
    """Create a sandbox called ``name``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(
        self, *args: str, name: str = "sb", tags: dict[str, str] | None = None, timeout: int = _DEFAULT_TIMEOUT
    ) -> Sandbox:
        """Create a sandbox called ``name``."""
        _r = _rt.run_sync(_i_sandbox.Sandbox.create(*args, name=name, tags=tags, timeout=timeout))
        return Sandbox._from_impl(_r)

    async def aio(
        self, *args: str, name: str = "sb", tags: dict[str, str] | None = None, timeout: int = _DEFAULT_TIMEOUT
    ) -> Sandbox:
        _r = await _rt.run_async(_i_sandbox.Sandbox.create(*args, name=name, tags=tags, timeout=timeout))
        return Sandbox._from_impl(_r)


class _Sandbox_from_id(_rt.Function):
    """The sandbox with this id; raises NotFoundError.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, sandbox_id: str) -> Sandbox:
        """The sandbox with this id; raises NotFoundError."""
        _r = _rt.run_sync(_i_sandbox.Sandbox.from_id(sandbox_id))
        return Sandbox._from_impl(_r)

    async def aio(self, sandbox_id: str) -> Sandbox:
        _r = await _rt.run_async(_i_sandbox.Sandbox.from_id(sandbox_id))
        return Sandbox._from_impl(_r)


class _Sandbox_count(_rt.Function):
    """A classmethod coroutine.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> int:
        """A classmethod coroutine."""
        return _rt.run_sync(_i_sandbox.Sandbox.count())

    async def aio(self) -> int:
        return await _rt.run_async(_i_sandbox.Sandbox.count())


class _Sandbox_list(_rt.Function):
    """Every sandbox having ``tags``.

    Call it to block; ``.aio(...)`` is the async generator.
    """

    __slots__ = ()

    def __call__(self, *, tags: dict[str, str] | None = None) -> Generator[Sandbox, None, None]:
        """Every sandbox having ``tags``."""
        return _rt.iter_sync(lambda: _i_sandbox.Sandbox.list(tags=tags), Sandbox._from_impl, name="list")

    def aio(self, *, tags: dict[str, str] | None = None) -> AsyncGenerator[Sandbox, None]:
        return _rt.iter_async(lambda: _i_sandbox.Sandbox.list(tags=tags), Sandbox._from_impl)


class _Sandbox_get_tags(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """The tags.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> dict[str, str]:
        """The tags."""
        return _rt.run_sync(self._impl.get_tags())

    async def aio(self) -> dict[str, str]:
        return await _rt.run_async(self._impl.get_tags())


class _Sandbox_noop(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Return 1 (for overhead measurements).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> int:
        """Return 1 (for overhead measurements)."""
        return _rt.run_sync(self._impl.noop())

    async def aio(self) -> int:
        return await _rt.run_async(self._impl.noop())


class _Sandbox_thread_name(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """The name of the thread that runs this coroutine.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> str:
        """The name of the thread that runs this coroutine."""
        return _rt.run_sync(self._impl.thread_name())

    async def aio(self) -> str:
        return await _rt.run_async(self._impl.thread_name())


class _Sandbox_fail(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Raise NotFoundError(message).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, message: str) -> None:
        """Raise NotFoundError(message)."""
        _rt.run_sync(self._impl.fail(message))

    async def aio(self, message: str) -> None:
        await _rt.run_async(self._impl.fail(message))


class _Sandbox_sleep(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Sleep; when cancelled, run an async cleanup (recorded in EVENTS) and re-raise.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, seconds: float, *, cleanup_seconds: float = 0.0) -> str:
        """Sleep; when cancelled, run an async cleanup (recorded in EVENTS) and re-raise."""
        return _rt.run_sync(self._impl.sleep(seconds, cleanup_seconds=cleanup_seconds))

    async def aio(self, seconds: float, *, cleanup_seconds: float = 0.0) -> str:
        return await _rt.run_async(self._impl.sleep(seconds, cleanup_seconds=cleanup_seconds))


class _Sandbox_exec(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Run ``args``: the output is one line per argument.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    @typing.overload
    def __call__(
        self, *args: str, text: Literal[True] = True, stdout: StreamType = StreamType.PIPE
    ) -> ContainerProcess[str]: ...

    @typing.overload
    def __call__(
        self, *args: str, text: Literal[False], stdout: StreamType = StreamType.PIPE
    ) -> ContainerProcess[bytes]: ...

    def __call__(self, *args: str, text: bool = True, stdout: StreamType = StreamType.PIPE) -> ContainerProcess[Any]:
        """Run ``args``: the output is one line per argument."""
        _r = _rt.run_sync(typing.cast(typing.Any, self._impl).exec(*args, text=text, stdout=stdout))
        return ContainerProcess._from_impl(_r)

    @typing.overload
    async def aio(
        self, *args: str, text: Literal[True] = True, stdout: StreamType = StreamType.PIPE
    ) -> ContainerProcess[str]: ...

    @typing.overload
    async def aio(
        self, *args: str, text: Literal[False], stdout: StreamType = StreamType.PIPE
    ) -> ContainerProcess[bytes]: ...

    async def aio(self, *args: str, text: bool = True, stdout: StreamType = StreamType.PIPE) -> ContainerProcess[Any]:
        _r = await _rt.run_async(typing.cast(typing.Any, self._impl).exec(*args, text=text, stdout=stdout))
        return ContainerProcess._from_impl(_r)


class _Sandbox_terminate(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Terminate; returns the exit code if ``wait``.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    @typing.overload
    def __call__(self, *, wait: Literal[True]) -> int: ...

    @typing.overload
    def __call__(self, *, wait: Literal[False] = False) -> None: ...

    def __call__(self, *, wait: bool = False) -> int | None:
        """Terminate; returns the exit code if ``wait``."""
        _r: int | None = _rt.run_sync(typing.cast(typing.Any, self._impl).terminate(wait=wait))
        return _r

    @typing.overload
    async def aio(self, *, wait: Literal[True]) -> int: ...

    @typing.overload
    async def aio(self, *, wait: Literal[False] = False) -> None: ...

    async def aio(self, *, wait: bool = False) -> int | None:
        _r: int | None = await _rt.run_async(typing.cast(typing.Any, self._impl).terminate(wait=wait))
        return _r


class _Sandbox_open(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Open a file.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, path: str, mode: str = "r") -> FileIO[Any]:
        """Open a file."""
        _r = _rt.run_sync(self._impl.open(path, mode))
        return FileIO._from_impl(_r)

    async def aio(self, path: str, mode: str = "r") -> FileIO[Any]:
        _r = await _rt.run_async(self._impl.open(path, mode))
        return FileIO._from_impl(_r)


class _Sandbox_watch(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Yield ``limit`` events for ``path``; records ("aclose", path) when closed.

    Call it to block; ``.aio(...)`` is the async generator.
    """

    __slots__ = ()

    def __call__(self, path: str, *, limit: int = 3) -> Generator[str, None, None]:
        """Yield ``limit`` events for ``path``; records ("aclose", path) when closed."""
        return _rt.iter_sync(lambda: self._impl.watch(path, limit=limit), name="watch")

    def aio(self, path: str, *, limit: int = 3) -> AsyncGenerator[str, None]:
        return _rt.iter_async(lambda: self._impl.watch(path, limit=limit))


class _Sandbox_processes(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Takes and returns wrapped objects in containers (unwrap/wrap).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, procs: Sequence[ContainerProcess[Any]] | None = None) -> builtins.list[ContainerProcess[Any]]:
        """Takes and returns wrapped objects in containers (unwrap/wrap)."""
        _r = _rt.run_sync(self._impl.processes(_rt.unwrap(procs)))
        return [ContainerProcess._from_impl(_x) for _x in _r]

    async def aio(self, procs: Sequence[ContainerProcess[Any]] | None = None) -> builtins.list[ContainerProcess[Any]]:
        _r = await _rt.run_async(self._impl.processes(_rt.unwrap(procs)))
        return [ContainerProcess._from_impl(_x) for _x in _r]


class _Sandbox_maybe_process(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Optional wrapped value in and out.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, proc: ContainerProcess[str] | None) -> ContainerProcess[str] | None:
        """Optional wrapped value in and out."""
        _r = _rt.run_sync(self._impl.maybe_process(_rt.unwrap(proc)))
        return None if _r is None else ContainerProcess._from_impl(_r)

    async def aio(self, proc: ContainerProcess[str] | None) -> ContainerProcess[str] | None:
        _r = await _rt.run_async(self._impl.maybe_process(_rt.unwrap(proc)))
        return None if _r is None else ContainerProcess._from_impl(_r)


class _Sandbox_deprecated(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Warn DeprecationError when ``old`` is given (from a gathered subtask if ``in_subtask``), then run.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, *, old: int | None = None, in_subtask: bool = False) -> int:
        """Warn DeprecationError when ``old`` is given (from a gathered subtask if ``in_subtask``), then run."""
        return _rt.run_sync(self._impl.deprecated(old=old, in_subtask=in_subtask))

    async def aio(self, *, old: int | None = None, in_subtask: bool = False) -> int:
        return await _rt.run_async(self._impl.deprecated(old=old, in_subtask=in_subtask))


class _Sandbox_warn_later(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Start a task that warns once ``release()`` is called, after this call has returned.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Start a task that warns once ``release()`` is called, after this call has returned."""
        _rt.run_sync(self._impl.warn_later())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.warn_later())


class _Sandbox_release(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Let the task of ``warn_later`` warn, and wait for it.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Let the task of ``warn_later`` warn, and wait for it."""
        _rt.run_sync(self._impl.release())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.release())


class _Sandbox_noisy(_rt.BoundMethod[_i_sandbox.Sandbox]):
    """Yield "a", warn DeprecationError, yield "b".

    Call it to block; ``.aio(...)`` is the async generator.
    """

    __slots__ = ()

    def __call__(self) -> Generator[str, None, None]:
        """Yield "a", warn DeprecationError, yield "b"."""
        return _rt.iter_sync(lambda: self._impl.noisy(), name="noisy")

    def aio(self) -> AsyncGenerator[str, None]:
        return _rt.iter_async(lambda: self._impl.noisy())


class Sandbox(_rt.Wrapper):
    """A fake sandbox."""

    __slots__ = ()
    _impl: _i_sandbox.Sandbox

    @classmethod
    def _from_impl(cls, impl: _i_sandbox.Sandbox) -> Sandbox:
        return _rt.wrap_cached(cls, impl)

    create: typing.ClassVar[_Sandbox_create] = _Sandbox_create()
    from_id: typing.ClassVar[_Sandbox_from_id] = _Sandbox_from_id()
    count: typing.ClassVar[_Sandbox_count] = _Sandbox_count()
    list: typing.ClassVar[_Sandbox_list] = _Sandbox_list()

    @property
    def object_id(self) -> str:
        """The id."""
        return self._impl.object_id

    @property
    def info(self) -> Info:
        """A value type."""
        return self._impl.info

    @property
    def get_tags(self) -> _Sandbox_get_tags:
        """The tags."""
        return _Sandbox_get_tags(self)

    @property
    def noop(self) -> _Sandbox_noop:
        """Return 1 (for overhead measurements)."""
        return _Sandbox_noop(self)

    @property
    def thread_name(self) -> _Sandbox_thread_name:
        """The name of the thread that runs this coroutine."""
        return _Sandbox_thread_name(self)

    @property
    def fail(self) -> _Sandbox_fail:
        """Raise NotFoundError(message)."""
        return _Sandbox_fail(self)

    @property
    def sleep(self) -> _Sandbox_sleep:
        """Sleep; when cancelled, run an async cleanup (recorded in EVENTS) and re-raise."""
        return _Sandbox_sleep(self)

    @property
    def exec(self) -> _Sandbox_exec:
        """Run ``args``: the output is one line per argument."""
        return _Sandbox_exec(self)

    @property
    def terminate(self) -> _Sandbox_terminate:
        """Terminate; returns the exit code if ``wait``."""
        return _Sandbox_terminate(self)

    @property
    def open(self) -> _Sandbox_open:
        """Open a file."""
        return _Sandbox_open(self)

    @property
    def watch(self) -> _Sandbox_watch:
        """Yield ``limit`` events for ``path``; records ("aclose", path) when closed."""
        return _Sandbox_watch(self)

    @property
    def processes(self) -> _Sandbox_processes:
        """Takes and returns wrapped objects in containers (unwrap/wrap)."""
        return _Sandbox_processes(self)

    @property
    def maybe_process(self) -> _Sandbox_maybe_process:
        """Optional wrapped value in and out."""
        return _Sandbox_maybe_process(self)

    @property
    def deprecated(self) -> _Sandbox_deprecated:
        """Warn DeprecationError when ``old`` is given (from a gathered subtask if ``in_subtask``), then run."""
        return _Sandbox_deprecated(self)

    @property
    def warn_later(self) -> _Sandbox_warn_later:
        """Start a task that warns once ``release()`` is called, after this call has returned."""
        return _Sandbox_warn_later(self)

    @property
    def release(self) -> _Sandbox_release:
        """Let the task of ``warn_later`` warn, and wait for it."""
        return _Sandbox_release(self)

    @property
    def noisy(self) -> _Sandbox_noisy:
        """Yield "a", warn DeprecationError, yield "b"."""
        return _Sandbox_noisy(self)

    def label(self, key: str) -> str | None:
        """A sync method (run on the loop thread by the facade)."""
        self._check()
        _r: str | None = _rt.call_sync(self._impl.label, key)
        return _r


class _ContainerProcess_wait(_rt.BoundMethod[_i_process.ContainerProcess[T]]):
    """Wait for the exit code.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> int:
        """Wait for the exit code."""
        return _rt.run_sync(self._impl.wait())

    async def aio(self) -> int:
        return await _rt.run_async(self._impl.wait())


class ContainerProcess(_rt.Wrapper, typing.Generic[T]):
    """A running command of a fake sandbox."""

    __slots__ = ()
    _impl: _i_process.ContainerProcess[T]

    @classmethod
    def _from_impl(cls, impl: _i_process.ContainerProcess[T]) -> ContainerProcess[T]:
        return _rt.wrap_cached(cls, impl)

    @property
    def stdout(self) -> StreamReader[T]:
        """The output stream."""
        self._check()
        _r = _rt.call_sync(lambda: self._impl.stdout)
        return StreamReader._from_impl(_r)

    @property
    def stdin(self) -> StreamWriter:
        """The input stream."""
        self._check()
        _r = _rt.call_sync(lambda: self._impl.stdin)
        return StreamWriter._from_impl(_r)

    @property
    def returncode(self) -> int | None:
        """Exit code once finished."""
        return self._impl.returncode

    @property
    def sandbox(self) -> Sandbox:
        """The sandbox this process runs in."""
        self._check()
        _r = _rt.call_sync(lambda: self._impl.sandbox)
        return Sandbox._from_impl(_r)

    @property
    def wait(self) -> _ContainerProcess_wait[T]:
        """Wait for the exit code."""
        return _ContainerProcess_wait(self)


class _StreamReader_read(_rt.BoundMethod[_i_streams.StreamReader[T_2]]):
    """Everything until EOF.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> T_2:
        """Everything until EOF."""
        return _rt.run_sync(self._impl.read())

    async def aio(self) -> T_2:
        return await _rt.run_async(self._impl.read())


class StreamReader(_rt.Wrapper, typing.Generic[T_2]):
    """Reads lines fed by the fake process."""

    __slots__ = ()
    _impl: _i_streams.StreamReader[T_2]

    @classmethod
    def _from_impl(cls, impl: _i_streams.StreamReader[T_2]) -> StreamReader[T_2]:
        return _rt.wrap_cached(cls, impl)

    @property
    def read(self) -> _StreamReader_read[T_2]:
        """Everything until EOF."""
        return _StreamReader_read(self)

    def at_eof(self) -> bool:
        """True once EOF was read."""
        self._check()
        _r: bool = _rt.call_sync(self._impl.at_eof)
        return _r

    def __iter__(self) -> Iterator[T_2]:
        self._check()
        return _rt.iter_sync(self._impl.__aiter__)

    def __aiter__(self) -> AsyncIterator[T_2]:
        self._check()
        return _rt.iter_async(self._impl.__aiter__)

    def __next__(self) -> T_2:
        self._check()
        return _rt.next_sync(self._impl)

    async def __anext__(self) -> T_2:
        self._check()
        return await _rt.next_async(self._impl)


class _StreamWriter_drain(_rt.BoundMethod[_i_streams.StreamWriter]):
    """Flush the buffer.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> None:
        """Flush the buffer."""
        _rt.run_sync(self._impl.drain())

    async def aio(self) -> None:
        await _rt.run_async(self._impl.drain())


class StreamWriter(_rt.Wrapper):
    """Buffers writes; ``drain`` hands them to the process."""

    __slots__ = ()
    _impl: _i_streams.StreamWriter

    @classmethod
    def _from_impl(cls, impl: _i_streams.StreamWriter) -> StreamWriter:
        return _rt.wrap_cached(cls, impl)

    def write(self, data: bytes | str) -> None:
        """Buffer ``data`` (thread-safe: a bytearray extend)."""
        self._check()
        self._impl.write(data)

    def write_eof(self) -> None:
        """Close the write side after the buffer is drained."""
        self._check()
        _rt.call_sync(self._impl.write_eof)

    @property
    def drain(self) -> _StreamWriter_drain:
        """Flush the buffer."""
        return _StreamWriter_drain(self)


class _FileIO_write(_rt.BoundMethod[_i_sandbox.FileIO[T_3]]):
    """Write to the file.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, data: T_3) -> None:
        """Write to the file."""
        _rt.run_sync(self._impl.write(data))

    async def aio(self, data: T_3) -> None:
        await _rt.run_async(self._impl.write(data))


class _FileIO_read(_rt.BoundMethod[_i_sandbox.FileIO[T_3]]):
    """Read the whole file.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> T_3:
        """Read the whole file."""
        return _rt.run_sync(self._impl.read())

    async def aio(self) -> T_3:
        return await _rt.run_async(self._impl.read())


class FileIO(_rt.Wrapper, typing.Generic[T_3]):
    """A fake open file (async context manager)."""

    __slots__ = ()
    _impl: _i_sandbox.FileIO[T_3]

    @classmethod
    def _from_impl(cls, impl: _i_sandbox.FileIO[T_3]) -> FileIO[T_3]:
        return _rt.wrap_cached(cls, impl)

    def __enter__(self) -> FileIO[T_3]:
        self._check()
        _r = _rt.run_sync(self._impl.__aenter__())
        return FileIO._from_impl(_r)

    async def __aenter__(self) -> FileIO[T_3]:
        self._check()
        _r = await _rt.run_async(self._impl.__aenter__())
        return FileIO._from_impl(_r)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        _rt.run_sync(self._impl.__aexit__(exc_type, exc, tb))

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        await _rt.run_async(self._impl.__aexit__(exc_type, exc, tb))

    @property
    def write(self) -> _FileIO_write[T_3]:
        """Write to the file."""
        return _FileIO_write(self)

    @property
    def read(self) -> _FileIO_read[T_3]:
        """Read the whole file."""
        return _FileIO_read(self)


class _Group_describe(_rt.BoundMethod[_i_group.Group]):
    """``name:size`` (checks the loop the group was built on).

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self) -> str:
        """``name:size`` (checks the loop the group was built on)."""
        return _rt.run_sync(self._impl.describe())

    async def aio(self) -> str:
        return await _rt.run_async(self._impl.describe())


class _Group_run(_rt.BoundMethod[_i_group.Group]):
    """Run the group while an ``async with`` block lasts.

    ``with`` what calling it returns; ``async with`` what ``.aio(...)`` returns.
    """

    __slots__ = ()

    def __call__(self, *, label: str = "run") -> GroupRun:
        """Run the group while an ``async with`` block lasts."""
        _r = _rt.call_sync(self._impl.run, label=label)
        return GroupRun._from_impl(_r)

    def aio(self, *, label: str = "run") -> GroupRun:
        _r = _rt.call_sync(self._impl.run, label=label)
        return GroupRun._from_impl(_r)


class Group(_rt.Wrapper):
    """Built by its constructor (on the loop that will own it)."""

    __slots__ = ()
    _impl: _i_group.Group

    @classmethod
    def _from_impl(cls, impl: _i_group.Group) -> Group:
        return _rt.wrap_cached(cls, impl)

    def __init__(self, name: str, *, size: int = 1) -> None:
        """A group called ``name``."""
        _rt.bind_new(self, _rt.call_sync(_i_group.Group, name, size=size))

    @property
    def name(self) -> str:
        """The name."""
        return self._impl.name

    @property
    def _experimental_self(self) -> Group:
        """An underscore-named member that the manifest lists (as Modal's ``Sandbox._experimental_sidecars``)."""
        self._check()
        _r = _rt.call_sync(lambda: self._impl._experimental_self)
        return Group._from_impl(_r)

    @property
    def describe(self) -> _Group_describe:
        """``name:size`` (checks the loop the group was built on)."""
        return _Group_describe(self)

    @property
    def run(self) -> _Group_run:
        """Run the group while an ``async with`` block lasts."""
        return _Group_run(self)


class GroupRun(_rt.Wrapper):
    """One run: ``async with group.run():``."""

    __slots__ = ()
    _impl: _i_group.GroupRun

    @classmethod
    def _from_impl(cls, impl: _i_group.GroupRun) -> GroupRun:
        return _rt.wrap_cached(cls, impl)

    def __enter__(self) -> Group:
        self._check()
        _r = _rt.run_sync(self._impl.__aenter__())
        return Group._from_impl(_r)

    async def __aenter__(self) -> Group:
        self._check()
        _r = await _rt.run_async(self._impl.__aenter__())
        return Group._from_impl(_r)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        return _rt.run_sync(self._impl.__aexit__(exc_type, exc, tb))

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        return await _rt.run_async(self._impl.__aexit__(exc_type, exc, tb))


class _F_sweep(_rt.Function):
    """Forget every sandbox; returns how many there were.

    Call it to block; ``.aio(...)`` is the coroutine.
    """

    __slots__ = ()

    def __call__(self, *, everything: bool = False) -> int:
        """Forget every sandbox; returns how many there were."""
        return _rt.run_sync(_i_sandbox.sweep(everything=everything))

    async def aio(self, *, everything: bool = False) -> int:
        return await _rt.run_async(_i_sandbox.sweep(everything=everything))


sweep = _F_sweep()
