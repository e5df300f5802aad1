"""The build steps of an image definition, each a frozen value, and what each becomes for the engine.

A step is rendered exactly as Modal's builder renders the same method (``RUN python -m pip install <sorted
packages> <options>``, ``RUN apt-get update`` + ``RUN apt-get install -y ...``, ``ENV K=<quoted>``, ...) and is
built as its own image ``FROM`` the previous step's image, so every step has its own content address.

``prepare`` reads local files (digests), so it runs off the event loop; the result is a ``Prepared`` step whose
``material`` is what the step's content address covers: the method, its arguments, build-time ``env`` (keyed
digests, see ``valuekey``), and the
identities of copied files — never the Dockerfile text, which also carries the build-trust wrapper (buildca).
A step with build-time values (``env=``/``secrets=``) is built by ``envbuild``, which keeps them out of the image,
its history and the output.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

import attrs

from ..exception import InvalidError
from .buildca import BuildCA, wrap_shell
from .context import IgnoreSpec, context_filter
from .envbuild import dockerfile_lines
from .tarstream import Entry, IgnoreFn, entries_digest, scan_file, scan_tree
from .valuekey import identity

EnvPairs = tuple[tuple[str, str], ...]


def _abs_remote(instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not PurePosixPath(value).is_absolute():
        raise InvalidError(f"{attribute.name} must be an absolute path in the image, got {value!r}")


def _host_path(value: str | os.PathLike[str]) -> str:
    return os.path.abspath(os.path.expanduser(os.fspath(value)))


@attrs.frozen
class LocalFile:
    """A local file placed at ``remote`` (an absolute file path) in the image."""

    path: str = attrs.field(converter=_host_path)
    remote: str = attrs.field(validator=_abs_remote)

    def entries(self, arcname: str) -> list[Entry]:
        return scan_file(self.path, arcname)


@attrs.frozen
class LocalDir:
    """A local directory whose content is placed under ``remote`` in the image; ``ignore`` leaves files out."""

    path: str = attrs.field(converter=_host_path)
    remote: str = attrs.field(validator=_abs_remote)
    ignore: IgnoreFn | None = attrs.field(default=None, eq=False)

    def entries(self, arcname: str) -> list[Entry]:
        return scan_tree(self.path, arcname, self.ignore)


LocalSource = LocalFile | LocalDir


def _host_paths(values: Any) -> tuple[str, ...]:
    return tuple(_host_path(p) for p in values)


@attrs.frozen
class Prepared:
    """A step ready to build: its description, content-address material, Dockerfile lines and context."""

    description: str
    material: str
    instructions: tuple[str, ...]
    context: tuple[Entry, ...] = ()
    uses_build_arg: bool = False
    force_build: bool = False
    #: ``instructions`` as the user would read them (without the build-trust wrapper), for error messages.
    shown: tuple[str, ...] = ()
    #: ``ARG`` values of the build (``dockerfile_commands(build_args=...)``).
    build_args: EnvPairs = ()
    #: Build-time values (``env=``/``secrets=``): the step is then built by ``envbuild``, its ``instructions``
    #: one a line with each shell-form ``RUN`` as written.
    env: EnvPairs = attrs.field(default=(), repr=False)

    def readable(self) -> tuple[str, ...]:
        return self.shown or self.instructions


def _material(op: str, **fields: Any) -> str:
    return json.dumps({"op": op, **fields}, sort_keys=True, separators=(",", ":"))


def _describe(op: str, *args: object) -> str:
    return f"{op}({', '.join(repr(a) for a in args)})"


def _strs(values: Any) -> tuple[str, ...]:
    return tuple(values)


def _env_pairs(values: Any) -> EnvPairs:
    return tuple((str(k), str(v)) for k, v in (dict(values).items() if not isinstance(values, tuple) else values))


def _run(command: str, env: EnvPairs, ca: BuildCA | None) -> str:
    """A ``RUN`` of ``command``: as written for a step with build-time values (``envbuild`` runs it and sets up
    the trust itself), else wrapped with the build-trust setup."""
    return f"RUN {command}" if env else f"RUN {wrap_shell(command, ca)}"


def _uses_ca(ca: BuildCA | None, env: EnvPairs) -> bool:
    return ca is not None and not env


@attrs.frozen
class RunCommands:
    """``RUN <command>`` for each command, with build-time ``env`` (not kept in the image)."""

    op: ClassVar[str] = "run_commands"
    commands: tuple[str, ...] = attrs.field(converter=_strs)
    env: EnvPairs = attrs.field(default=(), converter=_env_pairs)
    force_build: bool = False

    def prepare(self, ca: BuildCA | None) -> Prepared:
        return Prepared(
            _describe(self.op, *self.commands),
            _material(self.op, commands=self.commands, env=identity(self.env)),
            tuple(_run(c, self.env, ca) for c in self.commands),
            uses_build_arg=_uses_ca(ca, self.env),
            env=self.env,
            force_build=self.force_build,
            shown=tuple(f"RUN {c}" for c in self.commands),
        )


@attrs.frozen
class AptInstall:
    """``RUN apt-get update`` then ``RUN apt-get install -y <packages>`` (in the given order)."""

    op: ClassVar[str] = "apt_install"
    packages: tuple[str, ...] = attrs.field(converter=_strs)
    env: EnvPairs = attrs.field(default=(), converter=_env_pairs)
    force_build: bool = False

    def prepare(self, ca: BuildCA | None) -> Prepared:
        commands = ("apt-get update", f"apt-get install -y {shlex.join(self.packages)}")
        return Prepared(
            _describe(self.op, *self.packages),
            _material(self.op, packages=self.packages, env=identity(self.env)),
            tuple(_run(c, self.env, ca) for c in commands),
            uses_build_arg=_uses_ca(ca, self.env),
            env=self.env,
            force_build=self.force_build,
            shown=tuple(f"RUN {c}" for c in commands),
        )


@attrs.frozen
class PipOptions:
    """pip's index options, rendered as Modal renders them."""

    find_links: str | None = None
    index_url: str | None = None
    extra_index_url: str | None = None
    pre: bool = False
    extra_options: str = ""

    def args(self) -> str:
        flags = [
            ("--find-links", self.find_links),
            ("--index-url", self.index_url),
            ("--extra-index-url", self.extra_index_url),
        ]
        out = " ".join(f"{flag} {shlex.quote(value)}" for flag, value in flags if value is not None)
        if self.pre:
            out += " --pre"
        if self.extra_options:
            out += (" " if out else "") + self.extra_options
        return out.strip()

    def material(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class PipInstall:
    """``RUN python -m pip install <sorted packages> <options>``."""

    op: ClassVar[str] = "pip_install"
    packages: tuple[str, ...] = attrs.field(converter=_strs)
    options: PipOptions = PipOptions()
    env: EnvPairs = attrs.field(default=(), converter=_env_pairs)
    force_build: bool = False

    @packages.validator
    def _no_options(self, attribute: object, value: tuple[str, ...]) -> None:
        if any(p.startswith("-") for p in value):
            raise InvalidError(
                "Package list for `Image.pip_install` cannot contain other arguments; "
                "try the `extra_options` parameter instead."
            )

    def prepare(self, ca: BuildCA | None) -> Prepared:
        command = f"python -m pip install {shlex.join(sorted(self.packages))} {self.options.args()}".strip()
        return Prepared(
            _describe(self.op, *self.packages),
            _material(self.op, packages=sorted(self.packages), options=self.options.material(), env=identity(self.env)),
            (_run(command, self.env, ca),),
            uses_build_arg=_uses_ca(ca, self.env),
            env=self.env,
            force_build=self.force_build,
            shown=(f"RUN {command}",),
        )


@attrs.frozen
class PipInstallFromRequirements:
    """``COPY /.requirements.txt`` then ``RUN python -m pip install -r /.requirements.txt <options>``."""

    op: ClassVar[str] = "pip_install_from_requirements"
    requirements: str = attrs.field(converter=_host_path)
    options: PipOptions = PipOptions()
    env: EnvPairs = attrs.field(default=(), converter=_env_pairs)
    force_build: bool = False

    def prepare(self, ca: BuildCA | None) -> Prepared:
        context = scan_file(self.requirements, ".requirements.txt")
        find_links = f" -f {self.options.find_links}" if self.options.find_links else ""
        command = f"python -m pip install -r /.requirements.txt{find_links} {self.options.args()}".strip()
        return Prepared(
            _describe(self.op, self.requirements),
            _material(
                self.op, requirements=entries_digest(context), options=self.options.material(), env=identity(self.env)
            ),
            ("COPY /.requirements.txt /.requirements.txt", _run(command, self.env, ca)),
            tuple(context),
            uses_build_arg=_uses_ca(ca, self.env),
            env=self.env,
            force_build=self.force_build,
            shown=("COPY /.requirements.txt /.requirements.txt", f"RUN {command}"),
        )


@attrs.frozen
class UvPipInstall:
    """``uv pip install`` into the first ``python`` on the PATH. uv comes from PyPI (``pip install --target
    /.uv/pkg uv``), since the image Modal copies it from (ghcr.io/astral-sh/uv) needs a registry."""

    op: ClassVar[str] = "uv_pip_install"
    packages: tuple[str, ...] = attrs.field(converter=_strs)
    requirements: tuple[str, ...] = attrs.field(default=(), converter=_host_paths)
    uv_version: str | None = None
    options: PipOptions = PipOptions()
    env: EnvPairs = attrs.field(default=(), converter=_env_pairs)
    force_build: bool = False

    def prepare(self, ca: BuildCA | None) -> Prepared:
        uv = "uv" if self.uv_version is None else f"uv=={self.uv_version}"
        install_uv = (
            f"python -m pip install --no-cache-dir --disable-pip-version-check --target /.uv/pkg {shlex.quote(uv)} "
            "&& ln -sf /.uv/pkg/bin/uv /.uv/uv"
        )
        args = ["--python $(command -v python)", "--compile-bytecode"]
        o = self.options
        flags = [("--find-links", o.find_links), ("--index-url", o.index_url), ("--extra-index-url", o.extra_index_url)]
        args += [f"{flag} {shlex.quote(v)}" for flag, v in flags if v]
        args += ["--prerelease allow"] if o.pre else []
        args += [o.extra_options] if o.extra_options else []
        context: list[Entry] = []
        copies = []
        for idx, req in enumerate(self.requirements):
            base = os.path.basename(req)
            context += scan_file(req, f".{idx}_{base}")
            copies.append(f"COPY /.{idx}_{base} /.uv/{idx}/{base}")
            args.append(f"--requirements /.uv/{idx}/{base}")
        args += [shlex.quote(p) for p in sorted(self.packages)]
        command = "/.uv/uv pip install " + " ".join(args)
        return Prepared(
            _describe(self.op, *self.packages),
            _material(
                self.op,
                packages=sorted(self.packages),
                requirements=entries_digest(context),
                uv=uv,
                options=o.material(),
                env=identity(self.env),
            ),
            (_run(install_uv, self.env, ca), *copies, _run(command, self.env, ca)),
            tuple(context),
            uses_build_arg=_uses_ca(ca, self.env),
            env=self.env,
            force_build=self.force_build,
            shown=(f"RUN {install_uv}", *copies, f"RUN {command}"),
        )


@attrs.frozen
class Env:
    """``ENV K=<shell-quoted value>`` for each variable, kept in the image."""

    op: ClassVar[str] = "env"
    vars: EnvPairs = attrs.field(converter=_env_pairs)
    force_build: bool = False

    def prepare(self, ca: BuildCA | None) -> Prepared:
        return Prepared(
            _describe(self.op, dict(self.vars)),
            _material(self.op, vars=self.vars),
            tuple(f"ENV {k}={shlex.quote(v)}" for k, v in self.vars),
        )


@attrs.frozen
class Workdir:
    """``WORKDIR <path>``."""

    op: ClassVar[str] = "workdir"
    path: str
    force_build: bool = False

    def prepare(self, ca: BuildCA | None) -> Prepared:
        return Prepared(
            _describe(self.op, self.path), _material(self.op, path=self.path), (f"WORKDIR {shlex.quote(self.path)}",)
        )


@attrs.frozen
class Entrypoint:
    """``ENTRYPOINT [...]`` (``instruction="CMD"`` gives ``CMD [...]``)."""

    argv: tuple[str, ...] = attrs.field(converter=_strs)
    instruction: str = attrs.field(default="ENTRYPOINT", validator=attrs.validators.in_(("ENTRYPOINT", "CMD")))
    force_build: bool = False

    @property
    def op(self) -> str:
        return self.instruction.lower()

    def prepare(self, ca: BuildCA | None) -> Prepared:
        return Prepared(
            _describe(self.op, list(self.argv)),
            _material(self.op, argv=self.argv),
            (f"{self.instruction} {json.dumps(list(self.argv))}",),
        )


@attrs.frozen
class DockerfileCommands:
    """Raw Dockerfile lines after ``FROM base``, with ``context_files`` (context path -> local file) and the files
    of ``context_dir`` that its ``COPY`` instructions name (minus ``ignore``; see ``context``) as the build
    context; ``build_args`` are the build's ``ARG`` values."""

    op: ClassVar[str] = "dockerfile_commands"
    commands: tuple[str, ...] = attrs.field(converter=_strs)
    context_files: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_env_pairs)
    context_dir: str | None = attrs.field(default=None, converter=attrs.converters.optional(_host_path))
    ignore: IgnoreSpec = attrs.field(default=None, eq=False)
    force_build: bool = False
    build_args: EnvPairs = attrs.field(default=(), converter=_env_pairs)
    env: EnvPairs = attrs.field(default=(), converter=_env_pairs)

    def prepare(self, ca: BuildCA | None) -> Prepared:
        context: list[Entry] = []
        if self.context_dir is not None:
            keep = context_filter(self.commands, Path(self.context_dir), self.ignore)
            if keep is not None:
                context += [e for e in scan_tree(self.context_dir, "", keep) if not e.name.startswith(".sandbox-core")]
        for dest, local in self.context_files:
            context += scan_file(_host_path(local), dest.lstrip("/"))
        return Prepared(
            _describe(self.op, *self.commands),
            _material(
                self.op,
                commands=self.commands,
                context=entries_digest(context),
                args=self.build_args,
                env=identity(self.env),
            ),
            dockerfile_lines(self.commands, "Image.dockerfile_commands", root=False) if self.env else self.commands,
            tuple(context),
            force_build=self.force_build,
            build_args=self.build_args,
            env=self.env,
        )


