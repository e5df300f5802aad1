"""``Sandbox.snapshot_filesystem`` and ``Sandbox.snapshot_directory`` on the local engine.

- ``snapshot_filesystem``: the engine commits the container (paused meanwhile) into an image whose configuration is
  the sandbox's image's (command, entrypoint, environment, working directory, user). Nothing the sandbox was given
  at creation is kept in the image's configuration: not its labels, and not the values of its environment and
  secrets (the engine's commit keeps their names, so they are present in the image with empty values). The engine
  also records the committed container's own configuration, values included, as the image's ``ContainerConfig``
  metadata: visible to the engine's owner (as the running container's was), never to a sandbox (SECURITY.md).
- ``snapshot_directory``: the directory is read through the archive API and imported as a one-layer image holding
  its content at ``/`` (``FROM scratch``); meant for ``mount_image``.

Both images are tagged ``sandbox-core/snapshot:<uuid>`` and carry the ownership labels, the sandbox's app and id,
and ``sandbox-core.expires-at`` (now + ``ttl``; absent for ``ttl=None``), which ``sweep()`` and the supervisor
enforce (``_imagebuild.gc``). A call that times out raises ``TimeoutError("Timeout expired")``; the engine may
still finish the image, which is then removed in the background (or, should this process end first, by the sweep
once it expires).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
import posixpath
import time
import uuid
from collections.abc import Awaitable
from typing import Any

from ._engine import EngineAPI, get_engine
from ._engine import labels as L
from ._engine.errors import ArchivePathError, ContainerNotRunning, NoSuchContainer
from ._engine.values import ContainerInfo, ImageConfig
from ._imagebuild import retar
from ._imagebuild.definition import env_labels
from ._imagebuild.gc import SNAPSHOT_REPO
from ._imagebuild.steps import label_line
from ._link import SandboxLink
from ._tasks import TaskSet
from .exception import ConflictError, ExecutionError, InvalidError, NotFoundError, TimeoutError
from .image import Image, snapshot_image

DEFAULT_TTL = 30 * 24 * 3600
LEGACY_ENV = "MODAL_USE_LEGACY_FILESYSTEM_SNAPSHOT"
SNAPSHOT_OF = L.PREFIX + "snapshot-of"
ENCRYPTION_KEY_MIN, ENCRYPTION_KEY_MAX = 16, 512

_cleanups = TaskSet()


async def settled() -> None:
    """Wait until the background removals of snapshot images that were made too late are done."""
    await _cleanups.wait_all()


def check_ttl(ttl: int | None) -> float | None:
    """Modal's ttl rule: positive seconds, or None for no expiry."""
    if ttl is None:
        return None
    if not isinstance(ttl, int | float) or isinstance(ttl, bool) or ttl <= 0:
        raise InvalidError("ttl must be positive, or None to disable expiry")
    return float(ttl)


def check_encryption_key(key: Any) -> None:
    """Modal's checks of ``_experimental_encryption_key``; a valid key is then refused (not supported locally)."""
    if key is None:
        return
    if not isinstance(key, bytes):
        raise TypeError("_experimental_encryption_key must be bytes")
    if len(key) == 0:
        raise InvalidError("_experimental_encryption_key must not be empty")
    if len(key) < ENCRYPTION_KEY_MIN:
        raise InvalidError(f"_experimental_encryption_key must be at least {ENCRYPTION_KEY_MIN} bytes")
    if len(key) > ENCRYPTION_KEY_MAX:
        raise InvalidError(f"_experimental_encryption_key must be at most {ENCRYPTION_KEY_MAX} bytes")
    raise InvalidError(
        "_experimental_encryption_key is not supported by the local backend: images are stored unencrypted in the "
        "engine's image store"
    )


def absolute(path: Any, what: str) -> str:
    """``path`` normalised; ``InvalidError`` (Modal's text, ``what``: Snapshot, Mount, Unmount) when relative."""
    text = os.fspath(path) if isinstance(path, str | os.PathLike) else str(path)
    if not text.startswith("/"):
        raise InvalidError(f"{what} path must be absolute; got: {text}")
    return posixpath.normpath(text).replace("//", "/")


async def running_container(eng: EngineAPI, link: SandboxLink) -> ContainerInfo:
    """The sandbox's container; ``ConflictError`` when it has finished (as ``exec`` does)."""
    try:
        info = await eng.containers.inspect(link.ref)
    except NoSuchContainer:
        raise ConflictError("Sandbox already finished") from None
    if not info.state.running:
        raise ConflictError("Sandbox already finished")
    return info


def snapshot_labels(link: SandboxLink, expires: float | None, of: str) -> dict[str, str]:
    labels = {**env_labels(), **L.owned(L.KIND_SNAPSHOT, **{L.APP_ID: link.app_id, SNAPSHOT_OF: of})}
    if expires is not None:
        labels[L.EXPIRES_AT] = f"{time.time() + expires:.0f}"
    return labels


