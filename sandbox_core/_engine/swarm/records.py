"""Records on a swarm: each is a swarm config (``configs.py``), so every client of the cluster sees the same records
and ``put`` is first-writer-wins, as on one engine. Record ``x`` is the config ``sandbox-core.x`` (a digest for a
name that does not fit), labelled ``kind=record`` plus the caller's labels and the record's name."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Mapping

from ... import exception as exc
from ..labels import KIND, KIND_RECORD, OWNER, OWNER_VALUE
from ..values import LabelQuery, RecordInfo
from . import parse
from .configs import Configs, name_for

PREFIX = "sandbox-core"
#: How often ``follow`` lists the records: the manager emits no config events to the API's clients of every node.
FOLLOW_POLL = 0.25


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

    async def follow(self, prefix: str, *, since: float | None = None) -> AsyncGenerator[RecordInfo, None]:
        """``RecordsAPI.follow`` by listing the records every ``FOLLOW_POLL`` seconds: each record whose name starts
        with ``prefix``, written at or after ``since``, once."""
        start = time.time() if since is None else since
        seen: set[str] = set()
        while True:
            for record in await self.find({}):
                fresh = record.created_at is None or record.created_at >= start
                if record.name.startswith(prefix) and fresh and record.name not in seen:
                    seen.add(record.name)
                    yield record
            await asyncio.sleep(FOLLOW_POLL)
