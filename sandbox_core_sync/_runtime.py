"""The hand-written runtime behind the generated blocking facade (``_generated.py``).

One asyncio event loop runs on one daemon thread (``sandbox-core-sync``) and owns every ``sandbox_core`` object the
facade hands out. Each blocking call submits one coroutine to that loop and waits for it: exactly one thread crossing
per call. Contracts:

- **Lazy start, bounded exit.** The loop thread starts on first use. At interpreter exit it is asked to stop (leftover
  tasks are cancelled, async generators and engine clients closed) and joined for at most ``EXIT_JOIN_TIMEOUT`` s.
- **fork().** The child starts with no loop; the first call starts a fresh one. Facade objects created before the fork
  raise :class:`ForkedObjectError` on use in the child (their loop is gone); new objects work.
- **Blocking inside a loop warns, as in Modal.** A blocking call made in a thread that runs an event loop warns
  ``AsyncUsageWarning`` (once per call site, naming the ``.aio`` rewrite; see ``_usage``) and then runs, blocking
  that loop meanwhile; an ``error`` warnings filter makes it raise instead, before anything runs. Only on the
  runtime's own loop thread, where waiting would deadlock, it raises :class:`BlockingCallInEventLoopError`.
- **Warnings name the caller's line.** Each call runs in a copy of the caller's context in which
  ``sandbox_core._warnings.call_origin`` names the calling frame, so a warning the implementation emits on the loop
  thread is attributed to the user's line (and filtered by the user's module and registry); see that module.
- **Ctrl-C.** A ``KeyboardInterrupt`` during a blocking call cancels the coroutine on the loop, waits for its
  cleanup (``finally`` blocks, ``__aexit__``) to finish, then re-raises it. A second Ctrl-C stops waiting.
- **Tracebacks.** Exceptions are re-raised in the caller's thread as the same object, with the runtime's
  ``concurrent.futures``/``asyncio`` frames removed (set ``SANDBOX_SYNC_FULL_TRACEBACK=1`` to keep them).
- **Identity.** :func:`wrap_cached` returns the same wrapper for the same implementation object while the wrapper is
  alive (a ``WeakValueDictionary`` keyed by ``id(impl)``; works with slotted classes).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import contextvars
import functools
import os
import sys
import threading
import types
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Generator
from typing import Any, Generic, TypeVar, final, overload

from sandbox_core import _warnings

__all__ = [
    "BlockingCallInEventLoopError",
    "BoundMethod",
    "ForkedObjectError",
    "Function",
    "Wrapper",
    "bind_new",
    "call_sync",
    "iter_async",
    "iter_sync",
    "next_async",
    "next_sync",
    "register_library_packages",
    "run_async",
    "run_sync",
    "unwrap",
    "wrap_cached",
]

T = TypeVar("T")
R = TypeVar("R")
W = TypeVar("W", bound="Wrapper")
I_co = TypeVar("I_co", covariant=True)

#: Seconds the interpreter waits at exit for the loop thread to finish its cleanup.
EXIT_JOIN_TIMEOUT = 5.0
#: Seconds a generator closed from a foreign thread waits for the implementation's ``aclose()``.
ACLOSE_TIMEOUT = 10.0
THREAD_NAME = "sandbox-core-sync"

_get_running_loop = asyncio.events._get_running_loop


class BlockingCallInEventLoopError(RuntimeError):
    """A blocking facade method was called on the facade's own loop thread (it would deadlock); use its ``.aio`` form.

    A blocking call inside any *other* running event loop only warns (``sandbox_core.exception.AsyncUsageWarning``).
    """


class ForkedObjectError(RuntimeError):
    """A facade object created before ``fork()`` was used in the child process."""


# ---------------------------------------------------------------------------------------------------------------------
# The loop thread


class _LoopThread:
    """Owns the runtime's event loop and its thread. ``generation`` changes at every fork (in the child)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread: threading.Thread | None = None
        self.thread_id: int | None = None
        self.stop: asyncio.Event | None = None
        self.generation = 0
        self.atexit_registered = False

    def get(self) -> asyncio.AbstractEventLoop:
        loop = self.loop
        if loop is not None:
            return loop
        return self._start()

    def _start(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            if self.loop is not None:
                return self.loop
            ready = threading.Event()
            failure: list[BaseException] = []
            thread = threading.Thread(target=self._main, args=(ready, failure), name=THREAD_NAME, daemon=True)
            thread.start()
            ready.wait()
            if failure:
                raise RuntimeError("sandbox_core_sync: the event loop thread failed to start") from failure[0]
            if not self.atexit_registered:
                atexit.register(shutdown)
                self.atexit_registered = True
            self.thread = thread
            assert self.loop is not None
            return self.loop

    def _main(self, ready: threading.Event, failure: list[BaseException]) -> None:
        async def main() -> None:
            self.stop = asyncio.Event()
            self.thread_id = threading.get_ident()
            self.loop = asyncio.get_running_loop()
            ready.set()
            await self.stop.wait()

        try:
            # asyncio.run cancels leftover tasks, finalises async generators and closes the loop (which also closes
            # the per-loop engine client) when ``stop`` is set.
            asyncio.run(main())
        except BaseException as e:  # pragma: no cover - only if the loop itself cannot be created
            failure.append(e)
            ready.set()
        finally:
            with self.lock:
                if self.thread_id == threading.get_ident():  # ended without shutdown(): the next call restarts
                    self.loop = self.thread = self.thread_id = self.stop = None

    def shutdown(self, timeout: float) -> None:
        with self.lock:
            loop, thread, stop = self.loop, self.thread, self.stop
            self.loop = None
            self.thread = None
            self.thread_id = None
            self.stop = None
        if loop is None or thread is None or stop is None:
            return
        try:
            loop.call_soon_threadsafe(stop.set)
        except RuntimeError:  # loop already closed
            return
        thread.join(timeout)

    def after_fork_in_child(self) -> None:
        # The loop thread does not exist in the child; the lock may have been held by it at fork time.
        self.lock = threading.Lock()
        self.loop = None
        self.thread = None
        self.thread_id = None
        self.stop = None
        self.generation += 1
        global _cache_lock
        _cache_lock = threading.Lock()


_LT = _LoopThread()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_LT.after_fork_in_child)


