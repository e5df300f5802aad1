"""Generate the blocking facade ``sandbox_core_sync`` from the asyncio package ``sandbox_core``.

Usage::

    python -m sandbox_core_sync._codegen            # (re)write the generated files
    python -m sandbox_core_sync._codegen --check    # exit 1, printing a diff, if they are stale
    python -m sandbox_core_sync._codegen --manifest some.module:MANIFEST   # another package (tests use a fake)

What is generated is decided by an explicit :class:`Manifest` (``MANIFEST`` below for sandbox_core): every public
name of the package (its ``__all__``) must be *wrapped*, *re-exported* unchanged or *excluded* with a reason, and
every public member of a wrapped class is classified by the rules below; anything else is a
:class:`GenerationError` naming the member. Nothing needs a Docker engine: the package is imported, members are
classified with ``inspect``, and signatures are copied from the source text with ``ast`` (defaults and annotations
come out exactly as written; every name they use is imported from where the implementation got it).

=====================================================  ===========================================================
implementation member                                  facade member
=====================================================  ===========================================================
``async def m`` (also static/class methods)            ``obj.m(...)`` blocks; ``await obj.m.aio(...)``
``async def`` generator / ``-> AsyncIterator[X]``      ``obj.m(...)`` is a generator; ``obj.m.aio(...)`` async gen
``__aenter__``/``__aexit__``                           ``with`` and ``async with``
``__aiter__`` / ``__anext__``                          ``for``/``async for`` / ``next()``/``anext()``
``@property`` (sync getter)                            property (runs on the loop thread if it returns a wrapped
                                                       object, since those are created lazily; else in the caller's)
sync method                                            plain method, run on the loop thread (one hop) unless the
                                                       manifest marks it thread-safe (then in the caller's thread)
``@overload`` s                                        copied to ``__call__`` and ``aio``
class attribute holding a wrapped class                the facade class (``Secret.objects.create(...)``)
``__init__`` of a class in ``constructors``              ``Cls(...)`` builds the implementation object (loop thread)
sync method returning a wrapped async context manager  ``with obj.m(...)`` and ``async with obj.m.aio(...)`` (Modal's
                                                       form for ``App.run``); both just build the object
=====================================================  ===========================================================

Besides ``_generated.py`` (the facade classes), ``__init__.py`` (lazy top-level names) and ``exception.py``, one
module per manifest ``submodules`` entry mirrors Modal's module layout (``sandbox_core_sync.sandbox.Sandbox`` is the
blocking ``Sandbox``); a generated file the manifest no longer produces is deleted by a regeneration.

Values annotated with a wrapped class ``X`` (``X``, ``X[...]``, ``X | None``, ``list[X]``, ``tuple[X, ...]``,
``dict[K, X]``, elements of async iterators) are wrapped on the way out and unwrapped on the way in; any other
annotation that mentions a wrapped class is a generation error. Output is deterministic (manifest and source order,
no timestamps or absolute paths) and formatted with the project's pinned ``ruff``.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import collections.abc
import contextlib
import difflib
import hashlib
import importlib
import importlib.util
import inspect
import keyword
import shutil
import subprocess
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import typing_extensions

GENERATOR_MODULE = "sandbox_core_sync._codegen"


class GenerationError(Exception):
    """The implementation cannot be turned into a facade as the manifest stands; the message says what to change."""


@attrs.frozen
class Manifest:
    """What to generate.

    - ``package``: the asyncio implementation package; its ``__all__`` lists its public names.
    - ``output_package``: the facade package; ``_generated.py``, ``__init__.py`` and ``exception.py`` are written
      into its directory.
    - ``wrap``: public names (classes, async functions) that get a blocking facade, in output order.
    - ``reexport``: public names re-exported unchanged (value types, enums, loop-free classes, submodules).
    - ``exclude``: public names deliberately left out of the facade, each with the reason.
    - ``member_exclude``: ``{"Class": {"member": "reason"}}`` for members of wrapped classes left out.
    - ``thread_safe``: ``{"Class": ("member", ...)}`` sync methods/properties that may run in the caller's thread.
    - ``private_members``: ``{"Class": ("_member", ...)}`` underscore-named members that are part of Modal's API
      (``Sandbox._experimental_sidecars``, ``Sandbox._experimental_set_outbound_network_policy``) and are wrapped
      like public ones.
    - ``constructors``: wrapped classes whose ``__init__`` is public (``App(name)``): the facade's constructor builds
      the implementation object on the loop thread with the same arguments.
    - ``exception_module``: submodule of ``package`` re-exported as ``<output_package>.<same name>``.
    - ``submodules``: submodules of ``package`` mirrored as ``<output_package>.<same name>`` (Modal's module
      names: ``modal.sandbox``, ``modal.container_process``, ...). Each exports the submodule's public names
      (its ``__all__``, else the package's public names defined in it): the facade class or function for a
      wrapped name, the very same object for a re-exported one or a plain constant. Adding a module is one line.
    """

    package: str
    output_package: str
    wrap: tuple[str, ...]
    reexport: tuple[str, ...] = ()
    exclude: Mapping[str, str] = attrs.field(factory=dict)
    member_exclude: Mapping[str, Mapping[str, str]] = attrs.field(factory=dict)
    thread_safe: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    constructors: tuple[str, ...] = ()
    private_members: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    exception_module: str | None = "exception"
    submodules: tuple[str, ...] = ()
    runtime_module: str = "sandbox_core_sync._runtime"
    #: The command line that regenerates this manifest's output (written in the header).
    command: str = f"python -m {GENERATOR_MODULE}"


#: The manifest of sandbox_core -> sandbox_core_sync. Every public name of sandbox_core must appear below.
MANIFEST = Manifest(
    package="sandbox_core",
    output_package="sandbox_core_sync",
    wrap=(
        "App",
        # managers first: Secret.objects / Volume.objects name them
        "SecretManager",
        "Secret",
        "VolumeManager",
        "Volume",
        "VolumeUploadContextManager",
        "AppRun",
        "Client",
        "Sandbox",
        "SandboxLogsManager",
        "ContainerProcess",
        "StreamReader",
        "StreamWriter",
        "SandboxFilesystem",
        "SidecarManager",
        "SidecarContainer",
        "FileIO",
        "SandboxPool",
        "Image",
        "sweep",
    ),
    reexport=(
        # value types, enums and loop-free classes (only sync methods; built in any thread)
        "EndReason",
        "FilePatternMatcher",
        "FileEntry",
        "FileEntryType",
        "FileInfo",
        "FileType",
        "FileWatchEvent",
        "FileWatchEventType",
        "Limits",
        "LogEntry",
        "Probe",
        "SandboxConnectCredentials",
        "StreamType",
        "Tunnel",
        "ca_cert_path",
        "enable_output",
        "exception",
        "Error",
        "is_local",
    ),
    submodules=(
        "app",
        "client",
        "container_process",
        "file_pattern_matcher",
        "image",
        "io_streams",
        "output",
        "pool",
        "sandbox",
        "secret",
        "stream_type",
        "types",
        "volume",
    ),
    exclude={},
    constructors=("App",),
    private_members={"Sandbox": ("_experimental_sidecars", "_experimental_set_outbound_network_policy")},
    member_exclude={
        "Image": {
            "pipe": "applies a user function to the image: call it directly, `func(image, ...)`",
        },
        "StreamReader": {
            "feed": "feeding side: called by the pump on the loop, never by users",
            "feed_data": "feeding side: called by the pump on the loop, never by users",
            "feed_eof": "feeding side: called by the pump on the loop, never by users",
            "set_exception": "feeding side: called by the pump on the loop, never by users",
            "has_room": "feeding side: asked by the pump on the loop, never by users",
            "wait_for_room": "feeding side: awaited by the pump on the loop, never by users",
            "release_unread": "feeding side: called by the reader's owner (ContainerProcess.wait), never by users",
        },
    },
    thread_safe={
        # The builder methods only make new definitions (no I/O, no loop): the caller's thread, no hop.
        "Image": (
            "add_local_dir",
            "add_local_file",
            "add_local_python_source",
            "apt_install",
            "cmd",
            "debian_slim",
            "dockerfile_commands",
            "entrypoint",
            "env",
            "force_build",
            "from_aws_ecr",
            "from_dockerfile",
            "from_gcp_artifact_registry",
            "from_id",
            "from_name",
            "from_registry",
            "from_scratch",
            "imports",
            "is_hydrated",
            "micromamba",
            "micromamba_install",
            "object_id",
            "pip_install",
            "pip_install_from_pyproject",
            "pip_install_from_requirements",
            "pip_install_private_repos",
            "poetry_install_from_file",
            "run_commands",
            "run_function",
            "shell",
            "uv_pip_install",
            "uv_sync",
            "workdir",
        ),
        # Buffer/flag operations with no loop interaction: the caller's thread, no hop (drain() hops).
        "StreamWriter": ("write", "writelines", "write_eof", "can_write_eof", "is_closing"),
        # Plain reads of attributes set at construction (Sandbox's streams are built lazily: those hop).
        "ContainerProcess": ("stdout", "stderr", "stdin"),
        # Queueing only: the files are read when the batch's block ends.
        "VolumeUploadContextManager": ("put_file", "put_directory"),
    },
)


# ---------------------------------------------------------------------------------------------------------------------
# Source-level name resolution


_ASYNC_ITER_TYPES: tuple[object, ...] = (
    collections.abc.AsyncIterator,
    collections.abc.AsyncGenerator,
    collections.abc.AsyncIterable,
    typing.AsyncIterator,
    typing.AsyncGenerator,
    typing.AsyncIterable,
)
_AWAITABLE_TYPES: tuple[object, ...] = (
    collections.abc.Awaitable,
    collections.abc.Coroutine,
    typing.Awaitable,
    typing.Coroutine,
    typing.AsyncContextManager,
    contextlib.AbstractAsyncContextManager,
)
_LITERAL_TYPES: tuple[object, ...] = (typing.Literal, typing_extensions.Literal)
_SELF_TYPES: tuple[object, ...] = (typing.Self, typing_extensions.Self)

_Import = tuple[str, str, str]  # ("from", module, attr) or ("import", module, "")


@attrs.define
class _ModuleInfo:
    """Top-level bindings of one implementation module, read from its source (``if TYPE_CHECKING`` included)."""

    name: str
    imports: dict[str, _Import]
    defined: set[str]

    @classmethod
    def read(cls, modname: str) -> _ModuleInfo:
        module = importlib.import_module(modname)
        try:
            source = inspect.getsource(module)
        except (OSError, TypeError) as e:
            raise GenerationError(f"cannot read the source of module {modname}: {e}") from e
        tree = ast.parse(source)
        package = modname if hasattr(module, "__path__") else modname.rpartition(".")[0]
        info = cls(name=modname, imports={}, defined=set())
        info._scan(tree.body, package)
        return info

    def _scan(self, body: Sequence[ast.stmt], package: str) -> None:
        for node in body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.imports[alias.asname] = ("import", alias.name, "")
                    else:
                        top = alias.name.partition(".")[0]
                        self.imports[top] = ("import", top, "")
            elif isinstance(node, ast.ImportFrom):
                base = ("." * node.level) + (node.module or "")
                source = importlib.util.resolve_name(base, package) if node.level else base
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = ("from", source, alias.name)
            elif isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                self.defined.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.defined.add(target.id)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                self.defined.add(node.target.id)
            elif isinstance(node, ast.If):
                self._scan(node.body, package)
                self._scan(node.orelse, package)
            elif isinstance(node, ast.Try):
                self._scan(node.body, package)
                for handler in node.handlers:
                    self._scan(handler.body, package)
                self._scan(node.orelse, package)
                self._scan(node.finalbody, package)


@attrs.define
class _Binding:
    obj: object
    stmt: _Import | None  # None: a builtin


def _import_obj(stmt: _Import) -> object:
    kind, module, attr = stmt
    if kind == "import":
        return importlib.import_module(module)
    mod = importlib.import_module(module)
    if hasattr(mod, attr):
        return getattr(mod, attr)
    return importlib.import_module(f"{module}.{attr}")


# ---------------------------------------------------------------------------------------------------------------------
# The generator


@attrs.define
class _Param:
    name: str
    kind: str  # "pos", "vararg", "kwonly", "kwarg"
    unwrap: bool


@attrs.define
class _Sig:
    """One rendered signature: ``params`` without ``self``; ``returns`` rewritten into facade names (or None)."""

    params: str
    forward: list[_Param]
    returns: ast.expr | None
    doc: str | None


@attrs.define
class _WrappedClass:
    name: str  # public name == facade name
    cls: type
    module: str
    type_params: list[str]  # local names of the implementation's TypeVars, in order
    impl_ref: str  # e.g. "_i_sandbox.Sandbox"


class _Generator:
    def __init__(self, manifest: Manifest) -> None:
        self.m = manifest
        self.pkg = importlib.import_module(manifest.package)
        self.errors: list[str] = []
        self.modules: dict[str, _ModuleInfo] = {}
        # local name allocation in the generated module: key -> local name; key is ("obj", id) or ("builtin", name)
        self.locals: dict[object, str] = {}
        self.taken: set[str] = set()
        self.imports: dict[str, _Import] = {}  # local name -> statement
        self.keep_alive: list[object] = []
        self.wrapped: dict[int, _WrappedClass] = {}  # id(impl class) -> info
        self.wrapped_by_name: dict[str, _WrappedClass] = {}
        self.avoid: set[str] = set()
        self.cur_owner: _WrappedClass | None = None
        self.mutable_defaults = False

    # -- reporting

    def error(self, msg: str) -> None:
        self.errors.append(msg)

    # -- names

    def module_info(self, modname: str) -> _ModuleInfo:
        info = self.modules.get(modname)
        if info is None:
            info = self.modules[modname] = _ModuleInfo.read(modname)
        return info

    def alloc(self, obj: object, preferred: str, stmt: _Import) -> str:
        key = ("obj", id(obj))
        found = self.locals.get(key)
        if found is not None:
            return found
        name = preferred
        i = 1
        while name in self.taken or name in self.avoid or keyword.iskeyword(name):
            i += 1
            name = f"{preferred}_{i}"
        self.keep_alive.append(obj)
        self.locals[key] = name
        self.taken.add(name)
        self.imports[name] = stmt
        return name

    def ref_obj(self, obj: object, module: str, attr: str) -> str:
        """Local name for ``obj``, imported as ``from module import attr``."""
        return self.alloc(obj, attr, ("from", module, attr))

    def ref_module(self, modname: str, preferred: str | None = None) -> str:
        mod = importlib.import_module(modname)
        return self.alloc(mod, preferred or modname.rpartition(".")[2], ("import", modname, ""))

    def builtin_ref(self, name: str) -> ast.expr:
        if name in self.avoid:
            base = self.ref_module("builtins")
            return ast.Attribute(value=ast.Name(base), attr=name)
        return ast.Name(name)

    def resolve_name(self, modname: str, name: str, where: str) -> _Binding | None:
        info = self.module_info(modname)
        if name in info.defined:
            module = importlib.import_module(modname)
            if not hasattr(module, name):
                self.error(f"{where}: name {name!r} is not defined at run time in module {modname}")
                return None
            return _Binding(getattr(module, name), ("from", modname, name))
        stmt = info.imports.get(name)
        if stmt is not None:
            try:
                return _Binding(_import_obj(stmt), stmt)
            except (ImportError, AttributeError) as e:
                self.error(f"{where}: cannot import {name!r} as module {modname} does ({stmt}): {e}")
                return None
        if hasattr(builtins, name):
            return _Binding(getattr(builtins, name), None)
        self.error(
            f"{where}: cannot resolve name {name!r} (module {modname}); annotations and defaults may only use "
            "names imported or defined at the top level of the module (TYPE_CHECKING imports are fine)"
        )
        return None

    def expr_for(self, obj: object, stmt: _Import | None, name: str, where: str) -> ast.expr:
        """The facade expression for ``obj`` that the implementation reaches as ``name`` (bound by ``stmt``)."""
        wrapped = self.wrapped.get(id(obj))
        if wrapped is not None:
            return ast.Name(wrapped.name)
        if any(obj is s for s in _SELF_TYPES):
            owner = self.cur_owner
            if owner is None:
                self.error(f"{where}: Self used outside a wrapped class")
                return ast.Name("object")
            return _parse(owner.name + (f"[{', '.join(owner.type_params)}]" if owner.type_params else ""))
        self.check_unwrapped_class(obj, where)
        if stmt is None:
            return self.builtin_ref(name)
        if stmt[0] == "import":
            return ast.Name(self.ref_module(stmt[1], name))
        if isinstance(obj, types.ModuleType):
            return ast.Name(self.alloc(obj, name, ("import", obj.__name__, "")))
        return ast.Name(self.alloc(obj, name, stmt))

    def check_unwrapped_class(self, obj: object, where: str) -> None:
        if (
            isinstance(obj, type)
            and (obj.__module__ == self.m.package or obj.__module__.startswith(self.m.package + "."))
            and _has_async_members(obj)
        ):
            self.error(
                f"{where}: refers to {obj.__module__}.{obj.__qualname__}, which has async members but is not "
                f"wrapped; add it to the package's __all__ and to `wrap` in the manifest"
            )

    def rewrite(self, node: ast.expr, modname: str, where: str, *, annotation: bool) -> ast.expr:
        return _Rewriter(self, modname, where, annotation).visit(node)  # type: ignore[no-any-return]

    # -- classification helpers on rewritten annotations

    def mentions_wrapped(self, node: ast.expr | None) -> bool:
        if node is None:
            return False
        return any(isinstance(n, ast.Name) and n.id in self.wrapped_by_name for n in ast.walk(node))

    def wrap_lines(self, ann: ast.expr | None, value: str, where: str) -> tuple[str, bool] | None:
        """How to turn implementation value ``value`` (a local name) into the facade value for ``ann``.

        Returns (expression, typed) or None if no wrapping is needed.
        """
        if not self.mentions_wrapped(ann):
            return None
        assert ann is not None
        direct = self._direct_wrapper(ann)
        if direct is not None:
            return f"{direct}({value})", True
        if isinstance(ann, ast.BinOp) and isinstance(ann.op, ast.BitOr):
            for side, other in ((ann.left, ann.right), (ann.right, ann.left)):
                if _is_none(other):
                    direct = self._direct_wrapper(side)
                    if direct is not None:
                        return f"None if {value} is None else {direct}({value})", True
        if isinstance(ann, ast.Subscript):
            container = ann.value
            args = ann.slice.elts if isinstance(ann.slice, ast.Tuple) else [ann.slice]
            name = ast.unparse(container)
            if name in ("list", "builtins.list") and len(args) == 1 and (d := self._direct_wrapper(args[0])):
                return f"[{d}(_x) for _x in {value}]", True
            if (
                name in ("tuple", "builtins.tuple")
                and len(args) == 2
                and isinstance(args[1], ast.Constant)
                and args[1].value is Ellipsis
                and (d := self._direct_wrapper(args[0]))
            ):
                return f"tuple({d}(_x) for _x in {value})", True
            if (
                name in ("dict", "builtins.dict")
                and len(args) == 2
                and (d := self._direct_wrapper(args[1]))
                and not self.mentions_wrapped(args[0])
            ):
                return f"{{_k: {d}(_v) for _k, _v in {value}.items()}}", True
        self.error(
            f"{where}: the annotation {ast.unparse(ann)!r} mentions a wrapped class in a form the generator cannot "
            "wrap (supported: X, X[...], X | None, list[X], tuple[X, ...], dict[K, X])"
        )
        return None

    def _direct_wrapper(self, node: ast.expr) -> str | None:
        base = node.value if isinstance(node, ast.Subscript) else node
        if isinstance(base, ast.Name) and base.id in self.wrapped_by_name:
            if isinstance(node, ast.Subscript) and self.mentions_wrapped(node.slice):
                return None
            return f"{base.id}._from_impl"
        return None

    def element_type(self, ann: ast.expr | None, modname: str, raw: ast.expr | None, where: str) -> ast.expr | None:
        """For an async-iterator annotation (raw, implementation names), the rewritten element type."""
        if raw is None or not isinstance(raw, ast.Subscript):
            self.error(f"{where}: an async generator must be annotated AsyncIterator[X] / AsyncGenerator[X, ...]")
            return None
        obj = self.lookup_expr(raw.value, modname, where)
        if not any(obj is t for t in _ASYNC_ITER_TYPES):
            self.error(f"{where}: expected AsyncIterator[X] / AsyncGenerator[X, ...], got {ast.unparse(raw)!r}")
            return None
        first = raw.slice.elts[0] if isinstance(raw.slice, ast.Tuple) else raw.slice
        return self.rewrite(first, modname, where, annotation=True)

    def lookup_expr(self, node: ast.expr, modname: str, where: str) -> object:
        """The run-time object an implementation Name/Attribute expression refers to (None if unknown)."""
        if isinstance(node, ast.Name):
            b = self.resolve_name(modname, node.id, where)
            return None if b is None else b.obj
        if isinstance(node, ast.Attribute):
            base = self.lookup_expr(node.value, modname, where)
            return getattr(base, node.attr, None)
        return None

    def returns_async_iterator(self, raw: ast.expr | None, modname: str, where: str) -> bool:
        if raw is None:
            return False
        node = raw.value if isinstance(raw, ast.Subscript) else raw
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            node = _parse(node.value)
            node = node.value if isinstance(node, ast.Subscript) else node
        obj = self.lookup_expr(node, modname, where) if isinstance(node, ast.Name | ast.Attribute) else None
        return any(obj is t for t in _ASYNC_ITER_TYPES)

    # -- signatures

    def signature(
        self, fn: Callable[..., Any], where: str, *, drop_first: bool
    ) -> tuple[_Sig, ast.FunctionDef | ast.AsyncFunctionDef] | None:
        node = _function_ast(fn, where, self.errors)
        if node is None:
            return None
        modname = fn.__module__
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        if drop_first:
            if not positional:
                self.error(f"{where}: a method without a self/cls parameter")
                return None
            n_posonly = len(args.posonlyargs)
            if n_posonly:
                args = ast.arguments(
                    posonlyargs=args.posonlyargs[1:],
                    args=args.args,
                    vararg=args.vararg,
                    kwonlyargs=args.kwonlyargs,
                    kw_defaults=args.kw_defaults,
                    kwarg=args.kwarg,
                    defaults=args.defaults,
                )
            else:
                args = ast.arguments(
                    posonlyargs=[],
                    args=args.args[1:],
                    vararg=args.vararg,
                    kwonlyargs=args.kwonlyargs,
                    kw_defaults=args.kw_defaults,
                    kwarg=args.kwarg,
                    defaults=args.defaults,
                )
            positional = positional[1:]
            # Defaults align to the end of the positional parameters, so dropping the first never drops one.
            if len(args.defaults) > len(positional):
                self.error(f"{where}: the self/cls parameter has a default")
                return None

        if any(
            isinstance(d, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp)
            for d in [*args.defaults, *args.kw_defaults]
        ):
            self.mutable_defaults = True
        new_args = ast.arguments(
            posonlyargs=[self._arg(a, modname, where) for a in args.posonlyargs],
            args=[self._arg(a, modname, where) for a in args.args],
            vararg=self._arg(args.vararg, modname, where) if args.vararg else None,
            kwonlyargs=[self._arg(a, modname, where) for a in args.kwonlyargs],
            kw_defaults=[
                None if d is None else self.rewrite(d, modname, where, annotation=False) for d in args.kw_defaults
            ],
            kwarg=self._arg(args.kwarg, modname, where) if args.kwarg else None,
            defaults=[self.rewrite(d, modname, where, annotation=False) for d in args.defaults],
        )
        forward: list[_Param] = []
        for a in [*new_args.posonlyargs, *new_args.args]:
            forward.append(_Param(a.arg, "pos", self.mentions_wrapped(a.annotation)))
        if new_args.vararg:
            forward.append(_Param(new_args.vararg.arg, "vararg", self.mentions_wrapped(new_args.vararg.annotation)))
        for a in new_args.kwonlyargs:
            forward.append(_Param(a.arg, "kwonly", self.mentions_wrapped(a.annotation)))
        if new_args.kwarg:
            forward.append(_Param(new_args.kwarg.arg, "kwarg", self.mentions_wrapped(new_args.kwarg.annotation)))
        every: list[ast.arg | None] = [*new_args.posonlyargs, *new_args.args, *new_args.kwonlyargs]
        for one in [*every, new_args.vararg, new_args.kwarg]:
            if one is not None and one.annotation is None:
                self.error(f"{where}: parameter {one.arg!r} has no annotation (the facade must be fully typed)")
        if node.returns is None:
            self.error(f"{where}: no return annotation (the facade must be fully typed)")
        returns = None if node.returns is None else self.rewrite(node.returns, modname, where, annotation=True)
        params = ast.unparse(new_args)
        doc = ast.get_docstring(node)
        return _Sig(params=params, forward=forward, returns=returns, doc=doc), node

    def _arg(self, a: ast.arg, modname: str, where: str) -> ast.arg:
        ann = None if a.annotation is None else self.rewrite(a.annotation, modname, where, annotation=True)
        return ast.arg(arg=a.arg, annotation=ann)


def _parse(text: str) -> ast.expr:
    return ast.parse(text, mode="eval").body


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


class _Rewriter(ast.NodeTransformer):
    """Rewrites an implementation annotation/default into facade names, registering the imports it needs."""

    def __init__(self, gen: _Generator, modname: str, where: str, annotation: bool) -> None:
        self.gen = gen
        self.modname = modname
        self.where = where
        self.annotation = annotation

    def visit_Name(self, node: ast.Name) -> ast.expr:
        b = self.gen.resolve_name(self.modname, node.id, self.where)
        if b is None:
            return node
        return self.gen.expr_for(b.obj, b.stmt, node.id, self.where)

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        chain: list[str] = []
        cur: ast.expr = node
        while isinstance(cur, ast.Attribute):
            chain.append(cur.attr)
            cur = cur.value
        if not isinstance(cur, ast.Name):
            return self.generic_visit(node)  # type: ignore[return-value]
        chain.reverse()
        b = self.gen.resolve_name(self.modname, cur.id, self.where)
        if b is None:
            return node
        obj = b.obj
        if not isinstance(obj, types.ModuleType):
            result: ast.expr = self.gen.expr_for(obj, b.stmt, cur.id, self.where)
            for attr in chain:
                result = ast.Attribute(value=result, attr=attr)
            return result
        # Walk through modules; import the first non-module object directly from its module.
        i = 0
        while i < len(chain) and isinstance(obj, types.ModuleType):
            mod = obj
            nxt = getattr(mod, chain[i], None)
            if nxt is None:
                try:
                    nxt = importlib.import_module(f"{mod.__name__}.{chain[i]}")
                except ImportError:
                    self.gen.error(f"{self.where}: cannot resolve {ast.unparse(node)!r}")
                    return node
            obj = nxt
            i += 1
        if isinstance(obj, types.ModuleType):
            self.gen.error(f"{self.where}: {ast.unparse(node)!r} is a module")
            return node
        if mod.__name__ == "builtins":
            result = self.gen.builtin_ref(chain[i - 1])
        else:
            result = self.gen.expr_for(obj, ("from", mod.__name__, chain[i - 1]), chain[i - 1], self.where)
        for attr in chain[i:]:
            result = ast.Attribute(value=result, attr=attr)
        return result

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        value = self.visit(node.value)
        obj = self.gen.lookup_expr(node.value, self.modname, self.where) if self.annotation else None
        if any(obj is lit for lit in _LITERAL_TYPES):
            return ast.Subscript(value=value, slice=node.slice)  # Literal["x"]: strings are values
        return ast.Subscript(value=value, slice=self.visit(node.slice))

    def visit_Constant(self, node: ast.Constant) -> ast.expr:
        if self.annotation and isinstance(node.value, str):
            return self.visit(_parse(node.value))  # type: ignore[no-any-return]
        return node


def _function_ast(
    fn: Callable[..., Any], where: str, errors: list[str]
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as e:
        errors.append(f"{where}: cannot read its source: {e}")
        return None
    tree = ast.parse(source)
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        errors.append(f"{where}: its source is not a function definition")
        return None
    return node


def _has_async_members(cls: type) -> bool:
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, raw in vars(klass).items():
            if name.startswith("_") and name not in _ASYNC_DUNDERS:
                continue
            fn = raw.__func__ if isinstance(raw, classmethod | staticmethod) else raw
            if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
                return True
            if name in _ASYNC_DUNDERS:
                return True
    return False


_ASYNC_DUNDERS = ("__aenter__", "__aexit__", "__aiter__", "__anext__")
#: Dunders the facade ignores: object protocol, attrs/Generic machinery, pickling. Forwarded: __eq__/__hash__.
_IGNORED_DUNDERS = frozenset(
    {
        "__init__", "__new__", "__repr__", "__str__", "__del__", "__init_subclass__", "__class_getitem__",
        "__getstate__", "__setstate__", "__reduce__", "__reduce_ex__", "__copy__", "__deepcopy__", "__slots__",
        "__dict__", "__weakref__", "__module__", "__qualname__", "__doc__", "__annotations__", "__orig_bases__",
        "__parameters__", "__attrs_attrs__", "__match_args__", "__attrs_own_setattr__", "__attrs_pre_init__",
        "__attrs_post_init__", "__setattr__", "__delattr__", "__getattr__", "__getattribute__", "__lt__", "__le__",
        "__gt__", "__ge__", "__ne__", "__abstractmethods__", "_abc_impl", "__firstlineno__", "__static_attributes__",
        "__eq__", "__hash__", "__type_params__",
    }
)  # fmt: skip


def _member_order(cls: type) -> list[tuple[str, object, type]]:
    """Public members (plus async dunders) of ``cls`` in definition order, subclasses first, without duplicates."""
    seen: set[str] = set()
    out: list[tuple[str, object, type]] = []
    for klass in cls.__mro__:
        if klass is object or klass is typing.Generic or klass.__module__ in ("typing", "builtins", "abc"):
            continue
        for name, raw in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            out.append((name, raw, klass))
    return out


def _docstring(doc: str | None, indent: str) -> list[str]:
    if not doc:
        return []
    doc = doc.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = doc.splitlines()
    if len(lines) == 1:
        return [f'{indent}"""{lines[0]}"""']
    out = [f'{indent}"""{lines[0]}']
    out += [(indent + line) if line.strip() else "" for line in lines[1:]]
    out.append(f'{indent}"""')
    return out


def _call_args(forward: list[_Param], rt: str) -> str:
    parts: list[str] = []
    for p in forward:
        v = f"{rt}.unwrap({p.name})" if p.unwrap else p.name
        if p.kind == "pos":
            parts.append(v)
        elif p.kind == "vararg":
            parts.append(f"*({rt}.unwrap(_a) for _a in {p.name})" if p.unwrap else f"*{p.name}")
        elif p.kind == "kwonly":
            parts.append(f"{p.name}={v}")
        else:
            parts.append(f"**{rt}.unwrap({p.name})" if p.unwrap else f"**{p.name}")
    return ", ".join(parts)


def generate(manifest: Manifest) -> dict[str, str]:
    """Render the facade for ``manifest``: {file name in the output package: content}. Raises GenerationError."""
    return _Renderer(manifest).render()


class _Renderer:
    def __init__(self, manifest: Manifest) -> None:
        self.m = manifest
        self.g = _Generator(manifest)
        self.body: list[str] = []

    # -- top level

    def render(self) -> dict[str, str]:
        g, m = self.g, self.m
        self._check_manifest()

        g.taken.add("_rt")
        g.ref_module("typing")  # the generated code spells typing.overload, typing.cast, ...
        # Register wrapped classes first so that annotations anywhere map to facade names.
        classes: list[_WrappedClass] = []
        functions: list[tuple[str, Callable[..., Any]]] = []
        for name in m.wrap:
            obj = getattr(g.pkg, name)
            if isinstance(obj, type):
                info = _WrappedClass(name=name, cls=obj, module=obj.__module__, type_params=[], impl_ref="")
                g.wrapped[id(obj)] = info
                g.wrapped_by_name[name] = info
                g.taken.add(name)
                classes.append(info)
            elif inspect.iscoroutinefunction(obj) or inspect.isasyncgenfunction(obj):
                functions.append((name, obj))
                g.taken.add(name)
            else:
                g.error(
                    f"{m.package}.{name}: only classes and async functions can be wrapped (got {type(obj).__name__})"
                )
        for info in classes:
            for member, _raw, _k in _member_order(info.cls):
                g.avoid.add(member)
                g.taken.add(f"_{info.name}_{member}")
        for name, _ in functions:
            g.taken.add(f"_F_{name}")
        self._raise_errors()
        for info in classes:
            mod_alias = g.ref_module(info.module, "_i_" + info.module.rpartition(".")[2])
            info.impl_ref = f"{mod_alias}.{info.cls.__qualname__}"
            params: tuple[Any, ...] = getattr(info.cls, "__parameters__", ())
            for tv in params:
                tv_name: str = tv.__name__
                b = g.resolve_name(tv.__module__, tv_name, f"{m.package}.{info.name}")
                if b is not None and b.obj is tv:
                    info.type_params.append(ast.unparse(g.expr_for(tv, b.stmt, tv_name, info.name)))
                else:
                    g.error(f"{m.package}.{info.name}: cannot import its type parameter {tv!r}")
        for info in classes:
            self._class(info)
        for name, fn in functions:
            self._function(name, fn)
        self._raise_errors()

        files = {
            "_generated.py": self._module_text(),
            "__init__.py": self._init_text(classes, functions),
        }
        if m.exception_module:
            files[f"{m.exception_module}.py"] = self._exception_text()
        for sub in m.submodules:
            files[f"{sub}.py"] = self._submodule_text(sub)
        self._raise_errors()
        return files

    def _check_manifest(self) -> None:
        """Every public name listed once, nothing stale listed, no async class re-exported, sane submodules."""
        g, m = self.g, self.m
        public = getattr(g.pkg, "__all__", None)
        if public is None:
            raise GenerationError(f"{m.package} has no __all__: the facade needs an explicit list of public names")
        listed = [*m.wrap, *m.reexport, *m.exclude]
        for name in public:
            if listed.count(name) == 0:
                g.error(
                    f"{m.package}.{name} is public (in __all__) but the manifest neither wraps, re-exports nor "
                    f"excludes it: add it to `wrap`, `reexport` or `exclude` in the manifest ({m.command})"
                )
            elif listed.count(name) > 1:
                g.error(f"{m.package}.{name} is listed more than once in the manifest")
        for name in listed:
            if name not in public:
                g.error(f"the manifest lists {name!r}, which is not in {m.package}.__all__ (stale manifest?)")
        for name in m.constructors:
            if name not in m.wrap:
                g.error(f"constructors lists {name!r}, which the manifest does not wrap")
        for name in m.reexport:
            obj = getattr(g.pkg, name, None)
            if isinstance(obj, type) and _has_async_members(obj):
                g.error(f"{m.package}.{name} has async members: it must be wrapped, not re-exported")
        for sub in m.submodules:
            if not sub.isidentifier() or sub.startswith("_") or m.submodules.count(sub) > 1:
                g.error(f"submodule {sub!r}: must be a public module name, listed once")
            elif sub == m.exception_module or sub in public:
                g.error(f"submodule {sub!r} clashes with the exception module or a public name of {m.package}")
        self._raise_errors()

    def _raise_errors(self) -> None:
        if self.g.errors:
            listing = "\n".join(f"  - {e}" for e in dict.fromkeys(self.g.errors))
            raise GenerationError(f"cannot generate {self.m.output_package} from {self.m.package}:\n{listing}")

    def header(self) -> str:
        return (
            f"# GENERATED from `{self.m.package}` by {GENERATOR_MODULE} -- DO NOT EDIT.\n"
            f"# Regenerate: {self.m.command}\n"
            f"# Check:      {self.m.command} --check\n"
            f"# Generator sha256: {generator_hash()}\n"
        )

    def _module_text(self) -> str:
        g = self.g
        lines = [
            self.header().rstrip("\n"),
            f'"""Blocking facade of ``{self.m.package}`` (generated; see ``{GENERATOR_MODULE}``).',
            "",
            "Every async method ``m`` of the implementation is ``obj.m(...)`` (blocking) and ``await obj.m.aio(...)``.",
            '"""',
            "",
            *(
                ["# Mutable defaults are copied verbatim from the implementation's signatures.", "# ruff: noqa: B006"]
                if g.mutable_defaults
                else []
            ),
            "",
            "from __future__ import annotations",
            "",
        ]
        for local, (kind, module, attr) in sorted(g.imports.items(), key=lambda kv: (kv[1], kv[0])):
            if kind == "import":
                top = module.partition(".")[0]
                lines.append(
                    f"import {module}"
                    if local == module or (local == top and module == top)
                    else f"import {module} as {local}"
                )
            else:
                lines.append(f"from {module} import {attr}" + (f" as {local}" if local != attr else ""))
        lines.append(f"import {self.m.runtime_module} as _rt")
        lines.append("")
        lines.append(f"__all__ = {sorted(self.m.wrap)!r}")
        lines.append("")
        lines.append("# Warnings name the user's line: frames of these packages are skipped when looking for it.")
        lines.append(f"_rt.register_library_packages({self.m.package!r}, {self.m.output_package!r})")
        lines.append("")
        lines.extend(self.body)
        return "\n".join(lines) + "\n"

    def _init_text(self, classes: list[_WrappedClass], functions: list[tuple[str, Callable[..., Any]]]) -> str:
        """The package ``__init__``: typed imports for checkers, lazy imports at run time.

        Lazy, so that importing the package (which ``python -m <package>._codegen`` does first) never runs a stale
        ``_generated.py``: the generator must work precisely when the checked-in facade no longer imports.
        """
        m = self.m
        lazy: dict[str, tuple[str, str | None]] = {}
        for name in m.reexport:
            obj = getattr(importlib.import_module(m.package), name)
            if isinstance(obj, types.ModuleType) and name == m.exception_module:
                lazy[name] = (f"{m.output_package}.{name}", None)
            else:
                lazy[name] = (m.package, name)
        for name in m.wrap:
            lazy[name] = (f"{m.output_package}._generated", name)
        extra = ["BlockingCallInEventLoopError", "ForkedObjectError"]
        names = sorted([*lazy, *extra])
        for sub in m.submodules:  # attributes of the package, as in Modal; not part of ``import *``
            lazy[sub] = (f"{m.output_package}.{sub}", None)
        lines = [
            self.header().rstrip("\n"),
            f'"""Blocking facade of ``{m.package}``: the same API, with every async method blocking and its',
            "coroutine form under ``.aio`` (``sb.exec(...)`` / ``await sb.exec.aio(...)``).",
            "",
            f"Exceptions, value types and enums are the very same objects as in ``{m.package}``.",
            '"""',
            "",
            "import importlib as _importlib",
            "from typing import TYPE_CHECKING",
            "",
            *(f"from {m.runtime_module} import {name} as {name}" for name in extra),
            "",
            "if TYPE_CHECKING:",
        ]
        for name, (module, attr) in lazy.items():
            if attr is None:
                parent, _, sub = module.rpartition(".")
                lines.append(f"    from {parent} import {sub} as {name}")
            else:
                lines.append(f"    from {module} import {attr} as {name}")
        lines += [
            "",
            f"__all__ = {names!r}",
            "",
            "# name -> (module, attribute or None for the module itself), imported on first access",
            f"_LAZY: dict[str, tuple[str, str | None]] = {lazy!r}",
            "",
            "if not TYPE_CHECKING:",
            "",
            "    def __getattr__(name: str) -> object:",
            "        try:",
            "            module, attr = _LAZY[name]",
            "        except KeyError:",
            '            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None',
            "        value = _importlib.import_module(module)",
            "        if attr is not None:",
            "            value = getattr(value, attr)",
            "        globals()[name] = value",
            "        return value",
            "",
            "",
            "def __dir__() -> list[str]:",
            "    return sorted({*globals(), *__all__, *_LAZY})",
        ]
        return "\n".join(lines) + "\n"

    def _exception_text(self) -> str:
        m = self.m
        assert m.exception_module is not None
        modname = f"{m.package}.{m.exception_module}"
        mod = importlib.import_module(modname)
        names = list(getattr(mod, "__all__", [n for n in vars(mod) if not n.startswith("_")]))
        lines = [
            self.header().rstrip("\n"),
            f'"""The exceptions of ``{modname}``, re-exported: the same classes, caught the same way in both APIs."""',
            "",
        ]
        lines += [f"from {modname} import {n} as {n}" for n in names]
        lines += ["", f"__all__ = {names!r}"]
        return "\n".join(lines) + "\n"

    def _submodule_text(self, sub: str) -> str:
        """``<output_package>.<sub>``: the public names of ``<package>.<sub>`` in their facade form."""
        g, m = self.g, self.m
        modname = f"{m.package}.{sub}"
        try:
            mod = importlib.import_module(modname)
        except ImportError as e:
            g.error(f"the manifest lists submodule {sub!r}, but {modname} cannot be imported: {e}")
            return ""
        public: list[str] = list(g.pkg.__all__)
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n in public if getattr(getattr(g.pkg, n), "__module__", None) == modname]
        if not names:
            g.error(f"{modname} exports nothing: give it an __all__ (or define a public name of {m.package} in it)")
        imports: list[str] = []
        for name in names:
            line = self._submodule_import(modname, name, public)
            if line is not None:
                imports.append(line)
        listed = [n for n in names if n not in m.exclude]
        lines = [
            self.header().rstrip("\n"),
            f'"""``{modname}`` in the blocking facade (generated):\nthe same names as in ``{m.output_package}``."""',
            "",
            *imports,
            "",
            f"__all__ = {listed!r}",
        ]
        return "\n".join(lines) + "\n"

    def _submodule_import(self, modname: str, name: str, public: list[str]) -> str | None:
        g, m = self.g, self.m
        missing = object()
        obj = getattr(importlib.import_module(modname), name, missing)
        if obj is missing:
            g.error(f"{modname}.__all__ lists {name!r}, which it does not define")
            return None
        top = next((n for n in public if getattr(g.pkg, n) is obj), None)
        if top in m.exclude:
            return None
        if top in m.wrap:
            return f"from {m.output_package}._generated import {top} as {name}"
        if top in m.reexport and not isinstance(obj, types.ModuleType):
            return f"from {modname} import {name} as {name}"
        if top is None and not callable(obj) and not isinstance(obj, types.ModuleType):
            return f"from {modname} import {name} as {name}"  # a plain constant
        g.error(
            f"{modname}.{name} is exported by submodule {modname.rpartition('.')[2]!r} but is not a wrapped or "
            f"re-exported public name of {m.package} (modules are not supported): add it to {m.package}.__all__ "
            "and to the manifest"
        )
        return None

    # -- classes

    def _class(self, info: _WrappedClass) -> None:
        g, m = self.g, self.m
        g.cur_owner = info
        cls = info.cls
        excluded = m.member_exclude.get(info.name, {})
        thread_safe = set(m.thread_safe.get(info.name, ()))
        private = set(m.private_members.get(info.name, ()))
        for stale in sorted((set(excluded) | thread_safe | private) - {n for n, _r, _k in _member_order(cls)}):
            g.error(f"manifest names {info.name}.{stale}, which does not exist")
        generic = f"[{', '.join(info.type_params)}]" if info.type_params else ""
        self_t = f"{info.name}{generic}"
        members: list[str] = []  # lines of the facade class body
        helpers: list[str] = []  # per-method classes, emitted before the class
        eq_defined = "__eq__" in {n for n, _r, k in _member_order(cls) if k is not object}
        if info.name in m.constructors:
            members += self._constructor(info, where=f"{m.package}.{info.name}.__init__")

        for name, raw, _owner in _member_order(cls):
            where = f"{m.package}.{info.name}.{name}"
            if name in excluded:
                continue
            if name.startswith("_") and name not in _ASYNC_DUNDERS and name not in private:
                if not (name.startswith("__") and name.endswith("__")) or name in _IGNORED_DUNDERS:
                    continue
                if inspect.iscoroutinefunction(raw) or inspect.isasyncgenfunction(raw):
                    g.error(f"{where}: async dunder the generator does not know; exclude it or extend the generator")
                continue
            if name in _ASYNC_DUNDERS:
                self._async_dunder(info, name, raw, members, where)
                continue
            if isinstance(raw, staticmethod | classmethod):
                fn = raw.__func__
                is_static = isinstance(raw, staticmethod)
                if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn) or self._is_async_iter_fn(fn):
                    cname = f"_{info.name}_{name}"
                    helpers += self._dual(
                        cname,
                        "_rt.Function",
                        fn,
                        where,
                        target=f"{info.impl_ref}.{name}",
                        drop_first=not is_static,
                        instance=False,
                    )
                    members.append(f"    {name}: typing.ClassVar[{cname}] = {cname}()")
                else:
                    members += self._sync_static(
                        info, name, fn, where, thread_safe=name in thread_safe, drop_first=not is_static
                    )
                continue
            if isinstance(raw, property):
                members += self._property(info, name, raw, where, thread_safe=name in thread_safe)
                continue
            if inspect.isfunction(raw):
                if inspect.iscoroutinefunction(raw) or inspect.isasyncgenfunction(raw) or self._is_async_iter_fn(raw):
                    cname = f"_{info.name}_{name}"
                    helpers += self._dual(
                        cname,
                        f"_rt.BoundMethod[{info.impl_ref}{generic}]",
                        raw,
                        where,
                        target=f"self._impl.{name}",
                        drop_first=True,
                        instance=True,
                    )
                    sig = g.signature(raw, where, drop_first=True)
                    doc = sig[0].doc if sig else None
                    members += ["    @property", f"    def {name}(self) -> {cname}{generic}:"]
                    members += _docstring(doc, "        ")
                    members.append(f"        return {cname}(self)")
                elif self._returns_context_manager(raw, where):
                    cname = f"_{info.name}_{name}"
                    helpers += self._context_factory(cname, f"_rt.BoundMethod[{info.impl_ref}{generic}]", raw, where)
                    sig = g.signature(raw, where, drop_first=True)
                    doc = sig[0].doc if sig else None
                    members += ["    @property", f"    def {name}(self) -> {cname}{generic}:"]
                    members += _docstring(doc, "        ")
                    members.append(f"        return {cname}(self)")
                else:
                    members += self._sync_method(info, name, raw, where, thread_safe=name in thread_safe)
                continue
            if isinstance(raw, types.MemberDescriptorType | types.GetSetDescriptorType):
                members += self._attribute(info, name, where)
                continue
            if isinstance(raw, type) and id(raw) in g.wrapped:
                members += self._class_attribute(info, name, g.wrapped[id(raw)], where)
                continue
            g.error(
                f"{where}: public member of type {type(raw).__name__} that the generator cannot classify; make it a "
                "method or property, or add it to member_exclude in the manifest with a reason"
            )
        # Public attributes annotated on the class but set per instance (plain classes).
        annotations: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            annotations.update(getattr(klass, "__annotations__", {}) if klass.__module__.startswith(m.package) else {})
        for name in annotations:
            if name.startswith("_") or name in excluded or any(n == name for n, _r, _k in _member_order(cls)):
                continue
            members += self._attribute(info, name, f"{m.package}.{info.name}.{name}")

        g.cur_owner = None
        bases = "_rt.Wrapper" + (f", typing.Generic{generic}" if generic else "")
        self.body.extend(helpers)
        self.body.append("")
        self.body.append(f"class {info.name}({bases}):")
        self.body += _docstring(inspect.cleandoc(cls.__doc__ or "") or None, "    ")
        self.body.append("    __slots__ = ()")
        self.body.append(f"    _impl: {info.impl_ref}{generic}")
        self.body.append("")
        self.body.append("    @classmethod")
        self.body.append(f"    def _from_impl(cls, impl: {info.impl_ref}{generic}) -> {self_t}:")
        self.body.append("        return _rt.wrap_cached(cls, impl)")
        if eq_defined:
            self.body += [
                "",
                "    def __eq__(self, other: object) -> bool:",
                f"        return isinstance(other, {info.name}) and bool(self._impl == other._impl)",
                "",
                "    def __hash__(self) -> int:",
                "        return hash(self._impl)",
            ]
        for line in members:
            starts_def = line.startswith(("    @", "    def ", "    async def "))
            if starts_def and self.body and not self.body[-1].startswith("    @"):
                self.body.append("")
            self.body.append(line)
        self.body.append("")

    def _is_async_iter_fn(self, fn: Callable[..., Any]) -> bool:
        node = _function_ast(fn, fn.__qualname__, [])
        return (
            node is not None
            and not isinstance(node, ast.AsyncFunctionDef)
            and self.g.returns_async_iterator(node.returns, fn.__module__, fn.__qualname__)
        )

    def _function(self, name: str, fn: Callable[..., Any]) -> None:
        cname = f"_F_{name}"
        mod_alias = self.g.ref_module(fn.__module__, "_i_" + fn.__module__.rpartition(".")[2])
        where = f"{self.m.package}.{name}"
        self.body += self._dual(
            cname, "_rt.Function", fn, where, target=f"{mod_alias}.{fn.__name__}", drop_first=False, instance=False
        )
        self.body.append("")
        self.body.append(f"{name} = {cname}()")
        self.body.append("")

    # -- member kinds

    def _overload_sigs(self, fn: Callable[..., Any], where: str, drop_first: bool) -> list[_Sig]:
        sigs = []
        for ov in typing.get_overloads(fn):
            r = self.g.signature(ov, f"{where} (overload)", drop_first=drop_first)
            if r is not None:
                sigs.append(r[0])
        return sigs

    def _dual(
        self,
        cname: str,
        base: str,
        fn: Callable[..., Any],
        where: str,
        *,
        target: str,
        drop_first: bool,
        instance: bool,
    ) -> list[str]:
        """A per-method class: blocking ``__call__`` and ``aio`` for an async method/function/generator."""
        g = self.g
        r = g.signature(fn, where, drop_first=drop_first)
        if r is None:
            return []
        sig, node = r
        overloads = self._overload_sigs(fn, where, drop_first)
        is_gen = inspect.isasyncgenfunction(fn) or not isinstance(node, ast.AsyncFunctionDef)
        owner = g.cur_owner
        title = (
            f"{owner.name}.{fn.__name__}"
            if owner and instance
            else (f"{owner.name}.{fn.__name__}" if owner else fn.__name__)
        )
        out = ["", "", f"class {cname}({base}):"]
        summary = (sig.doc or "").strip().splitlines()[0] if sig.doc else f"{title}"
        out += _docstring(
            f"{summary}\n\nCall it to block; ``.aio(...)`` is the {'async generator' if is_gen else 'coroutine'}.",
            "    ",
        )
        out.append("    __slots__ = ()")
        call_target = (
            f"typing.cast(typing.Any, {target.rpartition('.')[0]}).{target.rpartition('.')[2]}" if overloads else target
        )
        args = _call_args(sig.forward, "_rt")
        if is_gen:
            elem = g.element_type(sig.returns, fn.__module__, node.returns, where)
            elem_s = ast.unparse(elem) if elem is not None else "typing.Any"
            wrap = g.wrap_lines(elem, "_x", where) if elem is not None else None
            wrap_fn = ""
            if wrap is not None:
                direct = g._direct_wrapper(elem) if elem is not None else None
                wrap_fn = f", {direct}" if direct else f", lambda _x: {wrap[0]}"
            gen_t = g.ref_obj(collections.abc.Generator, "collections.abc", "Generator")
            agen_t = g.ref_obj(collections.abc.AsyncGenerator, "collections.abc", "AsyncGenerator")
            if overloads:
                g.error(f"{where}: overloads on async generators are not supported")
            make = f"lambda: {call_target}({args})"
            out += [
                "",
                f"    def __call__(self, {sig.params}) -> {gen_t}[{elem_s}, None, None]:".replace("(self, )", "(self)"),
            ]
            out += _docstring(sig.doc, "        ")
            out.append(f"        return _rt.iter_sync({make}{wrap_fn}, name={fn.__name__!r})")
            out += ["", f"    def aio(self, {sig.params}) -> {agen_t}[{elem_s}, None]:".replace("(self, )", "(self)")]
            out.append(f"        return _rt.iter_async({make}{wrap_fn})")
            return out
        if g.returns_async_iterator(node.returns, fn.__module__, where):
            g.error(f"{where}: a coroutine returning an async iterator is not supported; make it an async generator")
        for method, is_async in (("__call__", False), ("aio", True)):
            kw = "async def" if is_async else "def"
            for ov in overloads:
                out += ["", "    @typing.overload", self._def(kw, method, ov.params, ov.returns) + " ..."]
            out += ["", self._def(kw, method, sig.params, sig.returns)]
            if not is_async:
                out += _docstring(sig.doc, "        ")
            call = f"{'await _rt.run_async' if is_async else '_rt.run_sync'}({call_target}({args}))"
            out += self._return_lines(sig.returns, call, where, typed_tmp=bool(overloads))
        return out

    def _constructor(self, info: _WrappedClass, where: str) -> list[str]:
        """The facade ``__init__`` of a class listed in ``constructors``: same signature, built on the loop thread."""
        init = info.cls.__dict__.get("__init__")
        if not inspect.isfunction(init):
            self.g.error(f"{where}: constructors lists {info.name}, which defines no __init__ of its own")
            return []
        r = self.g.signature(init, where, drop_first=True)
        if r is None:
            return []
        sig, _node = r
        args = _call_args(sig.forward, "_rt")
        out = [self._def("def", "__init__", sig.params, _parse("None"))]
        out += _docstring(sig.doc, "        ")
        out.append(f"        _rt.bind_new(self, _rt.call_sync({info.impl_ref}{', ' if args else ''}{args}))")
        return out

    def _returns_context_manager(self, fn: Callable[..., Any], where: str) -> bool:
        """True for a sync method annotated to return a wrapped class that is an async context manager."""
        node = _function_ast(fn, where, [])
        if node is None or isinstance(node, ast.AsyncFunctionDef) or node.returns is None:
            return False
        returns = node.returns
        if isinstance(returns, ast.Constant) and isinstance(returns.value, str):
            returns = _parse(returns.value)
        if not isinstance(returns, ast.Name | ast.Attribute):
            return False
        obj = self.g.lookup_expr(returns, fn.__module__, where)
        return id(obj) in self.g.wrapped and inspect.isfunction(getattr(obj, "__aenter__", None))

    def _context_factory(self, cname: str, base: str, fn: Callable[..., Any], where: str) -> list[str]:
        """A per-method class for a sync method returning an async context manager: ``__call__`` (for ``with``) and
        ``aio`` (for ``async with``) both build it, in one hop to the loop thread."""
        r = self.g.signature(fn, where, drop_first=True)
        if r is None:
            return []
        sig, _node = r
        if self._overload_sigs(fn, where, True):
            self.g.error(f"{where}: overloads on a method returning a context manager are not supported")
        out = ["", "", f"class {cname}({base}):"]
        summary = (sig.doc or "").strip().splitlines()[0] if sig.doc else fn.__name__
        usage = "``with`` what calling it returns; ``async with`` what ``.aio(...)`` returns."
        out += _docstring(f"{summary}\n\n{usage}", "    ")
        out.append("    __slots__ = ()")
        args = _call_args(sig.forward, "_rt")
        call = f"_rt.call_sync(self._impl.{fn.__name__}{', ' if args else ''}{args})"
        for method in ("__call__", "aio"):
            out += ["", self._def("def", method, sig.params, sig.returns)]
            if method == "__call__":
                out += _docstring(sig.doc, "        ")
            out += self._return_lines(sig.returns, call, where, typed_tmp=False)
        return out

    def _def(self, kw: str, name: str, params: str, returns: ast.expr | None) -> str:
        ps = f"self, {params}" if params else "self"
        ret = f" -> {ast.unparse(returns)}" if returns is not None else ""
        return f"    {kw} {name}({ps}){ret}:"

    def _return_lines(
        self, returns: ast.expr | None, call: str, where: str, *, typed_tmp: bool, indent: str = "        "
    ) -> list[str]:
        wrap = self.g.wrap_lines(returns, "_r", where)
        if returns is not None and _is_none(returns):
            return [f"{indent}{call}"]
        if wrap is None:
            if typed_tmp and returns is not None:
                return [f"{indent}_r: {ast.unparse(returns)} = {call}", f"{indent}return _r"]
            return [f"{indent}return {call}"]
        return [f"{indent}_r = {call}", f"{indent}return {wrap[0]}"]

    def _async_dunder(self, info: _WrappedClass, name: str, raw: object, members: list[str], where: str) -> None:
        g = self.g
        fn = raw.__func__ if isinstance(raw, staticmethod | classmethod) else raw
        if not inspect.isfunction(fn):
            g.error(f"{where}: expected a function")
            return
        r = g.signature(fn, where, drop_first=True)
        if r is None:
            return
        sig, node = r
        args = _call_args(sig.forward, "_rt")
        ret = f" -> {ast.unparse(sig.returns)}" if sig.returns is not None else ""
        ps = f"self, {sig.params}" if sig.params else "self"
        if name == "__aenter__":
            members += [f"    def __enter__({ps}){ret}:", "        self._check()"]
            members += self._return_lines(
                sig.returns, f"_rt.run_sync(self._impl.__aenter__({args}))", where, typed_tmp=False
            )
            members += [f"    async def __aenter__({ps}){ret}:", "        self._check()"]
            members += self._return_lines(
                sig.returns, f"await _rt.run_async(self._impl.__aenter__({args}))", where, typed_tmp=False
            )
        elif name == "__aexit__":
            members += [f"    def __exit__({ps}){ret}:"]
            members += self._return_lines(
                sig.returns, f"_rt.run_sync(self._impl.__aexit__({args}))", where, typed_tmp=False
            )
            members += [f"    async def __aexit__({ps}){ret}:"]
            members += self._return_lines(
                sig.returns, f"await _rt.run_async(self._impl.__aexit__({args}))", where, typed_tmp=False
            )
        elif name == "__aiter__":
            anext = getattr(info.cls, "__anext__", None)
            if not g.returns_async_iterator(node.returns, fn.__module__, where) and inspect.isfunction(anext):
                # ``__aiter__`` returns the object itself: the element type is what ``__anext__`` returns.
                r_next = g.signature(anext, where, drop_first=True)
                elem = None if r_next is None else r_next[0].returns
            else:
                elem = g.element_type(sig.returns, fn.__module__, node.returns, where)
            if elem is None:
                return
            elem_s = ast.unparse(elem)
            wrap = g.wrap_lines(elem, "_x", where)
            direct = g._direct_wrapper(elem) if wrap is not None else None
            wrap_fn = f", {direct}" if direct else (f", lambda _x: {wrap[0]}" if wrap else "")
            it_t = g.ref_obj(collections.abc.Iterator, "collections.abc", "Iterator")
            ait_t = g.ref_obj(collections.abc.AsyncIterator, "collections.abc", "AsyncIterator")
            members += [
                f"    def __iter__(self) -> {it_t}[{elem_s}]:",
                "        self._check()",
                f"        return _rt.iter_sync(self._impl.__aiter__{wrap_fn})",
            ]
            members += [
                f"    def __aiter__(self) -> {ait_t}[{elem_s}]:",
                "        self._check()",
                f"        return _rt.iter_async(self._impl.__aiter__{wrap_fn})",
            ]
        elif name == "__anext__":
            members += [f"    def __next__(self){ret}:", "        self._check()"]
            members += self._return_lines(sig.returns, "_rt.next_sync(self._impl)", where, typed_tmp=False)
            members += [f"    async def __anext__(self){ret}:", "        self._check()"]
            members += self._return_lines(sig.returns, "await _rt.next_async(self._impl)", where, typed_tmp=False)

    def _property(self, info: _WrappedClass, name: str, prop: property, where: str, *, thread_safe: bool) -> list[str]:
        g = self.g
        fget = prop.fget
        if fget is None or not inspect.isfunction(fget):
            g.error(f"{where}: a property without a plain getter function")
            return []
        if inspect.iscoroutinefunction(fget) or inspect.isasyncgenfunction(fget):
            g.error(f"{where}: an async property getter cannot be a blocking property; make it a method")
            return []
        r = g.signature(fget, where, drop_first=True)
        if r is None:
            return []
        sig, _node = r
        ret = f" -> {ast.unparse(sig.returns)}" if sig.returns is not None else ""
        wrap = g.wrap_lines(sig.returns, "_r", where)
        out = ["    @property", f"    def {name}(self){ret}:"]
        out += _docstring(sig.doc, "        ")
        if wrap is not None:
            # Plain values (ids, return codes) stay readable after fork(), so the child can look objects up again.
            out.append("        self._check()")
        if wrap is not None and not thread_safe:
            # Wrapped objects are created lazily by the implementation: build them on the loop thread.
            out += [f"        _r = _rt.call_sync(lambda: self._impl.{name})", f"        return {wrap[0]}"]
        elif wrap is not None:
            out += [f"        _r = self._impl.{name}", f"        return {wrap[0]}"]
        else:
            out.append(f"        return self._impl.{name}")
        if prop.fset is not None:
            rs = g.signature(prop.fset, where + " (setter)", drop_first=True)
            if rs is not None:
                setter_sig = rs[0]
                fwd = _call_args(setter_sig.forward, "_rt")
                out += [
                    f"    @{name}.setter",
                    f"    def {name}(self, {setter_sig.params}) -> None:",
                    "        self._check()",
                    f"        _rt.call_sync(setattr, self._impl, {name!r}, {fwd})",
                ]
        return out

    def _attribute(self, info: _WrappedClass, name: str, where: str) -> list[str]:
        """A public data attribute (attrs field / slot / class annotation): a read-only property."""
        g = self.g
        ann_src = None
        for klass in info.cls.__mro__:
            raw_ann = getattr(klass, "__annotations__", {}).get(name)
            if raw_ann is not None:
                ann_src = (raw_ann if isinstance(raw_ann, str) else None, klass.__module__)
                break
        if ann_src is None or ann_src[0] is None:
            g.error(f"{where}: public attribute without a string annotation (use `from __future__ import annotations`)")
            return []
        ann = g.rewrite(_parse(ann_src[0]), ann_src[1], where, annotation=True)
        wrap = g.wrap_lines(ann, "_r", where)
        out = ["    @property", f"    def {name}(self) -> {ast.unparse(ann)}:"]
        if wrap is not None:
            out += ["        self._check()", f"        _r = self._impl.{name}", f"        return {wrap[0]}"]
        else:
            out.append(f"        return self._impl.{name}")
        return out

    def _class_attribute(self, info: _WrappedClass, name: str, target: _WrappedClass, where: str) -> list[str]:
        """A class attribute that is a wrapped class (Modal's ``Secret.objects``): the facade class, which must come
        earlier in ``wrap``."""
        order = list(self.m.wrap)
        if order.index(target.name) > order.index(info.name):
            self.g.error(f"{where}: refers to {target.name}, which must come before {info.name} in `wrap`")
        return [f"    {name}: typing.ClassVar[type[{target.name}]] = {target.name}"]

    def _returns_awaitable(self, fn: Callable[..., Any], where: str) -> bool:
        """A sync callable that hands back something to await (decorated coroutine, async context manager, ...)."""
        inner = inspect.unwrap(fn)
        bad = inner is not fn and (inspect.iscoroutinefunction(inner) or inspect.isasyncgenfunction(inner))
        node = _function_ast(fn, where, [])
        if not bad and node is not None and node.returns is not None:
            base = node.returns.value if isinstance(node.returns, ast.Subscript) else node.returns
            if isinstance(base, ast.Name | ast.Attribute):
                obj = self.g.lookup_expr(base, fn.__module__, where)
                bad = any(obj is t for t in _AWAITABLE_TYPES)
        if bad:
            self.g.error(
                f"{where}: a sync method returning an awaitable or async context manager cannot be made blocking; "
                "make it an `async def` (or an async generator) in the implementation, or exclude it"
            )
        return bad

    def _sync_method(
        self, info: _WrappedClass, name: str, fn: Callable[..., Any], where: str, *, thread_safe: bool
    ) -> list[str]:
        g = self.g
        if self._returns_awaitable(fn, where):
            return []
        r = g.signature(fn, where, drop_first=True)
        if r is None:
            return []
        sig, _node = r
        overloads = self._overload_sigs(fn, where, True)
        target = "typing.cast(typing.Any, self._impl)" if overloads else "self._impl"
        args = _call_args(sig.forward, "_rt")
        out: list[str] = []
        for ov in overloads:
            out += ["    @typing.overload", self._def("def", name, ov.params, ov.returns) + " ..."]
        out.append(self._def("def", name, sig.params, sig.returns))
        out += _docstring(sig.doc, "        ")
        out.append("        self._check()")
        call = (
            f"{target}.{name}({args})" if thread_safe else f"_rt.call_sync({target}.{name}{', ' if args else ''}{args})"
        )
        out += self._return_lines(sig.returns, call, where, typed_tmp=True)
        return out

    def _sync_static(
        self, info: _WrappedClass, name: str, fn: Callable[..., Any], where: str, *, thread_safe: bool, drop_first: bool
    ) -> list[str]:
        g = self.g
        if self._returns_awaitable(fn, where):
            return []
        r = g.signature(fn, where, drop_first=drop_first)
        if r is None:
            return []
        sig, _node = r
        overloads = self._overload_sigs(fn, where, drop_first)
        target = f"typing.cast(typing.Any, {info.impl_ref})" if overloads else info.impl_ref
        args = _call_args(sig.forward, "_rt")
        out: list[str] = []
        for ov in overloads:
            ret = f" -> {ast.unparse(ov.returns)}" if ov.returns is not None else ""
            out += ["    @typing.overload", "    @staticmethod", f"    def {name}({ov.params}){ret}: ..."]
        ret = f" -> {ast.unparse(sig.returns)}" if sig.returns is not None else ""
        out += ["    @staticmethod", f"    def {name}({sig.params}){ret}:"]
        out += _docstring(sig.doc, "        ")
        call = (
            f"{target}.{name}({args})" if thread_safe else f"_rt.call_sync({target}.{name}{', ' if args else ''}{args})"
        )
        out += self._return_lines(sig.returns, call, where, typed_tmp=True)
        return out


