"""Pure logic: policy validation, rule rendering, helper config, holder spec (no engine)."""

from __future__ import annotations

import ipaddress
import json
import pathlib

import pytest

from sandbox_core._engine.docker.containers import create_body
from sandbox_core._engine.netholder import holder_spec, sandbox_network_mode
from sandbox_core._engine.netpolicy import (
    DNS_PORT,
    HTTP_PORT,
    MARK,
    TLS_PORT,
    NetworkFacts,
    helper_config,
    local_host_addresses,
    policy_from_labels,
    policy_labels,
    render_rules,
)
from sandbox_core._engine.values import AddressPool, ContainerSpec, NetworkInfo, PortBinding
from sandbox_core._netpolicy_types import (
    MAX_ENTRIES,
    EgressPolicy,
    InboundPolicy,
    NetworkPolicy,
    domain_matches,
)
from sandbox_core.exception import InvalidError

FACTS = NetworkFacts(subnet_v4=ipaddress.IPv4Network("172.30.0.0/16"), gateway_v4=ipaddress.IPv4Address("172.30.0.1"))


def test_open_when_nothing_given_and_empty_lists_allow_nothing() -> None:
    assert EgressPolicy.build().open
    p = EgressPolicy.build([], None)
    assert not p.open and p.cidrs == () and p.domains is None
    assert not EgressPolicy.build(None, []).open


def test_cidrs_are_normalised_and_deduplicated() -> None:
    p = EgressPolicy.build(["10.1.2.3/8", "10.0.0.0/8", "203.0.113.7", " 2001:db8::1/32 "])
    assert [str(n) for n in p.cidrs or ()] == ["10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("10.0.0.0/8", "must be a list of CIDR strings, got str"),
        ([10], "entries must be strings, got int"),
        (["10.0.0.300/8"], "'10.0.0.300/8' is not an IPv4 or IPv6 network"),
        (["10.0.0.0/33"], "is not an IPv4 or IPv6 network"),
        ([""], "is not an IPv4 or IPv6 network"),
        (["example.com"], "is not an IPv4 or IPv6 network"),
        ([f"10.0.{i // 256}.{i % 256}" for i in range(MAX_ENTRIES + 1)], f"at most {MAX_ENTRIES}"),
    ],
)
def test_bad_cidrs(value: object, fragment: str) -> None:
    with pytest.raises(InvalidError, match="outbound_cidr_allowlist") as e:
        EgressPolicy.build(value, None)
    assert fragment in str(e.value)


def test_domains_are_normalised() -> None:
    p = EgressPolicy.build(None, ["PyPI.org.", "*.PythonHosted.org", "*", "bücher.example", "pypi.org"])
    assert p.domains == ("pypi.org", "*.pythonhosted.org", "*", "xn--bcher-kva.example")


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("https://pypi.org", "no scheme, port or path"),
        ("pypi.org:443", "no scheme, port or path"),
        ("pypi.org/simple", "no scheme, port or path"),
        ("*pypi.org", "whole first label"),
        ("a.*.org", "whole first label"),
        ("**", "whole first label"),
        ("1.2.3.4", "outbound_cidr_allowlist"),
        ("-bad.org", "labels of letters"),
        ("a..org", "labels of letters"),
        ("", "labels of letters"),
        ("x" * 64 + ".org", "labels of letters"),
        ("sp ace.org", "labels of letters"),
    ],
)
def test_bad_domains(entry: str, fragment: str) -> None:
    with pytest.raises(InvalidError, match="outbound_domain_allowlist") as e:
        EgressPolicy.build(None, [entry])
    assert fragment in str(e.value)


def test_domain_matching_rules() -> None:
    pats = ("pypi.org", "*.pythonhosted.org")
    assert domain_matches(pats, "PYPI.org.")
    assert not domain_matches(pats, "x.pypi.org")
    assert domain_matches(pats, "files.pythonhosted.org")
    assert not domain_matches(pats, "pythonhosted.org")
    assert not domain_matches(pats, "evilpythonhosted.org")
    assert domain_matches(("*",), "anything.test")


def test_inbound_allows() -> None:
    assert InboundPolicy.build().allows("203.0.113.9")
    p = InboundPolicy.build(["10.0.0.0/8", "2001:db8::/32"])
    assert p.allows("10.2.3.4") and p.allows("::ffff:10.2.3.4") and p.allows("2001:db8::5")
    assert not p.allows("127.0.0.1") and not p.allows("not an ip") and not p.allows("192.0.2.1")
    with pytest.raises(InvalidError, match="inbound_cidr_allowlist"):
        InboundPolicy.build(["nope"])


def rules(policy: NetworkPolicy, *, v6: bool = False, initial: bool = True) -> list[str]:
    return render_rules(policy, FACTS, v6=v6, initial=initial).splitlines()


