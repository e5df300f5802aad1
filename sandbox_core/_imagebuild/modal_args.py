"""Modal's ``Image`` method arguments turned into step values: flattening, build-time environment, ignore rules,
Python sources, and the parameters the local builder cannot honour (refused with ``InvalidError`` naming them)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from ..exception import InvalidError
from ..secret import Secret, merge_env
from .context import AUTO_DOCKERIGNORE, AutoDockerignore, IgnoreSpec
from .patterns import PatternMatcher
from .steps import LocalDir, LocalFile, LocalSource
from .tarstream import IgnoreFn

#: Where ``add_local_python_source`` puts modules (as Modal does).
PYTHON_SOURCE_ROOT = "/root"


def flatten(function_name: str, arg_name: str, args: Sequence[Any]) -> list[str]:
    """Modal's ``_flatten_str_args``: strings and lists of strings, as one list."""
    out: list[str] = []
    for x in args:
        if isinstance(x, str):
            out.append(x)
        elif isinstance(x, list) and all(isinstance(y, str) for y in x):
            out.extend(x)
        else:
            raise InvalidError(f"{function_name}: {arg_name} must only contain strings")
    return out


def str_dict(method: str, param: str, value: Any) -> dict[str, str]:
    """``value`` checked to be a ``dict[str, str]`` (``InvalidError`` naming ``Image.<method>(param=)`` if not)."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidError(f"Image.{method}: {param} must be a dict[str, str], got {type(value).__name__}")
    return value


def build_env(env: Mapping[str, str | None] | None, secrets: Collection[Secret] | None) -> dict[str, str]:
    """The environment of a build step: ``secrets`` in order, then ``env`` (``None`` values dropped)."""
    return merge_env(secrets, env)


def refuse_gpu(method: str, gpu: Any) -> None:
    """``gpu`` must be None: the local builder has no GPUs."""
    if gpu is not None:
        raise InvalidError(f"Image.{method}(gpu=...) is not supported by the local backend: builds run without GPUs")


def refuse(method: str, param: str, given: bool, why: str) -> None:
    """Raise ``InvalidError`` naming ``param`` of ``Image.<method>`` when it was given."""
    if given:
        raise InvalidError(f"Image.{method}({param}=...) is not supported by the local backend: {why}")


def ignore_fn(ignore: Sequence[str] | Callable[[Path], bool] | AutoDockerignore | None) -> IgnoreSpec:
    """An ``ignore`` argument (patterns, a predicate, or ``AUTO_DOCKERIGNORE``) as the builder's ignore rule."""
    if ignore is None or isinstance(ignore, AutoDockerignore):
        return ignore
    if callable(ignore):
        fn: IgnoreFn = ignore  # type: ignore[assignment]
        return fn
    if isinstance(ignore, str) or not all(isinstance(p, str) for p in ignore):
        raise InvalidError("ignore must be a list of patterns or a function of a path")
    return PatternMatcher.from_patterns(ignore) if ignore else None


def dockerignore_default(ignore: Any) -> IgnoreSpec:
    """``ignore`` of ``from_dockerfile``/``dockerfile_commands`` (default ``AUTO_DOCKERIGNORE``)."""
    return AUTO_DOCKERIGNORE if ignore is AUTO_DOCKERIGNORE else ignore_fn(ignore)


def remote_path(method: str, remote: str, local: str | os.PathLike[str]) -> str:
    """Modal's rules for ``remote_path``: absolute; a trailing ``/`` appends the local name."""
    if not isinstance(remote, str) or not PurePosixPath(remote).is_absolute():
        raise InvalidError(f"image.{method}() currently only supports absolute remote_path values")
    return remote + Path(local).name if remote.endswith("/") else remote


def _python_ignore(base: Path) -> IgnoreFn:
    """Modal's rule when no ``ignore`` is given: leave out dot-files and dot-directories, and compiled files."""

    def ignore(path: PurePosixPath) -> bool:
        return any(p.startswith(".") or p == "__pycache__" for p in path.parts) or path.suffix == ".pyc"

    return ignore


def python_sources(modules: Sequence[str], ignore: IgnoreSpec) -> list[LocalSource]:
    """Where each of ``modules`` lives locally, as sources under ``/root`` (packages as directories, modules as
    files). Raises ``InvalidError`` for a module that cannot be found locally."""
    if not all(isinstance(m, str) for m in modules):
        raise InvalidError("Local Python modules must be specified as strings.")
    out: list[LocalSource] = []
    for name in modules:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError) as e:
            raise InvalidError(f"{name} can't be added: {e}") from None
        if spec is None:
            raise InvalidError(f"{name} has no spec - might not be installed?")
        locations = [p for p in (spec.submodule_search_locations or ()) if os.path.isdir(p)]
        dest = PurePosixPath(PYTHON_SOURCE_ROOT, *name.split("."))
        for location in locations:
            rule = ignore if ignore and not isinstance(ignore, AutoDockerignore) else _python_ignore(Path(location))
            out.append(LocalDir(location, dest.as_posix(), rule))
        if not locations and spec.origin and os.path.isfile(spec.origin):
            out.append(LocalFile(spec.origin, (dest.parent / Path(spec.origin).name).as_posix()))
        elif not locations:
            raise InvalidError(f"{name} has no mountable paths")
    return out
