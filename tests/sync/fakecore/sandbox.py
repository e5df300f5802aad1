"""The fake Sandbox: in-memory registry, events recorded for tests to inspect."""

from __future__ import annotations

import asyncio
import builtins
import datetime
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, Generic, Literal, TypeVar, overload

import attrs

from sandbox_core import _warnings
from sandbox_core.exception import deprecation_warning

from . import streams
from ._loopcheck import LoopBound
from .exception import NotFoundError
from .process import ContainerProcess

T = TypeVar("T", str, bytes)

#: Events the tests inspect: ("cleanup", name), ("aclose", name), ...
EVENTS: list[tuple[str, str]] = []
_REGISTRY: dict[str, Sandbox] = {}
_DEFAULT_TIMEOUT = 300
_DEPRECATED_ON = datetime.date(2025, 1, 2)


async def _deprecate(what: str) -> None:
    await asyncio.sleep(0)
    deprecation_warning(_DEPRECATED_ON, f"`{what}` is deprecated")


@attrs.frozen
class Info:
    """A value type: re-exported unchanged."""

    object_id: str
    tags: dict[str, str]


async def sweep(*, everything: bool = False) -> int:
    """Forget every sandbox; returns how many there were."""
    n = len(_REGISTRY)
    if everything:
        _REGISTRY.clear()
    return n


class FileIO(LoopBound, Generic[T]):
    """A fake open file (async context manager)."""

    def __init__(self, sb: Sandbox, path: str, mode: str) -> None:
        super().__init__()
        self._sb, self._path, self._mode = sb, path, mode
        self.closed = False

    async def __aenter__(self) -> FileIO[T]:
        self._bound()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        self._bound()
        await asyncio.sleep(0)
        self.closed = True
        EVENTS.append(("closed", self._path))

    async def write(self, data: T) -> None:
        """Write to the file."""
        self._bound()
        self._sb._files[self._path] = data.encode() if isinstance(data, str) else data

    async def read(self) -> T:
        """Read the whole file."""
        self._bound()
        data = self._sb._files[self._path]
        return data.decode() if "b" not in self._mode else data  # type: ignore[return-value]


