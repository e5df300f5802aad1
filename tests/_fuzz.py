"""Shared pieces of the property tests (``tests/test_fuzz_*.py``): hostile-value strategies, the settings of the
default and the ``slow`` share, and the check that a call ended in success or one of the exceptions it may raise,
within a bounded time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from sandbox_core._engine import get_engine

T = TypeVar("T")

# Every call must end within this bound; a hang is a failure, not a slow example.
CALL_BOUND = 60.0

_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
# The default run's share: few examples per property (the suite runs them on every push, on a shared engine).
FAST = settings(max_examples=80, deadline=None, suppress_health_check=_HEALTH, database=None)
# Properties whose examples reach the engine (a sandbox's exec or filesystem): fewer still.
ENGINE = settings(max_examples=30, deadline=None, suppress_health_check=_HEALTH, database=None)
# ``-m slow``: the same properties, many more examples.
SLOW = settings(max_examples=300, deadline=None, suppress_health_check=_HEALTH, database=None)
SLOW_ENGINE = settings(max_examples=80, deadline=None, suppress_health_check=_HEALTH, database=None)

HUGE = 10**400

numbers: st.SearchStrategy[Any] = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**63, 2**64, HUGE, -HUGE]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.5, 1e-9, 1e308, float("inf"), float("-inf"), float("nan")]),
)
texts: st.SearchStrategy[Any] = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="ascii"), max_size=40),
    st.sampled_from(["", " ", "\0", "a\0b", "/", "..", "../..", "a/../../b", "-", "--", "$HOME", "a=b", "\n", "é" * 3]),
)
scalars: st.SearchStrategy[Any] = st.one_of(st.none(), st.booleans(), numbers, texts, st.binary(max_size=20))
# Any value a careless caller might pass: scalars, and small containers of them.
anything: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.one_of(texts, numbers), inner, max_size=3),
    ),
    max_leaves=6,
)
str_dicts: st.SearchStrategy[Any] = st.dictionaries(texts, st.one_of(texts, st.none()), max_size=4)


def allowed(error: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    """True when ``error`` is one of ``kinds`` and says something (a typed error with an empty message tells the
    user nothing)."""
    return isinstance(error, kinds) and bool(str(error).strip())


async def bounded(call: Awaitable[T], kinds: tuple[type[BaseException], ...]) -> T | BaseException:
    """Await ``call`` within ``CALL_BOUND``: its result, or the exception it raised when that is one of ``kinds``.
    Anything else (another exception, a hang) fails the property with the offending exception."""
    try:
        return await asyncio.wait_for(call, CALL_BOUND)
    except TimeoutError as e:
        raise AssertionError(f"the call did not end within {CALL_BOUND} s") from e
    except BaseException as e:
        if isinstance(e, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
            raise
        if not allowed(e, kinds):
            raise AssertionError(f"unexpected {type(e).__module__}.{type(e).__name__}: {e!r}") from e
        return e


def raises_only(call: Any, kinds: tuple[type[BaseException], ...], *args: Any, **kwargs: Any) -> Any:
    """Call a synchronous ``call``: its result, or the exception it raised when that is one of ``kinds``."""
    try:
        return call(*args, **kwargs)
    except Exception as e:
        if not allowed(e, kinds):
            raise AssertionError(f"unexpected {type(e).__module__}.{type(e).__name__}: {e!r}") from e
        return e


async def containers_labelled(key: str, value: str | None) -> set[str]:
    """Every container (any state) on the library's engine carrying ``key=value``."""
    assert value is not None
    return {c.id for c in await (await get_engine()).containers.list({key: value}, all=True)}
