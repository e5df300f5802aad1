"""The facade generator: manifest enforcement, determinism, --check, typing, and coverage of sandbox_core."""

from __future__ import annotations

import ast
import inspect
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import attrs
import fakecore_manifest
import pytest

import sandbox_core
import sandbox_core_sync
from sandbox_core_sync import _codegen
from sandbox_core_sync._codegen import MANIFEST, GenerationError, Manifest, generate

from .conftest import REPO, SYNC_TESTS, subprocess_env

FAKE = fakecore_manifest.MANIFEST
ASYNC_DUNDER_TWINS = {
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
    "__aiter__": "__iter__",
    "__anext__": "__next__",
}


def _write_package(root: Path, name: str, source: str) -> None:
    pkg = root / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent(source))
    (root / f"{name}_sync").mkdir()
    (root / f"{name}_sync" / "__init__.py").write_text("")


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path for throw-away implementation packages."""
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _manifest(pkg: str, **kw: object) -> Manifest:
    return Manifest(package=pkg, output_package=f"{pkg}_sync", exception_module=None, **kw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------- checked-in output


def test_fake_facade_is_up_to_date() -> None:
    assert _codegen.check(FAKE) == []


def test_sandbox_core_facade_is_up_to_date() -> None:
    diffs = _codegen.check(MANIFEST)
    assert diffs == [], "sandbox_core_sync is stale: run `python -m sandbox_core_sync._codegen`\n" + "".join(diffs)


def test_check_cli_exits_0_when_fresh_and_1_with_a_diff_when_stale(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "sandbox_core_sync._codegen", "--manifest", "fakecore_manifest:MANIFEST", "--check"]
    ok = subprocess.run(cmd, capture_output=True, text=True, env=subprocess_env(), cwd=REPO, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # A stale copy: write the facade into a scratch directory, then damage it.
    out = tmp_path / "out"
    out.mkdir()
    assert len(_codegen.write(FAKE, out)) == 5  # _generated, __init__, exception, sandbox, streams
    assert _codegen.check(FAKE, out) == []
    generated = out / "_generated.py"
    generated.write_text(generated.read_text().replace("def __call__", "def __call_", 1))
    diffs = _codegen.check(FAKE, out)
    assert len(diffs) == 1 and "-    def __call_(" in diffs[0] and "+    def __call__(" in diffs[0]


def test_output_is_deterministic_and_has_a_header() -> None:
    first, second = generate(FAKE), generate(FAKE)
    assert first == second
    for name, text in first.items():
        assert text.startswith("# GENERATED from `fakecore` by sandbox_core_sync._codegen -- DO NOT EDIT."), name
        assert f"sha256: {_codegen.generator_hash()}" in text
        assert "Regenerate: python -m sandbox_core_sync._codegen" in text
        assert REPO not in text and SYNC_TESTS not in text  # no absolute paths


def test_the_generator_runs_without_importing_the_checked_in_facade() -> None:
    """So that regenerating works precisely when a stale _generated.py no longer imports."""
    code = (
        "import sys, sandbox_core_sync._codegen, sandbox_core_sync as s; "
        "print(sorted(n for n in sys.modules if n.startswith('sandbox_core_sync'))); "
        "s.Sandbox; print('_generated' in sys.modules['sandbox_core_sync._generated'].__name__)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "['sandbox_core_sync', 'sandbox_core_sync._codegen', 'sandbox_core_sync._runtime']",
        "True",
    ]


def test_generation_needs_no_docker_engine() -> None:
    env = subprocess_env()
    env["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
    code = "from sandbox_core_sync._codegen import MANIFEST, generate; print(sorted(generate(MANIFEST)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "_generated.py" in proc.stdout


def test_sandbox_core_never_imports_the_facade() -> None:
    code = textwrap.dedent(
        """
        import importlib, pkgutil, sys
        import sandbox_core
        for m in pkgutil.walk_packages(sandbox_core.__path__, "sandbox_core."):
            importlib.import_module(m.name)
        bad = sorted(n for n in sys.modules if n.startswith("sandbox_core_sync"))
        print(bad)
        sys.exit(1 if bad else 0)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Statically too, so that a lazy import inside a function is caught as well.
    for path in Path(sandbox_core.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("sandbox_core_sync") for a in node.names), path
            elif isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("sandbox_core_sync"), path


# --------------------------------------------------------------------------------------------- coverage


def _public_async_members(cls: type) -> list[str]:
    names = []
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, raw in vars(klass).items():
            if name.startswith("_") and name not in ASYNC_DUNDER_TWINS:
                continue
            fn = raw.__func__ if isinstance(raw, classmethod | staticmethod) else raw
            if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn) or name in ASYNC_DUNDER_TWINS:
                names.append(name)
    return names


