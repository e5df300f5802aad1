"""Modal's module names in both packages, so that porting is an import rewrite (``modal`` -> either package)."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

import pytest

import sandbox_core
import sandbox_core_sync
from sandbox_core_sync._codegen import MANIFEST

from .conftest import REPO

#: (Modal module, names programs import from it)
MODAL_MODULES = [
    ("app", ["App"]),
    ("container_process", ["ContainerProcess"]),
    ("exception", ["AsyncUsageWarning", "DeprecationError", "Error", "InvalidError", "NotFoundError"]),
    ("image", ["Image"]),
    ("io_streams", ["StreamReader", "StreamWriter"]),
    ("output", ["enable_output"]),
    ("sandbox", ["Sandbox", "Probe"]),
    ("secret", ["Secret"]),
    ("stream_type", ["StreamType"]),
    ("types", ["FileInfo", "FileType", "FileWatchEvent", "FileWatchEventType", "SandboxConnectCredentials"]),
]


@pytest.mark.parametrize(("module", "names"), MODAL_MODULES, ids=[m for m, _ in MODAL_MODULES])
@pytest.mark.parametrize("package", [sandbox_core, sandbox_core_sync], ids=["async", "blocking"])
def test_modal_module_paths_hold_the_packages_own_objects(package: object, module: str, names: list[str]) -> None:
    pkg_name = package.__name__  # type: ignore[attr-defined]
    mod = importlib.import_module(f"{pkg_name}.{module}")
    assert getattr(package, module) is mod  # also reachable as an attribute, as modal.container_process is
    for name in names:
        top = getattr(package.exception if module == "exception" else package, name)  # type: ignore[attr-defined]
        assert getattr(mod, name) is top, f"{pkg_name}.{module}.{name}"
        assert name in getattr(mod, "__all__", [name])  # sandbox_core.app etc. have no __all__ (yet)


@pytest.mark.parametrize("package", [sandbox_core, sandbox_core_sync], ids=["async", "blocking"])
def test_modals_top_level_error_and_is_local(package: object) -> None:
    assert package.Error is package.exception.Error  # type: ignore[attr-defined]  # `except modal.Error:`
    assert package.is_local() is True  # type: ignore[attr-defined]


def test_blocking_modules_hold_blocking_classes_and_the_same_value_types() -> None:
    import sandbox_core_sync.container_process as cp
    import sandbox_core_sync.io_streams as io
    import sandbox_core_sync.sandbox as sb
    import sandbox_core_sync.stream_type as st

    assert sb.Sandbox is not sandbox_core.Sandbox and hasattr(sb.Sandbox.create, "aio")
    assert cp.ContainerProcess.__module__ == "sandbox_core_sync._generated"
    assert io.StreamReader is sandbox_core_sync.StreamReader
    assert st.StreamType is sandbox_core.StreamType  # value types and enums are the same objects
    assert sandbox_core_sync.image.Image is not sandbox_core.Image and hasattr(
        sandbox_core_sync.Image.debian_slim().build, "aio"
    )
    assert sandbox_core_sync.FilePatternMatcher is sandbox_core.FilePatternMatcher


def test_every_manifest_submodule_mirrors_its_async_module() -> None:
    for sub in MANIFEST.submodules:
        core = importlib.import_module(f"sandbox_core.{sub}")
        facade = importlib.import_module(f"sandbox_core_sync.{sub}")
        assert facade.__all__, sub
        for name in facade.__all__:
            impl, twin = getattr(core, name), getattr(facade, name)
            assert twin is impl or twin is getattr(sandbox_core_sync, name), f"{sub}.{name}"


def test_a_port_is_an_import_rewrite() -> None:
    """Modal-style imports, rewritten only in the package name, resolve in a fresh interpreter."""
    program = textwrap.dedent(
        """
        import sandbox_core_sync as modal
        from sandbox_core_sync.container_process import ContainerProcess
        from sandbox_core_sync.exception import AsyncUsageWarning, NotFoundError
        from sandbox_core_sync.io_streams import StreamReader
        from sandbox_core_sync.sandbox import Sandbox
        from sandbox_core_sync.stream_type import StreamType

        assert modal.container_process.ContainerProcess is ContainerProcess is modal.ContainerProcess
        assert modal.sandbox.Sandbox is Sandbox and modal.io_streams.StreamReader is StreamReader
        assert modal.exception.NotFoundError is NotFoundError and StreamType.PIPE is modal.StreamType.PIPE
        assert issubclass(AsyncUsageWarning, UserWarning)
        with modal.enable_output():
            pass
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "ok\n"
