"""Build steps that download (pip, uv, apt) on the Python base, trusting the host's CA bundle through
``SANDBOX_CORE_BUILD_CA_BUNDLE``, and a Modal script using them, run unchanged in both APIs. Each test is skipped,
saying why, when its package index does not answer."""

from __future__ import annotations

import os
import subprocess
import urllib.request
import uuid
from collections.abc import Callable

import pytest

from sandbox_core._engine import EngineAPI
from sandbox_core._imagebuild import base, buildca, builder
from sandbox_core._imagebuild.definition import DebianSlim, ImageDefinition
from sandbox_core._imagebuild.steps import AptInstall, PipInstall, Step, UvPipInstall

from ..conftest import app_name
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


# ------------------------------------------------------------------------------ a Modal script, run unchanged

MODAL_SCRIPT_SYNC = """
import sys
import sandbox_core_sync as modal  # the one line a port changes: `import modal`

app = modal.App.lookup(sys.argv[1], create_if_missing=True)
image = (
    modal.Image.debian_slim()
    .pip_install("six==1.16.0")
    .run_commands("python -c 'import six; print(six.__version__)' > /built-with")
)
sb = modal.Sandbox.create(app=app, image=image)
p = sb.exec("python", "-c", "import six; print(six.__version__, open('/built-with').read().strip())")
print(p.stdout.read().strip())
sb.terminate()
"""

MODAL_SCRIPT_ASYNC = """
import asyncio, sys
import sandbox_core as modal

async def main() -> None:
    app = await modal.App.lookup(sys.argv[1], create_if_missing=True)
    image = (
        modal.Image.debian_slim()
        .pip_install("six==1.16.0")
        .run_commands("python -c 'import six; print(six.__version__)' > /built-with")
    )
    sb = await modal.Sandbox.create(app=app, image=image)
    p = await sb.exec("python", "-c", "import six; print(six.__version__, open('/built-with').read().strip())")
    print((await p.stdout.read()).strip())
    await sb.terminate()

asyncio.run(main())
"""


@pytest.mark.parametrize("script", [MODAL_SCRIPT_SYNC, MODAL_SCRIPT_ASYNC], ids=["blocking", "async"])
def test_a_modal_script_with_pip_install_and_run_commands_runs_unchanged(
    script: str, engine: None, host_trust: None, run_py: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    if why := answers("https://pypi.org/simple/six/"):
        pytest.skip(why)
    proc = run_py(script.replace("sys.argv[1]", repr(app_name("modal-script"))), timeout=600)
    assert proc.stdout.strip().splitlines()[-1] == "1.16.0 1.16.0"