@pytest.mark.parametrize(
    ("impl_pkg", "facade_pkg", "manifest"),
    [(sandbox_core, sandbox_core_sync, MANIFEST), ("fakecore", "fakecore_sync", FAKE)],
    ids=["real", "fake"],
)
def test_every_public_async_member_has_a_facade_counterpart(
    impl_pkg: object, facade_pkg: object, manifest: Manifest
) -> None:
    """Every public async member is in the facade, unless the manifest excludes it (with its reason)."""
    import importlib

    impl = importlib.import_module(impl_pkg) if isinstance(impl_pkg, str) else impl_pkg
    facade = importlib.import_module(facade_pkg) if isinstance(facade_pkg, str) else facade_pkg
    missing: list[str] = []
    for name in impl.__all__:  # type: ignore[attr-defined]
        obj = getattr(impl, name)
        if not hasattr(facade, name):
            missing.append(name)
            continue
        twin = getattr(facade, name)
        if inspect.iscoroutinefunction(obj) or inspect.isasyncgenfunction(obj):
            if not (callable(twin) and hasattr(twin, "aio")):
                missing.append(f"{name} (.aio)")
            continue
        if not isinstance(obj, type):
            continue
        for member in _public_async_members(obj):
            if member in manifest.member_exclude.get(name, {}):
                continue
            if member in ASYNC_DUNDER_TWINS:
                if not (hasattr(twin, member) and hasattr(twin, ASYNC_DUNDER_TWINS[member])):
                    missing.append(f"{name}.{member}")
                continue
            facade_member = inspect.getattr_static(twin, member, None)
            if facade_member is None:
                missing.append(f"{name}.{member}")
            elif isinstance(facade_member, property):
                ret = facade_member.fget.__annotations__.get("return", "") if facade_member.fget else ""
                if not str(ret).startswith(f"_{name}_{member}"):
                    missing.append(f"{name}.{member} (not a blocking method with .aio)")
            elif not hasattr(facade_member, "aio"):
                missing.append(f"{name}.{member} (.aio)")
    assert missing == [], f"public async members of {impl.__name__} without a facade counterpart: {missing}"


def test_value_types_and_exceptions_are_reexported_unchanged() -> None:
    for name in MANIFEST.reexport:
        if name == MANIFEST.exception_module:
            continue  # a module of its own (sandbox_core_sync.exception), holding the same classes
        assert getattr(sandbox_core_sync, name) is getattr(sandbox_core, name), name
    for name in sandbox_core.exception.__all__:
        assert getattr(sandbox_core_sync.exception, name) is getattr(sandbox_core.exception, name), name


# --------------------------------------------------------------------------------------------- failing loudly


def test_a_public_name_neither_wrapped_nor_excluded_fails_generation() -> None:
    broken = attrs.evolve(FAKE, wrap=tuple(n for n in FAKE.wrap if n != "FileIO"))
    with pytest.raises(GenerationError, match=r"fakecore\.FileIO is public .* neither wraps, re-exports nor excludes"):
        generate(broken)


def test_a_stale_manifest_entry_fails_generation() -> None:
    broken = attrs.evolve(FAKE, reexport=(*FAKE.reexport, "Gone"))
    with pytest.raises(GenerationError, match=r"'Gone', which is not in fakecore.__all__"):
        generate(broken)


def test_excluding_a_public_name_leaves_it_out() -> None:
    m = attrs.evolve(FAKE, wrap=tuple(n for n in FAKE.wrap if n != "sweep"), exclude={"sweep": "not needed"})
    assert "_F_sweep" not in generate(m)["_generated.py"]


def test_an_unclassifiable_member_fails_generation_naming_it(scratch: Path) -> None:
    _write_package(
        scratch,
        "cg_attr",
        """
        __all__ = ["Thing"]
        class Thing:
            LIMIT = 5
            async def go(self) -> None: ...
        """,
    )
    with pytest.raises(GenerationError, match=r"cg_attr\.Thing\.LIMIT: public member of type int"):
        generate(_manifest("cg_attr", wrap=("Thing",)))
    ok = _manifest("cg_attr", wrap=("Thing",), member_exclude={"Thing": {"LIMIT": "a constant"}})
    assert "class _Thing_go(" in generate(ok)["_generated.py"]


def test_an_async_property_fails_generation(scratch: Path) -> None:
    _write_package(
        scratch,
        "cg_prop",
        """
        __all__ = ["Thing"]
        class Thing:
            @property
            async def size(self) -> int: ...
        """,
    )
    with pytest.raises(GenerationError, match=r"cg_prop\.Thing\.size: an async property getter"):
        generate(_manifest("cg_prop", wrap=("Thing",)))


