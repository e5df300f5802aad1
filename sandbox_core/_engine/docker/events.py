"""The engine's event stream, typed and reconnecting: one dedicated ``GET /events`` per ``follow``.

aiodocker's own subscriber shares one stream (and its filters) between all subscriptions (docker-engine-notes §5),
so each ``follow`` is its own request. When the connection breaks or ends, it is logged and re-established after a
second, from just after the last event seen, so no event is lost or repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from ... import exception as exc
from ..values import EngineEvent, LabelQuery
from . import parse
from .http import DockerClient, filters_param, label_filters, lines

log = logging.getLogger("sandbox_core.engine")

#: Seconds between a broken event stream and its reconnection.
RECONNECT_DELAY = 1.0


def _since(ns: int) -> str:
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000:09d}"


class DockerEvents:
    """``EventsAPI`` on the Docker engine."""

    __slots__ = ("_client",)

    def __init__(self, client: DockerClient) -> None:
        self._client = client

    async def follow(
        self, *, types: Sequence[str], labels: LabelQuery, since: float | None = None
    ) -> AsyncIterator[EngineEvent]:
        filters = filters_param(type=list(types), label=label_filters(labels))
        async with contextlib.aclosing(follow_filtered(self._client, filters, since)) as events:
            async for ev in events:
                yield ev


async def follow_filtered(client: DockerClient, filters: str, since: float | None) -> AsyncGenerator[EngineEvent, None]:
    """The events matching the engine filter JSON ``filters``, from ``since`` (default: now) on, forever,
    reconnecting as ``DockerEvents.follow`` documents."""
    since_ns = int((time.time() if since is None else since) * 1e9)
    what = "follow engine events"
    while True:
        try:
            resp = await client.open_stream(
                "GET", "events", what, params={"filters": filters, "since": _since(since_ns)}
            )
            try:
                async for line in lines(resp, what):
                    raw = json.loads(line)
                    since_ns = max(since_ns, parse.event_time_ns(raw) + 1)
                    yield parse.event(raw)
            finally:
                resp.close()
        except (exc.Error, ValueError) as e:
            log.warning("event stream ended (%s); reconnecting", e)
        await asyncio.sleep(RECONNECT_DELAY)
