"""Build an ``ImageDefinition`` on the engine, one image per step, each at most once.

``build`` resolves the root (the Python base via ``base``, a registry image, a Dockerfile, or scratch), computes
the chain of content addresses, reuses the longest prefix of steps whose images exist (tag
``sandbox-core/image:<address>``), and builds the rest in order, each ``FROM`` the previous step's image with a
streamed tar context. A step's build is shared by concurrent callers (``once``); the engine's log goes to the
``on_line`` of the caller that started it, the others get one line saying they wait.

A failing step raises ``ImageBuildError`` naming the step (its number and the method call that made it) with the
tail of its log; nothing of the failed build is left on the engine (``ImagesAPI.build``).
"""

from __future__ import annotations

import asyncio
import re

import attrs

from .._engine.api import EngineAPI, LineSink
from .._engine.errors import BuildFailed, ImagePullError
from .._engine.labels import KIND, KIND_IMAGE, OWNER, OWNER_VALUE
from .._engine.values import LabelQuery
from ..exception import ImageBuildError, InvalidError, NotFoundError
from . import base, definition, envbuild, gc, names, once, report
from .buildca import BuildCA
from .definition import DebianSlim, FromDockerfile, FromImage, FromScratch, ImageDefinition, Published
from .masking import Mask
from .steps import EnvPairs, LocalSource, Prepared, label_line
from .tarstream import Entry, stream_tar

ADDRESS_LABEL = definition.ADDRESS_LABEL
DOCKERFILE = ".sandbox-core/Dockerfile"
LOG_TAIL = 25


@attrs.frozen
class BuiltImage:
    """A definition built on the engine. ``image_id`` is the engine id (``sha256:…``) of the last step's image, or
    of the root when there are no steps; ``tag`` its content-addressed tag (None for a root used as is);
    ``mounts`` are still to be copied into each container (``mounts.apply_mounts``); ``chain`` the addresses of
    the step images it is made of (``gc.touch`` them to mark them used)."""

    image_id: str
    tag: str | None
    address: str
    mounts: tuple[LocalSource, ...]
    chain: tuple[str, ...] = ()


@attrs.frozen
class _Root:
    image: str  # what the first step builds FROM: an engine id, or "scratch"
    address: str
    tag: str | None


def _prepare(defn: ImageDefinition, ca: BuildCA | None) -> tuple[Prepared | None, tuple[Prepared, ...]]:
    root = defn.root.prepare() if isinstance(defn.root, FromDockerfile) else None
    return root, tuple(step.prepare(ca) for step in defn.steps)


def _labels(defn: ImageDefinition, address: str) -> dict[str, str]:
    return {**dict(defn.labels), OWNER: OWNER_VALUE, KIND: KIND_IMAGE, ADDRESS_LABEL: address}


_NONZERO_RE = re.compile(r"^The command .* returned a non-zero code: (\d+)$", re.DOTALL)


def _failure(what: str, error: BuildFailed, readable: tuple[str, ...], mask: Mask) -> ImageBuildError:
    """The error for a failed step: the instruction as the user wrote it (engine steps count our Dockerfile's
    lines when each holds one instruction), the engine's reason, and the tail of the log."""
    shown = error.instruction
    if error.step is not None and error.steps == len(readable) and error.step <= len(readable):
        shown = readable[error.step - 1]
    reason = error.engine_message
    if (m := _NONZERO_RE.match(reason)) is not None and shown:
        reason = f"`{shown}` returned a non-zero code: {m.group(1)}"
    elif shown:
        reason = f"`{shown}`: {reason}"
    tail = "\n".join(error.log_tail[-LOG_TAIL:]).strip()
    log = f"\n--- last lines of the build log ---\n{tail}" if tail else ""
    return ImageBuildError(mask(f"Image build failed at {what}: {reason}{log}"))


