"""The session's swarm: brought up on first use by a test that asks for it, torn down at session end.

Every test in this directory is marked ``cluster`` (deselect with ``-m 'not cluster'``); they skip, with the
reason, when the host cannot run the harness (not root, no ``ip netns``, tools missing).
``SANDBOX_CORE_SWARM=0`` skips them explicitly.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.conftest import RUN_ID

from . import harness
from ._swarm import MEASURED, Swarm, leftovers, remove_leftovers


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "cluster: runs against the real multi-node swarm of tests/cluster")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.path).startswith(here + os.sep):
            item.add_marker(pytest.mark.cluster)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASURED:
        terminalreporter.section("swarm measurements")
        for what, value in MEASURED.items():
            terminalreporter.write_line(f"{what}: {value}")


@pytest.fixture(scope="session")
def swarm_host() -> None:
    """Skips (with the reason) unless this host can run the harness; for tests that bring up their own swarm."""
    if os.environ.get("SANDBOX_CORE_SWARM") == "0":
        pytest.skip("swarm tests disabled by SANDBOX_CORE_SWARM=0")
    reason = harness.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def swarm_cluster(swarm_host: None) -> Iterator[harness.Cluster]:
    """A 2-node swarm (manager n0 + worker n1) for the whole session; nothing of it survives the session."""
    cluster = harness.up(nodes=2)
    try:
        yield cluster
    finally:
        found = leftovers(cluster, RUN_ID)
        cluster.down()
        if found:
            pytest.fail(f"swarm tests left objects behind: {found}")


@pytest_asyncio.fixture
async def swarm(swarm_cluster: harness.Cluster) -> AsyncIterator[Swarm]:
    """Clients for the manager and every node engine, plus a per-test name prefix; what the test made with that
    prefix (services, configs, networks) is removed afterwards, and the cluster is healthy before the test."""
    sw = Swarm(swarm_cluster, prefix=f"t{uuid.uuid4().hex[:6]}", run_id=RUN_ID)
    try:
        await sw.wait_healthy()
        yield sw
    finally:
        try:
            await remove_leftovers(sw)
        finally:
            await sw.close()
