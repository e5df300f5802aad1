"""Ingress logic without an engine: declared ports and their labels, the records clients and supervisors share,
Modal's argument checks, listener settings, the supervisor's accounting of probe execs, the TCP probe's rules."""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

import sandbox_core as sc
from sandbox_core import _create
from sandbox_core import exception as exc
from sandbox_core._engine import labels as L
from sandbox_core._engine.inbound import ALLOW_ALL
from sandbox_core._engine.netpolicy import LABEL_INBOUND, NET_HOLDER
from sandbox_core._engine.values import EngineEvent, RecordInfo
from sandbox_core._ingress import client, listeners, probing, reach, spec
from sandbox_core._ingress import records as R
from sandbox_core._supervisor import _Activity

# ------------------------------------------------------------------------------------------------ declared ports


def test_declared_ports_record_each_port_with_its_kind_and_round_trip_through_labels() -> None:
    ports = spec.declared_ports([443, 443], (8443,), [22, 9000])
    assert ports == {443: spec.PortKind.TLS, 8443: spec.PortKind.H2, 22: spec.PortKind.TCP, 9000: spec.PortKind.TCP}
    labels = spec.ingress_labels(ports, sc.Probe.with_exec("true", interval_ms=50))
    assert labels[spec.PORTS] == "22/tcp,443/tls,8443/h2,9000/tcp"
    assert spec.ports_from_labels(labels) == ports
    assert spec.probe_from_labels(labels) == sc.Probe.with_exec("true", interval_ms=50)
    assert spec.ingress_labels({}, None) == {}
    assert spec.ports_from_labels({}) == {} and spec.probe_from_labels({}) is None
    bindings = spec.port_bindings(ports)
    assert [(b.container_port, b.host_ip, b.host_port) for b in bindings] == [
        (22, "127.0.0.1", 0),
        (443, "127.0.0.1", 0),
        (8443, "127.0.0.1", 0),
        (9000, "127.0.0.1", 0),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([80], [80], []), "port 80 is listed in both `encrypted_ports` and `h2_ports`: choose one"),
        (([], [], [0]), "`unencrypted_ports` must hold port numbers in [1, 65535], got 0"),
        (([65536], [], []), "`encrypted_ports` must hold port numbers in [1, 65535], got 65536"),
        (([], ["80"], []), "`h2_ports` must hold port numbers in [1, 65535], got '80'"),
        (([True], [], []), "`encrypted_ports` must hold port numbers in [1, 65535], got True"),
        (("80", [], []), "`encrypted_ports` must be a list of port numbers, got str"),
        ((list(range(1, 102)), [], []), "a sandbox can open at most 100 ports, got 101"),
    ],
)
def test_bad_ports_are_refused_naming_the_parameter(args: tuple[object, object, object], message: str) -> None:
    with pytest.raises(exc.InvalidError) as info:
        spec.declared_ports(*args)
    assert str(info.value) == message


def test_a_readiness_probe_must_be_a_probe() -> None:
    assert spec.check_probe(None) is None
    with pytest.raises(exc.InvalidError, match=r"readiness_probe must be a Probe .*got str"):
        spec.check_probe("tcp:8080")


def _request(**kw: object) -> _create.CreateRequest:
    """A create request with every argument at Modal's default, except ``kw``."""
    base: dict[str, object] = {f.name: None for f in attrs.fields(_create.CreateRequest) if f.default is attrs.NOTHING}
    base.update(args=(), network_file_systems={}, volumes={}, encrypted_ports=[], h2_ports=[], unencrypted_ports=[])
    base.update(kw)
    return _create.CreateRequest(**base)  # type: ignore[arg-type]


async def test_create_checks_ports_in_modals_order_and_labels_them() -> None:
    # Open ports with block_network fail before a bad gpu (step 5 before step 6), with Modal's message.
    with pytest.raises(exc.InvalidError, match=r"^Cannot specify open ports when `block_network` is enabled$"):
        await sc.Sandbox.create(block_network=True, h2_ports=[443], gpu=["a10g"])  # type: ignore[arg-type]
    # The port values themselves are checked where Modal builds them (after placement and the app).
    with pytest.raises(exc.InvalidError, match="`region` is not supported"):
        await sc.Sandbox.create(encrypted_ports=[80], unencrypted_ports=[80], region="x")
    with pytest.raises(exc.InvalidError, match="listed in both"):
        _create.check_ingress(_request(encrypted_ports=[80], unencrypted_ports=[80]))
    with pytest.raises(exc.InvalidError, match="readiness_probe must be a Probe"):
        _create.check_ingress(_request(readiness_probe=object()))
    req = _request(encrypted_ports=[8000], readiness_probe=sc.Probe.with_tcp(8000))
    _create.check_ingress(req)
    assert req.declared_ports == {8000: spec.PortKind.TLS} and req.probe == sc.Probe.with_tcp(8000)