def shutdown(timeout: float = EXIT_JOIN_TIMEOUT) -> None:
    """Stop the loop thread (cancelling leftover tasks); join it for at most ``timeout`` s. A later call restarts it."""
    _LT.shutdown(timeout)


def loop_thread_id() -> int | None:
    """The ident of the runtime's loop thread, or None when it is not running."""
    return _LT.thread_id


def register_library_packages(*names: str) -> None:
    """Called by each generated facade with its own and its implementation's package: warnings skip their frames."""
    for name in names:
        _warnings.register_internal_package(name)


# ---------------------------------------------------------------------------------------------------------------------
# Submission, blocking calls, .aio


class _Call(concurrent.futures.Future[Any]):
    """The caller's view of one submitted coroutine; ``task`` is set on the loop thread before anything can cancel."""

    __slots__ = ("task",)
    task: asyncio.Task[Any] | None


def _start(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], call: _Call, ctx: contextvars.Context
) -> None:
    if not call.set_running_or_notify_cancel():
        coro.close()
        return
    try:
        task = loop.create_task(coro, context=ctx)
    except BaseException as e:  # pragma: no cover - create_task only fails on a closing loop
        coro.close()
        call.set_exception(e)
        return
    call.task = task
    task.add_done_callback(functools.partial(_copy_outcome, call))