@attrs.frozen
class CopyLocal:
    """``COPY`` of a local file or directory into the image (Modal's ``add_local_*(copy=True)``)."""

    source: LocalSource
    force_build: bool = False

    @property
    def op(self) -> str:
        return "add_local_file" if isinstance(self.source, LocalFile) else "add_local_dir"

    def prepare(self, ca: BuildCA | None) -> Prepared:
        arc = "files/data" if isinstance(self.source, LocalFile) else "files"
        context = self.source.entries(arc)
        src = arc if isinstance(self.source, LocalFile) else "files/"
        return Prepared(
            _describe(self.op, self.source.path, self.source.remote) + " (copy=True)",
            _material("copy", remote=self.source.remote, files=entries_digest(context)),
            (f"COPY {json.dumps([src, self.source.remote])}",),
            tuple(context),
            force_build=self.force_build,
        )


@attrs.frozen
class Commands:
    """Dockerfile instructions a recipe renders (Modal's ``uv_sync``, ``poetry_install_from_file``, ...): ``RUN``
    lines get the build-time ``env`` and the trust setting as ``run_commands`` lines do; ``context_files``
    (context path -> local file) are sent with the build."""

    op: str
    args: tuple[str, ...] = attrs.field(converter=_strs)
    lines: tuple[str, ...] = attrs.field(converter=_strs)
    context_files: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_env_pairs)
    env: EnvPairs = attrs.field(default=(), converter=_env_pairs)
    force_build: bool = False

    def prepare(self, ca: BuildCA | None) -> Prepared:
        context: list[Entry] = []
        for dest, local in self.context_files:
            context += scan_file(_host_path(local), dest.lstrip("/"))
        runs = any(line.startswith("RUN ") for line in self.lines)
        return Prepared(
            _describe(self.op, *self.args),
            _material(self.op, lines=self.lines, context=entries_digest(context), env=identity(self.env)),
            tuple(_run(ln[4:], self.env, ca) if ln.startswith("RUN ") else ln for ln in self.lines),
            tuple(context),
            uses_build_arg=_uses_ca(ca, self.env) and runs,
            env=self.env,
            force_build=self.force_build,
            shown=self.lines,
        )


Step = (
    Commands
    | RunCommands
    | AptInstall
    | PipInstall
    | PipInstallFromRequirements
    | UvPipInstall
    | Env
    | Workdir
    | Entrypoint
    | DockerfileCommands
    | CopyLocal
)


def label_line(labels: Mapping[str, str]) -> str:
    """One ``LABEL`` instruction for all ``labels`` (the build API's ``labels`` parameter adds one step each)."""
    return "LABEL " + " ".join(f"{json.dumps(k)}={json.dumps(v)}" for k, v in sorted(labels.items()))