# ---------------------------------------------------------------------------------------------------------------------
# Formatting, writing, checking


def generator_hash() -> str:
    """Short sha256 of this generator's source: changing the generator forces regeneration.

    The ``MANIFEST`` assignment is left out: a manifest change shows up in the output itself, and must not make
    other manifests' output (the tests' fake package) stale.
    """
    source = Path(__file__).read_text()
    lines = source.splitlines(keepends=True)
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "MANIFEST" for t in node.targets):
            assert node.end_lineno is not None
            del lines[node.lineno - 1 : node.end_lineno]
            break
    return hashlib.sha256("".join(lines).encode()).hexdigest()[:16]


def _ruff() -> list[str]:
    candidate = Path(sys.executable).parent / "ruff"
    if candidate.exists():
        return [str(candidate)]
    found = shutil.which("ruff")
    if found:
        return [found]
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    raise GenerationError("ruff is needed to format the generated code (pinned in pyproject's dev extras)")


def format_source(text: str, path: Path) -> str:
    """Sort imports and format ``text`` with ruff, configured as for ``path`` (so the output is lint-clean)."""
    ruff = _ruff()
    cwd = _project_root(path)
    rel = str(path.relative_to(cwd)) if path.is_relative_to(cwd) else str(path)
    for cmd in (
        [*ruff, "check", "--select", "I,F401", "--fix", "--quiet", "--exit-zero", "--stdin-filename", rel, "-"],
        [*ruff, "format", "--quiet", "--stdin-filename", rel, "-"],
    ):
        proc = subprocess.run(cmd, input=text, capture_output=True, text=True, cwd=cwd, check=False)
        if proc.returncode != 0:
            raise GenerationError(f"`{' '.join(cmd[-6:])}` failed on the generated {path.name}:\n{proc.stderr}")
        text = proc.stdout
    return text


