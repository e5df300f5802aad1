"""What ``ls`` and ``image ls`` show beyond the public API: when a sandbox was created, its image and app name,
the finished sandboxes still retained, and the project's labelled images.

This is the command line's only module below the public API: it reads the engine's typed listings
(``ContainerSummary``, ``ImageSummary``) through ``EngineAPI``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import attrs

import sandbox_core as sc

from .. import _lifecycle
from .._engine import EngineAPI, get_engine
from .._engine import labels as L
from .._engine.values import ContainerSummary
from .._pool import records as pool_records

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
    query: dict[str, str | None] = {L.KIND: L.KIND_SANDBOX}
    if app is not None:
        query[L.APP_NAME] = app
    items = await eng.containers.list(query, all=include_finished)
    claims = await pool_records.claims(eng) if any(L.POOL in item.labels for item in items) else {}
    # An unclaimed warm-pool member is no sandbox yet; a claimed one has its name in its claim.
    items = [item for item in items if L.POOL not in item.labels or item.labels[L.SANDBOX_ID] in claims]
    overrides = await _lifecycle.latest_tag_records(eng)
    names = await _image_names(eng, {item.image_id for item in items})
    rows: list[SandboxRow] = []
    for item in items:
        row = _row(item, overrides, names, claims.get(item.labels[L.SANDBOX_ID]))
        if all(row.tags.get(k) == v for k, v in (tags or {}).items()):
            rows.append(row)
    rows = await _with_returncodes(rows)
    return sorted(rows, key=lambda r: r.created, reverse=True)


def _row(
    item: ContainerSummary,
    overrides: Mapping[str, dict[str, str]],
    names: Mapping[str, str],
    claim: pool_records.Claim | None,
) -> SandboxRow:
    lbl = item.labels
    sid = lbl[L.SANDBOX_ID]
    state = "running" if item.status == "running" else "starting" if item.status == "created" else "finished"
    image_id = item.image_id
    return SandboxRow(
        sandbox_id=sid,
        app=lbl.get(L.APP_NAME, ""),
        app_id=lbl.get(L.APP_ID, ""),
        name=(claim.name if claim is not None else lbl.get(L.NAME)) or None,
        tags=overrides.get(sid, _lifecycle.tags_from_labels(lbl)),
        state=state,
        returncode=None,
        created=item.created_at,
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


async def _image_names(eng: EngineAPI, image_ids: set[str]) -> dict[str, str]:
    """engine image id → its first repository tag (or the short id when it has none)."""

    async def name(image_id: str) -> tuple[str, str]:
        info = await eng.images.inspect(image_id)
        tags = info.repo_tags if info is not None else ()
        return image_id, tags[0] if tags else image_id.removeprefix("sha256:")[:12]

    return dict(await asyncio.gather(*(name(i) for i in image_ids if i)))


async def list_images() -> list[ImageRow]:
    """The images labelled as the project's (``sandbox-core.owner``), newest first."""
    eng = await get_engine()
    found = await eng.images.list({})
    rows = [
        ImageRow(
            image_id="im-" + item.id.removeprefix("sha256:"),
            tags=tuple(sorted(item.repo_tags)),
            size=item.size,
            created=item.created_at or 0.0,
            kind=item.labels.get(L.KIND, ""),
        )
        for item in found
    ]
    return sorted(rows, key=lambda r: (-r.created, r.tags))
