"""The Python base image: what it contains, how ``python_version`` is honoured, and where it comes from (an
existing image, a registry pull, or a build from Debian's archive when no registry answers)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator

import pytest

from sandbox_core._engine import EngineAPI
from sandbox_core._imagebuild import base, debian, pyversions
from sandbox_core.exception import InvalidError

from ..conftest import REPO
from .conftest import CLOSED_REGISTRY, RUN_LABELS, docker, run_in


@pytest.fixture
async def python_base(eng: EngineAPI) -> base.BaseImage:
    """The shared default base (pre-built by scripts/build-images.sh; built here when missing)."""
    return await base.ensure_python_base(eng, None)


async def test_the_default_base_runs_python(python_base: base.BaseImage, eng: EngineAPI) -> None:
    assert run_in(python_base.image_id, "python3", "-c", "print(1+1)") == "2\n"
    info = await eng.images.inspect(python_base.image_id)
    assert info is not None
    assert info.cmd == ("sleep", "172800")
    assert info.labels["sandbox-core.owner"] == "sandbox-core"
    assert info.labels["sandbox-core.kind"] == "base-image"
    local = "{}.{}".format(*sys.version_info)
    expected = local if local in pyversions.OFFLINE or python_base.source == "pulled" else pyversions.FALLBACK_SERIES
    assert python_base.python_series == expected
    assert run_in(python_base.image_id, "python", "-c", "import sys; print(sys.version[:4])").startswith(expected)


PIP_AS_ROOT = """
set -e
mkdir -p /tmp/pkg/hello && echo 'X = 7' > /tmp/pkg/hello/__init__.py
printf '[build-system]\\nrequires = ["setuptools"]\\n' > /tmp/pkg/pyproject.toml
printf 'build-backend = "setuptools.build_meta"\\n' >> /tmp/pkg/pyproject.toml
printf '[project]\\nname = "hello"\\nversion = "1.0"\\n' >> /tmp/pkg/pyproject.toml
pip install -q --no-index --no-build-isolation /tmp/pkg 2>/dev/null
cd / && python -c 'import hello; print(hello.X, hello.__file__)'
python -m venv /tmp/venv && /tmp/venv/bin/python -m pip --version >/dev/null && echo venv-ok
"""


async def test_pip_installs_as_root_and_venv_works(python_base: base.BaseImage) -> None:
    out = run_in(python_base.image_id, "sh", "-c", PIP_AS_ROOT).splitlines()
    assert out[0].startswith("7 /usr/local/lib/python3")
    assert out[1] == "venv-ok"


async def test_a_version_no_source_provides_names_what_is_available(eng: EngineAPI) -> None:
    with pytest.raises(InvalidError) as info:
        await base.ensure_python_base(eng, "3.12")
    text = str(info.value)
    assert "3.11 (bookworm" in text and "3.13 (trixie" in text
    assert f"{CLOSED_REGISTRY}/python:3.12.10-slim-bookworm" in text  # the pull was tried, and did not answer
    with pytest.raises(InvalidError, match="Unsupported Python version"):
        await base.ensure_python_base(eng, "3.8")


@pytest.fixture
def registry_python(local_registry: str, python_base: base.BaseImage) -> Iterator[str]:
    """``<local registry>/python:<3.X.Y>-slim-bookworm``: the Debian-built base pushed as a stand-in for the
    official image (no public registry answers here)."""
    version = pyversions.OFFICIAL_MICRO[python_base.python_series]
    ref = f"{local_registry}/python:{version}-slim-bookworm"
    docker("tag", python_base.image_id, ref)
    docker("push", ref)
    docker("rmi", ref)
    try:
        yield f"{local_registry}/python"
    finally:
        docker("rmi", ref, check=False)


async def test_a_registry_that_answers_is_pulled_from_with_progress(
    eng: EngineAPI, registry_python: str, python_base: base.BaseImage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(base.REPO_ENV, registry_python)
    log: list[str] = []
    labels = {**RUN_LABELS, "sandbox-core.test-salt": uuid.uuid4().hex}
    pulled = await base.ensure_python_base(eng, python_base.python_series, on_line=log.append, labels=labels)
    assert pulled.source == "pulled"
    assert "-official-" in pulled.tag
    assert any(line.startswith("pulling ") for line in log)
    assert any(line.startswith(("Digest:", "Status:")) for line in log)
    assert run_in(pulled.image_id, "python3", "-c", "print(6*7)") == "42\n"
    again = await base.ensure_python_base(eng, python_base.python_series, labels=labels)
    assert again == pulled


CHILD = """
import asyncio, json, sys, time
from sandbox_core._engine import get_engine
from sandbox_core._imagebuild import base

async def main() -> None:
    log: list[str] = []
    t0 = time.monotonic()
    made = await base.ensure_python_base(await get_engine(), None, on_line=log.append, labels=json.loads(sys.argv[1]))
    print(json.dumps({"id": made.image_id, "tag": made.tag, "source": made.source, "log": log,
                      "seconds": time.monotonic() - t0}))

asyncio.run(main())
"""


@pytest.mark.slow
async def test_without_a_registry_processes_build_the_base_once_from_debian(eng: EngineAPI) -> None:
    labels = json.dumps({**RUN_LABELS, "sandbox-core.test-salt": uuid.uuid4().hex})
    t0 = time.monotonic()
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", textwrap.dedent(CHILD), labels,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO, env=dict(os.environ),
        )
        for _ in range(3)
    ]  # fmt: skip
    outputs = [await p.communicate() for p in procs]
    elapsed = time.monotonic() - t0
    assert all(p.returncode == 0 for p in procs), [err.decode()[-3000:] for _, err in outputs]
    results = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    assert len({r["id"] for r in results}) == 1
    assert {r["source"] for r in results} == {"built"}
    builders = [r for r in results if any(line.startswith("building sandbox-core/debian-slim") for line in r["log"])]
    assert len(builders) == 1
    assert any("no registry provided" in line for line in builders[0]["log"])
    assert sum(any("another process" in line for line in r["log"]) for r in results) == 2
    assert run_in(results[0]["id"], "python3", "-c", "print(1+1)") == "2\n"
    size = (await eng.images.inspect(results[0]["id"])).size  # type: ignore[union-attr]
    print(f"\nbase image from nothing: {elapsed:.1f} s, {size / 1e6:.0f} MB ({results[0]['tag']})")
    assert results[0]["tag"].startswith(debian.REPO)