def test_returning_an_unwrapped_class_with_async_members_fails(scratch: Path) -> None:
    _write_package(
        scratch,
        "cg_ret",
        """
        __all__ = ["Thing", "Other"]
        class Other:
            async def go(self) -> None: ...
        class Thing:
            async def other(self) -> Other: ...
        """,
    )
    with pytest.raises(GenerationError, match=r"Other has async members: it must be wrapped"):
        generate(_manifest("cg_ret", wrap=("Thing",), reexport=("Other",)))
    with pytest.raises(GenerationError, match=r"cg_ret\.Other, which has async members but is not wrapped"):
        generate(_manifest("cg_ret", wrap=("Thing",), exclude={"Other": "x"}))


def test_an_unannotated_parameter_fails_generation(scratch: Path) -> None:
    _write_package(
        scratch,
        "cg_ann",
        """
        __all__ = ["Thing"]
        class Thing:
            async def go(self, x) -> None: ...
        """,
    )
    with pytest.raises(GenerationError, match=r"cg_ann\.Thing\.go: parameter 'x' has no annotation"):
        generate(_manifest("cg_ann", wrap=("Thing",)))


def test_submodules_mirror_the_implementations_module_names(scratch: Path) -> None:
    _write_package(
        scratch,
        "cg_sub",
        """
        from .things import Thing, Value, Hidden, LIMIT
        __all__ = ["Thing", "Value", "Hidden"]
        """,
    )
    (scratch / "cg_sub" / "things.py").write_text(
        textwrap.dedent(
            """
            import enum
            __all__ = ["Thing", "Value", "LIMIT"]
            LIMIT = 5
            class Value(enum.Enum):
                A = 1
            class Thing:
                async def go(self) -> Value: ...
            class Hidden:
                async def go(self) -> None: ...
            """
        )
    )
    (scratch / "cg_sub" / "empty.py").write_text("")
    base = _manifest("cg_sub", wrap=("Thing",), reexport=("Value",), exclude={"Hidden": "internal"})
    out = generate(attrs.evolve(base, submodules=("things",)))["things.py"]
    assert "from cg_sub_sync._generated import Thing as Thing" in out  # the blocking class
    assert "from cg_sub.things import Value as Value" in out  # the same value type
    assert "from cg_sub.things import LIMIT as LIMIT" in out  # a plain constant
    with pytest.raises(GenerationError, match=r"cg_sub\.empty exports nothing"):
        generate(attrs.evolve(base, submodules=("empty",)))
    with pytest.raises(GenerationError, match=r"submodule 'gone', but cg_sub\.gone cannot be imported"):
        generate(attrs.evolve(base, submodules=("gone",)))
    with pytest.raises(GenerationError, match=r"submodule 'Thing' clashes"):
        generate(attrs.evolve(base, submodules=("Thing",)))
    (scratch / "cg_sub" / "things.py").write_text(
        (scratch / "cg_sub" / "things.py").read_text().replace('"LIMIT"]', '"LIMIT", "Helper"]')
        + "class Helper:\n    pass\n"
    )
    sys.modules.pop("cg_sub.things", None)
    sys.modules.pop("cg_sub", None)
    with pytest.raises(GenerationError, match=r"cg_sub\.things\.Helper is exported by submodule 'things' but is not"):
        generate(attrs.evolve(base, submodules=("things",)))


