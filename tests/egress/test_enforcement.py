"""Egress and inbound policies enforced in the holder's namespace, on the real engine (see conftest's lab)."""

from __future__ import annotations

import uuid

import pytest

from sandbox_core._engine.netholder import remove_holder, sandbox_network_mode
from sandbox_core._engine.values import ContainerSpec, PortBinding
from sandbox_core._netpolicy_types import EgressPolicy, InboundPolicy, NetworkPolicy
from tests.conftest import RUN_ID, TEST_RUN_LABEL

from .conftest import Lab, client_hello, put_file, run

pytestmark = pytest.mark.asyncio(loop_scope="session")


def allow(cidrs: list[str] | None = None, domains: list[str] | None = None, isolate: bool = False) -> NetworkPolicy:
    """An allowlist policy. Without isolation by default: the lab's targets live on a private network, which the
    fence would keep the proxy from (an allowlist refuses everything unlisted with or without it)."""
    return NetworkPolicy(egress=EgressPolicy.build(cidrs, domains), isolate=isolate)


def http(ip_or_name: str, host: str = "x", port: int = 80) -> str:
    """A shell line: one HTTP/1.0 request with ``host`` in the Host header, printing the reply."""
    return f"printf 'GET / HTTP/1.0\\r\\nHost: {host}\\r\\n\\r\\n' | timeout 5 nc {ip_or_name} {port} 2>&1; echo rc=$?"


async def test_cidr_allowlist_reaches_the_allowed_target_only(lab: Lab) -> None:
    box = await lab.sandbox(allow([f"{lab.ip['t1']}/32"]))
    code, out = await lab.sh(box, f"{http(lab.ip['t1'])}; {http(lab.ip['t2'])}")
    assert code == 0
    first, second = out.split("rc=", 1)
    assert "200 OK" in first and "T1" in first
    assert "Connection refused" in second and "T2" not in second
    await lab.remove(box)


async def test_empty_allowlist_refuses_targets_and_dns(lab: Lab) -> None:
    box = await lab.sandbox(allow([]))
    secret = f"leak-{uuid.uuid4().hex[:8]}.t2.test"
    _, out = await lab.sh(box, f"{http(lab.ip['t1'])}; {http(lab.ip['t2'])}")
    assert out.count("Connection refused") == 2 and "200 OK" not in out
    _, out = await lab.sh(box, f"nslookup t1.test; nslookup {secret}")
    assert "can't find t1.test: NXDOMAIN" in out and f"can't find {secret}: NXDOMAIN" in out
    assert lab.ip["t1"] not in out
    # Nothing left the sandbox: the lab's resolver never saw the names.
    assert secret not in await lab.dns_log()
    # UDP and DNS to the resolver itself, by address, are refused as well.
    _, out = await lab.sh(box, f"nslookup {secret} {lab.ip['dns']}; echo rc=$?")
    assert "rc=1" in out and secret not in await lab.dns_log()
    await lab.remove(box)


