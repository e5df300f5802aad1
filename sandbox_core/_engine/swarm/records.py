"""Records on a swarm: each is a swarm config (``configs.py``), so every client of the cluster sees the same records
and ``put`` is first-writer-wins, as on one engine. Record ``x`` is the config ``sandbox-core.x`` (a digest for a
name that does not fit), labelled ``kind=record`` plus the caller's labels and the record's name."""

from __future__ import annotations

from collections.abc import Mapping

from ... import exception as exc
from ..labels import KIND, KIND_RECORD, OWNER, OWNER_VALUE
from ..values import LabelQuery, RecordInfo
from . import parse
from .configs import Configs, name_for

PREFIX = "sandbox-core"


class SwarmRecords:
    """``RecordsAPI`` on a swarm's configs."""

    __slots__ = ("_configs",)

    def __init__(self, configs: Configs) -> None:
        self._configs = configs

    async def put(self, name: str, labels: Mapping[str, str]) -> RecordInfo:
        config = name_for(PREFIX, name)
        full = {OWNER: OWNER_VALUE, **labels, KIND: KIND_RECORD, parse.RECORD_NAME_LABEL: name}
        for _ in range(5):
            await self._configs.create(config, full)
            found = await self._configs.inspect(config)
            if found is not None:  # ours, or the first writer's
                return parse.record(found)
        raise exc.ServiceError(f"record {name} vanished five times while being written")

    async def get(self, name: str) -> RecordInfo | None:
        found = await self._configs.inspect(name_for(PREFIX, name))
        return None if found is None else parse.record(found)

    async def find(self, labels: LabelQuery) -> list[RecordInfo]:
        return [parse.record(c) for c in await self._configs.find({KIND: KIND_RECORD, **labels})]

    async def remove(self, name: str) -> None:
        await self._configs.remove(name_for(PREFIX, name))