# ------------------------------------------------------------------------------------------------ records


def _rec(name: str, labels: dict[str, str]) -> RecordInfo:
    return RecordInfo(name, labels, 0.0)


def test_a_claim_round_trips_through_its_record_and_the_highest_generation_counts() -> None:
    me = R.SupervisorId("host-a", 42, "/tmp/lock")
    tunnels = {8000: sc.Tunnel("127.0.0.1", 4100, "", 0), 22: sc.Tunnel("127.0.0.1", 4101, "127.0.0.1", 4101)}
    claim = R.Claim("sb-x", 3, me, "http://127.0.0.1:4200", tunnels)
    labels = claim.labels("ap-1")
    assert labels[L.SANDBOX_ID] == "sb-x" and labels[L.APP_ID] == "ap-1" and labels[L.RECORD_TYPE] == R.CLAIM
    assert R.Claim.from_record(_rec(R.claim_name("sb-x", 3), labels)) == claim
    older = R.Claim("sb-x", 2, R.SupervisorId("host-b", 7, "/l"), "http://x:1", {}).labels("ap-1")
    other = R.Claim("sb-y", 1, me, "http://x:1", {}).labels("ap-1")
    damaged = {**labels, R.TUNNELS: "not json"}
    recs = [_rec("a", older), _rec("b", labels), _rec("c", other), _rec("d", damaged), _rec("e", {"x": "y"})]
    latest = R.latest_claims(recs)
    assert latest["sb-x"] == claim and latest["sb-y"].gen == 1 and set(latest) == {"sb-x", "sb-y"}
    assert R.claim_name("sb-x", 3) == "ingress.sb-x.000003" and R.claim_name("sb-x", 3).startswith(
        R.claim_prefix("sb-x")
    )


def test_a_token_record_keeps_the_hash_never_the_token() -> None:
    rec = R.TokenRecord("ab" * 32, "sb-x", 8080, json.dumps({"u": 1}))
    labels = rec.labels("ap-1")
    assert R.TokenRecord.from_record(_rec(R.token_name(rec.token_hash), labels)) == rec
    assert R.token_name("ab" * 32) == "token." + "ab" * 16
    assert R.TokenRecord.from_record(_rec("t", {**labels, R.TOKEN_PORT: "x"})) is None
    assert R.ready_at(None) is None
    assert R.ready_at(_rec("r", {R.READY_AT: "12.5"})) == 12.5