async def test_domain_allowlist_by_name_whatever_address_the_sandbox_picks(lab: Lab) -> None:
    box = await lab.sandbox(allow([], ["t1.test", "*.t1.test"]))
    await put_file(lab.eng, box.sandbox, "/tmp/hello-t1", client_hello("t1.test"))
    await put_file(lab.eng, box.sandbox, "/tmp/hello-t2", client_hello("t2.test"))
    t1, t2 = lab.ip["t1"], lab.ip["t2"]
    # DNS answers allowed names only.
    _, out = await lab.sh(box, "nslookup t1.test; nslookup sub.t1.test; nslookup t2.test")
    assert out.count(f"Address: {t1}") == 2 and "can't find t2.test: NXDOMAIN" in out
    # HTTP goes where the Host header says, not where the sandbox connected: Host t1.test sent to t2's address.
    _, out = await lab.sh(box, http(t2, "t1.test"))
    assert "200 OK" in out and "T1" in out and "T2" not in out
    _, out = await lab.sh(box, http(t1, "t2.test"))
    assert "403 Forbidden" in out and "t2.test is not in the sandbox's outbound allowlist" in out
    _, out = await lab.sh(box, http("t1.test", "sub.t1.test"))
    assert "T1" in out
    # TLS goes by SNI the same way; a refused name gets an access_denied alert (21 3 3 0 2 2 49).
    _, out = await lab.sh(box, f"timeout 5 nc {t2} 443 < /tmp/hello-t1")
    assert "T1-TLS" in out
    _, out = await lab.sh(box, f"timeout 5 nc {t1} 443 < /tmp/hello-t2 | od -An -tu1")
    assert out.split() == ["21", "3", "3", "0", "2", "2", "49"]
    # A domain opens 80 and 443 only.
    _, out = await lab.sh(box, http(t1, "t1.test", 9000))
    assert "Connection refused" in out
    # Refused names never reach the resolver, whether asked by DNS, Host or SNI.
    secret = f"leak-{uuid.uuid4().hex[:8]}.t2.test"
    await put_file(lab.eng, box.sandbox, "/tmp/hello-secret", client_hello(secret))
    _, out = await lab.sh(box, f"nslookup {secret}; {http(t1, secret)}; timeout 5 nc {t1} 443 < /tmp/hello-secret")
    assert "NXDOMAIN" in out and "403 Forbidden" in out
    log = await lab.dns_log()
    assert secret not in log and "query sub.t1.test" in log
    await lab.remove(box)


async def test_with_isolation_the_proxy_refuses_names_that_resolve_into_the_fence(lab: Lab) -> None:
    """A name under "*" (or an allowed name) resolving to a host or private address does not bypass isolation."""
    box = await lab.sandbox(allow([], ["*"], isolate=True))
    _, out = await lab.sh(box, http(lab.ip["t1"], "t1.test"))
    assert "403 Forbidden" in out and f"t1.test resolves to {lab.ip['t1']}, a host or private address" in out
    _, out = await lab.sh(box, http(lab.ip["t1"], lab.ip["t1"]))
    assert "403 Forbidden" in out and "T1" not in out
    # Allowlisting the CIDR opens it again, through the proxy as directly.
    await lab.remove(box)
    box = await lab.sandbox(allow([f"{lab.ip['t1']}/32"], ["t2.test", "t1.test"], isolate=True))
    _, out = await lab.sh(box, f"{http(lab.ip['t2'], 't1.test')}; {http(lab.ip['t2'], 't2.test')}")
    assert "T1" in out and "t2.test resolves to" in out
    await lab.remove(box)


async def test_root_in_the_sandbox_cannot_get_around_the_rules(lab: Lab) -> None:
    box = await lab.sandbox(allow([f"{lab.ip['t1']}/32"]))
    t2 = lab.ip["t2"]
    secret = f"bypass-{uuid.uuid4().hex[:8]}.t2.test"
    attempts = {
        "ip route": f"ip route add {t2}/32 dev eth0 metric 1",
        "ip addr": "ip addr add 10.99.0.1/32 dev eth0",
        "link down": "ip link set eth0 down",
        "sysctl": "sysctl -w net.ipv4.ip_forward=1",
        "raw socket": f"ping -c1 -W1 {t2}",
        "packet socket": f"arping -c1 -w1 -I eth0 {t2}",
        "new netns": "unshare -n true",
    }
    for what, cmd in attempts.items():
        code, out = await lab.sh(box, cmd)
        assert code != 0, f"{what} succeeded as root in the sandbox: {out}"
    # Its own resolver (resolv.conf rewritten, or named on the command line) still meets the filtering forwarder.
    code, out = await lab.sh(
        box, f"echo 'nameserver {t2}' > /etc/resolv.conf && nslookup {secret}; nslookup {secret} {t2}"
    )
    assert out.count("NXDOMAIN") >= 2 and secret not in await lab.dns_log()
    # SO_MARK needs CAP_NET_ADMIN: a copy of the helper itself cannot mark its socket.
    await put_file(lab.eng, box.sandbox, "/tmp/sandbox-egress", (lab.tools / "sandbox-egress").read_bytes(), 0o755)
    code, out = await lab.sh(box, f"/tmp/sandbox-egress dial --mark 0x5c0e {t2}:80")
    assert code == 1 and "operation not permitted" in out
    code, out = await lab.sh(box, f"/tmp/sandbox-egress dial {t2}:80")
    assert code == 1 and "connection refused" in out
    # The helper's port, dialled directly, applies the same policy; the control socket is not in this namespace.
    await put_file(lab.eng, box.sandbox, "/tmp/hello-t2", client_hello("t2.test"))
    _, out = await lab.sh(box, "timeout 5 nc 127.0.0.1 15443 < /tmp/hello-t2 | od -An -tu1; ls /run/sandbox-egress")
    assert "21 3 3 0 2 2 49" in " ".join(out.split()) and "No such file" in out
    _, out = await lab.sh(box, http(t2))
    assert "Connection refused" in out
    await lab.remove(box)


