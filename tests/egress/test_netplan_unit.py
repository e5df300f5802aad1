"""The network plan, the switches and the orphan rule: pure logic, no engine."""

from __future__ import annotations

import pytest

from sandbox_core import exception as exc
from sandbox_core._engine.netpolicy import HOLDER_OF
from sandbox_core._engine.values import ContainerSummary, PortBinding
from sandbox_core._holderpool import MAX_AGE, claimed_name, pool_size, sandbox_holder_name
from sandbox_core._netplan import isolation_enabled, plan_network, port_bindings
from sandbox_core._network import ORPHAN_GRACE, holder_is_orphan


def plan(**kw: object) -> object:
    args: dict[str, object] = {
        "block_network": False,
        "outbound_cidr_allowlist": None,
        "outbound_domain_allowlist": None,
        "inbound_cidr_allowlist": None,
    }
    return plan_network(**{**args, **kw})  # type: ignore[arg-type]


def test_plans(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANDBOX_CORE_ISOLATION", raising=False)
    monkeypatch.delenv("SANDBOX_CORE_EGRESS_DNS", raising=False)
    p = plan()
    assert p.policy is not None and p.policy.isolate and p.policy.egress.open and p.poolable  # type: ignore[attr-defined]
    allow = plan(outbound_cidr_allowlist=[])
    assert allow.policy.egress.cidrs == () and allow.poolable  # type: ignore[attr-defined]
    # An empty inbound list means everyone, as at Modal; a real one needs a holder of its own.
    assert plan(inbound_cidr_allowlist=[]).poolable  # type: ignore[attr-defined]
    assert not plan(inbound_cidr_allowlist=["10.0.0.0/8"]).poolable  # type: ignore[attr-defined]
    ports = port_bindings([443], [], [8080, 443])
    assert ports == (PortBinding(443, host_ip="127.0.0.1"), PortBinding(8080, host_ip="127.0.0.1"))
    assert not plan(ports=ports).poolable  # type: ignore[attr-defined]
    monkeypatch.setenv("SANDBOX_CORE_EGRESS_DNS", "10.1.2.3")
    assert not plan().poolable and plan().dns_upstream == ("10.1.2.3",)  # type: ignore[attr-defined]
    monkeypatch.setenv("SANDBOX_CORE_ISOLATION", "0")
    assert plan().policy is None and not plan().block  # type: ignore[attr-defined]
    assert plan(outbound_cidr_allowlist=[]).policy.isolate is False  # type: ignore[attr-defined]
    blocked = plan(block_network=True)
    assert blocked.block and blocked.policy is None  # type: ignore[attr-defined]


def test_modal_order_of_the_block_network_conflicts() -> None:
    with pytest.raises(exc.InvalidError, match=r"^`inbound_cidr_allowlist` cannot"):
        plan(block_network=True, outbound_cidr_allowlist=[], outbound_domain_allowlist=[], inbound_cidr_allowlist=[])
    with pytest.raises(exc.InvalidError, match=r"^`outbound_cidr_allowlist` cannot"):
        plan(block_network=True, outbound_cidr_allowlist=[], outbound_domain_allowlist=[])


@pytest.mark.parametrize("raw", ["2", "maybe", ""])
def test_bad_switches_are_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("SANDBOX_CORE_ISOLATION", raw)
    with pytest.raises(exc.InvalidError, match="SANDBOX_CORE_ISOLATION must be 1"):
        isolation_enabled()
    monkeypatch.setenv("SANDBOX_CORE_HOLDER_POOL", raw + "x")
    with pytest.raises(exc.InvalidError, match="SANDBOX_CORE_HOLDER_POOL must be a whole number"):
        pool_size()
    monkeypatch.delenv("SANDBOX_CORE_ISOLATION")
    monkeypatch.setenv("SANDBOX_CORE_EGRESS_DNS", "resolver.local")
    with pytest.raises(exc.InvalidError, match="SANDBOX_CORE_EGRESS_DNS must list IP addresses"):
        plan()
    with pytest.raises(exc.InvalidError, match="`encrypted_ports` entries must be port numbers"):
        port_bindings([0])


def holder(name: str, created: float, labels: dict[str, str] | None = None) -> ContainerSummary:
    return ContainerSummary("h" * 64, name, labels or {}, "running", created)


def test_the_orphan_rule() -> None:
    now = 1_000_000.0
    named = holder(sandbox_holder_name("sb-abc", now - ORPHAN_GRACE - 1), now - 3600)
    assert holder_is_orphan(named, set(), set(), now)
    assert not holder_is_orphan(named, set(), {"sb-abc"}, now), "its sandbox exists"
    assert not holder_is_orphan(named, {named.id}, set(), now), "a container joins it"
    young = holder(sandbox_holder_name("sb-abc", now - 5), now - 5)
    assert not holder_is_orphan(young, set(), set(), now), "its create may still be under way"
    claimed = holder(claimed_name("h" * 64), now - MAX_AGE)
    assert not holder_is_orphan(claimed, set(), set(), now)
    assert holder_is_orphan(claimed, set(), set(), now + ORPHAN_GRACE + 1)
    # Holders Sandbox.create did not make (tests, benchmarks, another tool) are their maker's business.
    foreign = holder("someone_else", now - 3600, {HOLDER_OF: "sb-gone"})
    assert not holder_is_orphan(foreign, set(), set(), now)
