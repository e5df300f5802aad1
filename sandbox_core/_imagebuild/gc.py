"""Garbage collection of the images the library makes: expired snapshots and step images unused for a while.

The rules (applied by ``sweep()`` and, every ``PERIOD`` seconds, by the supervisor):

- **Snapshot images** (``snapshot_filesystem``/``snapshot_directory``) carry ``sandbox-core.expires-at`` (their
  ``ttl``; none for ``ttl=None``). Once it has passed, their snapshot tag is removed. ``sweep(app_id=...,
  everything=True)`` removes the snapshots of that app's sandboxes regardless of their expiry.
- **Step images** of the builder (``sandbox-core/image:<address>``) are removed once unused for
  ``SANDBOX_CORE_IMAGE_GC_AGE`` seconds (default 7 days; ``off`` disables it). *Used* means built, or found by a
  build of a definition that needs it, on this host: the builder touches a stamp per step address under the build
  lock directory (``once.lock_dir()/used``); an image without a stamp counts from its creation. Every step of a
  chain is touched when the chain is used, so a step is never older than a step built on it.
- Python base images (``debian_slim``) are never removed automatically: they are shared, and slow to rebuild.
- Never removed: an image a container still uses (the engine refuses; the image is retried on the next pass), an
  image with a published name (``Image.publish``: only our own tag is removed, the image stays under its name),
  and the parent of an image that remains (the engine keeps it).
- Containers left by an interrupted ``mount_image`` (kind ``image-export``) older than a minute are removed.
"""

from __future__ import annotations

import contextlib
import os

import attrs

from .._engine import labels as L
from .._engine.api import EngineAPI
from .._engine.values import ImageSummary, LabelQuery
from ..exception import ConflictError, InvalidError
from . import names, once
from .definition import ADDRESS_LABEL, STEP_REPO

AGE_ENV = "SANDBOX_CORE_IMAGE_GC_AGE"
DEFAULT_AGE = 7 * 24 * 3600
#: How often the supervisor applies these rules (seconds).
PERIOD = 600.0
EXPORT_GRACE = 60.0
#: Repository of snapshot images' own tags (``sandbox-core/snapshot:<uuid>``).
SNAPSHOT_REPO = "sandbox-core/snapshot"


@attrs.frozen
class ImageSweep:
    """What one pass removed: snapshot images, step images, leftover export containers."""

    snapshots: int = 0
    steps: int = 0
    exports: int = 0


def max_age() -> float | None:
    """``SANDBOX_CORE_IMAGE_GC_AGE`` in seconds (None: ``off``). Raises ``InvalidError`` for a bad value."""
    raw = os.environ.get(AGE_ENV, "").strip()
    if not raw:
        return float(DEFAULT_AGE)
    if raw.lower() == "off":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise InvalidError(f"{AGE_ENV} must be a number of seconds or 'off', got {raw!r}") from None
    if value < 0:
        raise InvalidError(f"{AGE_ENV} must be >= 0, got {raw!r}")
    return value


def _stamp_dir() -> str:
    path = os.path.join(once.lock_dir(), "used")
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o1777)
        os.chmod(path, 0o1777)
    return path


def touch(addresses: tuple[str, ...]) -> None:
    """Record that the step images of ``addresses`` were just used (best effort: a stamp that cannot be written
    only makes its image count from its creation)."""
    try:
        directory = _stamp_dir()
    except OSError:
        return
    for address in addresses:
        path = os.path.join(directory, address)
        with contextlib.suppress(OSError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
            try:
                os.fchmod(fd, 0o666)  # other users of the engine touch it too
            except OSError:
                pass
            finally:
                os.close(fd)
            os.utime(path)


def last_used(address: str, created_at: float | None) -> float:
    """When a step image was last used: its stamp, else its creation."""
    with contextlib.suppress(OSError):
        return os.stat(os.path.join(once.lock_dir(), "used", address)).st_mtime
    return created_at or 0.0


async def _remove_tag(eng: EngineAPI, image: ImageSummary, tag: str | None) -> bool:
    """Remove our tag of ``image`` (its id when untagged). False when the engine refuses (a container uses it)."""
    try:
        return await eng.images.remove(tag or image.id)
    except ConflictError:
        return False


def _own_tag(image: ImageSummary, repo: str) -> str | None:
    return next((t for t in image.repo_tags if t.startswith(repo + ":")), None)


async def _collect_snapshots(eng: EngineAPI, now: float, query: LabelQuery, everything: bool) -> int:
    removed = 0
    for image in await eng.images.list(query):
        expires = image.labels.get(L.EXPIRES_AT)
        expired = expires is not None and float(expires) <= now
        if (everything or expired) and await _remove_tag(eng, image, _own_tag(image, SNAPSHOT_REPO)):
            removed += 1
    return removed


async def _collect_steps(eng: EngineAPI, now: float, age: float, query: LabelQuery) -> int:
    removed = 0
    for _ in range(20):  # children first: a parent becomes removable once its children are gone
        progress = 0
        for image in await eng.images.list(query):
            tag = _own_tag(image, STEP_REPO)
            address = image.labels.get(ADDRESS_LABEL, "")
            if any(names.is_published(t) for t in image.repo_tags) or tag is None:
                continue
            if now - last_used(address, image.created_at) >= age and await _remove_tag(eng, image, tag):
                progress += 1
        removed += progress
        if not progress:
            break
    return removed


async def _collect_exports(eng: EngineAPI, now: float, grace: float, query: LabelQuery) -> int:
    removed = 0
    for item in await eng.containers.list(query, all=True):
        if now - item.created_at >= grace and await eng.containers.remove(item.id):
            removed += 1
    return removed


_FROM_ENV = -1.0


async def collect(
    eng: EngineAPI,
    now: float,
    *,
    app_id: str | None = None,
    everything: bool = False,
    age: float | None = _FROM_ENV,
    only: LabelQuery | None = None,
) -> ImageSweep:
    """Apply the rules of the module docstring once. With ``app_id``, only that app's snapshots and export
    containers are considered (step images belong to no app); ``everything`` removes them all. ``age`` overrides
    ``SANDBOX_CORE_IMAGE_GC_AGE`` (None: no step image is removed); ``only`` narrows every query to images and
    containers carrying those labels."""
    scope: dict[str, str | None] = {**(only or {}), **({} if app_id is None else {L.APP_ID: app_id})}
    snapshots = await _collect_snapshots(eng, now, {**scope, L.KIND: L.KIND_SNAPSHOT}, everything)
    grace = 0.0 if everything else EXPORT_GRACE
    exports = await _collect_exports(eng, now, grace, {**scope, L.KIND: L.KIND_IMAGE_EXPORT})
    steps = 0
    age = max_age() if age == _FROM_ENV else age
    if app_id is None and age is not None:
        steps = await _collect_steps(eng, now, age, {**scope, L.KIND: L.KIND_IMAGE})
    return ImageSweep(snapshots=snapshots, steps=steps, exports=exports)
