"""``Image``: Modal's image builder on the local engine. Every method returns a new, lazy ``Image``; nothing is
built until a sandbox needs it (``Sandbox.create``) or ``build(app)`` is called.

Builds are content-addressed (the same definition gets the same ``im-`` id and is built once; a change in a step,
or in a file a step copies, rebuilds from that step) and shared by concurrent callers and processes: see
``sandbox_core._imagebuild``. ``object_id`` is ``im-`` + the engine's image id. Local differences from Modal are
in the docs (``docs/guide/images.md``); parameters that cannot be honoured locally raise ``InvalidError`` naming
them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path, PurePosixPath
from typing import Any

import attrs

from . import _output, _warnings
from ._appref import AppLike
from ._engine import EngineAPI, get_engine
from ._engine.api import LineSink
from ._engine.values import ImageInfo
from ._image_packages import PackageSteps
from ._imagebuild import builder, gc, names, pyversions, recipes, report
from ._imagebuild import modal_args as M
from ._imagebuild import steps as S
from ._imagebuild.context import AUTO_DOCKERIGNORE, AutoDockerignore
from ._imagebuild.definition import DebianSlim, FromDockerfile, FromImage, FromScratch, ImageDefinition, Published
from ._validation import reject_client
from .client import Client
from .exception import ExecutionError, InvalidError, NotFoundError
from .file_pattern_matcher import NON_PYTHON_FILES
from .secret import Secret

__all__ = ["Image"]

_IMAGE_ID_RE = re.compile(r"^im-([0-9a-f]{64})$")
#: An image reference as the engine parses one: [registry[:port]/]path[:tag][@digest]; each path component starts
#: and ends with a lower-case letter or digit (so no ``..``, no ``;``, no spaces).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_REF_RE = re.compile(
    rf"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?"
    rf"{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*"
    rf":[0-9a-fA-F]{{32,}})?$"
)
#: The engine's limit on a reference's length.
_IMAGE_REF_MAX = 255
_HYDRATE_MESSAGE = (
    "Images cannot currently be hydrated on demand; you can build an Image by running an App that uses it "
    "(locally: `image.build(app)`, or `Sandbox.create(image=...)`)."
)
Ignore = Sequence[str] | Callable[[Path], bool]


#: How often a hydrated image marks its step images used again (``gc``), so that a long-lived process that keeps
#: using one image never sees it collected.
TOUCH_INTERVAL = 3600.0


@attrs.frozen
class ResolvedImage:
    """An image as the engine has it (``info``), the mount layers still to copy into each container, and the step
    images it is made of (``chain``)."""

    info: ImageInfo
    mounts: tuple[S.LocalSource, ...] = ()
    chain: tuple[str, ...] = ()


@contextlib.contextmanager
def _imports_block() -> Iterator[None]:
    try:
        yield
    except Exception as exc:  # as Modal: locally the image never runs this process, so imports may fail
        if not isinstance(exc, ImportError):
            _warnings.warn(f"Warning: caught a non-ImportError exception in an `imports()` block: {exc!r}", UserWarning)


class Image(PackageSteps):
    """A container image definition, built lazily on the local engine. Construct with a static method
    (``Image.debian_slim()``, ``from_registry``, ``from_dockerfile``, ``from_scratch``, ``from_id``, ``from_name``);
    direct construction raises ``InvalidError``."""

    __slots__ = ("_defn", "_desc", "_endpoint", "_force", "_object_id", "_resolved", "_touched")

    _defn: ImageDefinition
    _desc: str
    _force: bool
    _object_id: str | None
    _resolved: ResolvedImage | None
    _endpoint: str | None
    _touched: float

    def __init__(self) -> None:
        raise InvalidError("Class Image has no constructor. Use class constructor methods instead.")

    @classmethod
    def _new(cls, defn: ImageDefinition, desc: str, force: bool = False, object_id: str | None = None) -> Image:
        obj = object.__new__(cls)
        obj._defn, obj._desc, obj._force, obj._object_id = defn, desc, force, object_id
        obj._resolved = obj._endpoint = None
        obj._touched = 0.0
        return obj

    @classmethod
    def _hydrated(cls, info: ImageInfo, endpoint: str, desc: str) -> Image:
        """An image that exists on the engine (a snapshot), hydrated from the start."""
        obj = cls._new(ImageDefinition(FromImage(info.id)), desc, object_id="im-" + info.id.removeprefix("sha256:"))
        obj._resolved, obj._endpoint = ResolvedImage(info), endpoint
        return obj

    def _then(self, step: S.Step, call: str, force: bool | None = None) -> Image:
        return Image._new(self._defn.add(step), f"{self._desc}.{call}", self._force if force is None else force)

    def _mount_or_copy(self, source: S.LocalSource, copy: bool, call: str) -> Image:
        defn = self._defn.add(S.CopyLocal(source)) if copy else self._defn.add_mount(source)
        return Image._new(defn, f"{self._desc}.{call}", self._force if not copy else False)

    # --------------------------------------------------------------------------------------------- roots

    @staticmethod
    def debian_slim(python_version: str | None = None, force_build: bool = False) -> Image:
        """Debian with Python (``python_version`` as ``3.X``; None: this interpreter's series) and ``CMD sleep
        172800``: the default image of ``Sandbox.create``. From the official ``python`` image where a registry
        answers, else built once from Debian's archive (3.11 and 3.13; others raise ``InvalidError`` saying why)."""
        pyversions.parse(python_version)  # Modal's validation, at once
        defn = ImageDefinition(DebianSlim(python_version), force_root=force_build)
        desc = f"Image.debian_slim({python_version!r})" if python_version else "Image.debian_slim()"
        return Image._new(defn, desc, force_build)

    @staticmethod
    def from_registry(
        tag: str,
        secret: Secret | None = None,
        *,
        setup_dockerfile_commands: list[str] = [],  # noqa: B006 - Modal's signature
        force_build: bool = False,
        add_python: str | None = None,
        **kwargs: Any,
    ) -> Image:
        """The image ``tag``: used as is when the engine has it, pulled (with progress) when missing.
        ``secret`` (registry credentials) only serves an image already present: the local engine pulls
        anonymously. ``force_build`` pulls again."""
        return Image._registry("from_registry", tag, secret, setup_dockerfile_commands, force_build, add_python, kwargs)

    @staticmethod
    def from_aws_ecr(
        tag: str,
        secret: Secret | None = None,
        *,
        setup_dockerfile_commands: list[str] = [],  # noqa: B006 - Modal's signature
        force_build: bool = False,
        add_python: str | None = None,
        **kwargs: Any,
    ) -> Image:
        """An ECR image: usable when already on the engine (``docker login`` + ``docker pull`` it); the local
        backend cannot authenticate to ECR with a ``Secret``."""
        if "secrets" in kwargs:
            raise TypeError("Passing a list of 'secrets' is not supported; use the singular 'secret' argument.")
        return Image._registry(
            "from_aws_ecr", tag, "AWS ECR", setup_dockerfile_commands, force_build, add_python, kwargs
        )

    @staticmethod
    def from_gcp_artifact_registry(
        tag: str,
        secret: Secret | None = None,
        *,
        setup_dockerfile_commands: list[str] = [],  # noqa: B006 - Modal's signature
        force_build: bool = False,
        add_python: str | None = None,
        **kwargs: Any,
    ) -> Image:
        """A GCP Artifact Registry image: usable when already on the engine; the local backend cannot
        authenticate to GCP with a ``Secret``."""
        if "secrets" in kwargs:
            raise TypeError("Passing a list of 'secrets' is not supported; use the singular 'secret' argument.")
        creds = "GCP Artifact Registry credentials"
        return Image._registry(
            "from_gcp_artifact_registry", tag, creds, setup_dockerfile_commands, force_build, add_python, kwargs
        )

    @staticmethod
    def _registry(
        method: str, tag: str, creds: Any, setup: list[str], force: bool, add_python: str | None, kwargs: Any
    ) -> Image:
        if not isinstance(tag, str) or not tag:
            raise InvalidError(f"Image.{method}() expects a non-empty image reference, got {tag!r}")
        if len(tag) > _IMAGE_REF_MAX or not _IMAGE_REF_RE.fullmatch(tag):
            raise InvalidError(
                f"Image.{method}() got an invalid image reference {tag!r}: expected "
                "[registry[:port]/]name[:tag][@digest], lower-case path components of letters, digits and separators"
            )
        M.refuse(method, "add_python", add_python is not None, "it copies Modal's standalone Python builds")
        M.refuse(method, next(iter(sorted(kwargs)), ""), bool(kwargs), "these options are Modal-internal")
        if creds is not None and not isinstance(creds, str | Secret):
            raise InvalidError(f"Image.{method}(secret=...) expects a Secret, got {type(creds).__name__}")
        where = "registry credentials" if isinstance(creds, Secret) else creds
        defn = ImageDefinition(FromImage(tag, credentials=where), force_root=force)
        img = Image._new(defn, f"Image.{method}({tag!r})", force)
        return img.dockerfile_commands(setup) if setup else img

    @staticmethod
    def from_dockerfile(
        path: str | Path,
        *,
        force_build: bool = False,
        context_dir: Path | str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
        add_python: str | None = None,
        build_args: dict[str, str] = {},  # noqa: B006 - Modal's signature
        ignore: Ignore | AutoDockerignore = AUTO_DOCKERIGNORE,
    ) -> Image:
        """The image a local Dockerfile describes, built on the engine with the files its ``COPY`` lines name
        from ``context_dir`` (default: the current directory) minus ``ignore`` (default: the ``.dockerignore``
        that applies). ``env``/``secrets`` reach its shell-form ``RUN`` lines."""
        M.refuse_gpu("from_dockerfile", gpu)
        M.refuse("from_dockerfile", "add_python", add_python is not None, "it copies Modal's standalone Python builds")
        root = FromDockerfile(
            path,
            context_dir or os.getcwd(),
            M.dockerignore_default(ignore),
            M.str_dict("from_dockerfile", "build_args", build_args),
            M.build_env(env, secrets),
        )
        return Image._new(ImageDefinition(root, force_root=force_build), f"Image.from_dockerfile({str(path)!r})")

    @staticmethod
    def from_scratch(force_build: bool = False) -> Image:
        """An empty filesystem (``FROM scratch``): add files with ``copy=True``; ``mount_image`` mounts it as an
        empty directory."""
        return Image._new(ImageDefinition(FromScratch()), "Image.from_scratch()", force_build)

    @staticmethod
    def micromamba(python_version: str | None = None, force_build: bool = False) -> Image:
        """Modal's micromamba image (``mambaorg/micromamba``, pulled: needs a registry) with Python and pip."""
        if isinstance(python_version, str) and python_version.endswith("t"):
            raise InvalidError("Free threaded Python is not supported with Image.micromamba")
        version = python_version or pyversions.parse(python_version).series
        pyversions.parse(version)
        defn = ImageDefinition(FromImage(recipes.MICROMAMBA_IMAGE), force_root=force_build)
        defn = defn.add(recipes.micromamba_setup(version))
        return Image._new(defn, f"Image.micromamba({version!r})", force_build)

    @staticmethod
    def from_id(image_id: str, client: Client | None = None) -> Image:
        """The image with ``object_id`` ``image_id`` (``im-`` + 64 hex digits); ``object_id`` is set at once,
        the image is looked up when used (``NotFoundError`` when the engine lacks it)."""
        m = _IMAGE_ID_RE.match(image_id) if isinstance(image_id, str) else None
        if m is None:
            raise InvalidError(f"Image.from_id() expects an id of the form 'im-<64 hex digits>', got {image_id!r}")
        reject_client(client)
        root = FromImage("sha256:" + m.group(1))
        return Image._new(ImageDefinition(root), f"Image.from_id({image_id!r})", object_id=image_id)

    @staticmethod
    def from_name(name: str, *, environment_name: str | None = None, client: None = None) -> Image:
        """The image published as ``name[:tag]`` (tag ``latest`` when omitted); looked up when used
        (``NotFoundError`` when nothing was published under that name)."""
        reject_client(client)
        name_tag = names.parse(name, environment_name)
        return Image._new(ImageDefinition(Published(name_tag)), f"Image.from_name({name_tag!r})")

    # ------------------------------------------------------------------------------------- local files

    def add_local_file(self, local_path: str | Path, remote_path: str, *, copy: bool = False) -> Image:
        """``local_path`` at ``remote_path`` (absolute; a trailing ``/`` keeps the file's name): copied into each
        container before it starts (``copy=False``), or into a layer of the image (``copy=True``)."""
        remote = M.remote_path("add_local_file", remote_path, local_path)
        return self._mount_or_copy(S.LocalFile(local_path, remote), copy, f"add_local_file({str(local_path)!r})")

    def add_local_dir(
        self,
        local_path: str | Path,
        remote_path: str,
        *,
        copy: bool = False,
        ignore: Ignore = [],  # noqa: B006 - Modal's signature
    ) -> Image:
        """The content of directory ``local_path`` under ``remote_path`` (absolute), minus what ``ignore``
        (patterns or a predicate of the relative path) excludes; ``copy`` as for ``add_local_file``."""
        remote = M.remote_path("add_local_dir", remote_path, local_path)
        rule = M.ignore_fn(ignore)
        assert not isinstance(rule, AutoDockerignore)
        return self._mount_or_copy(S.LocalDir(local_path, remote, rule), copy, f"add_local_dir({str(local_path)!r})")

    def add_local_python_source(self, *modules: str, copy: bool = False, ignore: Ignore = NON_PYTHON_FILES) -> Image:
        """The local Python packages/modules ``modules`` under ``/root`` (by default only their ``.py`` files);
        ``copy`` as for ``add_local_file``."""
        img = self
        for source in M.python_sources(modules, M.ignore_fn(ignore)):
            img = img._mount_or_copy(source, copy, f"add_local_python_source({source.remote!r})")
        return img

    # ------------------------------------------------------------------------------------ instructions

    def run_commands(
        self,
        *commands: str | list[str],
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        volumes: dict[str | PurePosixPath, Any] | None = None,
        gpu: str | None = None,
        force_build: bool = False,
    ) -> Image:
        """``RUN <command>`` for each command, with ``env``/``secrets`` in its environment (not in the image)."""
        cmds = M.flatten("run_commands", "commands", commands)
        M.refuse_gpu("run_commands", gpu)
        M.refuse("run_commands", "volumes", bool(volumes), "build steps run without volumes")
        if not cmds:
            return self
        force = self._force or force_build
        step = S.RunCommands(cmds, M.build_env(env, secrets), force)
        return self._then(step, f"run_commands({', '.join(map(repr, cmds))})", force)

    def dockerfile_commands(
        self,
        *dockerfile_commands: str | list[str],
        context_files: dict[str, str] = {},  # noqa: B006 - Modal's signature
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
        context_dir: Path | str | None = None,
        force_build: bool = False,
        ignore: Ignore | AutoDockerignore = AUTO_DOCKERIGNORE,
        build_args: dict[str, str] = {},  # noqa: B006 - Modal's signature
    ) -> Image:
        """Raw Dockerfile instructions after ``FROM <this image>``, with ``context_files`` and the files of
        ``context_dir`` (default: the current directory) that their ``COPY`` lines name, minus ``ignore``."""
        cmds = M.flatten("dockerfile_commands", "dockerfile_commands", dockerfile_commands)
        M.refuse_gpu("dockerfile_commands", gpu)
        if not cmds:
            return self
        force = self._force or force_build
        step = S.DockerfileCommands(
            cmds,
            M.str_dict("dockerfile_commands", "context_files", context_files),
            context_dir or os.getcwd(),
            M.dockerignore_default(ignore),
            force,
            M.str_dict("dockerfile_commands", "build_args", build_args),
            M.build_env(env, secrets),
        )
        return self._then(step, f"dockerfile_commands({', '.join(map(repr, cmds))})", force)

    def entrypoint(self, entrypoint_commands: list[str]) -> Image:
        """``ENTRYPOINT [...]``."""
        if not isinstance(entrypoint_commands, list) or not all(isinstance(x, str) for x in entrypoint_commands):
            raise InvalidError("entrypoint_commands must be a list of strings.")
        return self._then(S.Entrypoint(entrypoint_commands), f"entrypoint({entrypoint_commands!r})", False)

    def cmd(self, cmd: list[str]) -> Image:
        """``CMD [...]``: what a sandbox runs when ``Sandbox.create`` gets no command."""
        if not isinstance(cmd, list) or not all(isinstance(x, str) for x in cmd):
            raise InvalidError("Image CMD must be a list of strings.")
        return self._then(S.Entrypoint(cmd, "CMD"), f"cmd({cmd!r})", False)

    def shell(self, shell_commands: list[str]) -> Image:
        """``SHELL [...]``: the shell later ``RUN`` lines use."""
        if not isinstance(shell_commands, list) or not all(isinstance(x, str) for x in shell_commands):
            raise InvalidError("shell_commands must be a list of strings.")
        return self.dockerfile_commands(f"SHELL {json.dumps(shell_commands)}")

    def env(self, vars: dict[str, str]) -> Image:
        """``ENV K=<value>`` for each variable: kept in the image."""
        if not isinstance(vars, dict) or not all(isinstance(key, str) for key in vars):
            raise InvalidError(f"Image ENV variables must be a dict[str, str], got {type(vars).__name__}")
        bad = [key for key, val in vars.items() if not isinstance(val, str)]
        if bad:
            raise InvalidError(f"Image ENV variables must be strings. Invalid keys: {bad}")
        return self._then(S.Env(vars), f"env({sorted(vars)!r})", False)

    def workdir(self, path: str | PurePosixPath) -> Image:
        """``WORKDIR <path>``."""
        return self._then(S.Workdir(str(path)), f"workdir({str(path)!r})", False)

    def run_function(self, raw_f: Callable[..., Any], **kwargs: Any) -> Image:
        """Not available locally: raises ``InvalidError`` (use ``run_commands``)."""
        raise InvalidError(
            "Image.run_function() is not supported by the local backend: it runs a Modal Function in Modal's cloud "
            "and saves its filesystem; run the code with run_commands('python -c ...') or a local script copied in "
            "with add_local_file(..., copy=True) instead"
        )

    def pipe(self, func: Callable[..., Image], *args: Any, **kwargs: Any) -> Image:
        """``func(self, *args, **kwargs)``: a reusable recipe applied in a chain."""
        return func(self, *args, **kwargs)

    def imports(self) -> AbstractContextManager[None]:
        """Modal's ``with image.imports():`` block: imports that fail locally (the packages live in the image)
        are ignored; other exceptions are ignored with a warning."""
        return _imports_block()

    # ------------------------------------------------------------------------------------------- objects

    @property
    def force_build(self) -> bool:
        """Whether steps added to this image are rebuilt on every build (``force_build=True`` upstream)."""
        return self._force

    @property
    def object_id(self) -> str:
        """``im-`` + the engine image id. ``AttributeError`` until built (or given by ``from_id``)."""
        if self._object_id is None:
            raise AttributeError(f"Attempting to get object_id of unhydrated {self!r}")
        return self._object_id

    @property
    def is_hydrated(self) -> bool:
        """True once built or looked up on the engine."""
        return self._resolved is not None

    async def hydrate(self, client: None = None) -> Image:
        """Look up an image given by id or name (``NotFoundError`` when missing); no-op when hydrated. A
        definition that needs building raises ``ExecutionError`` (Modal's rule): use ``build(app)``."""
        reject_client(client)
        if self._resolved is not None:
            return self
        if self._defn.steps or self._defn.mounts or not self._is_reference():
            raise ExecutionError(_HYDRATE_MESSAGE)
        await self._resolve(await get_engine())
        return self

    def _is_reference(self) -> bool:
        root = self._defn.root
        return isinstance(root, Published) or (isinstance(root, FromImage) and root.ref.startswith("sha256:"))

    async def build(self, app: AppLike) -> Image:
        """Build the image now (only what is missing); returns ``self``, hydrated. Progress and the build log
        show under ``enable_output()``. Raises ``ImageBuildError`` naming the failed step."""
        if not isinstance(app, AppLike):
            raise InvalidError(f"Image.build() expects an App (from App.lookup), got {type(app).__name__}")
        if not app.app_id:
            raise InvalidError("App has not been initialized yet. Use the context manager `app.run()` or `App.lookup`")
        await self._resolve(await get_engine(), build_output(False))
        return self

    async def publish(
        self,
        name: str,
        *,
        environment_name: str | None = None,
        experimental_options: dict[str, Any] | None = None,
        client: None = None,
    ) -> None:
        """Name this built image ``name[:tag]`` (tag ``latest`` when omitted) for ``Image.from_name``; publishing
        a name again moves it."""
        if self._object_id is None:
            raise InvalidError("Cannot publish an image that has not been created yet. Call `.build()` first.")
        reject_client(client)
        name_tag = names.parse(name, environment_name)
        M.refuse("publish", "experimental_options", bool(experimental_options), "there is no image sharing locally")
        eng = await get_engine()
        engine_id = "sha256:" + self._object_id.removeprefix("im-")
        if await eng.images.inspect(engine_id) is None:
            raise NotFoundError(f"Image {self._object_id} does not exist on the local engine")
        await names.publish(eng, engine_id, name_tag)

    async def _resolve(self, eng: EngineAPI, on_line: LineSink | None = None) -> ResolvedImage:
        """The image on ``eng``, built if needed (cached per engine)."""
        if self._resolved is not None and self._endpoint == eng.endpoint:
            if time.monotonic() - self._touched > TOUCH_INTERVAL:
                self._touched = time.monotonic()
                gc.touch(self._resolved.chain)
            return self._resolved
        if self._defn.is_empty:
            raise InvalidError(
                "Image.from_scratch() has no filesystem to run a sandbox in: add files with copy=True first "
                "(an empty image serves Sandbox.mount_image)"
            )
        built = await builder.build(eng, self._defn, on_line=on_line)
        info = await eng.images.inspect(built.image_id)
        if info is None:
            raise NotFoundError(f"Image {built.image_id} was removed from the local engine while in use")
        resolved = ResolvedImage(info, built.mounts, built.chain)
        self._resolved, self._endpoint, self._touched = resolved, eng.endpoint, time.monotonic()
        self._object_id = "im-" + info.id.removeprefix("sha256:")
        return resolved

    def _forget(self) -> None:
        """Drop the cached resolution (its engine image was removed); the next use resolves again."""
        self._resolved = self._endpoint = None

    def __repr__(self) -> str:
        return self._desc


def build_output(verbose: bool) -> LineSink:
    """Where a build's lines go: the open ``enable_output()`` block (read per line; its log, and its progress lines
    for what the builder does), else stderr when ``verbose``, else nowhere."""
    fallback = _output.Output() if verbose else None

    def log(line: str) -> None:
        out = _output.current() or fallback
        if out is not None:
            out.log(line)

    def progress(line: str) -> None:
        out = _output.current() or fallback
        if out is not None:
            out.progress(line)

    return report.BuildOutput(log, progress)


#: Overrides the default image with an image reference (e.g. a small local image for fast tests).
DEFAULT_IMAGE_ENV = "SANDBOX_CORE_DEFAULT_IMAGE"
_default: tuple[str, Image] | None = None


def default_image() -> Image:
    """The image of ``Sandbox.create`` without ``image``: ``Image.debian_slim()`` (or ``SANDBOX_CORE_DEFAULT_IMAGE``
    as a registry reference), one object per process, so that its resolution is cached across creates."""
    global _default
    ref = os.environ.get(DEFAULT_IMAGE_ENV, "")
    if _default is None or _default[0] != ref:
        _default = (ref, Image.from_registry(ref) if ref else Image.debian_slim())
    return _default[1]


async def resolve_image(image: Image | None, eng: EngineAPI, *, verbose: bool = False) -> ResolvedImage:
    """The image a sandbox runs: ``image``, or the default one when None, built or looked up on ``eng`` (cached on
    the ``Image``); its build output goes to ``build_output(verbose)``. Raises ``InvalidError`` for anything but an
    ``Image``, ``NotFoundError`` when the image can be neither found nor pulled, ``ImageBuildError``."""
    img = image if image is not None else default_image()
    if not isinstance(img, Image):
        raise InvalidError(f"image must be an Image, got {type(img).__name__}")
    return await img._resolve(eng, build_output(verbose))


def forget_resolution(image: Image | None) -> None:
    """Drop what ``resolve_image`` cached for ``image`` (the engine no longer has it), so it resolves again."""
    (image if image is not None else default_image())._forget()


def snapshot_image(info: ImageInfo, endpoint: str, desc: str) -> Image:
    """A hydrated ``Image`` of an image that exists on the engine at ``endpoint`` (a snapshot)."""
    return Image._hydrated(info, endpoint, desc)


MOUNT_LAYERS_MESSAGE = (
    "Sandbox.mount_image() only supports pre-built images. When using `add_local*` methods, "
    "specify `copy=True` and call `.build()` before passing the image to `mount_image()`:\n\nE.g.\n"
    'img = modal.Image.debian_slim().add_local_file("foo", "/foo", copy=True).build(app)\n'
    "sandbox.mount_image(path, img)"
)
NOT_BUILT_MESSAGE = (
    "Sandbox.mount_image() currently only supports Images that are either:\n"
    "- prebuilt using `image.build()`\n"
    "- referenced by id, e.g. `Image.from_id()`\n"
    "- filesystem/directory snapshots e.g. created by `.snapshot_directory()` or `.snapshot_filesystem()`\n"
)


def mount_source(image: Any) -> str | None:
    """Modal's checks of ``Sandbox.mount_image``'s ``image``, in Modal's order; returns the engine image id to
    mount, or None for ``Image.from_scratch()`` (an empty directory)."""
    if not isinstance(image, Image):
        raise TypeError(f"Sandbox.mount_image(image=...) expects an Image object, got {image!r}")
    if image._defn.mounts:
        raise InvalidError(MOUNT_LAYERS_MESSAGE)
    if image._defn.is_empty:
        return None
    if image._object_id is None:
        raise InvalidError(NOT_BUILT_MESSAGE)
    return "sha256:" + image._object_id.removeprefix("im-")
