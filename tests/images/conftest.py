"""Fixtures for the image tests: the engine, labels that make a test's images its own, cleanup, a local registry.

Every image these tests build carries ``sandbox-core.test-run=<run id>`` (the definition's labels are part of its
content address, so no other run reuses or removes it), and the images of a module are removed after it. The
shared Python base image (pre-built by scripts/build-images.sh) is used as is and never removed. The official
python image's registry is pointed at a closed loopback port, so no test contacts a registry outside this host.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from sandbox_core._engine import EngineAPI, get_engine
from sandbox_core._imagebuild import base, builder

from ..conftest import RUN_ID, TEST_RUN_LABEL

RUN_LABELS = {TEST_RUN_LABEL: RUN_ID}
RUN_FILTER = f"{TEST_RUN_LABEL}={RUN_ID}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: A loopback port nothing listens on: a registry there "does not answer" (connection refused).
CLOSED_REGISTRY = f"127.0.0.1:{free_port()}"


@pytest.fixture(autouse=True)
def _no_outside_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(base.REPO_ENV, f"{CLOSED_REGISTRY}/python")
    monkeypatch.delenv(base.SOURCE_ENV, raising=False)
    monkeypatch.delenv("SANDBOX_CORE_BUILD_CA_BUNDLE", raising=False)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def _remove_run_images(engine: None) -> AsyncIterator[None]:
    """After a module that reached the engine, remove the images its tests built."""
    yield
    await builder.remove_images(await get_engine(), RUN_LABELS)


@pytest_asyncio.fixture(loop_scope="session")
async def eng(_remove_run_images: None) -> EngineAPI:
    """The engine (the image tests that build ask for it; their images are removed after the module)."""
    return await get_engine()


def docker(*args: str, check: bool = True) -> str:
    """Run the docker CLI; return its stdout."""
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def run_in(image: str, *argv: str) -> str:
    """Run ``argv`` in a throw-away container of ``image`` (labelled for the run); return its stdout."""
    return docker("run", "--rm", "--label", RUN_FILTER, "--label", "sandbox-core.owner=sandbox-core", image, *argv)


@pytest.fixture(scope="module")
def local_registry() -> Iterator[str]:
    """Debian's docker-registry on a free loopback port (the engine treats 127.0.0.0/8 as insecure-allowed)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("docker-registry is not installed (scripts/dev installs it)")
    port = free_port()
    storage = tempfile.mkdtemp(prefix="sandbox-core-registry-")
    config = os.path.join(storage, "config.yml")
    with open(config, "w") as f:
        f.write(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: " + storage + "/data\n"
            f"http:\n  addr: 127.0.0.1:{port}\nlog:\n  level: error\n"
        )
    proc = subprocess.Popen([binary, "serve", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the local registry did not start")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(storage, ignore_errors=True)
