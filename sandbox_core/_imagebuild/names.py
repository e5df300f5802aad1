"""Image names (Modal's ``Image.publish``/``Image.from_name``): ``name[:tag]`` as engine tags.

A name is validated as Modal validates it (an object name, not starting with ``im-``; the tag an object name
too, ``latest`` when omitted). There are no environments locally, so an ``env/`` prefix or ``environment_name``
is refused. The engine reference of ``name:tag`` is ``sandbox-core/published/<name>:<tag>``, where the parts
are changed only where Docker's reference grammar requires it, and then reversibly:

- the name is used as it is when it is a valid lower-case repository component that does not start with
  ``x--``; otherwise it becomes ``x--`` + the hex of its UTF-8 bytes (upper case, leading or doubled
  punctuation);
- the tag is used as it is when it starts with a letter or digit; otherwise its first character is replaced by
  ``_d`` (``.``), ``_h`` (``-``) or ``_u`` (``_``).

So distinct names never share a reference. Publishing moves the tag (the last publish wins); the image keeps
every other tag it has, and an image that has a published name is never removed by ``sweep()``.
"""

from __future__ import annotations

import re

from .._engine.api import EngineAPI
from .._engine.values import ImageInfo
from .._ids import is_valid_object_name
from ..exception import InvalidError, NotFoundError

REPO_PREFIX = "sandbox-core/published/"
_COMPONENT_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*$")
_TAG_ESCAPES = {".": "d", "-": "h", "_": "u"}


def _check(value: str, tag: bool) -> None:
    if not is_valid_object_name(value):
        raise InvalidError(
            f"Invalid Image{' tag' if tag else ''} name: '{value}'.\n\nNames may contain only alphanumeric "
            "characters, dashes, periods, and underscores, must be shorter than 64 characters, and cannot conflict "
            "with App ID strings."
        )


def parse(name: str, environment_name: str | None = None) -> str:
    """``name`` as ``name:tag`` (tag ``latest`` when omitted), validated with Modal's rules and messages."""
    if not isinstance(name, str):
        raise InvalidError(f"Image name must be a string, got {type(name).__name__}")
    if environment_name is not None:
        raise InvalidError("environment_name is not supported by the local backend (there are no environments)")
    base, sep, tag = name.partition(":")
    if "/" in base:
        raise InvalidError(
            f"Invalid Image name {name!r}: the local backend has no environments, so a name cannot have an "
            "'<environment>/' prefix"
        )
    _check(base, tag=False)
    if base.startswith("im-"):
        raise InvalidError("Image name cannot start with 'im-' (reserved for image IDs).")
    tag = tag if sep else "latest"
    _check(tag, tag=True)
    return f"{base}:{tag}"


def engine_ref(name_tag: str) -> tuple[str, str]:
    """The engine's (repository, tag) for a parsed ``name:tag`` (see the module docstring)."""
    name, _, tag = name_tag.partition(":")
    if not _COMPONENT_RE.match(name) or name.startswith("x--"):
        name = "x--" + name.encode().hex()
    if not tag[0].isalnum():
        tag = "_" + _TAG_ESCAPES[tag[0]] + tag[1:]
    return REPO_PREFIX + name, tag


def is_published(repo_tag: str) -> bool:
    """True for an engine tag that carries a published name."""
    return repo_tag.startswith(REPO_PREFIX)


async def lookup(eng: EngineAPI, name_tag: str) -> ImageInfo:
    """The image published as ``name_tag``. ``NotFoundError`` when there is none."""
    repo, tag = engine_ref(name_tag)
    info = await eng.images.inspect(f"{repo}:{tag}")
    if info is None:
        raise NotFoundError(f"Image '{name_tag}' not found (publish one under this name with Image.publish)")
    return info


async def publish(eng: EngineAPI, image_id: str, name_tag: str) -> None:
    """Point the published name ``name_tag`` at engine image ``image_id``."""
    repo, tag = engine_ref(name_tag)
    await eng.images.tag(image_id, repo, tag)
