"""The supervisor's ingress service: it serves the tunnels, connect tokens and readiness probes of sandboxes, from
the supervisor process, so that they outlive the client that created the sandbox and end with the sandbox.

A sandbox is *served* once this service claims it (``records.Claim``): it declared ports, has a readiness probe, or
a client asked (``ingress-request`` record, for a connect token). Serving means: one ``Relay`` per declared port
(TLS for encrypted and h2 ports, ALPN ``h2`` for the latter) applying the sandbox's inbound CIDR allowlist; its
tokens accepted by the one token proxy of this supervisor; its probe run until it first succeeds, then a ``ready``
record. When the sandbox stops running, its listeners close, its open connections are cut, its tokens die.

The service wakes on a sandbox with ports or a probe starting, on a served sandbox dying, on a request record, and
every ``RECONCILE_EVERY`` seconds; each wake reconciles what runs with what is served. Traffic through relays and
the proxy is reported as activity (for ``idle_timeout``) to this supervisor directly and, at most every
``ENGINE_NOTE_EVERY`` (a third of the sandbox's ``idle_timeout`` when shorter), to the engine as well, where the
supervisors of other installations see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import time
from collections.abc import Mapping
from typing import Protocol

import attrs

from .._engine import EngineAPI
from .._engine import labels as L
from .._engine.inbound import CidrAllowlist
from .._engine.relay import Relay
from .._engine.token_proxy import TokenGrant, TokenProxy
from .._engine.values import ContainerInfo, ContainerSummary, EngineEvent
from .._tunnel import Tunnel
from ..exception import Error, ServiceError
from ..probe import Probe
from . import probing, reach
from . import records as R
from .listeners import DEFAULT_HOST, ListenConfig, TlsContexts, bracketed
from .spec import PORTS, READINESS_PROBE, PortKind, ports_from_labels, probe_from_labels

log = logging.getLogger("sandbox_core.supervisor")

RECONCILE_EVERY = 10.0
#: Longest interval between two activity notes of one busy sandbox to the engine (each leaves an exec record there
#: until the sandbox is removed, so they are spaced: a third of its ``idle_timeout``, at most this).
ENGINE_NOTE_EVERY = 5.0
#: Token lookups that miss the cache, per second (a burst of ``MISS_BURST``): unknown tokens cost a record read.
MISS_RATE = 20.0
MISS_BURST = 50.0


class ActivitySink(probing.ProbeActivity, Protocol):
    """The supervisor's idle bookkeeping."""

    def note(self, container_id: str) -> None:
        """Traffic reached the container now."""
        ...


def _config_or_default() -> ListenConfig:
    """The listener settings of the environment; loopback when they are malformed (creating a sandbox with ports
    refuses them, so only a supervisor started with other settings than its clients gets here)."""
    try:
        return ListenConfig.from_env()
    except Error as e:
        log.error("%s; listening on %s instead", e, DEFAULT_HOST)
        return ListenConfig(DEFAULT_HOST, DEFAULT_HOST)


