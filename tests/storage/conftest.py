"""Fixtures for volumes, secrets and logs: volumes named for this run (the session-end check finds any left
behind), a private secret store per test, and helpers that read the engine's own view."""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

import sandbox_core as sc

from ..conftest import BUSYBOX, app_name

_counter = itertools.count()


def volume_name(suffix: str = "vol") -> str:
    """A volume name owned by this test run (unique within it)."""
    return app_name(f"{suffix}-{next(_counter)}")


@pytest_asyncio.fixture(loop_scope="session")
async def named_volume(engine: None) -> AsyncIterator[sc.Volume]:
    """A new named volume of this run, deleted after the test."""
    name = volume_name()
    vol = await sc.Volume.from_name(name, create_if_missing=True).hydrate()
    try:
        yield vol
    finally:
        await sc.Volume.objects.delete(name, allow_missing=True)


@pytest.fixture
def secret_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty secret store for this test (``SANDBOX_CORE_CONFIG_DIR``); returns its directory."""
    monkeypatch.setenv("SANDBOX_CORE_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config" / "secrets"


@pytest.fixture
def busybox() -> sc.Image:
    return sc.Image.from_registry(BUSYBOX)


def engine_volume(vol: sc.Volume) -> dict[str, object] | None:
    """``docker volume inspect`` of the engine volume behind ``vol`` (None when it is gone)."""
    proc = subprocess.run(
        ["docker", "volume", "inspect", f"sandbox-core-volume.{vol.object_id}"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        return None
    info: dict[str, object] = json.loads(proc.stdout)[0]
    return info


async def read_all(vol: sc.Volume, path: str) -> bytes:
    return b"".join([chunk async for chunk in vol.read_file(path)])
