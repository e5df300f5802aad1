"""``SandboxPool``: warm sandboxes, created, started and agent-ready before anyone asks, claimed in milliseconds.

A pool lives in the process that uses it (a web service holds one for its lifetime). It keeps ``size`` members with
the pool's spec — image, resources, network, volumes, environment: whatever ``Sandbox.create`` fixes at creation —
running, each with its agent session open in this process, and refills in the background. ``claim`` applies what a
sandbox gets at creation but a container cannot change later — name, tags, lifetime ``timeout``, ``idle_timeout`` —
and returns a ``Sandbox`` that behaves exactly as a cold one, for every process: the same id from start to end,
``from_id``, ``from_name``, ``list`` and tags, its deadlines enforced by the supervisor, its end and return code.
Claiming costs no container create and no session open: one rename (only with a ``name``) and one or two record
writes made at once, ~2-5 ms.

Members run their image's command (or the idle ``sleep`` of a sandbox without one) and nothing else until claimed:
only sandboxes without a command are pooled. Unclaimed members are not sandboxes to anyone (``list``, ``from_id`` and
``from_name`` skip them); ``close`` (or leaving ``async with``) removes them, and if the pool's process dies they are
removed by the supervisor (at once on the same host; through their ``max_age`` otherwise).

When no member is ready, ``claim`` creates a cold sandbox with the pool's spec (never slower than ``Sandbox.create``).

The member that replaces a claimed one is started ``REFILL_DELAY`` seconds after the claim, not at once: starting a
container costs the engine's host ~100 ms of CPU (runc, dockerd), which would otherwise compete with what the claimer
does first with its sandbox. The delay is counted from the claim, so a steady stream of claims delays no refill by more.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import time
from collections.abc import Collection, Sequence
from types import TracebackType
from typing import Any

import attrs

from . import _create, _lifecycle
from ._engine import EngineAPI, get_engine
from ._engine import labels as L
from ._engine.errors import NameConflict, NoSuchContainer
from ._ids import new_id
from ._pool import records
from ._pool.member import Member, make_member, remove_member, watch_member
from ._tasks import TaskSet
from ._validation import check_tags
from .app import App, running_app_id
from .exception import AlreadyExistsError, InvalidError
from .image import Image
from .limits import Limits
from .sandbox import Sandbox
from .secret import Secret

logger = logging.getLogger("sandbox_core")

#: Default lifetime of an unclaimed member (seconds); older ones are replaced.
DEFAULT_MAX_AGE = 3600
#: Members created at once while filling (dockerd serialises much of a create; more only adds contention).
DEFAULT_FILL_CONCURRENCY = 4
#: Seconds between a claim and the start of its replacement (see the module docstring).
REFILL_DELAY = 0.25
_REPLACE_MARGIN = 60.0


def _positive_int(value: Any, name: str, *, minimum: int, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise InvalidError(f"{name} must be an integer between {minimum} and {maximum}, got {value!r}")
    return value


class SandboxPool:
    """A warm pool of sandboxes with one spec (see the module docstring). Make one with ``SandboxPool.create``."""

    __slots__ = (
        "_changed",
        "_claimed",
        "_closed",
        "_creating",
        "_failures",
        "_filler",
        "_gate",
        "_gone",
        "_last_error",
        "_pool_id",
        "_ready",
        "_ready_changed",
        "_refill_at",
        "_req",
        "_size",
        "_tasks",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise InvalidError("SandboxPool has no public constructor; use `await SandboxPool.create(...)`.")

    @staticmethod
    async def create(
        *,
        app: App | None = None,
        size: int,
        image: Image | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        workdir: str | None = None,
        cpu: float | tuple[float, float] | None = None,
        memory: int | tuple[int, int] | None = None,
        block_network: bool = False,
        outbound_cidr_allowlist: Sequence[str] | None = None,
        outbound_domain_allowlist: Sequence[str] | None = None,
        inbound_cidr_allowlist: Sequence[str] | None = None,
        volumes: dict[str | os.PathLike[str], Any] = {},  # noqa: B006 - as Sandbox.create
        encrypted_ports: Sequence[int] = [],
        h2_ports: Sequence[int] = [],
        unencrypted_ports: Sequence[int] = [],
        pty: bool = False,
        pids_limit: int | None = None,
        limits: Limits | None = None,
        runtime: str | None = None,
        max_age: int = DEFAULT_MAX_AGE,
        fill_concurrency: int = DEFAULT_FILL_CONCURRENCY,
        verbose: bool = False,
    ) -> SandboxPool:
        """A pool keeping ``size`` sandboxes of this spec warm (the parameters mean what they mean for
        ``Sandbox.create`` and are checked as it checks them). Returns once the first member is ready, so that a
        spec that cannot run (a missing image) raises here; ``wait_ready`` waits for more.

        ``max_age``: seconds an unclaimed member may wait (then it is replaced; also what bounds members whose pool's
        process died on another host). ``fill_concurrency``: members created at once.
        """
        _positive_int(size, "size", minimum=0, maximum=10_000)
        _positive_int(max_age, "max_age", minimum=120, maximum=7 * 24 * 3600)
        _positive_int(fill_concurrency, "fill_concurrency", minimum=1, maximum=64)
        req = _create.CreateRequest(
            args=(), app=app, name=None, tags=None, image=image, env=env, secrets=secrets, network_file_systems={},
            timeout=max_age, idle_timeout=None, workdir=workdir, gpu=None, cloud=None, region=None, cpu=cpu,
            memory=memory, block_network=block_network, outbound_cidr_allowlist=outbound_cidr_allowlist,
            outbound_domain_allowlist=outbound_domain_allowlist, inbound_cidr_allowlist=inbound_cidr_allowlist,
            volumes=volumes, pty=pty, encrypted_ports=encrypted_ports, h2_ports=h2_ports,
            unencrypted_ports=unencrypted_ports, custom_domain=None, proxy=None, include_oidc_identity_token=False,
            readiness_probe=None, verbose=verbose, experimental_options=None, experimental_enable_snapshot=False,
            client=None, environment_name=None, pty_info=None, cidr_allowlist=None, pids_limit=pids_limit,
            limits=limits, runtime=runtime,
        )  # fmt: skip
        _create.validate(req)
        pool: SandboxPool = object.__new__(SandboxPool)
        pool._init(req, size, fill_concurrency)
        if size:
            try:
                await pool.wait_ready(1)
            except BaseException:
                await pool.close()
                raise
        return pool

    def _init(self, req: _create.CreateRequest, size: int, fill_concurrency: int) -> None:
        self._pool_id = new_id("sp")
        self._req = req
        self._size = size
        self._ready: collections.deque[Member] = collections.deque()
        self._creating = 0
        self._claimed = 0
        self._closed = False
        self._failures = 0
        self._refill_at = 0.0  # monotonic time before which no member is started (see REFILL_DELAY)
        self._last_error: BaseException | None = None
        self._gate = asyncio.Semaphore(fill_concurrency)
        self._changed = asyncio.Event()  # something the filler should look at
        self._ready_changed = asyncio.Event()
        self._gone = asyncio.Event()  # a member's session ended
        self._tasks = TaskSet()
        self._filler = self._tasks.spawn(self._fill(), f"pool-fill-{self._pool_id}")

    def __repr__(self) -> str:
        return f"SandboxPool({self._pool_id}, size={self._size}, ready={len(self._ready)})"

    # ------------------------------------------------------------------------------------------------ state

    @property
    def pool_id(self) -> str:
        """The pool's id (``sp-…``), on its members' ``sandbox-core.pool`` label."""
        return self._pool_id

    @property
    def size(self) -> int:
        """The number of members the pool keeps ready."""
        return self._size

    @property
    def ready(self) -> int:
        """Members ready to be claimed now."""
        return len(self._ready)

    @property
    def claimed(self) -> int:
        """Sandboxes this pool handed out so far (members and cold ones)."""
        return self._claimed

    async def wait_ready(self, count: int | None = None, *, timeout: float | None = None) -> None:
        """Wait until ``count`` members (default: ``size``) are ready. Raises the error that keeps members from
        starting when the pool has not managed to start one (e.g. ``NotFoundError`` for a missing image),
        ``TimeoutError`` after ``timeout`` seconds."""
        want = self._size if count is None else min(count, self._size)
        async with asyncio.timeout(timeout):
            while len(self._ready) < want:
                if self._closed:
                    raise InvalidError("the pool is closed")
                if self._last_error is not None and self._failures and not self._ready:
                    raise self._last_error
                self._ready_changed.clear()
                await self._ready_changed.wait()

    # ------------------------------------------------------------------------------------------------ claim

    async def claim(
        self,
        *,
        name: str | None = None,
        tags: dict[str, str] | None = None,
        timeout: int = 300,
        idle_timeout: int | None = None,
    ) -> Sandbox:
        """A sandbox of the pool's spec, now: ``name``, ``tags``, ``timeout`` and ``idle_timeout`` as for
        ``Sandbox.create`` (checked as it checks them; ``AlreadyExistsError`` when ``name`` is taken by a running
        sandbox of the app). A ready member when there is one, else a cold sandbox."""
        if self._closed:
            raise InvalidError("the pool is closed")
        assert self._req.app is not None  # validated
        running_app_id(self._req.app)  # an ephemeral app whose run() exited takes no more sandboxes
        _create.check_sandbox_name(name)
        if tags is not None:
            check_tags(tags)
        _create.check_deadlines(timeout, idle_timeout)
        while self._ready:
            member = self._ready.popleft()
            self._refill_at = time.monotonic() + REFILL_DELAY
            self._changed.set()  # refill
            if not member.alive():
                self._tasks.spawn(remove_member(member.container_id, member.sandbox_id), "pool-remove")
                continue
            try:
                sb = await self._claim_member(member, name, tags, timeout, idle_timeout)
            except _Gone:
                continue
            self._claimed += 1
            return sb
        sb = await self._cold(name, tags, timeout, idle_timeout)
        self._claimed += 1
        return sb

    async def _claim_member(
        self, m: Member, name: str | None, tags: dict[str, str] | None, timeout: int, idle_timeout: int | None
    ) -> Sandbox:
        """Claim ``m``; on failure (or cancellation) it is put back if untouched (a taken ``name``), else removed."""
        eng = await get_engine()
        app_id, app_name = m.labels[L.APP_ID], m.labels.get(L.APP_NAME, "")  # app_name: only of a deployed app
        try:
            if name is not None:
                await _take_name(eng, m.container_id, _create.container_name(m.sandbox_id, app_id, name), name)
        except AlreadyExistsError:
            self._ready.appendleft(m)  # still unclaimed and fine: the name was the problem
            raise
        except BaseException:
            await asyncio.shield(remove_member(m.container_id, m.sandbox_id))
            raise
        now = time.time()
        claim = records.Claim(
            sandbox_id=m.sandbox_id,
            app_id=app_id,
            app_name=app_name,
            name=name,
            deadline=now + timeout,
            idle_timeout=None if idle_timeout is None else float(idle_timeout),
            claimed_at=now,
        )
        try:
            # an unclaimed member is no sandbox to anyone, so nobody recorded tags for it: none to supersede
            tagging = [_lifecycle.write_tags(eng, m.sandbox_id, app_id, tags, first=True)] if tags else []
            first, *_ = await asyncio.gather(records.write_claim(eng, claim), *tagging)
            if not first:
                raise _Gone()  # claimed by someone else: impossible for members only this process knows
        except BaseException:
            await asyncio.shield(remove_member(m.container_id, m.sandbox_id))
            raise
        return Sandbox._from_container(m.container_id, m.labels, claim=claim)

    async def _cold(
        self, name: str | None, tags: dict[str, str] | None, timeout: int, idle_timeout: int | None
    ) -> Sandbox:
        req = _create.CreateRequest(**{**_fields(self._req), "name": name, "tags": tags, "timeout": timeout,
                                       "idle_timeout": idle_timeout})  # fmt: skip
        _create.validate(req)
        return Sandbox._from_container(*await _create.launch(req))

    # ------------------------------------------------------------------------------------------------ filling

    async def _fill(self) -> None:
        """Keep ``size`` members ready or being made, replace members past their age or gone, until closed."""
        watch = self._tasks.spawn(self._reap_gone(), f"pool-reap-{self._pool_id}")
        try:
            while not self._closed:
                self._retire_old()
                while len(self._ready) + self._creating < self._size and not self._closed:
                    self._creating += 1
                    self._tasks.spawn(self._make_one(), f"pool-member-{self._pool_id}")
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_REPLACE_MARGIN / 2):
                        await self._changed.wait()
        finally:
            watch.cancel()

    async def _make_one(self) -> None:
        try:
            if (wait := self._refill_at - time.monotonic()) > 0:
                await asyncio.sleep(wait)  # a claimer's first operations go first
            async with self._gate:
                if self._failures:  # back off while members keep failing (e.g. the image is gone)
                    await asyncio.sleep(min(30.0, 0.25 * 2 ** min(self._failures, 7)))
                if self._closed:
                    return
                member = await make_member(self._req, self._pool_id)
            if self._closed:
                await remove_member(member.container_id, member.sandbox_id)
                return
            self._ready.append(member)
            self._failures = 0
            self._last_error = None
            self._tasks.spawn(watch_member(member, self._gone), f"pool-watch-{member.sandbox_id}")
        except Exception as e:
            self._failures += 1
            self._last_error = e
            logger.warning("pool %s: a member could not be started: %s", self._pool_id, e)
        finally:
            self._creating -= 1
            self._changed.set()
            self._ready_changed.set()

    async def _reap_gone(self) -> None:
        """Drop members whose container stopped (their agent session ended)."""
        while True:
            await self._gone.wait()
            self._gone.clear()
            for m in [m for m in self._ready if not m.alive()]:
                self._ready.remove(m)
                await remove_member(m.container_id, m.sandbox_id)
            self._changed.set()

    def _retire_old(self) -> None:
        """Replace members about to reach their ``max_age`` (the supervisor would end them)."""
        limit = time.time() + _REPLACE_MARGIN
        for m in [m for m in self._ready if records.member_deadline(m.labels, None) < limit]:
            self._ready.remove(m)
            self._tasks.spawn(remove_member(m.container_id, m.sandbox_id), "pool-retire")

    # ------------------------------------------------------------------------------------------------ closing

    async def close(self) -> None:
        """Stop filling and remove every unclaimed member (claimed sandboxes are not touched). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._changed.set()
        self._ready_changed.set()
        await self._tasks.cancel_all()
        members, self._ready = list(self._ready), collections.deque()
        await asyncio.gather(*(remove_member(m.container_id, m.sandbox_id) for m in members))

    async def __aenter__(self) -> SandboxPool:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


class _Gone(Exception):
    """The member went away while it was being claimed: take the next one."""


def _fields(req: _create.CreateRequest) -> dict[str, Any]:
    """The arguments ``req`` was made from (its fields without those the checks derive)."""
    derived = {"merged_env", "cpu_shares", "nano_cpus", "caps", "engine_runtime"}
    return {a.name: getattr(req, a.name) for a in attrs.fields(_create.CreateRequest) if a.name not in derived}


async def _take_name(eng: EngineAPI, ref: str, cname: str, name: str) -> None:
    """Rename member ``ref`` to ``cname`` (sandbox ``name``'s container name), taking it over from a finished holder
    as ``Sandbox.create`` does; ``AlreadyExistsError`` when a running sandbox holds it."""
    for _ in range(5):
        try:
            await eng.containers.rename(ref, cname)
            return
        except NameConflict:
            await _create.release_finished_holder(eng, cname, name)
        except NoSuchContainer:
            raise _Gone() from None
    raise AlreadyExistsError(f"Sandbox with name '{name}' already exists")


__all__ = ["SandboxPool"]