async def _build_one(
    eng: EngineAPI,
    *,
    what: str,
    address: str,
    dockerfile: tuple[str, ...],
    readable: tuple[str, ...],
    context: tuple[Entry, ...],
    labels: dict[str, str],
    buildargs: dict[str, str] | None,
    force: bool,
    on_line: LineSink | None,
    label_at: int | None = 1,
    parent: str | None = None,
    env: EnvPairs = (),
    ca: BuildCA | None = None,
) -> str:
    """Build one image tagged for ``address`` under the cross-process lock (re-checking the tag first).

    The ``LABEL`` instruction goes at ``label_at`` in ``dockerfile``: right after ``FROM`` for steps, so that the
    labels are in the engine's cache key of every later instruction and on the containers that run them. With
    build-time values ``env``, ``envbuild`` builds it (``parent``: the image of ``dockerfile``'s first line, None
    for a root Dockerfile) and every line of output and error text is masked.
    """
    tag = definition.step_tag(address)
    mask = Mask(value for _, value in env)
    on_line = mask.sink(on_line)

    async def build_lines(lines: tuple[str, ...], tagged: str | None, at: int | None, shown: tuple[str, ...]) -> str:
        at = len(lines) if at is None else at
        lines = (*lines[:at], label_line(labels), *lines[at:])
        shown = (*shown[:at], label_line(labels), *shown[at:])
        text = "\n".join(lines) + "\n"
        files = (Entry.from_bytes(DOCKERFILE, text.encode()), *context)
        try:
            return await eng.images.build(
                stream_tar(files),
                dockerfile=DOCKERFILE,
                tag=tagged,
                build_args=buildargs,
                no_cache=force,
                on_line=on_line,
            )
        except BuildFailed as e:
            raise _failure(what, e, shown, mask) from None

    async def segment(base: str | None, lines: tuple[str, ...]) -> str:
        full = lines if base is None else (f"FROM {base}", *lines)
        return await build_lines(full, None, None if base is None else 1, full)

    async def work() -> str:
        async with once.file_lock(tag, report.later(on_line, f"waiting for another process building {what}")):
            if not force and (info := await eng.images.inspect(tag)) is not None:
                return info.id
            report.status(on_line, f"building {what}")
            if not env:
                return await build_lines(dockerfile, tag, label_at, readable)
            step = envbuild.EnvStep(what, labels, env, ca, on_line, mask)
            segs = envbuild.segments(dockerfile if parent is None else dockerfile[1:])
            return await step.build(eng, parent, segs, tag, segment)

    return await once.run_once(
        tag, work, report.later(on_line, f"waiting for the build of {what} started by another caller")
    )


async def _resolve_root(
    eng: EngineAPI,
    defn: ImageDefinition,
    prepared: Prepared | None,
    force: bool,
    on_line: LineSink | None,
    ca: BuildCA | None,
) -> _Root:
    root = defn.root
    if isinstance(root, FromScratch):
        return _Root("scratch", definition.root_address("scratch", defn.labels), None)
    if isinstance(root, DebianSlim):
        made = await base.ensure_python_base(eng, root.python_version, on_line=on_line, force=defn.force_root)
        return _Root(made.image_id, definition.root_address(made.image_id, defn.labels), None)
    if isinstance(root, Published):
        found = await names.lookup(eng, root.name_tag)
        return _Root(found.id, definition.root_address(found.id, defn.labels), None)
    if isinstance(root, FromImage):
        info = None if defn.force_root and not root.ref.startswith("sha256:") else await eng.images.inspect(root.ref)
        if info is None and root.credentials is not None:
            raise InvalidError(
                f"Image {root.ref!r} is not present on the local engine, and the local backend cannot pull with "
                f"{root.credentials}: log in with `docker login` and `docker pull {root.ref}`, then use it"
            )
        if info is None and not root.ref.startswith("sha256:"):
            report.status(on_line, f"pulling {root.ref}")
            try:
                await eng.images.pull(root.ref, on_line=on_line)
            except ImagePullError as e:
                raise NotFoundError(
                    f"Image {root.ref!r} is not present on the local engine and could not be pulled ({e}). "
                    "Build or load it locally first (scripts/build-images.sh builds the project's images)."
                ) from None
            info = await eng.images.inspect(root.ref)
        if info is None:
            raise NotFoundError(f"Image {root.ref!r} does not exist on the local engine")
        return _Root(info.id, definition.root_address(info.id, defn.labels), None)
    assert prepared is not None
    address = definition.root_address(prepared.material, defn.labels)
    image_id = await _build_one(
        eng,
        what=prepared.description,
        address=address,
        dockerfile=prepared.instructions,
        readable=prepared.readable(),
        context=prepared.context,
        labels=_labels(defn, address),
        buildargs=dict(root.build_args) or None,
        force=force,
        on_line=on_line,
        label_at=None,
        env=prepared.env,
        ca=ca,
    )
    return _Root(image_id, address, definition.step_tag(address))


