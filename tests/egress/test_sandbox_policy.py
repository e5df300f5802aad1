"""Egress policies through the public API (``Sandbox.create`` and ``_experimental_set_outbound_network_policy``),
against targets on the engine's default bridge (conftest ``targets``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._engine import get_engine, netholder
from sandbox_core._engine.netpolicy import NET_HOLDER
from tests.conftest import BUSYBOX, app_name

from .conftest import Targets, client_hello
from .test_enforcement import http

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def app() -> AsyncIterator[sc.App]:
    application = await sc.App.lookup(app_name("egress"), create_if_missing=True)
    yield application
    await sc.sweep(app_id=application.app_id, everything=True)


async def sh(sb: sc.Sandbox, script: str, timeout: int = 60) -> str:
    """Run ``sh -c script`` in the sandbox; its stdout and stderr."""
    proc = await sb.exec("sh", "-c", script, timeout=timeout)
    out, err = await asyncio.gather(proc.stdout.read(), proc.stderr.read())
    await proc.wait()
    return out + err


async def create(app: sc.App, image: str = BUSYBOX, **kw: object) -> sc.Sandbox:
    return await sc.Sandbox.create(app=app, image=sc.Image.from_registry(image), **kw)  # type: ignore[arg-type]


async def test_cidr_allowlist_reaches_the_allowed_target_only(app: sc.App, targets: Targets) -> None:
    t1, t2 = targets.ip["t1"], targets.ip["t2"]
    sb = await create(app, outbound_cidr_allowlist=[f"{t1}/32"])
    first, second = (await sh(sb, f"{http(t1)}; {http(t2)}")).split("rc=", 1)
    assert "200 OK" in first and "T1" in first
    assert "Connection refused" in second and "T2" not in second
    await sb.terminate()


async def test_the_deprecated_cidr_allowlist_warns_and_applies(app: sc.App, targets: Targets) -> None:
    with pytest.warns(exc.DeprecationError, match="cidr_allowlist"):
        sb = await create(app, cidr_allowlist=[f"{targets.ip['t2']}/32"])
    out = await sh(sb, f"{http(targets.ip['t1'])}; {http(targets.ip['t2'])}")
    assert "T2" in out and "T1" not in out
    await sb.terminate()


async def test_empty_allowlist_refuses_targets_and_dns(
    app: sc.App, targets: Targets, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The forwarder would ask the lab's resolver: that it never hears of the name proves nothing left.
    monkeypatch.setenv("SANDBOX_CORE_EGRESS_DNS", targets.ip["dns"])
    sb = await create(app, outbound_cidr_allowlist=[])
    secret = f"leak-{uuid.uuid4().hex[:8]}.t2.test"
    out = await sh(sb, f"{http(targets.ip['t1'])}; {http(targets.ip['t2'])}; nslookup t1.test; nslookup {secret}")
    assert out.count("Connection refused") == 2 and "200 OK" not in out
    assert "can't find t1.test: NXDOMAIN" in out and f"can't find {secret}: NXDOMAIN" in out
    out = await sh(sb, f"nslookup {secret} {targets.ip['dns']}; echo rc=$?")
    assert "rc=1" in out
    assert secret not in await targets.dns_log()
    await sb.terminate()


async def test_domain_allowlist_by_name(app: sc.App, targets: Targets, monkeypatch: pytest.MonkeyPatch) -> None:
    """Isolation off: the targets live on a private network, which isolation fences off even by name (next test)."""
    monkeypatch.setenv("SANDBOX_CORE_EGRESS_DNS", targets.ip["dns"])
    monkeypatch.setenv("SANDBOX_CORE_ISOLATION", "0")
    t1, t2 = targets.ip["t1"], targets.ip["t2"]
    sb = await create(app, outbound_domain_allowlist=["t1.test", "*.t1.test"])
    await sb.filesystem.write_bytes(client_hello("t1.test"), "/tmp/hello-t1")
    out = await sh(sb, "nslookup t1.test; nslookup sub.t1.test; nslookup t2.test")
    assert out.count(f"Address: {t1}") == 2 and "can't find t2.test: NXDOMAIN" in out
    # By name, whatever address the sandbox connects to: Host t1.test sent to t2's address reaches t1.
    out = await sh(sb, f"{http(t2, 't1.test')}; {http('t1.test', 'sub.t1.test')}")
    assert out.count("T1") == 2 and "T2" not in out
    out = await sh(sb, http(t1, "t2.test"))
    assert "403 Forbidden" in out and "t2.test is not in the sandbox's outbound allowlist" in out
    out = await sh(sb, f"timeout 5 nc {t2} 443 < /tmp/hello-t1")
    assert "T1-TLS" in out
    # A domain opens ports 80 and 443 only; the address itself stays closed.
    out = await sh(sb, f"{http(t1, 't1.test', 9000)}")
    assert "Connection refused" in out
    await sb.terminate()


async def test_with_isolation_a_name_resolving_to_a_private_address_is_refused(
    app: sc.App, targets: Targets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_CORE_EGRESS_DNS", targets.ip["dns"])
    t1 = targets.ip["t1"]
    sb = await create(app, outbound_domain_allowlist=["t1.test"])
    out = await sh(sb, http(t1, "t1.test"))
    assert "403 Forbidden" in out and f"t1.test resolves to {t1}, a host or private address" in out
    await sb.terminate()
    # Naming the network as well opens it, by name too.
    sb = await create(app, outbound_domain_allowlist=["t1.test"], outbound_cidr_allowlist=[f"{t1}/32"])
    assert "T1" in await sh(sb, http(targets.ip["t2"], "t1.test"))
    await sb.terminate()


async def test_root_in_the_sandbox_cannot_get_around_the_rules(
    app: sc.App, targets: Targets, iptables_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_CORE_EGRESS_DNS", targets.ip["dns"])
    t1, t2 = targets.ip["t1"], targets.ip["t2"]
    sb = await create(app, iptables_image, outbound_cidr_allowlist=[f"{t1}/32"])
    attempts = {
        "iptables flush": "/usr/sbin/iptables -F",
        "iptables policy": "/usr/sbin/iptables -P OUTPUT ACCEPT",
        "ip6tables flush": "/usr/sbin/ip6tables -F",
        "iptables read": "/usr/sbin/iptables-save",
        "ip route": f"ip route add {t2}/32 dev eth0 metric 1",
        "ip addr": "ip addr add 10.99.0.1/32 dev eth0",
        "link down": "ip link set eth0 down",
        "raw socket": f"ping -c1 -W1 {t2}",
        "packet socket": f"arping -c1 -w1 -I eth0 {t2}",
        "new netns": "unshare -n true",
    }
    for what, cmd in attempts.items():
        out = await sh(sb, f"{cmd}; echo rc=$?")
        assert "rc=0" not in out, f"{what} succeeded as root in the sandbox: {out}"
    assert "Permission denied (you must be root)" in await sh(sb, "/usr/sbin/iptables -F")
    secret = f"bypass-{uuid.uuid4().hex[:8]}.t2.test"
    out = await sh(sb, f"echo 'nameserver {t2}' > /etc/resolv.conf; nslookup {secret}; nslookup {secret} {t2}")
    assert out.count("NXDOMAIN") >= 2 and secret not in await targets.dns_log()
    out = await sh(sb, f"{http(t1)}; {http(t2)}")
    assert "T1" in out and "T2" not in out and "Connection refused" in out
    await sb.terminate()


async def test_a_policy_change_cuts_an_open_connection(app: sc.App, targets: Targets) -> None:
    t2 = targets.ip["t2"]
    sb = await create(app, outbound_cidr_allowlist=[f"{t2}/32"])
    held = await sb.exec("nc", t2, "9000")  # t2 sends a line, then holds the connection open
    assert (await held.stdout.readline()).strip() == "T2-DIRECT"
    await sb._experimental_set_outbound_network_policy(outbound_cidr_allowlist=[])
    async with asyncio.timeout(10):
        await held.stdout.read()  # EOF: the connection was cut
        await held.wait()
    assert "Connection refused" in await sh(sb, http(t2))
    # Open again (no arguments), yet isolated: the private neighbour stays fenced off; listing it opens it.
    await sb._experimental_set_outbound_network_policy()
    assert "T2" not in await sh(sb, http(t2))
    await sb._experimental_set_outbound_network_policy(outbound_cidr_allowlist=[f"{t2}/32"])
    assert "T2" in await sh(sb, http(t2))
    await sb.terminate()


async def test_a_domain_policy_set_later_goes_by_name(
    app: sc.App, targets: Targets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_CORE_EGRESS_DNS", targets.ip["dns"])
    monkeypatch.setenv("SANDBOX_CORE_ISOLATION", "0")
    sb = await create(app, outbound_cidr_allowlist=[])
    assert "T1" not in await sh(sb, http("t1.test", "t1.test"))
    await sb._experimental_set_outbound_network_policy(outbound_domain_allowlist=["t1.test"])
    assert "T1" in await sh(sb, http("t1.test", "t1.test"))
    await sb.terminate()


async def test_twenty_sandboxes_with_different_policies_at_once(app: sc.App, targets: Targets) -> None:
    t1, t2 = targets.ip["t1"], targets.ip["t2"]
    lists: list[list[str]] = [[f"{t1}/32"], [f"{t2}/32"], []]
    sandboxes = await asyncio.gather(*(create(app, outbound_cidr_allowlist=lists[i % 3]) for i in range(20)))
    try:
        outs = await asyncio.gather(*(sh(sb, f"{http(t1)}; {http(t2)}") for sb in sandboxes))
        for i, out in enumerate(outs):
            expect = {0: ["T1"], 1: ["T2"], 2: []}[i % 3]
            assert [t for t in ("T1", "T2") if f"\n{t}\n" in out] == expect, f"sandbox {i}: {out}"
    finally:
        await asyncio.gather(*(sb.terminate() for sb in sandboxes))


# ------------------------------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"outbound_cidr_allowlist": ["10.0.0.0/33"]}, "`outbound_cidr_allowlist`: '10.0.0.0/33' is not an IPv4"),
        ({"outbound_cidr_allowlist": "10.0.0.0/8"}, "`outbound_cidr_allowlist` must be a list of CIDR strings"),
        ({"outbound_domain_allowlist": ["https://x.org"]}, "no scheme, port or path"),
        ({"outbound_domain_allowlist": ["a.*.org"]}, "a wildcard may only be the whole first label"),
        ({"inbound_cidr_allowlist": ["nope"]}, "`inbound_cidr_allowlist`: 'nope'"),
        (
            {"block_network": True, "outbound_cidr_allowlist": [], "inbound_cidr_allowlist": ["10.0.0.0/8"]},
            "`inbound_cidr_allowlist` cannot be used when `block_network` is enabled",
        ),
        (
            {"block_network": True, "outbound_domain_allowlist": [], "outbound_cidr_allowlist": []},
            "`outbound_cidr_allowlist` cannot be used when `block_network` is enabled",
        ),
        (
            {"block_network": True, "outbound_domain_allowlist": ["x.org"]},
            "`outbound_domain_allowlist` cannot be used when `block_network` is enabled",
        ),
    ],
)
async def test_bad_policies_are_refused_before_anything_is_created(
    app: sc.App, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(exc.InvalidError, match=__import__("re").escape(message)):
        await create(app, **kwargs)


async def test_changing_the_policy_needs_an_enforcement_point(app: sc.App, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = await create(app, block_network=True)
    with pytest.raises(exc.InvalidError, match="block_network"):
        await blocked._experimental_set_outbound_network_policy(outbound_cidr_allowlist=[])
    await blocked.terminate()
    monkeypatch.setenv("SANDBOX_CORE_ISOLATION", "0")
    plain = await create(app)
    with pytest.raises(exc.InvalidError, match="SANDBOX_CORE_ISOLATION=0"):
        await plain._experimental_set_outbound_network_policy(outbound_cidr_allowlist=[])
    await plain.terminate()
    monkeypatch.delenv("SANDBOX_CORE_ISOLATION")
    ended = await create(app)
    await ended.terminate(wait=True)
    with pytest.raises(exc.ConflictError, match="Sandbox already finished"):
        await ended._experimental_set_outbound_network_policy()
    with pytest.raises(exc.InvalidError, match="not an IPv4 or IPv6 network"):
        await ended._experimental_set_outbound_network_policy(outbound_cidr_allowlist=["x"])


async def test_an_engine_that_cannot_enforce_refuses_the_sandbox(app: sc.App, monkeypatch: pytest.MonkeyPatch) -> None:
    """No holder image: an allowlist and default isolation are both refused, and nothing is left of the try."""
    other = await sc.App.lookup(app_name(f"noenforce-{uuid.uuid4().hex[:6]}"), create_if_missing=True)
    monkeypatch.setattr(netholder, "HOLDER_IMAGE", "sandbox-core/netpolicy:does-not-exist")
    monkeypatch.setenv("SANDBOX_CORE_HOLDER_POOL", "0")
    for kwargs in ({"outbound_cidr_allowlist": []}, {}):
        with pytest.raises(exc.InvalidError, match=r"scripts/build-images\.sh"):
            await create(other, **kwargs)
    assert [sb async for sb in sc.Sandbox.list(app_id=other.app_id)] == []
    eng = await get_engine()
    assert await eng.containers.list({"sandbox-core.app-id": other.app_id}, all=True) == []
    # Isolation off: a sandbox without an allowlist needs no enforcement point.
    monkeypatch.setenv("SANDBOX_CORE_ISOLATION", "0")
    sb = await create(other)
    info = await eng.containers.inspect(sb._link.container_id)
    # The engine's default network: Docker names its mode "default", Podman "bridge" (docs/podman.md 7).
    assert NET_HOLDER not in info.labels and info.network_mode in ("default", "bridge")
    await sb.terminate()
    await sc.sweep(app_id=other.app_id, everything=True)