def _copy_outcome(call: _Call, task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        call.set_exception(asyncio.CancelledError())
        return
    exc = task.exception()
    if exc is not None:
        call.set_exception(exc)
    else:
        call.set_result(task.result())


def _cancel(call: _Call) -> None:
    # Runs on the loop thread, FIFO after _start, so ``task`` exists unless the call never started.
    task = call.task
    if task is not None:
        task.cancel()


def _context(origin: _warnings.CallOrigin) -> contextvars.Context:
    # The caller's context (contextvars flow to the loop), naming the calling frame for warnings.
    ctx = contextvars.copy_context()
    ctx.run(_warnings.call_origin.set, origin)
    return ctx


def _submit(coro: Coroutine[Any, Any, T], origin: _warnings.CallOrigin) -> _Call:
    loop = _LT.get()
    call = _Call()
    call.task = None
    try:
        loop.call_soon_threadsafe(_start, loop, coro, call, _context(origin))
    except BaseException:
        coro.close()
        raise
    return call


def _deadlock(coro: Coroutine[Any, Any, Any] | None, what: str) -> None:
    if coro is not None:
        coro.close()
    raise BlockingCallInEventLoopError(
        f"{what} is a blocking sandbox_core_sync call made on the facade's own event-loop thread (from a "
        "coroutine or callback that the facade runs); it would deadlock. Await the `.aio` form instead, "
        "e.g. `await sb.exec.aio(...)`."
    )


def _in_running_loop(coro: Coroutine[Any, Any, Any] | None, name: str, kind: str) -> None:
    """A blocking use ``kind`` of ``name`` in a thread running an event loop: refuse on ours, else warn (Modal)."""
    if threading.get_ident() == _LT.thread_id:
        _deadlock(coro, f"{name}()" if kind == "call" else f"{kind} {name}")
    if name == "__aexit__":
        return  # the ``with`` statement warned at ``__aenter__`` already (as Modal skips it)
    from . import _usage  # only on this slow path

    try:
        _usage.warn_blocking(name, kind, _warnings.user_frame(sys._getframe(1)))
    except BaseException:  # an ``error`` filter: nothing runs
        if coro is not None:
            coro.close()
        raise


def _full_tracebacks() -> bool:
    return os.environ.get("SANDBOX_SYNC_FULL_TRACEBACK", "") not in ("", "0")


_HIDDEN_DIRS = (
    os.path.dirname(concurrent.futures.__file__) + os.sep,
    os.path.dirname(asyncio.__file__) + os.sep,
)


def _clean(e: BaseException) -> BaseException:
    """Drop the runtime's plumbing frames (concurrent.futures, asyncio, this module) from ``e``'s traceback."""
    if _full_tracebacks():
        return e
    kept: list[types.TracebackType] = []
    tb = e.__traceback__
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if not filename.startswith(_HIDDEN_DIRS) and filename != __file__:
            kept.append(tb)
        tb = tb.tb_next
    new: types.TracebackType | None = None
    for entry in reversed(kept):
        new = types.TracebackType(new, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return e.with_traceback(new)


def _interrupt(call: _Call, coro: Coroutine[Any, Any, Any]) -> None:
    # On the loop thread, FIFO after ``_start`` if that was scheduled at all: cancel the task, or make sure a call
    # that never started never will (Ctrl-C can land before or during the submission).
    task = call.task
    if task is not None:
        task.cancel()
    elif call.cancel():
        coro.close()


def run_sync(coro: Coroutine[Any, Any, T], *, _use: str | None = "call") -> T:
    """Run ``coro`` on the runtime loop and block until it is done (one thread crossing); re-raise its exception.

    In a thread running an event loop it first warns ``AsyncUsageWarning`` (raised instead under an ``error``
    filter; nothing runs then); on the runtime's own loop thread it raises BlockingCallInEventLoopError. On
    KeyboardInterrupt the coroutine is cancelled and its cleanup awaited before the KeyboardInterrupt propagates.
    ``_use`` is the kind of blocking use for the warning (see ``_usage``); None for the steps of an iteration,
    which warned when it started.
    """
    if _get_running_loop() is not None:
        if _use is None:
            if threading.get_ident() == _LT.thread_id:
                _deadlock(coro, "iterating")
        else:
            name = "__anext__" if _use == "next" else getattr(coro, "__name__", "call")
            _in_running_loop(coro, name, "enter" if name == "__aenter__" else _use)
    loop = _LT.get()
    call = _Call()
    call.task = None
    # The caller stays suspended in this call, so its frame shows the calling line until the call returns.
    origin = _warnings.CallOrigin(sys._getframe(1))
    try:
        try:
            loop.call_soon_threadsafe(_start, loop, coro, call, _context(origin))
            return call.result()  # type: ignore[no-any-return]
        except KeyboardInterrupt:
            try:
                loop.call_soon_threadsafe(_interrupt, call, coro)
            except RuntimeError:  # the loop closed meanwhile (interpreter exit): nothing is left to cancel
                coro.close()
            else:
                # Wait for the cancelled task's cleanup; a second Ctrl-C stops waiting.
                with contextlib.suppress(concurrent.futures.CancelledError, asyncio.CancelledError):
                    call.exception()
            raise
    except BaseException as e:
        raise _clean(e)  # noqa: B904 - the same exception object, re-raised with a trimmed traceback
    finally:
        origin.frame = None


def call_sync(fn: Callable[..., R], /, *args: Any, **kwargs: Any) -> R:
    """Run the plain function ``fn(*args, **kwargs)`` on the runtime loop thread (one crossing) and return its result.

    Used for implementation methods that are synchronous but not thread-safe. Allowed from any thread (it never waits
    on I/O); on the loop thread itself it calls ``fn`` directly.
    """
    if threading.get_ident() == _LT.thread_id:
        return fn(*args, **kwargs)
    loop = _LT.get()
    fut: concurrent.futures.Future[R] = concurrent.futures.Future()

    def run() -> None:
        if not fut.set_running_or_notify_cancel():  # pragma: no cover - nobody cancels this future
            return
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as e:
            fut.set_exception(e)

    origin = _warnings.CallOrigin(sys._getframe(1))
    try:
        loop.call_soon_threadsafe(run, context=_context(origin))
        return fut.result()
    except BaseException as e:
        raise _clean(e)  # noqa: B904 - the same exception object, re-raised with a trimmed traceback
    finally:
        origin.frame = None


async def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Await ``coro`` on the runtime loop from any event loop (one crossing; none if already on the runtime loop).

    Cancelling the awaiting task cancels ``coro`` on the runtime loop, waits for its cleanup, then raises
    CancelledError in the caller.
    """
    running = asyncio.get_running_loop()
    if running is _LT.loop:
        return await coro
    # Found now: a suspended coroutine's frame no longer links to its caller.
    origin = _warnings.CallOrigin(_warnings.user_frame(sys._getframe(1)))
    call = _submit(coro, origin)
    try:
        # Cancelling this await cancels only the local future (a started call cannot be cancelled that way).
        return await asyncio.wrap_future(call, loop=running)
    except asyncio.CancelledError:
        if not call.done():
            loop = _LT.loop
            if loop is not None:
                loop.call_soon_threadsafe(_cancel, call)
                with contextlib.suppress(BaseException):  # its cleanup runs before the caller sees CancelledError
                    await asyncio.wrap_future(call, loop=running)
        raise
    except BaseException as e:
        raise _clean(e)  # noqa: B904 - the same exception object, re-raised with a trimmed traceback
    finally:
        origin.frame = None


# ---------------------------------------------------------------------------------------------------------------------
# Iteration


@final
class _Done:
    __slots__ = ()


_DONE = _Done()


async def _anext(ait: AsyncIterator[T]) -> T | _Done:
    # Created and awaited on the loop thread, so asyncgen hooks and finalisation belong to the runtime loop.
    # An iterator may offer ``_facade_anext``, a step that hands over more per call (StreamReader: all the
    # buffered bytes), since each step here costs a thread crossing.
    step = getattr(ait, "_facade_anext", None)
    try:
        return await (step() if step is not None else ait.__anext__())
    except StopAsyncIteration:
        return _DONE


async def _first(make: Callable[[], AsyncIterator[T]]) -> tuple[AsyncIterator[T], T | _Done]:
    # Creating the iterator and taking its first item is one crossing.
    ait = make()
    return ait, await _anext(ait)


async def _aclose(ait: AsyncIterator[Any]) -> None:
    # Only async generators are closed when abandoned: an object iterating over itself (a StreamReader) keeps its
    # data for a later loop, as ``async for`` + ``break`` does.
    if isinstance(ait, types.AsyncGeneratorType):
        await ait.aclose()


def _close_from_any_thread(ait: AsyncIterator[Any]) -> None:
    if not isinstance(ait, types.AsyncGeneratorType) or sys.is_finalizing():
        return
    if _get_running_loop() is not None or _LT.loop is None:
        # Closing from inside a loop (or after shutdown): schedule it on the runtime loop, do not wait.
        loop = _LT.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                _submit(_aclose(ait), _warnings.CallOrigin(None))
        return
    call = _submit(_aclose(ait), _warnings.CallOrigin(None))
    # The generator was abandoned; a failure of its cleanup must not mask what the caller is doing.
    with contextlib.suppress(Exception):
        call.result(timeout=ACLOSE_TIMEOUT)


def _identity(x: T) -> T:
    return x


def next_sync(ait: AsyncIterator[T]) -> T:
    """One blocking ``__anext__`` step of ``ait``; raises StopIteration at the end (for ``__next__``)."""
    item = run_sync(_anext(ait), _use="next")
    if isinstance(item, _Done):
        raise StopIteration
    return item


async def next_async(ait: AsyncIterator[T]) -> T:
    """One ``__anext__`` step of ``ait`` on the runtime loop; raises StopAsyncIteration at the end."""
    item = await run_async(_anext(ait))
    if isinstance(item, _Done):
        raise StopAsyncIteration
    return item


@overload
def iter_sync(make: Callable[[], AsyncIterator[T]], *, name: str | None = None) -> Generator[T, None, None]: ...
@overload
def iter_sync(
    make: Callable[[], AsyncIterator[T]], wrap: Callable[[T], R], *, name: str | None = None
) -> Generator[R, None, None]: ...
def iter_sync(
    make: Callable[[], AsyncIterator[Any]], wrap: Callable[[Any], Any] = _identity, *, name: str | None = None
) -> Generator[Any, None, None]:
    """A blocking generator over the async iterator that ``make()`` returns (``make`` runs on the loop thread).

    Each step is one thread crossing. Closing the generator early (``break``, garbage collection) closes an async
    *generator* on the loop (``aclose()``), so its cleanup runs; other async iterators are left as they are.
    ``name`` is the facade method that returned it (for the ``AsyncUsageWarning``; ``make``'s name otherwise).
    """
    if _get_running_loop() is not None:
        _in_running_loop(None, name or str(getattr(make, "__name__", "__aiter__")), "iter")
    return _iter_sync(make, wrap)


def _iter_sync(make: Callable[[], AsyncIterator[Any]], wrap: Callable[[Any], Any]) -> Generator[Any, None, None]:
    ait, item = run_sync(_first(make), _use=None)
    try:
        while not isinstance(item, _Done):
            yield wrap(item)
            item = run_sync(_anext(ait), _use=None)
    finally:
        _close_from_any_thread(ait)


@overload
def iter_async(make: Callable[[], AsyncIterator[T]]) -> AsyncGenerator[T, None]: ...
@overload
def iter_async(make: Callable[[], AsyncIterator[T]], wrap: Callable[[T], R]) -> AsyncGenerator[R, None]: ...
async def iter_async(
    make: Callable[[], AsyncIterator[Any]], wrap: Callable[[Any], Any] = _identity
) -> AsyncGenerator[Any, None]:
    """An async generator, usable from any event loop, over the async iterator that ``make()`` returns.

    Each step is one crossing to the runtime loop (none when iterated on the runtime loop itself). ``aclose()`` (or an
    early ``break`` followed by closing) closes the underlying iterator on the runtime loop.
    """
    ait, item = await run_async(_first(make))
    try:
        while not isinstance(item, _Done):
            yield wrap(item)
            item = await run_async(_anext(ait))
    finally:
        await run_async(_aclose(ait))


# ---------------------------------------------------------------------------------------------------------------------
# Wrappers


class Wrapper:
    """Base of every generated facade class: holds the implementation object and the fork generation it belongs to."""

    __slots__ = ("__weakref__", "_gen", "_impl")
    _impl: Any
    _gen: int

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Implementation objects are bound to the runtime loop, so they are never built in the caller's thread.
        from sandbox_core.exception import InvalidError

        raise InvalidError(f"Class {type(self).__name__} has no constructor. Use class constructor methods instead.")

    def __repr__(self) -> str:
        return repr(self._impl)

    def _check(self) -> None:
        if self._gen != _LT.generation:
            raise ForkedObjectError(
                f"This {type(self).__name__} object was created before fork(); it belongs to the parent process and "
                "cannot be used in the child. Look the object up again in the child (e.g. Sandbox.from_id)."
            )


_cache: weakref.WeakValueDictionary[int, Wrapper] = weakref.WeakValueDictionary()
_cache_lock = threading.Lock()


def wrap_cached(cls: type[W], impl: Any) -> W:
    """The wrapper of class ``cls`` around ``impl``: the same object for the same ``impl`` while it is alive."""
    key = id(impl)
    found = _cache.get(key)
    if found is not None and found._impl is impl and type(found) is cls:
        return found
    with _cache_lock:
        found = _cache.get(key)
        if found is not None and found._impl is impl and type(found) is cls:
            return found
        w = object.__new__(cls)
        w._impl = impl
        w._gen = _LT.generation
        _cache[key] = w
        return w


def bind_new(wrapper: Wrapper, impl: Any) -> None:
    """Make the freshly constructed ``wrapper`` the facade of ``impl`` (a facade constructor's last step)."""
    wrapper._impl = impl
    wrapper._gen = _LT.generation
    with _cache_lock:
        _cache[id(impl)] = wrapper


def unwrap(value: Any) -> Any:
    """Replace facade wrappers in ``value`` (a wrapper, None, or a list/tuple/dict of them) by their implementation."""
    if isinstance(value, Wrapper):
        value._check()
        return value._impl
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    if isinstance(value, tuple):
        return tuple(unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    return value


class BoundMethod(Generic[I_co]):
    """Base of a generated per-method class bound to one wrapper: ``__call__`` blocks, ``aio`` is the async form."""

    __slots__ = ("_impl",)
    _impl: I_co

    def __init__(self, owner: Wrapper) -> None:
        if owner._gen != _LT.generation:
            owner._check()
        self._impl = owner._impl


class Function:
    """Base of a generated per-function class (module functions, static and class methods)."""

    __slots__ = ()