def _project_root(path: Path) -> Path:
    for parent in path.resolve().parents:
        if (parent / "pyproject.toml").exists():
            return parent
    return path.resolve().parent


def output_dir(manifest: Manifest) -> Path:
    spec = importlib.util.find_spec(manifest.output_package)
    if spec is None or not spec.submodule_search_locations:
        raise GenerationError(f"output package {manifest.output_package} not found (create its directory first)")
    return Path(next(iter(spec.submodule_search_locations)))


def render_files(manifest: Manifest, out_dir: Path | None = None) -> dict[Path, str]:
    """The formatted generated files for ``manifest``: {path: content} (in ``out_dir``, default the package's)."""
    out = out_dir if out_dir is not None else output_dir(manifest)
    # Format as if in the real package directory, so the lint configuration (first-party modules) is the same.
    real = output_dir(manifest)
    return {out / name: format_source(text, real / name) for name, text in generate(manifest).items()}


def _orphans(manifest: Manifest, out: Path, rendered: Mapping[Path, str]) -> list[Path]:
    """Files in ``out`` generated from ``manifest``'s package that it no longer produces (a dropped submodule)."""
    marker = f"# GENERATED from `{manifest.package}` by {GENERATOR_MODULE}"
    found = []
    for path in sorted(out.glob("*.py")):
        if path not in rendered:
            with path.open() as f:
                if f.readline().startswith(marker):
                    found.append(path)
    return found


