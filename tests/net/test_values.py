"""The public value types of networking: Tunnel, Probe, SandboxConnectCredentials (Modal's fields and messages)."""

from __future__ import annotations

import re
import warnings

import attrs
import pytest

from sandbox_core._connect import SandboxConnectCredentials
from sandbox_core._engine.inbound import CidrAllowlist
from sandbox_core._tunnel import Tunnel
from sandbox_core.exception import DeprecationError, InvalidError
from sandbox_core.probe import Probe

# ------------------------------------------------------------------------------------------------ Tunnel


def test_an_encrypted_tunnel() -> None:
    t = Tunnel("127.0.0.1", 40123, "", 0)
    assert t.url == "https://127.0.0.1:40123"
    assert t.tls_socket == ("127.0.0.1", 40123)
    with pytest.raises(
        InvalidError, match=r"not configured for unencrypted TCP\. Please use `forward\(\.\.\., unencrypted=True\)`\."
    ):
        t.tcp_socket  # noqa: B018


def test_port_443_is_left_out_of_the_url_and_ipv6_is_bracketed() -> None:
    assert Tunnel("tunnels.example", 443, "", 0).url == "https://tunnels.example"
    assert Tunnel("::1", 8443, "", 0).url == "https://[::1]:8443"


def test_an_unencrypted_tunnel_gives_its_tcp_socket_and_warns_on_url() -> None:
    t = Tunnel(host="127.0.0.1", port=40124, unencrypted_host="127.0.0.1", unencrypted_port=40124)
    assert t.tcp_socket == ("127.0.0.1", 40124)
    with pytest.warns(DeprecationError, match="2026-03-05: `.url` on unencrypted tunnels will be deprecated"):
        assert t.url == "https://127.0.0.1:40124"


def test_an_encrypted_tunnel_url_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Tunnel("localhost", 1, "", 0).url == "https://localhost:1"


def test_tunnels_are_frozen_values() -> None:
    t = Tunnel("localhost", 1, "", 0)
    assert t == Tunnel("localhost", 1, "", 0) and hash(t) == hash(Tunnel("localhost", 1, "", 0))
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        t.port = 2  # type: ignore[misc]


@pytest.mark.parametrize("bad", [("h", 70000, "", 0), ("h", "80", "", 0), (None, 1, "", 0), ("h", True, "", 0)])
def test_a_malformed_tunnel_is_refused(bad: tuple[object, ...]) -> None:
    with pytest.raises(InvalidError):
        Tunnel(*bad)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ Probe


def test_probe_constructors() -> None:
    assert Probe.with_tcp(8080) == Probe(tcp_port=8080, exec_argv=None, interval_ms=100)
    p = Probe.with_exec("sh", "-c", "test -f /tmp/ready", interval_ms=250)
    assert p.exec_argv == ("sh", "-c", "test -f /tmp/ready") and p.interval_ms == 250 and p.tcp_port is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: Probe.with_tcp("8080"), "Probe.with_tcp() expects an integer `port`"),  # type: ignore[arg-type]
        (lambda: Probe.with_tcp(0), "Probe.with_tcp() expects `port` in [1, 65535], got 0"),
        (lambda: Probe.with_tcp(65536), "Probe.with_tcp() expects `port` in [1, 65535], got 65536"),
        (lambda: Probe.with_tcp(80, interval_ms=1.5), "Probe.with_tcp() expects an integer `interval_ms`"),  # type: ignore[arg-type]
        (lambda: Probe.with_tcp(80, interval_ms=0), "Probe.with_tcp() expects `interval_ms` > 0, got 0"),
        (lambda: Probe.with_exec(), "Probe.with_exec() requires at least one argument"),
        (lambda: Probe.with_exec("ls", 1), "Probe.with_exec() expects all arguments to be strings"),  # type: ignore[arg-type]
        (lambda: Probe.with_exec("ls", interval_ms="5"), "Probe.with_exec() expects an integer `interval_ms`"),  # type: ignore[arg-type]
        (lambda: Probe.with_exec("ls", interval_ms=-1), "Probe.with_exec() expects `interval_ms` > 0, got -1"),
        (lambda: Probe(), "Probe must be created with Probe.with_tcp(...) or Probe.with_exec(...)"),
        (
            lambda: Probe(tcp_port=1, exec_argv=("ls",)),
            "Probe must be created with Probe.with_tcp(...) or Probe.with_exec(...)",
        ),
        (lambda: Probe(tcp_port=0), "Probe.with_tcp() expects `port` in [1, 65535], got 0"),
    ],
)
def test_probe_validation_uses_modals_messages(call: object, message: str) -> None:
    with pytest.raises(InvalidError) as info:
        call()  # type: ignore[operator]
    assert str(info.value) == message


def test_probe_round_trips_through_json() -> None:
    for p in (Probe.with_tcp(8080, interval_ms=50), Probe.with_exec("cat", "/tmp/ready ok")):
        assert Probe.from_json(p.to_json()) == p
    for junk in ("", "[]", '{"tcp": 0, "interval_ms": 1}', '{"exec": "ls"}'):
        with pytest.raises(InvalidError):
            Probe.from_json(junk)


# ------------------------------------------------------------------------------------------------ credentials


def test_credentials_keep_the_token_out_of_repr() -> None:
    creds = SandboxConnectCredentials("http://127.0.0.1:40000", "s3cr3t-token")
    assert creds.url == "http://127.0.0.1:40000" and creds.token == "s3cr3t-token"
    assert "s3cr3t" not in repr(creds)
    with pytest.raises(ValueError, match="non-empty"):
        SandboxConnectCredentials("http://x", "")


# ------------------------------------------------------------------------------------------------ allowlist


def test_cidr_allowlist() -> None:
    allow = CidrAllowlist.parse(["10.0.0.0/8", "2001:db8::/32", "192.168.1.7"])
    assert allow.allows("10.1.2.3") and allow.allows("::ffff:10.9.9.9") and allow.allows("2001:db8::1")
    assert allow.allows("192.168.1.7") and not allow.allows("192.168.1.8")
    assert not allow.allows("127.0.0.1") and not allow.allows(None) and not allow.allows("garbage")
    assert CidrAllowlist.parse(None).allows("203.0.113.1") and CidrAllowlist.parse(None).allows(None)
    assert not CidrAllowlist.parse([]).allows("127.0.0.1")
    with pytest.raises(InvalidError, match=re.escape("'10.0.0.0/33' is not a CIDR range")):
        CidrAllowlist.parse(["10.0.0.0/33"])
    with pytest.raises(InvalidError, match="must be a string"):
        CidrAllowlist.parse([10])  # type: ignore[list-item]
