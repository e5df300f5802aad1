"""The engine goes away under a working client: a private dockerd (``engine.py``, never the shared engine) is
stopped with SIGTERM or SIGKILL and started again while an exec streams, a ``wait()`` is pending, creates are in
flight and the supervisor sleeps.

What must hold: every call in flight ends (returns or raises a library exception) within a bounded time; the same
process makes new calls once the engine is back; the sandboxes the restart stopped say so (``EndReason.
ENGINE_RESTART``, ``SandboxTerminatedError`` from ``wait()``, returncode 137 — never a bare 143); the supervisor
enforces a deadline after the restart; tags and the sandbox's record survive, and its name is free again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import RUN_ID

from . import engine as private

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def faulty_engine() -> Iterator[private.PrivateEngine]:
    reason = private.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    private.sweep_stale()
    eng = private.up(uuid.uuid4().hex[:6])
    try:
        yield eng
    finally:
        problems = eng.down()
        assert not problems, problems


def _scenario(eng: private.PrivateEngine, sig: signal.Signals) -> dict[str, object]:
    env = dict(
        os.environ,
        DOCKER_HOST=eng.url,
        SANDBOX_CORE_TEST_RUN=RUN_ID,
        SANDBOX_CORE_SUPERVISOR_LINGER="5",
        # The private engine holds only busybox: no network-holder image (sandbox-core/netpolicy:1) for isolation.
        SANDBOX_CORE_ISOLATION="0",
        PYTHONPATH=ROOT,
    )
    with subprocess.Popen(
        [sys.executable, "-m", "tests.faults._client", f"faults-{RUN_ID}-{sig.name.lower()}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    ) as client:
        try:
            assert client.stdout is not None and client.stdin is not None
            line = client.stdout.readline()
            if line.strip() != "READY":
                client.kill()
                pytest.fail(f"the client did not get ready: {line!r}\n{client.communicate()[1][-3000:]}")
            eng.restart(sig)
            client.stdin.write("UP\n")
            client.stdin.flush()
            out, err = client.communicate(timeout=240)
        finally:
            if client.poll() is None:
                client.kill()
                client.communicate()
    assert client.returncode == 0, err[-3000:]
    result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    print(sig.name, json.dumps(result))
    return result


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_a_client_survives_an_engine_restart(faulty_engine: private.PrivateEngine, sig: signal.Signals) -> None:
    r = _scenario(faulty_engine, sig)
    bounded = ("stream_read", "stream_wait", "pending_wait", "waited_again", "short_wait")
    for key in bounded:
        settled = r[key]
        assert isinstance(settled, dict) and not settled.get("hang"), (key, settled)
        assert not str(settled.get("error", "typed:")).startswith("untyped:"), (key, settled)
    # The pending wait() either saw the engine go (ConnectionError) or the sandbox's end; asked again, it says why.
    pending, again = r["pending_wait"], r["waited_again"]
    assert isinstance(pending, dict) and pending.get("error") in (
        "typed:ConnectionError",
        "typed:SandboxTerminatedError",
    )
    assert isinstance(again, dict) and again.get("error") == "typed:SandboxTerminatedError", r
    assert again["message"] == (
        "Sandbox was stopped because the container engine restarted (a restart stops every container)"
    ), r
    assert r["waited_end_again"] == "engine-restart", r
    creates = r["creates"]
    assert isinstance(creates, list) and creates and "hang" not in creates, creates
    assert all(c == "ok" or c.startswith("typed:") for c in creates), creates
    assert r["new_exec"] == ["again\n", 0], r
    assert r["named_end"] == [137, "engine-restart"], r
    assert r["named_tags"] == {"kept": "yes"}, r
    assert r["short_wait"]["error"] == "typed:SandboxTimeoutError", r  # type: ignore[index]
    assert r["short_end"] == "timeout", r
    assert r["name_reused"] is True, r