def test_a_submodule_dropped_from_the_manifest_is_deleted_by_regeneration(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    _codegen.write(FAKE, out)
    assert (out / "streams.py").exists()
    fewer = attrs.evolve(FAKE, submodules=("sandbox",))
    (diff,) = [d for d in _codegen.check(fewer, out) if "streams.py" in d]
    assert "no longer generated" in diff
    assert out / "streams.py" in _codegen.write(fewer, out)
    assert not (out / "streams.py").exists() and (out / "sandbox.py").exists()
    assert _codegen.check(fewer, out) == []


def test_generation_errors_are_reported_by_the_cli(scratch: Path) -> None:
    _write_package(scratch, "cg_cli", '__all__ = ["f"]\nasync def f() -> None: ...\n')
    (scratch / "cg_cli_manifest.py").write_text(
        "from sandbox_core_sync._codegen import Manifest\n"
        "MANIFEST = Manifest(package='cg_cli', output_package='cg_cli_sync', wrap=(), exception_module=None)\n"
    )
    env = subprocess_env()
    env["PYTHONPATH"] = f"{scratch}:{env['PYTHONPATH']}"
    proc = subprocess.run(
        [sys.executable, "-m", "sandbox_core_sync._codegen", "--manifest", "cg_cli_manifest:MANIFEST"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "cg_cli.f is public (in __all__) but the manifest neither wraps" in proc.stderr


# --------------------------------------------------------------------------------------------- typing


def test_generated_facades_and_usage_files_pass_mypy_strict() -> None:
    """mypy --strict over the generated modules and the assert_type usage files (sync and .aio forms)."""
    if shutil.which("mypy", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("mypy is not installed in this environment")
    # Module names, not paths: tests/sync is on MYPYPATH, as it is on sys.path for the tests.
    targets = ["-p", "sandbox_core_sync", "-p", "fakecore_sync", "-m", "typecheck_fake", "-m", "typecheck_usage"]
    env = subprocess_env()
    env["MYPYPATH"] = SYNC_TESTS
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", *targets],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


KITCHEN_SINK = '''
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Self

import attrs

__all__ = ["Counter", "Node", "make_node"]


@attrs.define(eq=False)
class Node:
    """A slotted attrs class with a public field, a property with a setter and async members."""

    name: str
    _label: str = "x"

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, value: str) -> None:
        self._label = value

    async def child(self, name: str) -> Node:
        await asyncio.sleep(0)
        return Node(name)

    async def me(self) -> Self:
        return self

    @staticmethod
    def build(name: str) -> Node:
        return Node(name)

    def peer(self, other: Node | None = None) -> Node | None:
        return other

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)


class Counter:
    """Iterates over itself; an async context manager."""

    def __init__(self) -> None:
        self.n = 0

    @classmethod
    async def open(cls) -> Counter:
        return cls()

    def __aiter__(self) -> AsyncIterator[int]:
        return self._count()

    async def _count(self) -> AsyncIterator[int]:
        for i in range(3):
            yield i

    async def __aenter__(self) -> Counter:
        return self

    async def __aexit__(self, *exc: object) -> bool:
        return True  # swallows the exception


async def make_node(name: str) -> Node:
    return Node(name)
'''


def test_kitchen_sink_generates_typed_code_that_works(scratch: Path) -> None:
    _write_package(scratch, "cg_sink", KITCHEN_SINK)
    manifest = _manifest("cg_sink", wrap=("Node", "Counter", "make_node"))
    assert _codegen.write(manifest, scratch / "cg_sink_sync")
    import cg_sink
    import cg_sink_sync

    node = cg_sink_sync.make_node("a")
    assert isinstance(node, cg_sink_sync.Node) and node.name == "a"
    assert node.me() is node
    child = node.child("b")
    assert child.name == "b" and child == cg_sink_sync.Node.build("b")  # __eq__ forwarded to the implementation
    assert hash(child) == hash(cg_sink_sync.Node.build("b"))
    node.label = "new"
    assert node.label == "new" and node._impl.label == "new"
    assert node.peer(child) is child and node.peer() is None
    counter = cg_sink_sync.Counter.open()
    assert list(counter) == [0, 1, 2]
    with counter as c:
        assert c is counter
        raise ValueError("swallowed by __aexit__")
    assert cg_sink_sync.Node.build("z")._impl == cg_sink.Node("z")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent", "-p", "cg_sink_sync"],
        capture_output=True,
        text=True,
        cwd=scratch,
        env={**subprocess_env(), "MYPYPATH": str(scratch)},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_sync_method_returning_an_async_context_manager_fails(scratch: Path) -> None:
    _write_package(
        scratch,
        "cg_acm",
        """
        import contextlib
        from collections.abc import AsyncIterator
        __all__ = ["Thing"]
        class Thing:
            @contextlib.asynccontextmanager
            async def session(self) -> AsyncIterator[None]:
                yield
        """,
    )
    with pytest.raises(GenerationError, match=r"cg_acm\.Thing\.session: a sync method returning an awaitable"):
        generate(_manifest("cg_acm", wrap=("Thing",)))


def test_a_class_attribute_holding_a_wrapped_class_is_the_facade_class(scratch: Path) -> None:
    """Modal's ``Secret.objects.create(...)``: a manager class with static async methods, named by a class attribute
    of the object it manages."""
    _write_package(
        scratch,
        "cg_mgr",
        """
        from __future__ import annotations
        from typing import ClassVar
        __all__ = ["Manager", "Thing"]
        class Manager:
            @staticmethod
            async def create(name: str) -> Thing:
                return Thing(name)
        class Thing:
            objects: ClassVar[type[Manager]] = Manager
            def __init__(self, name: str) -> None:
                self.name = name
            async def hello(self) -> str:
                return "hello " + self.name
        """,
    )
    with pytest.raises(GenerationError, match=r"cg_mgr\.Thing\.objects: refers to Manager, which must come before"):
        generate(_manifest("cg_mgr", wrap=("Thing", "Manager")))
    assert _codegen.write(_manifest("cg_mgr", wrap=("Manager", "Thing")), scratch / "cg_mgr_sync")
    import cg_mgr_sync

    thing = cg_mgr_sync.Thing.objects.create("x")
    assert isinstance(thing, cg_mgr_sync.Thing) and thing.hello() == "hello x"
    assert cg_mgr_sync.Thing.objects is cg_mgr_sync.Manager