def test_a_claimant_is_dead_when_its_process_or_its_lock_is_gone(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.touch()
    here = socket.gethostname()
    assert R.SupervisorId.parse("h|12|/x") == R.SupervisorId("h", 12, "/x")
    assert R.SupervisorId.parse("garbage") is None
    assert R.SupervisorId("some-other-host", 1, str(lock)).alive()  # another host: cannot tell
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    assert not R.SupervisorId(here, int(dead.stdout), str(lock)).alive()
    assert not R.SupervisorId(here, os.getpid(), str(lock)).alive()  # alive process, lock not held
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert R.SupervisorId(here, os.getpid(), str(lock)).alive()
    finally:
        os.close(fd)


# -------------------------------------------------------------------------------------- connect-token arguments


@pytest.mark.parametrize(
    ("metadata", "port", "message"),
    [
        ({"a": object()}, 8080, "Failed to serialize user_metadata: Object of type object is not JSON serializable"),
        (None, "8080", "port must be between 1 and 65535"),
        (None, 8080.0, "port must be between 1 and 65535"),
        (None, 0, "port must be between 1 and 65535"),
        (None, 65536, "port must be between 1 and 65535"),
        ({"a": object()}, 0, "Failed to serialize user_metadata"),  # Modal checks the metadata first
        (b"bytes", 80, "user_metadata must be a str, a dict or None, got bytes"),
        ("line\nbreak", 80, "user_metadata cannot contain line breaks"),
        ("x" * 8193, 80, "user_metadata is sent as a header and may be at most 8192 bytes"),
    ],
)
def test_connect_token_arguments_are_checked_as_modal_does(metadata: object, port: object, message: str) -> None:
    with pytest.raises(exc.InvalidError) as info:
        client.check_token_arguments(metadata, port)
    assert str(info.value).startswith(message)


def test_connect_token_metadata_is_sent_as_given_or_as_json() -> None:
    assert client.check_token_arguments(None, 1) is None
    assert client.check_token_arguments("plain", True) == "plain"  # True passes as port 1, as in Modal
    assert json.loads(client.check_token_arguments({"user": "ä"}, 8080) or "") == {"user": "ä"}


# ------------------------------------------------------------------------------------------------ listeners


def test_listener_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(listeners.HOST_ENV, raising=False)
    monkeypatch.delenv(listeners.PUBLIC_HOST_ENV, raising=False)
    config = listeners.ListenConfig.from_env()
    assert config == listeners.ListenConfig("127.0.0.1", "127.0.0.1") and config.loopback_only
    monkeypatch.setenv(listeners.HOST_ENV, "0.0.0.0")
    config = listeners.ListenConfig.from_env()
    assert config.public_host == socket.gethostname() and not config.loopback_only
    assert socket.gethostname() in config.certificate_names() and "0.0.0.0" not in config.certificate_names()
    monkeypatch.setenv(listeners.PUBLIC_HOST_ENV, "sandboxes.example.com")
    assert listeners.ListenConfig.from_env().public_host == "sandboxes.example.com"
    monkeypatch.setenv(listeners.HOST_ENV, "my-host")
    with pytest.raises(exc.InvalidError, match="SANDBOX_CORE_TUNNEL_HOST must be an IP address"):
        listeners.ListenConfig.from_env()
    assert listeners.bracketed("::1") == "[::1]" and listeners.bracketed("a.b") == "a.b"


def test_the_inbound_allowlist_and_the_port_owner_come_from_labels() -> None:
    assert reach.inbound_allowlist({}, {}) is ALLOW_ALL
    on_holder = reach.inbound_allowlist({}, {LABEL_INBOUND: "10.0.0.0/8,192.168.1.7/32"})
    assert on_holder.allows("10.1.2.3") and on_holder.allows("192.168.1.7") and not on_holder.allows("127.0.0.1")
    nobody = reach.inbound_allowlist({LABEL_INBOUND: ""}, {})
    assert not nobody.allows("127.0.0.1")
    assert reach.port_owner({NET_HOLDER: "holder-ref"}, "sandbox-ref") == "holder-ref"
    assert reach.port_owner({}, "sandbox-ref") == "sandbox-ref"


# ------------------------------------------------------------------------------------------ probe accounting


def _exec_event(action: str, cid: str, exec_id: str) -> EngineEvent:
    return EngineEvent("container", action, cid, {"execID": exec_id}, 0.0)


def test_probe_execs_are_not_activity_and_other_execs_meanwhile_still_are() -> None:
    act = _Activity()
    act.begin_probe("c1")
    act.on_event(_exec_event("exec_create", "c1", "probe-1"))  # arrives before the create returned its id
    act.on_event(_exec_event("exec_create", "c1", "user-1"))  # a user's exec at the same moment
    assert "c1" not in act.last  # held until the probe's id is known
    act.end_probe("c1", "probe-1")
    first = act.last["c1"]  # the user's exec counted once released
    act.on_event(_exec_event("exec_start", "c1", "probe-1"))
    assert not act.running.get("c1")
    act.on_event(_exec_event("exec_die", "c1", "probe-1"))
    assert act.last["c1"] == first
    act.on_event(_exec_event("exec_start", "c2", "user-2"))
    assert act.idle_since("c2", 0.0) is None  # a running user exec keeps it busy
    act.note("c3")
    assert act.idle_since("c3", 0.0) == act.last["c3"]


def test_a_failed_probe_create_releases_the_held_events() -> None:
    act = _Activity()
    act.begin_probe("c1")
    act.on_event(_exec_event("exec_create", "c1", "user-1"))
    act.end_probe("c1", None)
    assert "c1" in act.last


# ------------------------------------------------------------------------------------------------ tcp probe


async def test_a_tcp_probe_through_a_published_port_ignores_a_proxy_that_hangs_up_at_once() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()  # what the engine's proxy does when nothing listens in the container

    async def stay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()
        writer.close()

    for handler, direct, expected in ((hang_up, False, False), (hang_up, True, True), (stay, False, True)):
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            assert await probing._tcp_once("127.0.0.1", port, direct) is expected
        finally:
            server.close()
            await server.wait_closed()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    assert await probing._tcp_once("127.0.0.1", port, True) is False
