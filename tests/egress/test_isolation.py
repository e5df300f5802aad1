"""Isolation by default (issue 17): a sandbox reaches neither other sandboxes nor the host's services, while the host
still reaches its published ports; the supervisor's pool of ready holders; holders never outlive their sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

import sandbox_core as sc
from sandbox_core import _create, _holderpool
from sandbox_core import exception as exc
from sandbox_core._engine import EngineAPI, get_engine
from sandbox_core._engine import labels as L
from sandbox_core._engine.netholder import create_holder, remove_holder
from sandbox_core._engine.netpolicy import KIND_HOLDER, NET_HOLDER
from sandbox_core._engine.values import ContainerSummary
from sandbox_core._holderpool import (
    CLAIMED_PREFIX,
    MAX_AGE,
    POOL_LABEL,
    add_member,
    claim,
    claimable,
    drain,
    maintain,
    pool_key,
    remove_stale,
    sandbox_holder_name,
)
from sandbox_core._netplan import isolated_policy
from sandbox_core._netpolicy_types import NetworkPolicy
from sandbox_core._network import holder_is_orphan, orphan_holders, port_owner, published_ports, sandbox_address
from tests.conftest import BUSYBOX, app_name

from .conftest import Targets
from .test_enforcement import http
from .test_sandbox_policy import sh

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]

SERVE = ("sh", "-c", "mkdir -p /w && echo INSIDE > /w/index.html && exec httpd -f -p 8080 -h /w")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app() -> AsyncIterator[sc.App]:
    application = await sc.App.lookup(app_name("isolation"), create_if_missing=True)
    yield application
    await sc.sweep(app_id=application.app_id, everything=True)


async def create(app: sc.App, *args: str, **kw: object) -> sc.Sandbox:
    return await sc.Sandbox.create(*args, app=app, image=sc.Image.from_registry(BUSYBOX), **kw)  # type: ignore[arg-type]


async def labels_of(sb: sc.Sandbox) -> dict[str, str]:
    eng = await get_engine()
    return dict((await eng.containers.inspect(sb._link.container_id)).labels)


async def address_of(sb: sc.Sandbox) -> str:
    eng = await get_engine()
    labels = await labels_of(sb)
    address = await sandbox_address(eng, port_owner(labels, sb._link.container_id), labels)
    assert address is not None
    return address


@contextlib.asynccontextmanager
async def gateway_service(gateway: str) -> AsyncIterator[int]:
    """A service of the host's listening on the bridge's gateway address only; yields its port."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HOST-SERVICE\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, host=gateway, port=0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_sandbox_reaches_neither_its_neighbours_nor_the_host(
    app: sc.App, targets: Targets, monkeypatch: pytest.MonkeyPatch
) -> None:
    b = await create(app, *SERVE)
    a = await create(app)
    b_ip = await address_of(b)
    async with gateway_service(targets.gateway) as port:
        # The host reaches both (the listener, and the sandbox: published ports and relays come from there).
        reader, writer = await asyncio.open_connection(targets.gateway, port)
        assert await reader.readline() == b"HOST-SERVICE\n"
        writer.close()
        assert "INSIDE" in await fetch(b_ip, 8080)
        out = await sh(a, f"{http(b_ip, port=8080)}; echo | timeout 5 nc {targets.gateway} {port}; echo rc=$?")
        assert "INSIDE" not in out and "HOST-SERVICE" not in out and out.count("Connection refused") == 2
        assert "T1" not in await sh(a, http(targets.ip["t1"]))
        # The same without isolation: plain sandboxes reach each other and the host's service.
        monkeypatch.setenv("SANDBOX_CORE_ISOLATION", "0")
        c, d = await create(app), await create(app, *SERVE)
        d_ip = await address_of(d)
        out = await sh(c, f"{http(d_ip, port=8080)}; echo | timeout 5 nc {targets.gateway} {port}")
        assert "INSIDE" in out and "HOST-SERVICE" in out
    for sb in (a, b, c, d):
        await sb.terminate()


async def fetch(host: str, port: int) -> str:
    """GET / from ``host:port`` as the host, retrying while the server in the sandbox starts."""
    last: Exception | None = None
    for _ in range(100):
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"GET / HTTP/1.0\r\n\r\n")
            data = await asyncio.wait_for(reader.read(), 5)
            writer.close()
            if data:
                return data.decode(errors="replace")
        except OSError as e:
            last = e
        await asyncio.sleep(0.05)  # the port accepts before the server in the sandbox listens
    raise AssertionError(f"nothing answered on {host}:{port}: {last}")


