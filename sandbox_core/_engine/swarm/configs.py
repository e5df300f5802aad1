"""Swarm configs as a small key/value store: visible to every client of the managers, out of reach of code inside a
sandbox, and created first-writer-wins (a second create of the same name is refused: 8 concurrent creates, one
wins). Data is immutable and at most 1000 KiB; labels are all we use.

Config names are at most 64 characters of ``[a-zA-Z0-9-_.]`` starting and ending with an alphanumeric; ``name_for``
maps any key to one (readable when it fits, else a digest), deterministically, so that uniqueness of the key is
uniqueness of the config.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from ... import exception as exc
from ..docker.http import DockerClient, label_filters
from ..values import LabelQuery
from . import parse

_READABLE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*[a-zA-Z0-9]$")
MAX_NAME = 64
#: A config must hold at least one byte.
PLACEHOLDER = b"sandbox-core"


def name_for(prefix: str, key: str) -> str:
    """The config name of ``key`` under ``prefix`` (``prefix`` + ``.`` + key, or ``prefix`` + ``-h-`` + digest)."""
    readable = f"{prefix}.{key}"
    if len(readable) <= MAX_NAME and _READABLE.match(key):
        return readable
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{prefix}-h-{digest}"[:MAX_NAME]


class Configs:
    """Config create/inspect/find/remove on the manager, returning the manager's JSON for ``parse``."""

    __slots__ = ("_manager",)

    def __init__(self, manager: DockerClient) -> None:
        self._manager = manager

    async def create(self, name: str, labels: Mapping[str, str]) -> str | None:
        """Create config ``name``; its id, or None when the name exists (someone else's write won)."""
        body = {"Name": name, "Labels": dict(labels), "Data": parse.config_data(PLACEHOLDER)}
        try:
            res = await self._manager.request_json("POST", "configs/create", f"write {name}", body=body)
        except exc.ConflictError:
            return None
        return parse.created_id(res)

    async def inspect(self, name: str) -> Mapping[str, Any] | None:
        try:
            res: Mapping[str, Any] = await self._manager.request_json("GET", f"configs/{name}", f"read {name}")
        except exc.NotFoundError:
            return None
        return res

    async def find(self, labels: LabelQuery) -> list[Mapping[str, Any]]:
        """Configs carrying ``labels`` (and the ownership label)."""
        params = {"filters": json.dumps({"label": label_filters(labels)})}
        res = await self._manager.request_json("GET", "configs", "list swarm configs", params=params)
        return list(res or ())

    async def remove(self, ref: str) -> bool:
        """Remove a config by id (or name); False when it was gone."""
        try:
            await self._manager.request_json("DELETE", f"configs/{ref}", f"remove swarm config {ref}")
        except exc.NotFoundError:
            return False
        return True