class Sandbox(LoopBound):
    """A fake sandbox."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("use Sandbox.create")

    @classmethod
    def _new(cls, name: str, tags: dict[str, str]) -> Sandbox:
        self = object.__new__(cls)
        LoopBound.__init__(self)
        self._name = name
        self._tags = dict(tags)
        self._files: dict[str, bytes] = {}
        self._terminated = False
        _REGISTRY[name] = self
        return self

    @staticmethod
    async def create(
        *args: str, name: str = "sb", tags: dict[str, str] | None = None, timeout: int = _DEFAULT_TIMEOUT
    ) -> Sandbox:
        """Create a sandbox called ``name``."""
        await asyncio.sleep(0)
        return Sandbox._new(name, tags or {})

    @staticmethod
    async def from_id(sandbox_id: str) -> Sandbox:
        """The sandbox with this id; raises NotFoundError."""
        try:
            return _REGISTRY[sandbox_id]
        except KeyError:
            raise NotFoundError(f"no sandbox {sandbox_id!r}") from None

    @classmethod
    async def count(cls) -> int:
        """A classmethod coroutine."""
        return len(_REGISTRY)

    @staticmethod
    async def list(*, tags: dict[str, str] | None = None) -> AsyncGenerator[Sandbox, None]:
        """Every sandbox having ``tags``."""
        try:
            for sb in builtins.list(_REGISTRY.values()):
                if all(sb._tags.get(k) == v for k, v in (tags or {}).items()):
                    yield sb
        finally:
            await asyncio.sleep(0.05)
            EVENTS.append(("aclose", "list"))

    @property
    def object_id(self) -> str:
        """The id."""
        return self._name

    @property
    def info(self) -> Info:
        """A value type."""
        return Info(self._name, self._tags)

    async def get_tags(self) -> dict[str, str]:
        """The tags."""
        self._bound()
        return dict(self._tags)

    async def noop(self) -> int:
        """Return 1 (for overhead measurements)."""
        return 1

    async def thread_name(self) -> str:
        """The name of the thread that runs this coroutine."""
        return threading.current_thread().name

    async def fail(self, message: str) -> None:
        """Raise NotFoundError(message)."""
        self._bound()
        raise NotFoundError(message)

    async def sleep(self, seconds: float, *, cleanup_seconds: float = 0.0) -> str:
        """Sleep; when cancelled, run an async cleanup (recorded in EVENTS) and re-raise."""
        self._bound()
        EVENTS.append(("sleeping", self._name))
        try:
            await asyncio.sleep(seconds)
            return "slept"
        except asyncio.CancelledError:
            await asyncio.sleep(cleanup_seconds)
            EVENTS.append(("cleanup", self._name))
            raise

    @overload
    async def exec(
        self, *args: str, text: Literal[True] = True, stdout: streams.StreamType = streams.StreamType.PIPE
    ) -> ContainerProcess[str]: ...
    @overload
    async def exec(
        self, *args: str, text: Literal[False], stdout: streams.StreamType = streams.StreamType.PIPE
    ) -> ContainerProcess[bytes]: ...
    async def exec(
        self, *args: str, text: bool = True, stdout: streams.StreamType = streams.StreamType.PIPE
    ) -> ContainerProcess[Any]:
        """Run ``args``: the output is one line per argument."""
        self._bound()
        await asyncio.sleep(0)
        return ContainerProcess(self, [f"{a}\n".encode() for a in args], text)

    @overload
    async def terminate(self, *, wait: Literal[True]) -> int: ...
    @overload
    async def terminate(self, *, wait: Literal[False] = False) -> None: ...
    async def terminate(self, *, wait: bool = False) -> int | None:
        """Terminate; returns the exit code if ``wait``."""
        self._bound()
        self._terminated = True
        _REGISTRY.pop(self._name, None)
        return 137 if wait else None

    async def open(self, path: str, mode: str = "r") -> FileIO[Any]:
        """Open a file."""
        self._bound()
        return FileIO(self, path, mode)

    async def watch(self, path: str, *, limit: int = 3) -> AsyncIterator[str]:
        """Yield ``limit`` events for ``path``; records ("aclose", path) when closed."""
        self._bound()
        try:
            for i in range(limit):
                await asyncio.sleep(0)
                yield f"{path}:{i}"
        finally:
            # A slow async cleanup: only a close that waits for it sees the event right after ``break``.
            await asyncio.sleep(0.05)
            EVENTS.append(("aclose", path))

    async def processes(
        self, procs: Sequence[ContainerProcess[Any]] | None = None
    ) -> builtins.list[ContainerProcess[Any]]:
        """Takes and returns wrapped objects in containers (unwrap/wrap)."""
        return builtins.list(procs or [])

    async def maybe_process(self, proc: ContainerProcess[str] | None) -> ContainerProcess[str] | None:
        """Optional wrapped value in and out."""
        return proc

    async def deprecated(self, *, old: int | None = None, in_subtask: bool = False) -> int:
        """Warn DeprecationError when ``old`` is given (from a gathered subtask if ``in_subtask``), then run."""
        if old is not None:
            if in_subtask:
                await asyncio.gather(_deprecate("old"))
            else:
                deprecation_warning(_DEPRECATED_ON, "`old` is deprecated")
        EVENTS.append(("deprecated-ran", self._name))
        return 1

    async def warn_later(self) -> None:
        """Start a task that warns once ``release()`` is called, after this call has returned."""
        self._release = asyncio.Event()

        async def later() -> None:
            await self._release.wait()
            origin = _warnings.call_origin.get()
            EVENTS.append(("origin-frame", "none" if origin is None or origin.frame is None else "kept"))
            deprecation_warning(_DEPRECATED_ON, "`later` is deprecated")
            EVENTS.append(("warned-later", self._name))

        self._later = asyncio.get_running_loop().create_task(later())

    async def release(self) -> None:
        """Let the task of ``warn_later`` warn, and wait for it."""
        self._release.set()
        await self._later

    async def noisy(self) -> AsyncIterator[str]:
        """Yield "a", warn DeprecationError, yield "b"."""
        yield "a"
        deprecation_warning(_DEPRECATED_ON, "`noisy` is deprecated")
        yield "b"

    def label(self, key: str) -> str | None:
        """A sync method (run on the loop thread by the facade)."""
        return self._tags.get(key)
