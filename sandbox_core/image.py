"""``Image``: which engine image a sandbox runs. ``Image.from_registry(tag)`` and ``Image.from_id(image_id)``."""

from __future__ import annotations

import os
import re
from typing import Any

from ._engine import EngineAPI
from ._engine.errors import ImagePullError
from ._engine.values import ImageInfo
from .exception import InvalidError, NotFoundError

#: The image used when ``Sandbox.create`` gets no ``image`` (built by scripts/build-images.sh).
DEFAULT_IMAGE = "sandbox-core/busybox:1"
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


class Image:
    """A reference to an engine image, resolved lazily (at ``Sandbox.create``) and then cached."""

    __slots__ = ("_info", "_ref")

    _ref: str
    _info: ImageInfo | None

    def __init__(self) -> None:
        raise InvalidError("Class Image has no constructor. Use class constructor methods instead.")

    @classmethod
    def _new(cls, ref: str) -> Image:
        obj = object.__new__(cls)
        obj._ref = ref
        obj._info = None
        return obj

    @staticmethod
    def from_registry(tag: str, *, secret: Any = None, force_build: bool = False) -> Image:
        """The image ``tag``: used as is when present locally; pulled only when missing.

        Resolution happens at ``Sandbox.create``, which raises ``NotFoundError`` when the image is neither local
        nor pullable. ``secret`` (registry credentials) and ``force_build`` are not supported locally.
        """
        if not isinstance(tag, str) or not tag:
            raise InvalidError(f"Image.from_registry() expects a non-empty image reference, got {tag!r}")
        if len(tag) > _IMAGE_REF_MAX or not _IMAGE_REF_RE.fullmatch(tag):
            raise InvalidError(
                f"Image.from_registry() got an invalid image reference {tag!r}: expected "
                "[registry[:port]/]name[:tag][@digest], lower-case path components of letters, digits and separators"
            )
        if secret is not None:
            raise InvalidError("Image.from_registry(secret=...) is not supported by the local backend")
        if force_build:
            raise InvalidError("Image.from_registry(force_build=True) is not supported by the local backend")
        return Image._new(tag)

    @staticmethod
    def from_id(image_id: str, client: None = None) -> Image:
        """The image with ``object_id`` ``image_id`` (``im-`` + 64 hex digits, as ``Image.object_id`` gives)."""
        m = _IMAGE_ID_RE.match(image_id) if isinstance(image_id, str) else None
        if m is None:
            raise InvalidError(f"Image.from_id() expects an id of the form 'im-<64 hex digits>', got {image_id!r}")
        if client is not None:
            raise InvalidError("client is not supported by the local backend")
        img = Image._new("sha256:" + m.group(1))
        return img

    @staticmethod
    def _default() -> Image:
        return Image._new(os.environ.get("SANDBOX_CORE_DEFAULT_IMAGE", DEFAULT_IMAGE))

    @property
    def object_id(self) -> str:
        """``im-`` + the engine image id. Raises ``AttributeError`` before the image was resolved."""
        if self._info is None:
            raise AttributeError(f"Attempting to get object_id of unhydrated {self!r}")
        return "im-" + self._info.id.removeprefix("sha256:")

    @property
    def is_hydrated(self) -> bool:
        """True once the image has been resolved against the engine."""
        return self._info is not None

    async def _resolve(self, eng: EngineAPI, pull_timeout: float = 300.0) -> ImageInfo:
        """Resolve against the engine (pulling when missing); cached. Raises ``NotFoundError`` when impossible."""
        if self._info is not None:
            return self._info
        info = await eng.images.inspect(self._ref)
        if info is None:
            if self._ref.startswith("sha256:"):
                raise NotFoundError(f"Image {self._ref} does not exist on the local engine")
            try:
                await eng.images.pull(self._ref, timeout=pull_timeout)
            except ImagePullError as e:
                raise NotFoundError(
                    f"Image {self._ref!r} is not present on the local engine and could not be pulled ({e}). "
                    "Build or load it locally first (scripts/build-images.sh builds the project's images)."
                ) from None
            info = await eng.images.inspect(self._ref)
            if info is None:
                raise NotFoundError(f"Image {self._ref!r} is missing after a successful pull")
        self._info = info
        return info

    def __repr__(self) -> str:
        return f"Image({self._ref!r})"


async def resolve_image(image: Image | None, eng: EngineAPI) -> ImageInfo:
    """The image a sandbox runs: ``image``, or the default one when None, resolved on ``eng`` (pulled when missing;
    cached on the ``Image``). Raises ``InvalidError`` for anything but an ``Image``, ``NotFoundError`` when the image
    can be neither found nor pulled."""
    img = image if image is not None else Image._default()
    if not isinstance(img, Image):
        raise InvalidError(f"image must be an Image, got {type(img).__name__}")
    return await img._resolve(eng)
