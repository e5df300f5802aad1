"""The same policies through the blocking facade (``sandbox_core_sync``), as a Modal script would use them."""

from __future__ import annotations

import socket
import time
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
