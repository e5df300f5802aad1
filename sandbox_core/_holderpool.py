"""A pool of ready, isolated network holders, so that isolating a sandbox costs its create nothing.

A cold holder (create, start, rules installed and verified) adds ~100-150 ms to a sandbox's time to interactive; a
sandbox joining a holder that is already running starts *faster* than a plain container, because the engine then
sets up no network for it. The supervisor (``PoolService``) therefore keeps ``SANDBOX_CORE_HOLDER_POOL`` holders
(default ``DEFAULT_POOL_SIZE``; 0 turns the pool off) running with the isolated policy, and ``Sandbox.create`` claims
one when the sandbox needs nothing a running holder cannot give (no published ports, no inbound allowlist).

Names carry the pool's state, because a rename is the engine's atomic primitive (``ContainersAPI.rename``):
- ``sandbox-core-filling-<key>-<rand>``: being started by the supervisor;
- ``sandbox-core-pool-<key>-<rand>``: ready, claimable (labelled with the pool key, which hashes the helper's
  config and the holder image, so that a holder is only claimed by a process that would have made the same one);
- ``sandbox-core-holder-<id12>``: claimed. Every claimant renames to this same name, so exactly one succeeds; the
  name never changes again (renamed once more, it could be claimed by a claimant that listed it in the pool), and
  the sandbox's ``NET_HOLDER`` label is what ties the two;
- ``sandbox-core-net-<sandbox id>-<unix time>``: a cold holder, created for that sandbox.

Members older than ``MAX_AGE`` are replaced (claimants skip those within ``CLAIM_MARGIN`` of it); the supervisor
removes its pool when it exits, and anything a dead supervisor left is removed by the next one or by ``sweep()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import re
import time
import uuid

from ._engine import EngineAPI
from ._engine import labels as L
from ._engine.errors import NameConflict, NoSuchContainer
from ._engine.netholder import create_holder, network_facts, remove_holder, start_holder
from ._engine.netpolicy import HOLDER_IMAGE, KIND_HOLDER, helper_config
from ._engine.values import ContainerSummary, EngineEvent
from ._netplan import DEFAULT_NETWORK, isolated_policy, isolation_enabled
from ._netpolicy_types import NetworkPolicy
from .exception import Error, InvalidError

log = logging.getLogger("sandbox_core.supervisor")

POOL_ENV = "SANDBOX_CORE_HOLDER_POOL"
DEFAULT_POOL_SIZE = 4
MAX_POOL_SIZE = 64
#: On pool members: the pool key.
POOL_LABEL = L.PREFIX + "holder-pool"
FILLING_PREFIX = "sandbox-core-filling-"
POOL_PREFIX = "sandbox-core-pool-"
CLAIMED_PREFIX = "sandbox-core-holder-"
SANDBOX_PREFIX = "sandbox-core-net-"
#: Seconds a pool member serves before it is replaced; claimants leave it alone ``CLAIM_MARGIN`` before that.
MAX_AGE = 600.0
CLAIM_MARGIN = 60.0
#: Seconds after which a holder still being filled is taken for the leftover of a dead supervisor.
FILL_GRACE = 120.0
FILL_CONCURRENCY = 2
_SANDBOX_NAME_RE = re.compile(rf"^{SANDBOX_PREFIX}(sb-[A-Za-z0-9]+)-(\d+)$")
_IMAGE_CACHE_SECONDS = 30.0


def pool_size() -> int:
    """How many ready holders the supervisor keeps (``SANDBOX_CORE_HOLDER_POOL``, default ``DEFAULT_POOL_SIZE``)."""
    raw = os.environ.get(POOL_ENV, str(DEFAULT_POOL_SIZE)).strip()
    try:
        size = int(raw)
    except ValueError:
        size = -1
    if not 0 <= size <= MAX_POOL_SIZE:
        raise InvalidError(f"{POOL_ENV} must be a whole number from 0 to {MAX_POOL_SIZE}, got {raw!r}")
    return size


def claimed_name(ref: str) -> str:
    """The one name every claimant of holder ``ref`` renames it to (so that one claim wins)."""
    return CLAIMED_PREFIX + ref[:12]


def sandbox_holder_name(sandbox_id: str, at: float) -> str:
    """The name of ``sandbox_id``'s holder, given at ``at`` (Unix time)."""
    return f"{SANDBOX_PREFIX}{sandbox_id}-{int(at)}"