async def _first_missing(
    eng: EngineAPI, addresses: tuple[str, ...], limit: int, root: _Root
) -> tuple[int, str, str | None]:
    """The index of the first step to build (steps before ``limit`` may be reused), its parent image and tag."""
    for index in range(min(limit, len(addresses)) - 1, -1, -1):
        tag = definition.step_tag(addresses[index])
        info = await eng.images.inspect(tag)
        if info is not None:
            return index + 1, info.id, tag
    return 0, root.image, root.tag


async def build(
    eng: EngineAPI, defn: ImageDefinition, *, force: bool = False, on_line: LineSink | None = None
) -> BuiltImage:
    """Build ``defn`` (only the steps whose images are missing, or all of them with ``force``); see the module
    docstring. Raises ``InvalidError`` for an empty definition, ``NotFoundError`` for a missing root image,
    ``ImageBuildError`` for a failed step."""
    if defn.is_empty:
        raise InvalidError("Image.from_scratch() without build steps has no filesystem to build")
    defn = defn.with_labels(definition.env_labels())
    ca = BuildCA.from_env()
    if defn.steps or isinstance(defn.root, FromDockerfile):
        root_prepared, prepared = await asyncio.to_thread(_prepare, defn, ca)
    else:
        root_prepared, prepared = None, ()  # nothing to read from disk: no thread hop
    # ``force`` rebuilds every step (and a Dockerfile root); ``force_root`` also makes a base or pulled root again
    root = await _resolve_root(eng, defn, root_prepared, force or defn.force_root, on_line, ca)
    force = force or defn.force_root
    addresses = definition.chain(root.address, prepared)
    forced = [i for i, p in enumerate(prepared) if p.force_build]
    limit = 0 if force else (forced[0] if forced else len(prepared))
    start, parent, tag = await _first_missing(eng, addresses, limit, root)
    for index in range(start, len(prepared)):
        step = prepared[index]
        args = ca.arg_lines() if ca is not None and step.uses_build_arg else ()
        buildargs = {**(ca.build_args() if ca is not None and args else {}), **dict(step.build_args)}
        parent = await _build_one(
            eng,
            what=f"step {index + 1} of {len(prepared)}, {step.description}",
            address=addresses[index],
            dockerfile=(f"FROM {parent}", *args, *step.instructions),
            readable=(f"FROM {parent}", *args, *step.readable()),
            context=step.context,
            labels=_labels(defn, addresses[index]),
            buildargs=buildargs or None,
            force=force or index >= limit,
            on_line=on_line,
            parent=parent,
            env=step.env,
            ca=ca,
        )
        tag = definition.step_tag(addresses[index])
    used = (*([root.address] if root.tag else []), *addresses)
    gc.touch(used)
    address = addresses[-1] if addresses else root.address
    return BuiltImage(parent, tag, address, defn.mounts, used)


async def remove_images(eng: EngineAPI, labels: LabelQuery) -> int:
    """Remove every image carrying ``labels`` (children before parents); returns how many were removed. Images a
    container still uses are left (``ConflictError`` is not raised)."""
    removed = 0
    for _ in range(20):
        found = await eng.images.list(labels)
        progress = 0
        for image in found:
            for ref in image.repo_tags or (image.id,):
                try:
                    progress += await eng.images.remove(ref)
                except (InvalidError, ImageBuildError):
                    continue  # in use (ConflictError is an InvalidError) or a parent of a not yet removed image
        removed += progress
        if not found or not progress:
            break
    return removed
