"""How the supervisor serves ingress, against the real engine: tunnel and token traffic postpone ``idle_timeout``,
the inbound CIDR allowlist is enforced by relays and the token proxy, claims pass between supervisors by generation,
records are followed as they are created, and nothing is served without a supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

import sandbox_core as sc
from sandbox_core import _lifecycle
from sandbox_core._engine import get_engine
from sandbox_core._engine import labels as L
from sandbox_core._ingress import records as R

from ..conftest import RUN_ID, TEST_RUN_LABEL, app_name
from .conftest import get, refused

pytestmark = pytest.mark.usefixtures("engine")

HTTPD = ("httpd", "-f", "-p", "8080", "-h", "/etc")


async def test_tunnel_and_token_traffic_postpone_the_idle_timeout(
    app: sc.App, image: sc.Image, http: aiohttp.ClientSession
) -> None:
    sb = await sc.Sandbox.create(*HTTPD, app=app, image=image, unencrypted_ports=[8080], idle_timeout=3, timeout=120)
    try:
        host, port = (await sb.tunnels())[8080].tcp_socket
        creds = await sb.create_connect_token(port=8080)
        started = time.monotonic()
        while time.monotonic() - started < 8:  # 8 s of traffic, at most 1 s apart, against a 3 s idle timeout
            assert await get(http, f"http://{host}:{port}/hostname") == (200, (await _hostname(sb)))
            await asyncio.sleep(0.5)
            auth = {"Authorization": f"Bearer {creds.token}"}
            assert (await get(http, creds.url + "/hostname", headers=auth))[0] == 200
            await asyncio.sleep(0.5)
        assert await sb.poll() is None
        await sb.wait()
        assert sb._link.status == _lifecycle.IDLE_TIMEOUT
        assert 8 + 2 <= time.monotonic() - started < 8 + 12
    finally:
        await sb.terminate()


async def _hostname(sb: sc.Sandbox) -> str:
    return await (await sb.exec("cat", "/etc/hostname")).stdout.read()


async def test_the_inbound_allowlist_is_enforced_by_tunnels_and_the_token_proxy(
    app: sc.App, image: sc.Image, http: aiohttp.ClientSession
) -> None:
    shut = await sc.Sandbox.create(
        *HTTPD, app=app, image=image, unencrypted_ports=[8080], inbound_cidr_allowlist=["10.250.0.0/16"]
    )  # no address of this host
    open_ = await sc.Sandbox.create(
        *HTTPD, app=app, image=image, unencrypted_ports=[8080], inbound_cidr_allowlist=["127.0.0.0/8"]
    )
    try:
        host, port = (await shut.tunnels())[8080].tcp_socket
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(http, f"http://{host}:{port}/hostname")
        creds = await shut.create_connect_token(port=8080)
        assert (await get(http, creds.url + "/hostname", headers={"Authorization": f"Bearer {creds.token}"}))[0] == 403
        host, port = (await open_.tunnels())[8080].tcp_socket
        assert (await get(http, f"http://{host}:{port}/hostname"))[0] == 200
    finally:
        await shut.terminate()
        await open_.terminate()


@contextlib.contextmanager
def _held_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


async def _nudge(sb: sc.Sandbox) -> None:
    """Wake the supervisor's ingress service, as a client asking for the sandbox to be served does."""
    eng = await get_engine()
    name = R.request_name(sb.object_id)
    await eng.records.remove(name)
    await eng.records.put(name, R.base_labels(R.REQUEST, sb.object_id, sb._link.app_id))


async def _until_refused(port: int) -> None:
    deadline = time.monotonic() + 15
    while not await refused("127.0.0.1", port):  # no event tells a client that a listener closed
        assert time.monotonic() < deadline, f"port {port} still listens"
        await asyncio.sleep(0.05)


async def test_a_live_higher_claim_takes_a_sandbox_over_and_a_dead_one_is_replaced(
    app: sc.App, image: sc.Image, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    eng = await get_engine()
    sb = await sc.Sandbox.create(*HTTPD, app=app, image=image, unencrypted_ports=[8080])
    try:
        first = (await sb.tunnels())[8080]
        lock = tmp_path / "other-installation.lock"
        other = R.SupervisorId(socket.gethostname(), os.getpid(), str(lock))
        fake = R.Claim(sb.object_id, 2, other, "http://127.0.0.1:1", {8080: sc.Tunnel("127.0.0.1", 1, "127.0.0.1", 1)})
        with _held_lock(lock):
            await eng.records.put(R.claim_name(sb.object_id, 2), fake.labels(sb._link.app_id))
            await _nudge(sb)
            await _until_refused(first.port)  # the first supervisor gave the sandbox up to the live claimant
            assert (await (await sc.Sandbox.from_id(sb.object_id)).tunnels(timeout=5))[8080].port == 1
        await _nudge(sb)  # the claimant is gone now (its lock is free): the supervisor claims generation 3
        third = (await (await sc.Sandbox.from_id(sb.object_id)).tunnels(timeout=30))[8080]
        claims = R.latest_claims(await eng.records.find({L.RECORD_TYPE: R.CLAIM, L.SANDBOX_ID: sb.object_id}))
        assert claims[sb.object_id].gen == 3 and third.port not in (1, first.port)
        assert (await get(http, f"http://127.0.0.1:{third.port}/hostname"))[0] == 200
    finally:
        await sb.terminate()


async def test_records_are_followed_as_they_are_created() -> None:
    eng = await get_engine()
    labels = L.owned(L.KIND_RECORD, **{TEST_RUN_LABEL: RUN_ID})
    prefix = f"follow-{RUN_ID}."
    early = await eng.records.put(prefix + "early", labels)  # before the follow: not reported
    since = time.time()
    late = await eng.records.put(prefix + "late", labels)  # after `since`, before the follow starts: reported
    try:
        follow = eng.records.follow(prefix, since=since)
        try:
            assert (await asyncio.wait_for(anext(follow), 10)).name == late.name
            await eng.records.put(f"other-{RUN_ID}", labels)
            await eng.records.put(prefix + "next", labels)
            found = await asyncio.wait_for(anext(follow), 10)
            assert found.name == prefix + "next" and found.labels[TEST_RUN_LABEL] == RUN_ID
        finally:
            await follow.aclose()
    finally:
        for name in (early.name, late.name, prefix + "next", f"other-{RUN_ID}"):
            await eng.records.remove(name)


def test_ports_and_probes_are_refused_without_a_supervisor(run_py: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    code = """
    import asyncio, os, sandbox_core as sc
    async def main():
        app = await sc.App.lookup(os.environ["INGRESS_TEST_APP"], create_if_missing=True)
        for kw in ({"unencrypted_ports": [80]}, {"readiness_probe": sc.Probe.with_tcp(80)}):
            try:
                await sc.Sandbox.create(app=app, **kw)
            except sc.exception.InvalidError as e:
                print(e)
    asyncio.run(main())
    """
    monkeypatch.setenv("INGRESS_TEST_APP", app_name("no-supervisor"))
    monkeypatch.setenv("SANDBOX_CORE_SUPERVISOR", "0")
    message = "Ports and readiness probes are served by the supervisor process, which SANDBOX_CORE_SUPERVISOR=0 "
    assert run_py(code).stdout.splitlines() == [message + "disables; unset it"] * 2
