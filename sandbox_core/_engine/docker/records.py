"""Records on the Docker engine: each is a local-driver *volume* that is never mounted.

Creating a volume is cheap (a few ms), it is visible to every process that can reach the engine, code inside a
sandbox cannot touch it, and the engine serialises creation by name, so ``put`` is an atomic first-writer-wins
test-and-set (a second create with the same name returns the first one's labels). Record ``x`` is the volume
``sandbox-core.x`` with the labels ``kind=record`` plus the caller's.

``follow`` reads the engine's volume ``create`` events. Volume events carry no labels, so they are filtered by name
here, and the labels of each match are read with one ``get``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Mapping

from ..errors import NoSuchVolume
from ..labels import KIND, KIND_RECORD
from ..values import LabelQuery, RecordInfo
from . import parse
from .events import follow_filtered
from .http import DockerClient, filters_param, label_filters

NAME_PREFIX = "sandbox-core."


def _record(raw: parse.Json) -> RecordInfo:
    volume = parse.volume_info(raw)
    return RecordInfo(volume.name.removeprefix(NAME_PREFIX), volume.labels, volume.created_at)


class DockerRecords:
    """``RecordsAPI`` on the Docker engine."""

    __slots__ = ("_client",)

    def __init__(self, client: DockerClient) -> None:
        self._client = client

    async def put(self, name: str, labels: Mapping[str, str]) -> RecordInfo:
        res = await self._client.request_json(
            "POST",
            "volumes/create",
            f"write record {name}",
            body={"Name": NAME_PREFIX + name, "Driver": "local", "Labels": dict(labels)},
        )
        return _record(res)

    async def get(self, name: str) -> RecordInfo | None:
        try:
            res = await self._client.request_json("GET", f"volumes/{NAME_PREFIX}{name}", f"read record {name}")
        except NoSuchVolume:
            return None
        return _record(res)

    async def find(self, labels: LabelQuery) -> list[RecordInfo]:
        query = label_filters({KIND: KIND_RECORD, **labels}, owned=False)
        res = await self._client.request_json(
            "GET", "volumes", "list records", params={"filters": filters_param(label=query)}
        )
        return [_record(v) for v in (res or {}).get("Volumes") or ()]

    async def remove(self, name: str) -> None:
        try:
            await self._client.request_json("DELETE", f"volumes/{NAME_PREFIX}{name}", f"remove record {name}")
        except NoSuchVolume:
            pass

    async def follow(self, prefix: str, *, since: float | None = None) -> AsyncGenerator[RecordInfo, None]:
        filters = filters_param(type=["volume"], event=["create"])
        full = NAME_PREFIX + prefix
        async with contextlib.aclosing(follow_filtered(self._client, filters, since)) as events:
            async for ev in events:
                if ev.actor_id.startswith(full):
                    record = await self.get(ev.actor_id.removeprefix(NAME_PREFIX))
                    if record is not None:  # removed again meanwhile
                        yield record
