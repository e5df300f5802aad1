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

import attrs

from ..exception import InvalidError
from .steps import EnvPairs, LocalSource, Prepared, Step, _env_pairs, _host_path
from .tarstream import Entry, IgnoreFn, entries_digest, scan_tree

HASH_VERSION = "sandbox-core-image/1"
#: Repository of the images built for definition steps; the tag is the step's content address.
STEP_REPO = "sandbox-core/image"

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
    """An existing image: a registry reference (pulled when missing) or an engine image id."""

    ref: str


@attrs.frozen
class DebianSlim:
    """The Python base image (see ``base``): ``python_version`` as Modal's ``Image.debian_slim`` takes it."""

    python_version: str | None = None


@attrs.frozen
class FromScratch:
    """``FROM scratch``: an empty filesystem."""


@attrs.frozen
class FromDockerfile:
    """A complete Dockerfile (with its own ``FROM``) built with ``context_dir`` (minus ``ignore``) as context."""

    path: str = attrs.field(converter=_host_path)
    context_dir: str | None = attrs.field(default=None, converter=attrs.converters.optional(_host_path))
    ignore: IgnoreFn | None = attrs.field(default=None, eq=False)
    build_args: EnvPairs = attrs.field(default=(), converter=_env_pairs)

    def prepare(self) -> Prepared:
        """Read the Dockerfile and scan the context (blocking I/O)."""
        try:
            with open(self.path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise InvalidError(f"cannot read Dockerfile {self.path!r}: {e.strerror}") from None
        context: list[Entry] = []
        if self.context_dir is not None:
            context = [
                e for e in scan_tree(self.context_dir, "", self.ignore) if not e.name.startswith(".sandbox-core")
            ]
        material = json.dumps(
            {"op": "from_dockerfile", "dockerfile": text, "context": entries_digest(context), "args": self.build_args},
            sort_keys=True,
        )
        return Prepared(
            f"from_dockerfile({os.path.relpath(self.path)!r})", material, tuple(text.splitlines()), tuple(context)
        )


Root = FromImage | DebianSlim | FromScratch | FromDockerfile


def _labels(value: Mapping[str, str] | tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(_env_pairs(value)))


@attrs.frozen
class ImageDefinition:
    """What an image is made of. ``labels`` are put on every image built for it and are part of its identity."""

    root: Root
    steps: tuple[Step, ...] = ()
    mounts: tuple[LocalSource, ...] = ()
    labels: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_labels)

    def add(self, step: Step) -> ImageDefinition:
        """A new definition with ``step`` appended. Raises ``InvalidError`` (Modal's text) after mount layers."""
        if self.mounts:
            raise InvalidError(MOUNT_LAYER_ERROR)
        return attrs.evolve(self, steps=(*self.steps, step))

    def add_mount(self, source: LocalSource) -> ImageDefinition:
        """A new definition with ``source`` as a mount layer (copied into containers at start)."""
        return attrs.evolve(self, mounts=(*self.mounts, source))

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
