"""The OOM episode rule (``sandbox_core/_oom.py``) as pure logic: which exec an engine's OOM record belongs to."""

from __future__ import annotations

import bisect

import pytest

from sandbox_core._oom import EPISODE, MAX_RECORDS, FirstAfter, claim

pytestmark = pytest.mark.asyncio(loop_scope="function")


def records(*times: float) -> FirstAfter:
    """``claim``'s ``first_after`` over a fixed log of record times."""
    log = sorted(times)

    async def first_after(since: float) -> float | None:
        i = bisect.bisect_left(log, since)
        return log[i] if i < len(log) else None

    return first_after


async def test_the_first_record_after_the_start_is_the_execs() -> None:
    assert await claim(records(3.0, 9.0), started=2.0, last_given=None) == (True, 3.0)


async def test_no_record_since_the_start_is_no_oom() -> None:
    assert await claim(records(1.0), started=2.0, last_given=None) == (False, None)
    assert await claim(records(), started=2.0, last_given=None) == (False, None)


async def test_records_trailing_the_last_episode_are_not_counted_again() -> None:
    # Exec 1 was given 10.0; its episode goes on in steps under EPISODE, past exec 2's start at 10.5 and past 11.0.
    trail = [10.0 + 0.3 * i for i in range(8)]
    assert await claim(records(*trail), started=10.5, last_given=10.0) == (False, trail[-1])


async def test_a_new_episode_after_the_start_is_the_execs() -> None:
    assert await claim(records(10.0, 10.2, 13.0), started=12.0, last_given=10.0) == (True, 13.0)


async def test_a_kill_during_the_run_counts_unless_it_continues_an_episode_given_before() -> None:
    # A record during the run with nothing given before: the sandbox's memory ran out while this exec ran.
    assert await claim(records(20.0, 20.6), started=20.5, last_given=None) == (True, 20.6)
    # The same log when 20.0 was given to an earlier exec: 20.6 continues that episode.
    assert await claim(records(20.0, 20.6), started=20.5, last_given=20.0) == (False, 20.6)


async def test_a_gap_of_a_whole_episode_starts_a_new_one() -> None:
    assert await claim(records(10.0, 10.0 + EPISODE), started=10.5, last_given=10.0) == (True, 10.0 + EPISODE)


async def test_a_cgroup_that_keeps_thrashing_counts_once_the_walk_is_long() -> None:
    many = [float(i) * 0.01 for i in range(MAX_RECORDS + 10)]
    killed, _ = await claim(records(*many), started=0.5, last_given=0.0)
    assert killed
