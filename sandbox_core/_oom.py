"""Which exec an OOM record of the engine belongs to: the episode rule behind ``ContainerProcess.end_reason``.

The engine logs an ``oom`` event for every kill of the kernel's OOM killer in a sandbox's memory cgroup, with the time
the engine learnt of it. One exhausted limit can leave a run of records — the kernel kills again while its first
victim is still exiting, and on a loaded host the records trail in — some stamped after the next exec started. Records
less than ``EPISODE`` apart are one episode, and an episode is given to one exec only: an exec that ends with 137
claims a record stamped after it started that does not continue the episode last given.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

#: Seconds between two records of one episode at most.
EPISODE = 1.0
#: Records walked at most per claim (a cgroup that keeps thrashing: then any record after the start counts).
MAX_RECORDS = 100

#: The first record at or after a time (seconds since the epoch), waiting briefly for one; None when there is none.
FirstAfter = Callable[[float], Awaitable[float | None]]


async def claim(first_after: FirstAfter, started: float, last_given: float | None) -> tuple[bool, float | None]:
    """Whether an exec that started at ``started`` was OOM-killed, and the time of the newest record walked (the new
    ``last_given`` when it is later than the old one). Walks the records from the episode last given (or from the
    start) forward: a record within ``EPISODE`` of the one before it continues that episode; the first record after
    ``started`` that does not is this exec's."""
    last = last_given
    since = started if last is None else min(started, last)
    for _ in range(MAX_RECORDS):
        at = await first_after(since)
        if at is None:
            return False, last
        if at >= started and (last is None or at - last >= EPISODE):
            return True, at
        last = at if last is None else max(last, at)
        since = at + 1e-6
    return True, last