def test_allowlist_rules_refuse_everything_not_listed() -> None:
    r = rules(NetworkPolicy(egress=EgressPolicy.build(["192.0.2.0/24"], None)))
    out = [x for x in r if x.startswith("-A SANDBOX-OUT")]
    assert out[-2:] == [
        "-A SANDBOX-OUT -p tcp -j REJECT --reject-with tcp-reset",
        "-A SANDBOX-OUT -j REJECT --reject-with icmp-admin-prohibited",
    ]
    assert "-A SANDBOX-OUT -d 192.0.2.0/24 -j ACCEPT" in out
    assert f"-A SANDBOX-OUT -m mark --mark {MARK:#x} -j ACCEPT" in out
    # Replies on inbound connections only: a connection the sandbox opened is re-checked on every packet.
    assert "-A SANDBOX-OUT -m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY -j ACCEPT" in out
    assert not any("ESTABLISHED" in x and "REPLY" not in x for x in out)
    nat = [x for x in r if x.startswith("-A SANDBOX-NAT")]
    assert nat.index("-A SANDBOX-NAT -d 192.0.2.0/24 -j RETURN") < nat.index(
        f"-A SANDBOX-NAT -p udp --dport 53 -j REDIRECT --to-ports {DNS_PORT}"
    )
    assert not any("--dport 443" in x for x in nat), "no domains: nothing is proxied"


def test_domains_redirect_web_ports_to_the_proxy() -> None:
    nat = [x for x in rules(NetworkPolicy(egress=EgressPolicy.build([], ["a.test"]))) if "SANDBOX-NAT" in x]
    assert f"-A SANDBOX-NAT -p tcp --dport 80 -j REDIRECT --to-ports {HTTP_PORT}" in nat
    assert f"-A SANDBOX-NAT -p tcp --dport 443 -j REDIRECT --to-ports {TLS_PORT}" in nat
    assert nat.index("-A SANDBOX-NAT -d 127.0.0.0/8 -j RETURN") < nat.index(
        f"-A SANDBOX-NAT -p tcp --dport 80 -j REDIRECT --to-ports {HTTP_PORT}"
    )


def test_open_with_isolation_fences_private_ranges_then_accepts() -> None:
    out = [x for x in rules(NetworkPolicy()) if x.startswith("-A SANDBOX-OUT")]
    assert out[-1] == "-A SANDBOX-OUT -j ACCEPT"
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"):
        assert f"-A SANDBOX-OUT -d {net} -p tcp -j REJECT --reject-with tcp-reset" in out
    v6 = [x for x in rules(NetworkPolicy(), v6=True) if x.startswith("-A SANDBOX-OUT")]
    for net in ("fc00::/7", "fe80::/10", "ff00::/8", "::ffff:0:0/96"):
        assert f"-A SANDBOX-OUT -d {net} -j REJECT --reject-with icmp6-adm-prohibited" in v6
    # An explicit allowlist entry wins over the fence; without isolation nothing is fenced.
    wide = [x for x in rules(NetworkPolicy(isolate=False)) if x.startswith("-A SANDBOX-OUT")]
    assert not any("REJECT" in x for x in wide)
    inbound = [x for x in rules(NetworkPolicy()) if x.startswith("-A SANDBOX-IN")]
    assert "-A SANDBOX-IN -s 172.30.0.1 -j ACCEPT" in inbound
    assert (
        "-A SANDBOX-IN -s 172.30.0.0/16 -p tcp -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset" in inbound
    )


def test_inbound_allowlist_rules() -> None:
    p = NetworkPolicy(inbound=InboundPolicy.build(["198.51.100.0/24"]), isolate=False)
    inbound = [x for x in rules(p) if x.startswith("-A SANDBOX-IN")]
    assert inbound[2:] == [
        "-A SANDBOX-IN -s 172.30.0.1 -j ACCEPT",
        "-A SANDBOX-IN -s 198.51.100.0/24 -j ACCEPT",
        "-A SANDBOX-IN -p tcp -m conntrack --ctstate NEW -j REJECT --reject-with tcp-reset",
        "-A SANDBOX-IN -m conntrack --ctstate NEW -j DROP",
    ]


def test_families_get_their_own_cidrs_and_the_jumps_only_initially() -> None:
    p = NetworkPolicy(egress=EgressPolicy.build(["192.0.2.0/24", "2001:db8::/32"], None))
    v4, v6 = rules(p), rules(p, v6=True)
    assert any("192.0.2.0/24" in x for x in v4) and not any("2001:db8" in x for x in v4)
    assert any("2001:db8::/32" in x for x in v6) and not any("192.0.2" in x for x in v6)
    assert "-A OUTPUT -j SANDBOX-OUT" in v4 and "-I OUTPUT 1 -j SANDBOX-NAT" in v4
    again = rules(p, initial=False)
    assert not any(x.startswith(("-A OUTPUT", "-A INPUT", "-I OUTPUT")) for x in again)
    assert ":SANDBOX-OUT - [0:0]" in again, "declaring the chains is what flushes them on replace"


