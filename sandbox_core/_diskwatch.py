"""The supervisor's disk watchdog: stops a running sandbox whose writable layer holds more than its disk cap
(label ``sandbox-core.disk-limit``, from ``Limits.disk_mib``), recording ``disk-limit`` as why it ended.

The engine cannot cap a writable layer on this storage (overlay on ext4 has no quota), so the layer is measured
instead, and measuring costs the engine a walk of the layer (about 1 ms with few files, 60 ms with 10,000). So:

- a sandbox is measured every ``SANDBOX_CORE_DISK_POLL`` seconds (default 5), sooner when it grows fast (at half the
  time its last growth rate needs to reach the cap, at least a second apart), and never more often than 100 times
  its last measurement's cost;
- measurements run one at a time, with pauses that keep the engine's share of time spent measuring at
  ``DUTY`` (5 %) however many sandboxes there are: with many sandboxes or big layers the intervals stretch.

A burst of writes between two measurements can pass the cap by what the sandbox writes in that time; the
sandbox is stopped at the next one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time

import attrs

from . import _lifecycle
from ._engine import EngineAPI
from ._engine import labels as L
from ._engine.errors import NoSuchContainer
from ._engine.values import ContainerSummary
from .exception import Error, InvalidError

log = logging.getLogger("sandbox_core.supervisor")

MIN_INTERVAL = 1.0
#: The largest share of time spent measuring layers.
DUTY = 0.05
#: A sandbox is measured at most every COST_FACTOR × its last measurement's duration.
COST_FACTOR = 100.0
MIB = 1 << 20


def poll_interval() -> float:
    """``SANDBOX_CORE_DISK_POLL``: the seconds between two measurements of a sandbox that is not growing fast."""
    raw = os.environ.get("SANDBOX_CORE_DISK_POLL", "5")
    try:
        value = float(raw)
    except ValueError:
        raise InvalidError(f"SANDBOX_CORE_DISK_POLL must be a number of seconds, got {raw!r}") from None
    if not MIN_INTERVAL <= value <= 3600:
        raise InvalidError(f"SANDBOX_CORE_DISK_POLL must be between {MIN_INTERVAL} and 3600 seconds, got {raw!r}")
    return value


@attrs.define
class Measured:
    size: int
    at: float
    next_at: float


def next_interval(base: float, limit: int, size: int, previous: Measured | None, now: float, cost: float) -> float:
    """Seconds until the next measurement of a sandbox whose layer holds ``size`` of ``limit`` bytes."""
    interval = base
    if previous is not None and now > previous.at and size > previous.size:
        rate = (size - previous.size) / (now - previous.at)
        interval = min(interval, (limit - size) / rate / 2)
    return max(interval, MIN_INTERVAL, cost * COST_FACTOR)


class DiskWatch:
    """Measures the running sandboxes that carry a disk cap, and stops those past it."""

    def __init__(self, eng: EngineAPI, base_interval: float | None = None) -> None:
        self.eng = eng
        self.base = poll_interval() if base_interval is None else base_interval
        self.seen: dict[str, Measured] = {}
        #: Sandboxes stopped for their disk cap (sandbox ids), for the supervisor's log and the tests.
        self.stopped: list[str] = []

    async def run(self) -> None:
        """Measure forever (until cancelled); a failed round is logged and retried."""
        while True:
            try:
                wait = await self.round()
            except Error as e:
                log.warning("disk watch round failed: %s", e)
                wait = 2.0
            await asyncio.sleep(wait)

    async def round(self) -> float:
        """Measure every sandbox that is due; returns the seconds until the next one is."""
        items = await self.eng.containers.list({L.DISK_LIMIT: None}, all=False)
        live = {item.id for item in items}
        for cid in set(self.seen) - live:
            del self.seen[cid]
        for item in items:
            entry = self.seen.get(item.id)
            if entry is not None and entry.next_at > time.monotonic():
                continue
            cost = await self.measure(item)
            await asyncio.sleep(cost * (1 / DUTY - 1))
        now = time.monotonic()
        return max(MIN_INTERVAL, min([e.next_at - now for e in self.seen.values()], default=self.base))

    async def measure(self, item: ContainerSummary) -> float:
        """Measure one sandbox, stop it when past its cap; returns how long the measurement took."""
        try:
            limit = int(item.labels[L.DISK_LIMIT])
        except ValueError:
            return 0.0
        t0 = time.monotonic()
        try:
            size = await self.eng.containers.writable_size(item.id)
        except NoSuchContainer:
            self.seen.pop(item.id, None)
            return 0.0
        now = time.monotonic()
        cost = now - t0
        if size > limit:
            await self.stop(item, size, limit)
            return cost
        interval = next_interval(self.base, limit, size, self.seen.get(item.id), now, cost)
        self.seen[item.id] = Measured(size, now, now + interval)
        return cost

    async def stop(self, item: ContainerSummary, size: int, limit: int) -> None:
        sandbox_id = item.labels.get(L.SANDBOX_ID, "")
        detail = (
            f"its writable layer held {size / MIB:.1f} MiB, over its disk limit of {limit / MIB:.1f} MiB "
            "(Limits.disk_mib)"
        )
        log.info("stopping sandbox %s: %s", sandbox_id, detail)
        await _lifecycle.end_sandbox(
            self.eng, sandbox_id, item.id, item.labels.get(L.APP_ID, ""), _lifecycle.DISK_LIMIT, detail=detail
        )
        self.seen.pop(item.id, None)
        self.stopped.append(sandbox_id)