async def test_iptables_as_root_without_net_admin_changes_nothing(lab: Lab) -> None:
    """The holder image has iptables: run it as root in the sandbox's namespace with the sandbox's capabilities."""
    box = await lab.sandbox(allow([]))
    _, before = await lab.holder_tool(box, ["iptables-save"])
    for argv in (["iptables", "-F"], ["iptables", "-P", "OUTPUT", "ACCEPT"], ["ip6tables", "-F"], ["iptables-save"]):
        spec = ContainerSpec(
            image="sandbox-core/netpolicy:1",
            entrypoint=("/usr/sbin/" + argv[0],),
            cmd=tuple(argv[1:]),
            labels={"sandbox-core.owner": "sandbox-core", TEST_RUN_LABEL: RUN_ID},
            network_mode=sandbox_network_mode(box.holder),
            cap_drop=("NET_RAW", "MKNOD", "AUDIT_WRITE"),
            open_stdin=False,
            init=False,
        )
        cid = await lab.eng.containers.create(spec)
        try:
            await lab.eng.containers.start(cid)
            assert await lab.eng.containers.wait(cid) != 0, f"{argv} succeeded without NET_ADMIN"
        finally:
            await lab.eng.containers.remove(cid)
    _, after = await lab.holder_tool(box, ["iptables-save"])
    strip = lambda dump: [x for x in dump.splitlines() if not x.startswith("#")]  # noqa: E731
    assert strip(after) == strip(before)
    _, out = await lab.sh(box, http(lab.ip["t1"]))
    assert "Connection refused" in out
    await lab.remove(box)


@pytest.mark.podman_differs("a network holder cannot be removed while a sandbox shares its namespace")
async def test_rules_survive_a_sandbox_restart_and_vanish_with_the_holder(lab: Lab) -> None:
    box = await lab.sandbox(allow([f"{lab.ip['t1']}/32"]))
    await lab.eng.client.request_json("POST", f"containers/{box.sandbox}/restart", "restart", params={"t": "0"})
    _, out = await lab.sh(box, f"{http(lab.ip['t1'])}; {http(lab.ip['t2'])}")
    assert "T1" in out and "Connection refused" in out
    # Without its holder the sandbox has no way out at all (fail closed), not an unfiltered one.
    await remove_holder(lab.eng, box.holder)
    _, out = await lab.sh(box, f"{http(lab.ip['t1'])}; ip -o link")
    assert "T1" not in out and "eth0" not in out
    await lab.remove(box)


