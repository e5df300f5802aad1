"""The same policies through the blocking facade (``sandbox_core_sync``), as a Modal script would use them."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator

import pytest

import sandbox_core_sync as modal
from sandbox_core import exception as exc
from tests.conftest import BUSYBOX, app_name

from .conftest import Targets
from .test_enforcement import http

pytestmark = pytest.mark.usefixtures("engine")


@pytest.fixture(scope="module")
def app() -> Iterator[modal.App]:
    application = modal.App.lookup(app_name("egress-sync"), create_if_missing=True)
    yield application
    modal.sweep(app_id=application.app_id, everything=True)


def sh(sb: modal.Sandbox, script: str) -> str:
    proc = sb.exec("sh", "-c", script, timeout=60)
    out = proc.stdout.read() + proc.stderr.read()
    proc.wait()
    return out


def create(app: modal.App, image: str = BUSYBOX, **kw: object) -> modal.Sandbox:
    return modal.Sandbox.create(app=app, image=modal.Image.from_registry(image), **kw)  # type: ignore[arg-type]


def dns_log(targets: Targets) -> str:
    """Every question the targets' DNS server has received (read with the CLI: the fixture's engine is async)."""
    proc = subprocess.run(["docker", "logs", targets.container["dns"]], capture_output=True, text=True, check=True)
    return proc.stdout + proc.stderr


def test_allowlist_and_policy_change(app: modal.App, targets: Targets) -> None:
    t1, t2 = targets.ip["t1"], targets.ip["t2"]
    sb = modal.Sandbox.create(app=app, image=modal.Image.from_registry(BUSYBOX), outbound_cidr_allowlist=[f"{t1}/32"])
    out = sh(sb, f"{http(t1)}; {http(t2)}")
    assert "T1" in out and "T2" not in out
    held = sb.exec("nc", t1, "9000", timeout=30)  # t1 holds the connection open for 300 s
    assert held.stdout.readline().strip() == "T1-DIRECT"
    sb._experimental_set_outbound_network_policy(outbound_cidr_allowlist=[f"{t2}/32"])
    t0 = time.monotonic()
    held.stdout.read()  # returns at EOF: the connection was cut (else at the exec's timeout)
    held.wait()
    assert time.monotonic() - t0 < 10
    out = sh(sb, f"{http(t1)}; {http(t2)}")
    assert "T2" in out and "T1" not in out
    sb.terminate()


def test_isolated_by_default(app: modal.App, targets: Targets) -> None:
    with socket.create_server((targets.gateway, 0)) as server:
        port = server.getsockname()[1]
        sb = modal.Sandbox.create(app=app, image=modal.Image.from_registry(BUSYBOX))
        out = sh(sb, f"echo | timeout 5 nc {targets.gateway} {port}; echo rc=$?; {http(targets.ip['t1'])}")
        assert out.count("Connection refused") == 2 and "T1" not in out
        sb.terminate()


def test_modal_refusals(app: modal.App) -> None:
    with pytest.raises(exc.InvalidError, match="`outbound_domain_allowlist` cannot be used when `block_network`"):
        modal.Sandbox.create(app=app, block_network=True, outbound_domain_allowlist=["x.org"])
    with pytest.raises(exc.InvalidError, match="not an IPv4 or IPv6 network"):
        modal.Sandbox.create(app=app, outbound_cidr_allowlist=["300.0.0.1"])


def test_empty_allowlist_refuses_targets_and_dns(
    app: modal.App, targets: Targets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_CORE_EGRESS_DNS", targets.ip["dns"])  # the resolver a leak would reach
    sb = create(app, outbound_cidr_allowlist=[])
    secret = f"leak-{uuid.uuid4().hex[:8]}.t2.test"
    out = sh(sb, f"{http(targets.ip['t1'])}; {http(targets.ip['t2'])}; nslookup t1.test; nslookup {secret}")
    assert out.count("Connection refused") == 2 and "200 OK" not in out
    assert "can't find t1.test: NXDOMAIN" in out and f"can't find {secret}: NXDOMAIN" in out
    assert "rc=1" in sh(sb, f"nslookup {secret} {targets.ip['dns']}; echo rc=$?")
    assert secret not in dns_log(targets)
    sb.terminate()


def test_domain_allowlist_by_name(app: modal.App, targets: Targets, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CORE_EGRESS_DNS", targets.ip["dns"])
    monkeypatch.setenv("SANDBOX_CORE_ISOLATION", "0")  # the targets are private: isolation would fence them off
    t1, t2 = targets.ip["t1"], targets.ip["t2"]
    sb = create(app, outbound_domain_allowlist=["t1.test"])
    out = sh(sb, "nslookup t1.test; nslookup t2.test")
    assert f"Address: {t1}" in out and "can't find t2.test: NXDOMAIN" in out
    assert "T1" in sh(sb, http(t2, "t1.test"))  # by name, whatever address the sandbox connects to
    out = sh(sb, http(t1, "t2.test"))
    assert "403 Forbidden" in out and "t2.test is not in the sandbox's outbound allowlist" in out
    sb.terminate()


def test_with_isolation_a_name_resolving_to_a_private_address_is_refused(
    app: modal.App, targets: Targets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_CORE_EGRESS_DNS", targets.ip["dns"])
    t1 = targets.ip["t1"]
    sb = create(app, outbound_domain_allowlist=["t1.test"])
    out = sh(sb, http(t1, "t1.test"))
    assert "403 Forbidden" in out and f"t1.test resolves to {t1}, a host or private address" in out
    sb.terminate()


def test_root_in_the_sandbox_cannot_get_around_the_rules(app: modal.App, targets: Targets, iptables_image: str) -> None:
    t1, t2 = targets.ip["t1"], targets.ip["t2"]
    sb = create(app, iptables_image, outbound_cidr_allowlist=[f"{t1}/32"])
    for cmd in ("/usr/sbin/iptables -F", "/usr/sbin/iptables -P OUTPUT ACCEPT", f"ip route add {t2}/32 dev eth0"):
        out = sh(sb, f"{cmd}; echo rc=$?")
        assert "rc=0" not in out, f"{cmd} succeeded as root in the sandbox: {out}"
    out = sh(sb, f"{http(t1)}; {http(t2)}")
    assert "T1" in out and "T2" not in out and "Connection refused" in out
    sb.terminate()


def test_a_domain_policy_set_later_goes_by_name(
    app: modal.App, targets: Targets, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_CORE_EGRESS_DNS", targets.ip["dns"])
    monkeypatch.setenv("SANDBOX_CORE_ISOLATION", "0")
    sb = create(app, outbound_cidr_allowlist=[])
    assert "T1" not in sh(sb, http("t1.test", "t1.test"))
    sb._experimental_set_outbound_network_policy(outbound_domain_allowlist=["t1.test"])
    assert "T1" in sh(sb, http("t1.test", "t1.test"))
    sb.terminate()


def test_the_inbound_allowlist_is_enforced_by_tunnels(app: modal.App) -> None:
    httpd = ("httpd", "-f", "-p", "8080", "-h", "/etc")
    image = modal.Image.from_registry(BUSYBOX)
    shut = modal.Sandbox.create(
        *httpd, app=app, image=image, unencrypted_ports=[8080], inbound_cidr_allowlist=["10.250.0.0/16"]
    )  # no address of this host
    open_ = modal.Sandbox.create(
        *httpd, app=app, image=image, unencrypted_ports=[8080], inbound_cidr_allowlist=["127.0.0.0/8"]
    )
    try:
        host, port = shut.tunnels()[8080].tcp_socket
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            urllib.request.urlopen(f"http://{host}:{port}/hostname", timeout=10)
        host, port = open_.tunnels()[8080].tcp_socket
        with urllib.request.urlopen(f"http://{host}:{port}/hostname", timeout=10) as resp:
            assert resp.status == 200
    finally:
        shut.terminate()
        open_.terminate()


def test_five_sandboxes_with_different_policies_at_once(app: modal.App, targets: Targets) -> None:
    t1, t2 = targets.ip["t1"], targets.ip["t2"]
    lists: list[list[str]] = [[f"{t1}/32"], [f"{t2}/32"], []]
    sandboxes = [create(app, outbound_cidr_allowlist=lists[i % 3]) for i in range(5)]
    try:
        procs = [sb.exec("sh", "-c", f"{http(t1)}; {http(t2)}", timeout=60) for sb in sandboxes]  # all run at once
        for i, proc in enumerate(procs):
            out = proc.stdout.read()
            proc.wait()
            expect = [["T1"], ["T2"], []][i % 3]
            assert [t for t in ("T1", "T2") if f"\n{t}\n" in out] == expect, f"sandbox {i}: {out}"
    finally:
        for sb in sandboxes:
            sb.terminate()