def test_helper_config_carries_policy_and_ports() -> None:
    p = NetworkPolicy(egress=EgressPolicy.build(["192.0.2.0/24"], ["a.test"]))
    cfg = json.loads(helper_config(p, FACTS, initial=True, dns_upstream=["192.0.2.53"]))
    assert cfg["open"] is False and cfg["cidrs"] == ["192.0.2.0/24"] and cfg["domains"] == ["a.test"]
    assert (cfg["mark"], cfg["dns_port"], cfg["http_port"], cfg["tls_port"]) == (MARK, DNS_PORT, HTTP_PORT, TLS_PORT)
    assert cfg["dns_upstream"] == ["192.0.2.53"] and "10.0.0.0/8" in cfg["fence"]
    assert "*filter" in cfg["rules_v4"] and "icmp6" in cfg["rules_v6"]


def test_holder_spec_has_only_net_admin_and_takes_the_ports() -> None:
    spec = holder_spec("sb-x", "{}", ports=[PortBinding(8080, host_ip="127.0.0.1")])
    assert spec.cap_drop == ("ALL",) and spec.cap_add == ("NET_ADMIN",)
    assert spec.read_only_rootfs and spec.labels["sandbox-core.holder-of"] == "sb-x"
    # What the Docker engine is sent (no restart policy: the engine's default is never to restart).
    body = create_body(spec)
    host = body["HostConfig"]
    assert host["CapDrop"] == ["ALL"] and host["CapAdd"] == ["NET_ADMIN"] and "RestartPolicy" not in host
    assert (
        host["ReadonlyRootfs"]
        and host["MemorySwap"] == host["Memory"]
        and host["Tmpfs"] == {"/run": "size=1m,mode=0700"}
    )
    assert host["PortBindings"] == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    assert "8080/tcp" in body["ExposedPorts"]
    joined = ContainerSpec(image="x", labels={}, network_mode=sandbox_network_mode("abc"))
    assert create_body(joined)["HostConfig"]["NetworkMode"] == "container:abc"


def test_a_joined_namespace_takes_neither_ports_nor_dns() -> None:
    for extra in ({"ports": [PortBinding(80)]}, {"dns": ["192.0.2.53"]}):
        with pytest.raises(ValueError, match="cannot publish ports or set DNS"):
            ContainerSpec(image="x", labels={}, network_mode=sandbox_network_mode("abc"), **extra)  # type: ignore[arg-type]


def test_network_facts_from_the_network_pools() -> None:
    network = NetworkInfo(
        id="n", name="n", labels={}, driver="bridge",
        pools=[AddressPool("172.17.0.0/16", "172.17.0.1"), AddressPool("fd00::/64", "")],
    )  # fmt: skip
    facts = NetworkFacts.from_network(network)
    assert str(facts.subnet_v4) == "172.17.0.0/16" and str(facts.gateway_v4) == "172.17.0.1"
    assert str(facts.subnet_v6) == "fd00::/64" and str(facts.gateway_v6) == "fd00::1"


def test_policy_labels_round_trip_with_a_new_egress() -> None:
    p = NetworkPolicy(
        egress=EgressPolicy.build([], ["a.test"]),
        inbound=InboundPolicy.build(["198.51.100.0/24", "2001:db8::/32"]),
        isolate=False,
        extra_fence=(ipaddress.IPv4Network("203.0.113.9/32"),),
    )
    new = EgressPolicy.build(["192.0.2.0/24"], None)
    back, upstream = policy_from_labels(policy_labels(p, ["192.0.2.53"]), new)
    assert back == NetworkPolicy(egress=new, inbound=p.inbound, isolate=False, extra_fence=p.extra_fence)
    assert upstream == ["192.0.2.53"]
    plain, none = policy_from_labels(policy_labels(NetworkPolicy()), EgressPolicy())
    assert plain == NetworkPolicy() and none == []


def test_local_host_addresses(tmp_path: pathlib.Path) -> None:
    fib = tmp_path / "fib_trie"
    fib.write_text(
        "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 127.0.0.1\n        /32 host LOCAL\n"
        "     |-- 203.0.113.5\n        /32 host LOCAL\n     |-- 203.0.113.255\n        /32 link BROADCAST\n"
    )
    inet6 = tmp_path / "if_inet6"
    inet6.write_text(
        "00000000000000000000000000000001 01 80 10 80       lo\n20010db8000000000000000000000005 02 40 00 80     eth0\n"
    )
    assert [str(n) for n in local_host_addresses(str(fib), str(inet6))] == ["203.0.113.5/32", "2001:db8::5/128"]
    assert local_host_addresses(str(tmp_path / "missing"), str(inet6)) == ()
