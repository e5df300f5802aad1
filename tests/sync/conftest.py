"""Fixtures for the blocking facade's tests: the fake package ``fakecore`` (no Docker) and its generated facade."""

from __future__ import annotations

import os
import sys
import uuid

import pytest

SYNC_TESTS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(SYNC_TESTS))
# fakecore / fakecore_sync are top-level packages, as sandbox_core / sandbox_core_sync are.
if SYNC_TESTS not in sys.path:
    sys.path.insert(0, SYNC_TESTS)


def subprocess_env() -> dict[str, str]:
    """The environment for a child Python that must import fakecore, fakecore_sync and the project."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([SYNC_TESTS, REPO, *filter(None, [env.get("PYTHONPATH")])])
    return env


@pytest.fixture
def fake_name() -> str:
    """A unique name for a fake sandbox."""
    return f"fake-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def events() -> list[tuple[str, str]]:
    """The fake package's event log, emptied before the test."""
    from fakecore import sandbox

    sandbox.EVENTS.clear()
    return sandbox.EVENTS