async def _within(eng: EngineAPI, work: Awaitable[str], timeout: float, tag: str) -> str:
    """``work``'s image id, or ``TimeoutError("Timeout expired")`` after ``timeout`` seconds. When the caller does
    not get the image (timeout, cancellation), ``work`` is let finish in the background and its image removed:
    to stop waiting for the engine does not stop the engine making it."""
    task = asyncio.ensure_future(work)

    async def remove_late() -> None:
        with contextlib.suppress(Exception):
            await task
            await eng.images.remove(f"{SNAPSHOT_REPO}:{tag}")

    try:
        return await asyncio.wait_for(asyncio.shield(task), timeout)
    except builtins.TimeoutError:
        _cleanups.spawn(remove_late(), "sandbox-core-snapshot-cleanup")
        raise TimeoutError("Timeout expired") from None
    except asyncio.CancelledError:
        _cleanups.spawn(remove_late(), "sandbox-core-snapshot-cleanup")
        raise


async def snapshot_filesystem(link: SandboxLink, timeout: float, ttl: int | None) -> Image:
    """See the module docstring. Legacy mode (``MODAL_USE_LEGACY_FILESYSTEM_SNAPSHOT=1``): no ``ttl`` other than
    the default, no expiry, failures raised as ``ExecutionError``."""
    link.check_attached()
    legacy = os.environ.get(LEGACY_ENV) == "1"
    if legacy and ttl != DEFAULT_TTL:
        raise InvalidError(f"ttl is not supported with {LEGACY_ENV}")
    expires = None if legacy else check_ttl(ttl)
    eng = await get_engine()
    info = await running_container(eng, link)
    base = await eng.images.inspect(info.image_id)
    if base is None:
        raise NotFoundError(f"the image of Sandbox {link.sandbox_id} is no longer on the engine")
    labels = snapshot_labels(link, expires, link.sandbox_id)
    # The engine adds the container's variables missing from a commit's config: blank them (their values are the
    # sandbox's environment and secrets, which no image may keep).
    env = {**{k: "" for k in info.env if k not in base.env}, **base.env}
    config = ImageConfig(labels, base.cmd, base.entrypoint, env, base.workdir, base.user)
    tag = uuid.uuid4().hex
    try:
        image_id = await _within(eng, eng.images.commit(link.ref, config, repo=SNAPSHOT_REPO, tag=tag), timeout, tag)
    except ContainerNotRunning:
        raise ConflictError("Sandbox already finished") from None
    except (InvalidError, NotFoundError, TimeoutError):
        raise
    except Exception as e:
        if legacy:
            raise ExecutionError(f"snapshot_filesystem failed: {e}") from e
        raise
    return await _hydrated(eng, image_id, f"Sandbox({link.sandbox_id}).snapshot_filesystem()")


async def _hydrated(eng: EngineAPI, image_id: str, desc: str) -> Image:
    found = await eng.images.inspect(image_id)
    if found is None:
        raise NotFoundError(f"the snapshot image {image_id} vanished right after it was made")
    return snapshot_image(found, eng.endpoint, desc)


async def snapshot_directory(
    link: SandboxLink, path: Any, timeout: float, ttl: int | None, encryption_key: Any
) -> Image:
    """See the module docstring. Checks in Modal's order: ``ttl``, the sandbox, ``path``, the encryption key."""
    link.check_attached()
    expires = check_ttl(ttl)
    eng = await get_engine()
    await running_container(eng, link)
    directory = absolute(path, "Snapshot")
    check_encryption_key(encryption_key)
    labels = snapshot_labels(link, expires, f"{link.sandbox_id}:{directory}")
    tag = uuid.uuid4().hex
    image_id = await _within(eng, _import_directory(eng, link, directory, labels, tag), timeout, tag)
    return await _hydrated(eng, image_id, f"Sandbox({link.sandbox_id}).snapshot_directory({directory!r})")


async def _import_directory(eng: EngineAPI, link: SandboxLink, directory: str, labels: dict[str, str], tag: str) -> str:
    try:
        async with eng.archive.get(link.ref, directory.encode()) as download:
            if not download.stat.is_dir:
                raise InvalidError(f"Snapshot path must be a directory; got: {directory}")
            body = retar.rewrite(download.tar, retar.strip_first)
            return await eng.images.import_rootfs(
                body, repo=SNAPSHOT_REPO, tag=tag, changes=[label_line(labels)], message=f"snapshot of {directory}"
            )
    except ArchivePathError as e:
        if e.kind == "missing":
            raise NotFoundError(f"Snapshot path does not exist: {directory}") from None
        raise InvalidError(f"Snapshot path {directory} cannot be read: {e}") from None
    except (ContainerNotRunning, NoSuchContainer):
        raise ConflictError("Sandbox already finished") from None
