"""``Sandbox``'s image methods: filesystem and directory snapshots, ``mount_image``/``unmount_image``. A base
class of ``Sandbox`` (the same object; these methods only use its link)."""

from __future__ import annotations

from pathlib import PurePosixPath

from . import _mount_image, _snapshots
from ._link import SandboxLink
from .image import Image

__all__ = ["SandboxImages"]


class SandboxImages:
    """The snapshot and image-mount part of ``Sandbox``'s API."""

    __slots__ = ()
    _link: SandboxLink

    async def snapshot_filesystem(self, timeout: int = 55, *, ttl: int | None = 30 * 24 * 3600) -> Image:
        """An image of the sandbox's whole filesystem (hydrated; usable as ``Sandbox.create(image=...)``), kept
        ``ttl`` seconds (None: until removed). ``TimeoutError("Timeout expired")`` after ``timeout`` seconds."""
        return await _snapshots.snapshot_filesystem(self._link, timeout, ttl)

    async def snapshot_directory(
        self,
        path: PurePosixPath | str,
        *,
        timeout: int = 55,
        ttl: int | None = 30 * 24 * 3600,
        _experimental_encryption_key: bytes | None = None,
    ) -> Image:
        """An image holding directory ``path`` (absolute) at its root, for ``mount_image``; ``ttl`` and
        ``timeout`` as for ``snapshot_filesystem``."""
        return await _snapshots.snapshot_directory(self._link, path, timeout, ttl, _experimental_encryption_key)

    async def mount_image(
        self, path: PurePosixPath | str, image: Image, *, _experimental_encryption_key: bytes | None = None
    ) -> None:
        """Put the files of ``image`` (built, ``from_id``, a snapshot; ``from_scratch()``: empty) at ``path``,
        the previous content set aside until ``unmount_image(path)``. Locally a copy, not a live mount: see
        ``docs/guide/images.md``."""
        await _mount_image.mount_image(self._link, path, image, _experimental_encryption_key)

    async def unmount_image(self, path: PurePosixPath | str) -> None:
        """Remove what ``mount_image`` put at ``path`` and restore what was there before."""
        await _mount_image.unmount_image(self._link, path)
