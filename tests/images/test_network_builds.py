"""Build steps that download (pip, uv, apt) on the Python base, trusting the host's CA bundle through
``SANDBOX_CORE_BUILD_CA_BUNDLE``. Each test is skipped, saying why, when its package index does not answer."""

from __future__ import annotations

import os
import urllib.request
import uuid

import pytest

from sandbox_core._engine import EngineAPI
from sandbox_core._imagebuild import base, buildca, builder
from sandbox_core._imagebuild.definition import DebianSlim, ImageDefinition
from sandbox_core._imagebuild.steps import AptInstall, PipInstall, Step, UvPipInstall

from .conftest import RUN_LABELS, run_in

HOST_BUNDLE = os.environ.get("SSL_CERT_FILE") or "/etc/ssl/certs/ca-certificates.crt"


def answers(url: str) -> str | None:
    """None when ``url`` answers from this host, else why not."""
    try:
        urllib.request.urlopen(url, timeout=10).close()
    except OSError as e:
        return f"{url} does not answer from this host: {e}"
    return None


@pytest.fixture
def host_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    if not os.path.isfile(HOST_BUNDLE):
        pytest.skip(f"no host CA bundle at {HOST_BUNDLE}")
    monkeypatch.setenv(buildca.ENV_VAR, HOST_BUNDLE)


def on_python(step: Step) -> ImageDefinition:
    return ImageDefinition(DebianSlim(), labels={**RUN_LABELS, "sandbox-core.test-salt": uuid.uuid4().hex}).add(step)


NO_CA_LEFT = "test ! -e /tmp/.sandbox-core-build-ca.pem && sha256sum /etc/ssl/certs/ca-certificates.crt"


async def test_pip_install_from_pypi_with_the_host_trust(eng: EngineAPI, host_trust: None) -> None:
    if why := answers("https://pypi.org/simple/six/"):
        pytest.skip(why)
    built = await builder.build(eng, on_python(PipInstall(["six==1.16.0"])))
    assert run_in(built.image_id, "python", "-c", "import six; print(six.__version__)") == "1.16.0\n"
    # the trust setting leaves no file behind and does not touch the image's own bundle
    python_base = await base.ensure_python_base(eng, None)
    assert run_in(built.image_id, "sh", "-c", NO_CA_LEFT) == run_in(python_base.image_id, "sh", "-c", NO_CA_LEFT)


async def test_uv_pip_install_from_pypi(eng: EngineAPI, host_trust: None) -> None:
    if why := answers("https://pypi.org/simple/idna/"):
        pytest.skip(why)
    built = await builder.build(eng, on_python(UvPipInstall(["idna==3.7"])))
    assert run_in(built.image_id, "python", "-c", "import idna; print(idna.__version__)") == "3.7\n"
    assert run_in(built.image_id, "sh", "-c", "/.uv/uv --version").startswith("uv ")


async def test_apt_install_from_the_debian_archive(eng: EngineAPI, host_trust: None) -> None:
    if why := answers("http://deb.debian.org/debian/dists/bookworm/Release"):
        pytest.skip(why)
    built = await builder.build(eng, on_python(AptInstall(["jq"])))
    assert run_in(built.image_id, "sh", "-c", "echo '{\"a\": 5}' | jq .a") == "5\n"
