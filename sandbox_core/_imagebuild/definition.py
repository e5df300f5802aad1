"""An image definition: a root (where the filesystem starts), ordered build steps, and mount layers; plus the
chain of content addresses its steps get.

Content addressing: the root's address covers what the root resolves to (the engine id of a base or registry
image, the text and context of a Dockerfile) and the extra labels; each step's address is
``sha256(parent address, step material)``. Equal definitions get equal addresses (no rebuild); a change in a step
or in a file it copies changes that step's address and every later one, and only those are rebuilt.

Mount layers are Modal's ``add_local_*(copy=False)``: they do not change the image or its address and are copied
into each container before it starts (see ``mounts``). As in Modal, no build step may follow them.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from ..exception import InvalidError
from .context import IgnoreSpec, context_filter
from .envbuild import dockerfile_lines
from .steps import EnvPairs, LocalSource, Prepared, Step, _env_pairs, _host_path
from .tarstream import Entry, entries_digest, scan_tree
from .valuekey import identity

HASH_VERSION = "sandbox-core-image/1"
#: Repository of the images built for definition steps; the tag is the step's content address.
STEP_REPO = "sandbox-core/image"
#: The label carrying a built image's content address.
ADDRESS_LABEL = "sandbox-core.image-address"

MOUNT_LAYER_ERROR = (
    "An image tried to run a build step after using `image.add_local_*` to include local files.\n"
    "\n"
    "Run `image.add_local_*` commands last in your image build to avoid rebuilding images with every local "
    "file change. Modal will then add these files to containers on startup instead, saving build time.\n"
    "If you need to run other build steps after adding local files, set `copy=True` to copy the files "
    "directly into the image, at the expense of some added build time.\n"
    "\n"
    "Example:\n"
    "\n"
    "my_image = (\n"
    "    Image.debian_slim()\n"
    '    .add_local_file("data.json", copy=True)\n'
    '    .run_commands("python -m mypak")  # this now works!\n'
    ")\n"
)


@attrs.frozen
class FromImage:
    """An existing image: a registry reference (pulled when missing) or an engine image id. ``credentials`` names
    registry credentials the caller gave (``Image.from_registry(secret=...)``, ``from_aws_ecr``, …): the local
    engine cannot pull with them, so an image missing locally is then refused instead of pulled anonymously."""

    ref: str
    credentials: str | None = attrs.field(default=None, eq=False)


@attrs.frozen
class DebianSlim:
    """The Python base image (see ``base``): ``python_version`` as Modal's ``Image.debian_slim`` takes it."""

    python_version: str | None = None


@attrs.frozen
class FromScratch:
    """``FROM scratch``: an empty filesystem."""


@attrs.frozen
class Published:
    """An image published under a name (``Image.from_name``): ``name:tag`` as ``names.parse`` returns it."""

    name_tag: str


@attrs.frozen
class FromDockerfile:
    """A complete Dockerfile (with its own ``FROM``) built with the files of ``context_dir`` its ``COPY``
    instructions name (minus ``ignore``) as context (see ``context``)."""

    path: str = attrs.field(converter=_host_path)
    context_dir: str | None = attrs.field(default=None, converter=attrs.converters.optional(_host_path))
    ignore: IgnoreSpec = attrs.field(default=None, eq=False)
    build_args: EnvPairs = attrs.field(default=(), converter=_env_pairs)
    env: EnvPairs = attrs.field(default=(), converter=_env_pairs)

    def prepare(self) -> Prepared:
        """Read the Dockerfile and scan the context (blocking I/O)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise InvalidError(f"cannot read Dockerfile {self.path!r}: {e.strerror}") from None
        context: list[Entry] = []
        if self.context_dir is not None:
            keep = context_filter(text.splitlines(), Path(self.context_dir), self.ignore, Path(self.path))
            if keep is not None:
                context = [e for e in scan_tree(self.context_dir, "", keep) if not e.name.startswith(".sandbox-core")]
        material: dict[str, object] = {"op": "from_dockerfile", "dockerfile": text, "context": entries_digest(context)}
        material |= {"args": self.build_args} | ({"env": identity(self.env)} if self.env else {})
        lines = tuple(text.splitlines())
        return Prepared(
            f"from_dockerfile({os.path.relpath(self.path)!r})",
            json.dumps(material, sort_keys=True),
            dockerfile_lines(lines, "Image.from_dockerfile", root=True) if self.env else lines,
            tuple(context),
            shown=lines,
            env=self.env,
        )


Root = FromImage | DebianSlim | FromScratch | FromDockerfile | Published


def _labels(value: Mapping[str, str] | tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(_env_pairs(value)))


#: Labels added to every image the library builds or snapshots: ``k=v`` pairs separated by commas (e.g. to find
#: the images of a CI run). They are part of a built image's identity, like a definition's own labels.
LABELS_ENV = "SANDBOX_CORE_IMAGE_LABELS"


def env_labels() -> dict[str, str]:
    """The labels ``SANDBOX_CORE_IMAGE_LABELS`` names. Raises ``InvalidError`` for a malformed value."""
    raw = os.environ.get(LABELS_ENV, "").strip()
    out: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidError(f"{LABELS_ENV} must be comma-separated key=value pairs, got {raw!r}")
        out[key.strip()] = value.strip()
    return out


@attrs.frozen
class ImageDefinition:
    """What an image is made of. ``labels`` are put on every image built for it and are part of its identity."""

    root: Root
    steps: tuple[Step, ...] = ()
    mounts: tuple[LocalSource, ...] = ()
    labels: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_labels)
    #: Make the root again even when it exists (``force_build`` of a root constructor): rebuild a Dockerfile or the
    #: Python base, pull a registry image again; every step is then rebuilt too. Not part of the identity.
    force_root: bool = attrs.field(default=False, eq=False)

    def add(self, step: Step) -> ImageDefinition:
        """A new definition with ``step`` appended. Raises ``InvalidError`` (Modal's text) after mount layers."""
        if self.mounts:
            raise InvalidError(MOUNT_LAYER_ERROR)
        return attrs.evolve(self, steps=(*self.steps, step))

    def add_mount(self, source: LocalSource) -> ImageDefinition:
        """A new definition with ``source`` as a mount layer (copied into containers at start)."""
        return attrs.evolve(self, mounts=(*self.mounts, source))

    def with_labels(self, labels: Mapping[str, str]) -> ImageDefinition:
        """A new definition with ``labels`` added (its own win on a conflict)."""
        if not labels:
            return self
        return attrs.evolve(self, labels={**labels, **dict(self.labels)})

    @property
    def is_empty(self) -> bool:
        """``from_scratch()`` with no steps: nothing to build (``mount_image`` mounts an empty directory)."""
        return isinstance(self.root, FromScratch) and not self.steps


def _sha(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    return h.hexdigest()


def root_address(root_identity: str, labels: tuple[tuple[str, str], ...]) -> str:
    """The content address of a root: what it resolved to (an engine id, or the material of a Dockerfile), and the
    definition's labels."""
    return _sha(HASH_VERSION, root_identity, json.dumps(labels))


def step_address(parent: str, material: str) -> str:
    """The content address of a step on top of ``parent``."""
    return _sha(HASH_VERSION, parent, material)


def chain(root: str, prepared: tuple[Prepared, ...]) -> tuple[str, ...]:
    """Every step's address, in order."""
    out, parent = [], root
    for step in prepared:
        parent = step_address(parent, step.material)
        out.append(parent)
    return tuple(out)


def step_tag(address: str) -> str:
    """The engine tag of the image built for a step (or a Dockerfile root) with ``address``."""
    return f"{STEP_REPO}:{address}"