async def test_ports_are_published_on_the_holder_and_reach_the_sandbox(
    app: sc.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tunnels' relays connect to what ``published_ports(port_owner(...))`` names (the check that refuses
    ports until the tunnels land is left out here)."""
    monkeypatch.setattr(_create, "CHECKS", tuple(c for c in _create.CHECKS if c is not _create.check_cloud_only))
    sb = await create(app, *SERVE, unencrypted_ports=[8080])
    eng = await get_engine()
    labels = await labels_of(sb)
    owner = port_owner(labels, sb._link.container_id)
    assert owner == labels[NET_HOLDER] != sb._link.container_id
    host_ip, host_port = (await published_ports(eng, owner))[8080]
    assert host_ip == "127.0.0.1" and host_port > 0
    assert "INSIDE" in await fetch(host_ip, host_port)
    # A sandbox with ports cannot use a pooled holder: it gets its own, named after it.
    assert (await eng.containers.inspect(owner)).name.startswith(f"sandbox-core-net-{sb.object_id}-")
    await sb.terminate()


async def _wait_for(eng: EngineAPI, key: str, check: Callable[[list[ContainerSummary]], bool], timeout: float) -> None:
    """Wait (following the pool's container events) until ``check`` holds for the pool's holders."""

    async def members() -> list[ContainerSummary]:
        return await eng.containers.list({L.KIND: KIND_HOLDER, POOL_LABEL: key}, all=True)

    async with asyncio.timeout(timeout):
        if check(await members()):
            return
        async for _ in eng.events.follow(types=("container",), labels={POOL_LABEL: key}):
            if check(await members()):
                return


async def test_the_supervisor_keeps_the_pool_full_and_creates_claim_from_it(app: sc.App, targets: Targets) -> None:
    eng = await get_engine()
    size = _holderpool.pool_size()
    key = await pool_key(eng, isolated_policy())

    def full(items: list[ContainerSummary]) -> bool:
        return sum(claimable(m, key, time.time()) for m in items) >= size

    first = await create(app)  # ensures the supervisor, which fills the pool
    await _wait_for(eng, key, full, 120)
    t0 = time.monotonic()
    sb = await create(app)
    pooled_ms = (time.monotonic() - t0) * 1000
    holder = (await labels_of(sb))[NET_HOLDER]
    assert (await eng.containers.inspect(holder)).name.startswith(CLAIMED_PREFIX), "not claimed from the pool"
    assert "Connection refused" in await sh(sb, http(targets.ip["t1"]))
    await _wait_for(eng, key, full, 120)  # refilled after the claim
    # An allowlist sandbox claims one too, its policy put in force before it starts.
    allow = await create(app, outbound_cidr_allowlist=[])
    assert (await eng.containers.inspect((await labels_of(allow))[NET_HOLDER])).name.startswith(CLAIMED_PREFIX)
    assert "Connection refused" in await sh(allow, http(targets.ip["t1"]))
    for s in (first, sb, allow):
        await s.terminate()
    assert pooled_ms < 5000


async def test_pool_upkeep_claims_and_staleness(app: sc.App) -> None:
    """A pool of its own (a policy no other pool has), driven directly: filled, claimed once, refilled, swept."""
    eng = await get_engine()
    policy = NetworkPolicy(extra_fence=(ipaddress.ip_network(f"192.0.2.{uuid.uuid4().int % 250 + 1}/32"),))
    key = await pool_key(eng, policy)
    try:
        assert await maintain(eng, key, policy, 2) == 2
        assert await maintain(eng, key, policy, 2) == 0, "a full pool is left alone"
        # Concurrent claimants of the same member: exactly one wins.
        members = [m for m in await eng.containers.list({POOL_LABEL: key}, all=False) if claimable(m, key, time.time())]
        wins = await asyncio.gather(*(_holderpool.take(eng, members[0].id) for _ in range(6)))
        assert sum(wins) == 1
        claimed = members[0].id
        assert await claim(eng, key) == members[1].id
        assert await claim(eng, key) is None, "the pool is empty"
        assert await maintain(eng, key, policy, 2) == 2
        # Past their age members are replaced, and a claimant leaves them alone well before.
        items = await eng.containers.list({POOL_LABEL: key}, all=True)
        assert not any(claimable(m, key, time.time() + MAX_AGE - 30) for m in items)
        assert await remove_stale(eng, items, time.time() + MAX_AGE + 1) == 2
        # A claimed holder whose claimant died is a leftover once it cannot be in use any more.
        info = await eng.containers.inspect(claimed)
        summary = ContainerSummary(info.id, info.name, info.labels, "running", info.created_at)
        assert not holder_is_orphan(summary, set(), set(), time.time())
        assert holder_is_orphan(summary, set(), set(), time.time() + MAX_AGE + 61)
        assert not holder_is_orphan(summary, {claimed}, set(), time.time() + MAX_AGE + 61)
        await add_member(eng, key, policy)
    finally:
        await drain(eng, key)
        for item in await eng.containers.list({POOL_LABEL: key}, all=True):
            await remove_holder(eng, item.id)
    assert await eng.containers.list({POOL_LABEL: key}, all=True) == []


async def test_holders_never_outlive_their_sandbox(app: sc.App, monkeypatch: pytest.MonkeyPatch) -> None:
    eng = await get_engine()
    # A holder whose sandbox never came (its client died midway) is removed by the next sweep, once its create
    # cannot be under way any more; one that a container still joins never is.
    sid = f"sb-{uuid.uuid4().hex[:22]}"
    ghost = await create_holder(
        eng, sid, isolated_policy(), labels={L.APP_ID: app.app_id}, name=sandbox_holder_name(sid, time.time() - 61)
    )
    assert ghost in await orphan_holders(eng, time.time())
    sb = await create(app, outbound_cidr_allowlist=[])
    holder = (await labels_of(sb))[NET_HOLDER]
    assert holder not in await orphan_holders(eng, time.time() + 3600)
    await sc.sweep()
    with pytest.raises(exc.NotFoundError):
        await eng.containers.inspect(ghost)
    # The sandbox's end stops its holder (kept, stopped, for the retention period); removing the sandbox removes it.
    await sb.terminate(wait=True)
    assert not (await eng.containers.inspect(holder)).state.running
    natural = await create(app, "true")
    natural_holder = (await labels_of(natural))[NET_HOLDER]
    assert await natural.wait() is None
    await sc.sweep()  # what the supervisor does when it sees the sandbox end
    assert not (await eng.containers.inspect(natural_holder)).state.running
    await sc.sweep(app_id=app.app_id, everything=True)
    with pytest.raises(exc.NotFoundError):
        await eng.containers.inspect(holder)
    assert await eng.containers.list({L.KIND: KIND_HOLDER, L.APP_ID: app.app_id}, all=True) == []