def parse_sandbox_holder_name(name: str) -> tuple[str, float] | None:
    """(sandbox id, time named) from a ``sandbox_holder_name``, else None."""
    m = _SANDBOX_NAME_RE.match(name)
    return None if m is None else (m.group(1), float(m.group(2)))


_image_ids: dict[str, tuple[float, str]] = {}


async def holder_image_id(eng: EngineAPI) -> str:
    """The id of the holder image (remembered 30 s per engine). ``InvalidError`` when the engine lacks it."""
    cached = _image_ids.get(eng.endpoint)
    if cached is not None and time.monotonic() - cached[0] < _IMAGE_CACHE_SECONDS:
        return cached[1]
    info = await eng.images.inspect(HOLDER_IMAGE)
    if info is None:
        raise InvalidError(
            f"network isolation and policies need the image {HOLDER_IMAGE} on the engine, which does not have it "
            "(scripts/build-images.sh builds it; SANDBOX_CORE_ISOLATION=0 runs sandboxes without isolation)"
        )
    _image_ids[eng.endpoint] = (time.monotonic(), info.id)
    return info.id


async def pool_key(eng: EngineAPI, policy: NetworkPolicy, network: str = DEFAULT_NETWORK) -> str:
    """The key of the pool whose holders enforce ``policy`` on ``network`` with the engine's holder image."""
    facts = await network_facts(eng, network)
    config = helper_config(policy, facts, initial=True)
    image = await holder_image_id(eng)
    return hashlib.sha256(f"{image}\0{network}\0{config}".encode()).hexdigest()[:16]


async def take(eng: EngineAPI, ref: str) -> bool:
    """Claim holder ``ref`` for this process: True for the one caller whose rename to ``claimed_name`` won."""
    try:
        await eng.containers.rename(ref, claimed_name(ref))
    except (NameConflict, NoSuchContainer):
        return False
    return True


def claimable(item: ContainerSummary, key: str, now: float) -> bool:
    """A ready member of pool ``key`` young enough to be claimed."""
    return (
        item.status == "running"
        and item.name.startswith(POOL_PREFIX)
        and item.labels.get(POOL_LABEL) == key
        and now - item.created_at < MAX_AGE - CLAIM_MARGIN
    )


async def claim(eng: EngineAPI, key: str, *, attempts: int = 3) -> str | None:
    """Claim a ready holder of pool ``key``; its ref, or None when the pool has none to give."""
    members = await eng.containers.list({L.KIND: KIND_HOLDER, POOL_LABEL: key}, all=False)
    now = time.time()
    ready = [m for m in members if claimable(m, key, now)]
    random.shuffle(ready)  # concurrent claimants spread over the members instead of racing for the first
    for member in ready[:attempts]:
        if await take(eng, member.id):
            return member.id
    return None


async def add_member(eng: EngineAPI, key: str, policy: NetworkPolicy) -> str:
    """Create and start one holder for pool ``key``, and put it in the pool once its rules are in force."""
    tail = f"{key[:8]}-{uuid.uuid4().hex[:8]}"
    labels = {POOL_LABEL: key, L.CREATED_BY: f"{os.uname().nodename}:{os.getpid()}"}
    ref = await create_holder(eng, None, policy, labels=labels, name=FILLING_PREFIX + tail)
    try:
        await start_holder(eng, ref)
        await eng.containers.rename(ref, POOL_PREFIX + tail)
    except BaseException:
        await asyncio.shield(remove_holder(eng, ref))
        raise
    return ref