class _Bucket:
    """A token bucket: ``take`` is True while the rate allows."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.level, self.at = rate, burst, burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level < 1:
            return False
        self.level -= 1
        return True


@attrs.define(eq=False)
class _Served:
    """One sandbox this service serves."""

    sandbox_id: str
    ref: str
    app_id: str
    owner: ContainerInfo
    allowlist: CidrAllowlist
    idle_timeout: float | None
    relays: list[Relay] = attrs.field(factory=list)
    claim: R.Claim | None = None
    probe: asyncio.Task[None] | None = None
    noted_engine_at: float = 0.0


class IngressService:
    """Run with ``run()`` (until cancelled), feed ``on_event`` the supervisor's container events, ``close()`` at the
    end."""

    def __init__(
        self, eng: EngineAPI, me: R.SupervisorId, activity: ActivitySink, config: ListenConfig | None = None
    ) -> None:
        self._eng = eng
        self._me = me
        self._activity = activity
        self._config = config or _config_or_default()
        self._tls = TlsContexts(self._config)
        self._served: dict[str, _Served] = {}
        self._by_ref: dict[str, str] = {}
        self._grants: dict[str, TokenGrant] = {}
        self._misses = _Bucket(MISS_RATE, MISS_BURST)
        self._reading: dict[str, asyncio.Future[TokenGrant | None]] = {}
        self._proxy: TokenProxy | None = None
        self._wake = asyncio.Event()
        self._stopped: set[str] = set()
        self._background: set[asyncio.Task[None]] = set()

    # ---------------------------------------------------------------------------------------------- driving

    def on_event(self, ev: EngineEvent) -> None:
        """A container event: wake for a sandbox with ports or a probe starting, or a served one ending.

        An ending container is remembered as stopped: the engine reports the event before its listing says so, and
        sandboxes never restart."""
        if ev.action in ("die", "destroy") and L.SANDBOX_ID in ev.attributes:
            self._stopped.add(ev.actor_id)  # also one being claimed right now
            if ev.actor_id in self._by_ref:
                self._wake.set()
        elif ev.action == "start" and (PORTS in ev.attributes or READINESS_PROBE in ev.attributes):
            self._wake.set()

    async def run(self) -> None:
        """Reconcile on every wake, until cancelled."""
        requests = asyncio.create_task(self._follow_requests())
        try:
            while True:
                self._wake.clear()
                try:
                    await self.reconcile()
                except Error as e:
                    log.warning("ingress pass failed: %s", e)
                except Exception:
                    # A bug must not end the service for good (nor the supervisor): log it, retry on the next wake.
                    log.exception("ingress pass crashed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), RECONCILE_EVERY)
        finally:
            requests.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await requests

    async def _follow_requests(self) -> None:
        async with contextlib.aclosing(self._eng.records.follow(f"{R.REQUEST}.")) as created:
            async for _ in created:
                self._wake.set()

    async def close(self) -> None:
        """Stop serving everything (listeners closed, connections cut). Idempotent."""
        for sid in list(self._served):
            await self._release(sid)
        if self._proxy is not None:
            await self._proxy.close()
            self._proxy = None
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # ---------------------------------------------------------------------------------------- reconciling

    async def reconcile(self) -> None:
        """Serve every running sandbox that wants it and that no live supervisor claims; stop serving the ones that
        stopped running or that another supervisor claimed with a higher generation."""
        eng = self._eng
        running = await eng.containers.list({L.KIND: L.KIND_SANDBOX}, all=False)
        requested = {r.labels.get(L.SANDBOX_ID) for r in await eng.records.find({L.RECORD_TYPE: R.REQUEST})}
        claims = R.latest_claims(await eng.records.find({L.RECORD_TYPE: R.CLAIM}))
        self._stopped &= {item.id for item in running}  # forget them once the listing agrees
        wanted: dict[str, ContainerSummary] = {}
        for item in running:
            sid = item.labels.get(L.SANDBOX_ID, "")
            if item.id in self._stopped or not sid:
                continue
            if PORTS in item.labels or READINESS_PROBE in item.labels or sid in requested:
                wanted[sid] = item
        for sid, served in list(self._served.items()):
            latest = claims.get(sid)
            mine = served.claim
            taken = latest is not None and mine is not None and latest.owner != self._me and latest.gen > mine.gen
            if sid not in wanted or taken:
                await self._release(sid)
        todo = []
        for sid, item in wanted.items():
            latest = claims.get(sid)
            if sid in self._served or (latest is not None and latest.owner != self._me and latest.owner.alive()):
                continue
            todo.append(self._claim(item, 1 if latest is None else latest.gen + 1))
        for result in await asyncio.gather(*todo, return_exceptions=True):
            if isinstance(result, Error):
                log.warning("claiming a sandbox failed: %s", result)
            elif isinstance(result, Exception):
                log.error("claiming a sandbox crashed", exc_info=result)
            elif isinstance(result, BaseException):
                raise result

    async def _claim(self, item: ContainerSummary, gen: int) -> None:
        """Open the sandbox's listeners and claim it with generation ``gen``; undo it all if another won."""
        sid, lbl = item.labels[L.SANDBOX_ID], item.labels
        owner = await reach.owner_info(self._eng, lbl, item.id)
        if owner is None:
            return
        served = _Served(
            sandbox_id=sid,
            ref=item.id,
            app_id=lbl.get(L.APP_ID, ""),
            owner=owner,
            allowlist=reach.inbound_allowlist(lbl, owner.labels),
            idle_timeout=float(lbl[L.IDLE_TIMEOUT]) if L.IDLE_TIMEOUT in lbl else None,
        )
        try:
            tunnels = await self._open_relays(served, ports_from_labels(lbl))
            claim = R.Claim(sid, gen, self._me, await self._proxy_url(), tunnels)
            rec = await self._eng.records.put(R.claim_name(sid, gen), claim.labels(served.app_id))
        except BaseException:
            await self._close_relays(served)
            raise
        winner = R.Claim.from_record(rec)
        if winner is None or winner.owner != self._me:
            await self._close_relays(served)
            return
        served.claim = claim
        self._served[sid], self._by_ref[item.id] = served, sid
        probe = probe_from_labels(lbl)
        if probe is not None and await self._eng.records.get(R.ready_name(sid)) is None:
            served.probe = asyncio.create_task(self._run_probe(served, probe))
        log.info("serving %s: generation %d, %d tunnel(s)", sid, gen, len(tunnels))

    async def _open_relays(self, served: _Served, ports: Mapping[int, PortKind]) -> dict[int, Tunnel]:
        tunnels: dict[int, Tunnel] = {}
        host = self._config.public_host
        for port, kind in sorted(ports.items()):
            up = await reach.upstream(self._eng, served.owner, port)
            if up is None:
                log.warning("%s: port %d is neither published nor reachable; no tunnel", served.sandbox_id, port)
                continue
            relay = await Relay.start(
                *up,
                host=self._config.bind_host,
                tls=self._tls.for_kind(kind),
                allowlist=served.allowlist,
                on_activity=functools.partial(self._touch, served.sandbox_id),
            )
            served.relays.append(relay)
            tunnels[port] = (
                Tunnel(host, relay.port, "", 0) if kind.encrypted else Tunnel(host, relay.port, host, relay.port)
            )
        return tunnels

    @staticmethod
    async def _close_relays(served: _Served) -> None:
        for relay in served.relays:
            await relay.close()
        served.relays.clear()

    async def _release(self, sid: str) -> None:
        served = self._served.pop(sid, None)
        if served is None:
            return
        self._by_ref.pop(served.ref, None)
        if served.probe is not None:
            served.probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await served.probe
        await self._close_relays(served)
        for digest in [d for d, g in self._grants.items() if g.key == sid]:
            del self._grants[digest]
        if self._proxy is not None:
            await self._proxy.close_key(sid)
        log.info("stopped serving %s", sid)

    async def _run_probe(self, served: _Served, probe: Probe) -> None:
        try:
            await probing.run_until_ready(self._eng, probe, served.ref, served.owner, self._activity)
            await self._eng.records.put(
                R.ready_name(served.sandbox_id),
                R.base_labels(R.READY, served.sandbox_id, served.app_id, **{R.READY_AT: f"{time.time():.6f}"}),
            )
        except probing.SandboxGone:
            return
        except Error as e:
            log.warning("readiness of %s could not be recorded: %s", served.sandbox_id, e)

    # ---------------------------------------------------------------------------------------- tokens, activity

    async def _proxy_url(self) -> str:
        if self._proxy is None:
            tls = None if self._config.loopback_only else self._tls.for_kind(PortKind.TLS)
            self._proxy = await TokenProxy.start(
                self._lookup, host=self._config.bind_host, on_activity=self._touch, ssl_context=tls
            )
        scheme = "http" if self._config.loopback_only else "https"
        return f"{scheme}://{bracketed(self._config.public_host)}:{self._proxy.port}"

    async def _lookup(self, digest: str) -> TokenGrant | None:
        """The grant of the token hashing to ``digest``: only for a sandbox served here. Concurrent requests with the
        same unknown token share one record read; reads are rate-limited (``ServiceError``: the proxy answers 503)."""
        grant = self._grants.get(digest)
        if grant is not None:
            return grant if grant.key in self._served else None
        pending = self._reading.get(digest)
        if pending is None:
            if not self._misses.take():
                raise ServiceError("too many unknown connect tokens; try again shortly")
            pending = self._reading[digest] = asyncio.ensure_future(self._read_grant(digest))
            pending.add_done_callback(functools.partial(self._read_done, digest))
        return await asyncio.shield(pending)

    def _read_done(self, digest: str, read: asyncio.Future[TokenGrant | None]) -> None:
        self._reading.pop(digest, None)
        if not read.cancelled():
            read.exception()  # retrieved: every waiter may have gone

    async def _read_grant(self, digest: str) -> TokenGrant | None:
        rec = await self._eng.records.get(R.token_name(digest))
        token = R.TokenRecord.from_record(rec) if rec is not None else None
        if token is None or not hmac.compare_digest(token.token_hash, digest):
            return None
        served = self._served.get(token.sandbox_id)
        if served is None:
            return None
        up = await reach.upstream(self._eng, served.owner, token.port)
        if up is None:
            raise ServiceError(f"port {token.port} of {served.sandbox_id} cannot be reached from this host")
        grant = TokenGrant(
            token.token_hash, served.sandbox_id, *up, user_metadata=token.metadata, allowlist=served.allowlist
        )
        self._grants[digest] = grant
        return grant

    def _touch(self, sid: str) -> None:
        """Traffic for sandbox ``sid`` (called inline from relays and the proxy: cheap, never raises)."""
        served = self._served.get(sid)
        if served is None:
            return
        self._activity.note(served.ref)
        now = time.monotonic()
        idle = served.idle_timeout
        if idle is not None and now - served.noted_engine_at >= min(ENGINE_NOTE_EVERY, idle / 3):
            served.noted_engine_at = now
            task = asyncio.get_running_loop().create_task(self._note_engine(served.ref))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _note_engine(self, ref: str) -> None:
        with contextlib.suppress(Error):
            await self._eng.execs.note_activity(ref)
