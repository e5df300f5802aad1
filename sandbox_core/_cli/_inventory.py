"""What ``ls`` and ``image ls`` show beyond the public API: when a sandbox was created, its image and app name,
the finished sandboxes still retained, and the project's labelled images.

This is the command line's only module below the public API (it reads the engine layer's container and image
listings). When the engine layer hands out typed summaries, this module is the one to change.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import attrs

import sandbox_core as sc

from .. import _lifecycle
from .._engine import containers, images
from .._engine import labels as L
from .._engine.client import Engine, get_engine

#: Concurrent lookups of finished sandboxes' return codes.
_LOOKUPS = 8


@attrs.frozen
class SandboxRow:
    """One sandbox as ``ls`` shows it. ``state`` is ``running``, ``starting`` or ``finished``; ``returncode`` is
    set once finished (137 terminated, 124 timed out, else the entrypoint's code)."""

    sandbox_id: str
    app: str
    app_id: str
    name: str | None
    tags: Mapping[str, str]
    state: str
    returncode: int | None
    created: float
    image: str
    image_id: str


@attrs.frozen
class ImageRow:
    """One of the project's images: ``image_id`` is ``im-…`` (what ``Image.from_id`` takes)."""

    image_id: str
    tags: tuple[str, ...]
    size: int
    created: float
    kind: str


async def list_sandboxes(
    *, app: str | None = None, include_finished: bool = False, tags: Mapping[str, str] | None = None
) -> list[SandboxRow]:
    """The sandboxes (of ``app`` if given; finished ones too with ``include_finished``) having at least ``tags``,
    newest first."""
    eng = await get_engine()
    pairs = [f"{L.KIND}={L.KIND_SANDBOX}"]
    if app is not None:
        pairs.append(f"{L.APP_NAME}={app}")
    items = await containers.list_(eng, L.label_filter(*pairs), all=include_finished)
    overrides = await _lifecycle.latest_tag_records(eng)
    names = await _image_names(eng, {str(item.get("ImageID", "")) for item in items})
    rows: list[SandboxRow] = []
    for item in items:
        row = _row(item, overrides, names)
        if all(row.tags.get(k) == v for k, v in (tags or {}).items()):
            rows.append(row)
    rows = await _with_returncodes(rows)
    return sorted(rows, key=lambda r: r.created, reverse=True)


def _row(item: Mapping[str, Any], overrides: Mapping[str, dict[str, str]], names: Mapping[str, str]) -> SandboxRow:
    lbl: Mapping[str, str] = item.get("Labels") or {}
    sid = lbl[L.SANDBOX_ID]
    engine_state = item.get("State")
    state = "running" if engine_state == "running" else "starting" if engine_state == "created" else "finished"
    image_id = str(item.get("ImageID", ""))
    return SandboxRow(
        sandbox_id=sid,
        app=lbl.get(L.APP_NAME, ""),
        app_id=lbl.get(L.APP_ID, ""),
        name=lbl.get(L.NAME) or None,
        tags=overrides.get(sid, _lifecycle.tags_from_labels(lbl)),
        state=state,
        returncode=None,
        created=float(item.get("Created", 0)),
        image=names.get(image_id, image_id),
        image_id="im-" + image_id.removeprefix("sha256:") if image_id else "",
    )


async def _with_returncodes(rows: list[SandboxRow]) -> list[SandboxRow]:
    """Fill in the return codes of finished sandboxes (through the public API, which knows why each ended); drop
    those removed meanwhile."""
    gate = asyncio.Semaphore(_LOOKUPS)

    async def settle(row: SandboxRow) -> SandboxRow | None:
        if row.state != "finished":
            return row
        async with gate:
            try:
                sb = await sc.Sandbox.from_id(row.sandbox_id)
            except sc.exception.NotFoundError:
                return None
        return attrs.evolve(row, returncode=sb.returncode)

    settled = await asyncio.gather(*(settle(r) for r in rows))
    return [r for r in settled if r is not None]


async def _image_names(eng: Engine, image_ids: set[str]) -> dict[str, str]:
    """engine image id → its first repository tag (or the short id when it has none)."""

    async def name(image_id: str) -> tuple[str, str]:
        info = await images.inspect(eng, image_id)
        tags = [t for t in (info or {}).get("RepoTags") or [] if t != "<none>:<none>"]
        return image_id, tags[0] if tags else image_id.removeprefix("sha256:")[:12]

    return dict(await asyncio.gather(*(name(i) for i in image_ids if i)))


async def list_images() -> list[ImageRow]:
    """The images labelled as the project's (``sandbox-core.owner``), newest first."""
    eng = await get_engine()
    filters = json.dumps({"label": [f"{L.OWNER}={L.OWNER_VALUE}"]})
    found = await eng.request_json("GET", "images/json", "list images", params={"filters": filters})
    rows = [
        ImageRow(
            image_id="im-" + str(item["Id"]).removeprefix("sha256:"),
            tags=tuple(sorted(t for t in item.get("RepoTags") or [] if t != "<none>:<none>")),
            size=int(item.get("Size", 0)),
            created=float(item.get("Created", 0)),
            kind=(item.get("Labels") or {}).get(L.KIND, ""),
        )
        for item in found or []
    ]
    return sorted(rows, key=lambda r: (-r.created, r.tags))