def _stale(item: ContainerSummary, now: float) -> bool:
    age = now - item.created_at
    if item.name.startswith(POOL_PREFIX):
        return item.status != "running" or age >= MAX_AGE
    return item.name.startswith(FILLING_PREFIX) and age >= FILL_GRACE


async def remove_stale(eng: EngineAPI, members: list[ContainerSummary], now: float) -> int:
    """Remove members (of any pool) past their age, stopped, or left half-filled; returns how many."""
    removed = 0
    for item in members:
        if _stale(item, now) and await take(eng, item.id):
            removed += await remove_holder(eng, item.id)
    return removed


async def maintain(eng: EngineAPI, key: str, policy: NetworkPolicy, size: int) -> int:
    """One round of upkeep of pool ``key``: stale members removed, then topped up to ``size`` ready ones (at most
    ``FILL_CONCURRENCY`` started at once). Returns how many were added."""
    members = await eng.containers.list({L.KIND: KIND_HOLDER, POOL_LABEL: None}, all=True)
    now = time.time()
    await remove_stale(eng, members, now)
    ready = sum(1 for m in members if claimable(m, key, now))
    filling = sum(1 for m in members if m.name.startswith(FILLING_PREFIX) and m.labels.get(POOL_LABEL) == key)
    missing = max(0, size - ready - filling)
    added = 0
    while missing > 0:
        batch = min(missing, FILL_CONCURRENCY)
        results = await asyncio.gather(*(add_member(eng, key, policy) for _ in range(batch)), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        added += batch - len(errors)
        if errors:
            raise errors[0]
        missing -= batch
    return added


async def drain(eng: EngineAPI, key: str | None = None) -> int:
    """Remove the ready and filling members of pool ``key`` (every pool: None); returns how many."""
    query: dict[str, str | None] = {L.KIND: KIND_HOLDER, POOL_LABEL: key}
    removed = 0
    for item in await eng.containers.list(query, all=True):
        if item.name.startswith((POOL_PREFIX, FILLING_PREFIX)) and await take(eng, item.id):
            removed += await remove_holder(eng, item.id)
    return removed


class PoolService:
    """The supervisor's pool keeper: upkeep at start, after every claim (a holder event), and every minute."""

    RETRY_SECONDS = 10.0
    CANNOT_SECONDS = 300.0
    IDLE_SECONDS = 60.0

    def __init__(self, eng: EngineAPI) -> None:
        self.eng = eng
        self.wake = asyncio.Event()
        self.key: str | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin keeping the pool (nothing when it is configured off, isolation is off, or the engine has no
        network holders)."""
        try:
            size = pool_size()
            on = isolation_enabled()
        except InvalidError as e:
            log.warning("holder pool off: %s", e)
            return
        if size and on and self.eng.joins_network_namespaces:
            self._task = asyncio.create_task(self._serve(size))

    def on_event(self, ev: EngineEvent) -> None:
        """Follow engine events: a pool member renamed (claimed), stopped or removed calls for upkeep."""
        if ev.attributes.get(POOL_LABEL) is not None and ev.action in ("rename", "die", "destroy"):
            self.wake.set()

    async def _serve(self, size: int) -> None:
        policy = isolated_policy()
        while True:
            self.wake.clear()
            try:
                self.key = await pool_key(self.eng, policy)
                await maintain(self.eng, self.key, policy, size)
                delay = self.IDLE_SECONDS
            except InvalidError as e:
                log.warning("holder pool: this engine cannot isolate sandboxes: %s", e)
                delay = self.CANNOT_SECONDS
            except Error as e:
                log.warning("holder pool upkeep failed: %s", e)
                delay = self.RETRY_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=delay)

    async def stop(self) -> None:
        """Stop keeping the pool and remove its members (the supervisor is leaving)."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Error):
            await self._task
        if self.key is not None:
            with contextlib.suppress(Error):
                await drain(self.eng, self.key)
