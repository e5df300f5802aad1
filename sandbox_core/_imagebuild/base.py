"""The image behind ``Image.debian_slim(python_version)``: found locally, else pulled, else built from Debian.

Decision (``ensure_python_base``):
1. An image already made for this request (pulled or built, by this process or another, or by
   scripts/build-images.sh) is used as is: no registry is asked.
2. Otherwise, unless ``SANDBOX_CORE_PYTHON_BASE=build``: pull the official ``<repo>:<3.X.Y>-slim-bookworm``
   (``repo`` = ``SANDBOX_CORE_PYTHON_IMAGE_REPO``, default ``python``) with progress, and add Modal's
   ``CMD ["sleep", "172800"]`` and the ownership labels in a one-line build. A registry that does not answer is
   remembered for the life of the process, so later requests go straight to step 3.
3. Otherwise, unless ``SANDBOX_CORE_PYTHON_BASE=pull``: build it from Debian's archive (``debian``), for the
   series ``pyversions.offline_series`` allows.

Each image is made once: concurrent callers in a process share one task, processes on the host take a file lock
per image tag and re-check after taking it (``once``).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from typing import Literal

import attrs

from .._engine.api import EngineAPI, LineSink
from .._engine.errors import ImagePullError
from .._engine.labels import KIND, KIND_BASE_IMAGE, OWNER, OWNER_VALUE
from ..exception import InvalidError
from . import debian, once, pyversions, report
from .steps import label_line
from .tarstream import Entry, stream_tar

SOURCE_ENV = "SANDBOX_CORE_PYTHON_BASE"
REPO_ENV = "SANDBOX_CORE_PYTHON_IMAGE_REPO"
FINALIZE_VERSION = 1

_unreachable: set[str] = set()


@attrs.frozen
class BaseImage:
    """A Python base image present on the engine."""

    image_id: str
    tag: str
    python_series: str
    source: Literal["pulled", "built"]


def _source_mode() -> str:
    mode = os.environ.get(SOURCE_ENV) or "auto"
    if mode not in ("auto", "pull", "build"):
        raise InvalidError(f"{SOURCE_ENV} must be 'auto', 'pull' or 'build', got {mode!r}")
    return mode


@attrs.frozen
class OfficialRecipe:
    """The official python image and the layer that makes it a sandbox base (CMD, labels)."""

    series: str
    ref: str
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def address(self) -> str:
        return hashlib.sha256(json.dumps([FINALIZE_VERSION, attrs.asdict(self)]).encode()).hexdigest()

    @property
    def tag(self) -> str:
        version = self.ref.rsplit(":", 1)[-1].split("-", 1)[0]
        return f"{debian.REPO}:py{version}-official-{self.address[:12]}"

    def all_labels(self) -> dict[str, str]:
        return {
            OWNER: OWNER_VALUE,
            KIND: KIND_BASE_IMAGE,
            debian.PYTHON_SERIES_LABEL: self.series,
            debian.RECIPE_LABEL: self.address,
            debian.SOURCE_LABEL: f"pull {self.ref}",
            **dict(self.labels),
        }


def official_recipe(request: pyversions.PythonRequest, labels: dict[str, str] | None = None) -> OfficialRecipe:
    repo = os.environ.get(REPO_ENV) or "python"
    ref = f"{repo}:{request.official_version}-slim-{pyversions.OFFICIAL_CODENAME}"
    return OfficialRecipe(request.series, ref, tuple(sorted((labels or {}).items())))


async def _existing(eng: EngineAPI, tag: str, series: str, source: Literal["pulled", "built"]) -> BaseImage | None:
    info = await eng.images.inspect(tag)
    return None if info is None else BaseImage(info.id, tag, series, source)


async def _pull(eng: EngineAPI, recipe: OfficialRecipe, on_line: LineSink | None, force: bool) -> BaseImage:
    async with once.file_lock(recipe.tag, _waiting(on_line, recipe.tag)):
        found = None if force else await _existing(eng, recipe.tag, recipe.series, "pulled")
        if found is not None:
            return found
        report.status(on_line, f"pulling {recipe.ref}")
        pulled = await eng.images.pull(recipe.ref, on_line=on_line)
        dockerfile = f'FROM {pulled}\nCMD ["sleep", "172800"]\n{label_line(recipe.all_labels())}\n'.encode()
        image_id = await eng.images.build(
            stream_tar([Entry.from_bytes("Dockerfile", dockerfile)]),
            dockerfile="Dockerfile",
            tag=recipe.tag,
            on_line=on_line,
        )
        return BaseImage(image_id, recipe.tag, recipe.series, "pulled")


async def _build(eng: EngineAPI, recipe: debian.DebianRecipe, on_line: LineSink | None, force: bool) -> BaseImage:
    async with once.file_lock(recipe.tag, _waiting(on_line, recipe.tag)):
        found = None if force else await _existing(eng, recipe.tag, recipe.series, "built")
        if found is not None:
            return found
        image_id = await debian.build_base(eng, recipe, on_line)
        return BaseImage(image_id, recipe.tag, recipe.series, "built")


def _waiting(on_line: LineSink | None, tag: str) -> Callable[[], None] | None:
    return report.later(on_line, f"waiting for another process that is making {tag}")


def _joined(on_line: LineSink | None, tag: str) -> Callable[[], None] | None:
    return report.later(on_line, f"waiting for the build of {tag} already running in this process")


async def ensure_python_base(
    eng: EngineAPI,
    python_version: str | None = None,
    *,
    on_line: LineSink | None = None,
    labels: dict[str, str] | None = None,
    force: bool = False,
) -> BaseImage:
    """The base image for ``Image.debian_slim(python_version)``, made if missing (see the module docstring);
    with ``force``, made again even when it exists (the tag moves to the new image; containers keep the old one).

    ``labels`` are added to the image and to its identity (tests use them to get images of their own).
    Raises ``InvalidError`` for a version that cannot be had, ``ImageBuildError`` when making it failed.
    """
    request = pyversions.parse(python_version)
    mode = _source_mode()
    official = official_recipe(request, labels) if mode != "build" else None
    offline: debian.DebianRecipe | None = None
    if mode != "pull":
        series = request.series if request.series in pyversions.OFFLINE else pyversions.FALLBACK_SERIES
        offline = debian.DebianRecipe.for_series(series, labels)
    candidates: list[tuple[str, str, Literal["pulled", "built"]]] = []
    if official is not None:
        candidates.append((official.tag, official.series, "pulled"))
    if offline is not None and (request.implicit or (request.full is None and offline.series == request.series)):
        candidates.append((offline.tag, offline.series, "built"))
    for tag, series, source in [] if force else candidates:
        found = await _existing(eng, tag, series, source)
        if found is not None:
            return found
    why: str | None = None
    if official is not None:
        if official.ref in _unreachable:
            why = "its registry did not answer earlier in this process"
        else:
            try:
                return await once.run_once(
                    official.tag, lambda: _pull(eng, official, on_line, force), _joined(on_line, official.tag)
                )
            except ImagePullError as e:
                if mode == "pull":
                    raise
                if not e.reachable:
                    _unreachable.add(official.ref)
                why = str(e)
                report.status(on_line, f"no registry provided {official.ref}; building from Debian's archive instead")
    assert offline is not None
    pyversions.offline_series(request, why)  # raises when Debian cannot provide an explicit request
    return await once.run_once(offline.tag, lambda: _build(eng, offline, on_line, force), _joined(on_line, offline.tag))