def check(manifest: Manifest, out_dir: Path | None = None) -> list[str]:
    """Unified diffs of every stale generated file (empty when everything is up to date)."""
    diffs = []
    rendered = render_files(manifest, out_dir)
    for path in _orphans(manifest, out_dir if out_dir is not None else output_dir(manifest), rendered):
        diffs.append(f"--- {path.name} (checked in)\n+++ {path.name} (no longer generated: delete it)\n")
    for path, text in rendered.items():
        current = path.read_text() if path.exists() else ""
        if current != text:
            name = path.name
            diffs.append(
                "".join(
                    difflib.unified_diff(
                        current.splitlines(keepends=True),
                        text.splitlines(keepends=True),
                        f"{name} (checked in)",
                        f"{name} (generated)",
                    )
                )
            )
    return diffs


def write(manifest: Manifest, out_dir: Path | None = None) -> list[Path]:
    """(Re)write the generated files and delete those no longer generated; returns the paths that changed."""
    changed = []
    rendered = render_files(manifest, out_dir)
    for path in _orphans(manifest, out_dir if out_dir is not None else output_dir(manifest), rendered):
        path.unlink()
        changed.append(path)
    for path, text in rendered.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


def _load_manifest(spec: str) -> Manifest:
    module, _, attr = spec.partition(":")
    obj = getattr(importlib.import_module(module), attr or "MANIFEST")
    if not isinstance(obj, Manifest):
        raise GenerationError(f"{spec} is not a Manifest")
    return obj


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {GENERATOR_MODULE}", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 with a diff if the generated files are stale")
    parser.add_argument("--manifest", default=None, help="module:NAME of another Manifest (default: sandbox_core's)")
    ns = parser.parse_args(argv)
    try:
        manifest = _load_manifest(ns.manifest) if ns.manifest else MANIFEST
        if ns.check:
            diffs = check(manifest)
            if diffs:
                sys.stdout.write("".join(diffs))
                print(f"\n{manifest.output_package} is stale: run `{manifest.command}`", file=sys.stderr)
                return 1
            print(f"{manifest.output_package} is up to date")
            return 0
        changed = write(manifest)
        for path in changed:
            print(f"wrote {path}" if path.exists() else f"deleted {path} (no longer generated)")
        if not changed:
            print(f"{manifest.output_package} was already up to date")
        return 0
    except GenerationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Run the importable module's main, so that manifests (which import sandbox_core_sync._codegen) share its classes.
    from sandbox_core_sync._codegen import main as _main

    sys.exit(_main())