async def test_isolation_by_default_fences_neighbours_but_keeps_published_ports(lab: Lab) -> None:
    box = await lab.sandbox(
        NetworkPolicy(),
        ports=[PortBinding(8080, host_ip="127.0.0.1")],
        cmd=["sh", "-c", "mkdir -p /w && echo INSIDE > /w/index.html && exec httpd -f -p 8080 -h /w"],
    )
    _, out = await lab.sh(box, f"{http(lab.ip['t1'])}; {http(lab.ip['t2'])}")
    assert out.count("Connection refused") == 2
    # A neighbour cannot open a connection to the sandbox; the host's published port can.
    sandbox_ip = await lab.address(box)
    neighbour = await lab.sandbox(NetworkPolicy(isolate=False))
    _, out = await lab.sh(neighbour, http(sandbox_ip, port=8080))
    assert "Connection refused" in out and "INSIDE" not in out
    assert "INSIDE" in await lab.fetch_published(box, 8080)
    await lab.remove(neighbour)
    await lab.remove(box)


async def test_inbound_allowlist_admits_listed_networks_and_the_host(lab: Lab) -> None:
    ports = [PortBinding(8080, host_ip="127.0.0.1")]
    serve = ["sh", "-c", "mkdir -p /w && echo INSIDE > /w/index.html && exec httpd -f -p 8080 -h /w"]
    t1_only = NetworkPolicy(inbound=InboundPolicy.build([f"{lab.ip['t1']}/32"]), isolate=False)
    box = await lab.sandbox(t1_only, ports=ports, cmd=serve)
    sandbox_ip = await lab.address(box)
    assert "INSIDE" in await lab.fetch_published(box, 8080), "the host (relays, published ports) is let through"
    _, out = await run(lab.eng, lab.target["t1"], http(sandbox_ip, port=8080))
    assert "INSIDE" in out
    _, out = await run(lab.eng, lab.target["t2"], http(sandbox_ip, port=8080))
    assert "INSIDE" not in out and "Connection refused" in out
    await lab.remove(box)


async def test_ipv6_is_filtered_like_ipv4(lab: Lab) -> None:
    t1, t2 = lab.ip["t1-v6"], lab.ip["t2-v6"]
    box = await lab.sandbox(allow([f"{t1}/128"]))
    _, out = await lab.sh(box, f"{http(t1)}; {http(t2)}")
    first, second = out.split("rc=", 1)
    assert "T1" in first and "Connection refused" in second and "T2" not in second
    await lab.remove(box)
    # Isolated OPEN egress: neighbours by their ULA address and by their link-local address are fenced off.
    _, addr = await run(lab.eng, lab.target["t2"], "ip -6 -o addr show dev eth0 scope link")
    link_local = addr.split("inet6 ", 1)[1].split("/", 1)[0]
    box = await lab.sandbox(NetworkPolicy())
    _, out = await lab.sh(box, f"{http(t2)}; {http(link_local + '%eth0')}")
    assert out.count("rc=1") == 2 and "T2" not in out
    await lab.remove(box)
    box = await lab.sandbox(NetworkPolicy(isolate=False))
    _, out = await lab.sh(box, f"{http(t2)}; {http(link_local + '%eth0')}")
    assert out.count("\nT2\n") == 2, f"without isolation both answer: {out}"
    await lab.remove(box)


async def test_ipv6_rules_are_installed_and_verified(lab: Lab) -> None:
    box = await lab.sandbox(allow([]))
    code, out = await lab.holder_tool(box, ["ip6tables-save"])
    assert code == 0
    assert "-A OUTPUT -j SANDBOX-OUT" in out and "-A SANDBOX-OUT -j REJECT --reject-with icmp6-adm-prohibited" in out
    code, out = await lab.holder_tool(box, ["iptables-save"])
    assert "-A SANDBOX-OUT -j REJECT --reject-with icmp-admin-prohibited" in out
    await lab.remove(box)


async def test_gvisor_sandbox_joined_to_a_holder_is_filtered(lab: Lab) -> None:
    if "runsc" not in (await lab.eng.info()).runtimes:
        pytest.skip("the engine has no runsc runtime")
    box = await lab.sandbox(allow([f"{lab.ip['t1']}/32"]), runtime="runsc")
    _, out = await lab.sh(box, f"{http(lab.ip['t1'])}; {http(lab.ip['t2'])}")
    assert "T1" in out and "T2" not in out
    await lab.remove(box)
