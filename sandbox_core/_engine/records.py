"""Records: small, named, labelled engine objects that hold the state labels cannot (labels are immutable).

A record is a local-driver *volume* that is never mounted: creating one is cheap (a few ms), it is visible to
every process that can reach the engine, code inside a sandbox cannot touch it, and the engine serialises
creation by name, so ``put`` is an atomic first-writer-wins test-and-set (a second create with the same name
returns the first one's labels). This is the one deliberate home of mutable sandbox state:

- ``app.<name>``                the App registry: ``App.lookup`` name -> app id
- ``end.<sandbox id>``          why a sandbox ended (terminated / timeout / idle-timeout), written before the kill
- ``tags.<sandbox id>.<seq>``   the tag set written by ``set_tags``; the highest ``seq`` wins

Records are removed together with their sandbox (or app) by the sweep.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .. import exception as exc
from . import labels as L
from .client import Engine

NAME_PREFIX = "sandbox-core."


async def put(eng: Engine, name: str, record_labels: Mapping[str, str]) -> dict[str, str]:
    """Create record ``name`` unless it exists; returns the labels the record actually holds (first writer wins)."""
    res = await eng.request_json(
        "POST",
        "volumes/create",
        f"write record {name}",
        body={"Name": NAME_PREFIX + name, "Driver": "local", "Labels": dict(record_labels)},
    )
    return dict(res.get("Labels") or {})


async def get(eng: Engine, name: str) -> dict[str, str] | None:
    """The labels of record ``name``, or None when it does not exist."""
    try:
        res = await eng.request_json("GET", f"volumes/{NAME_PREFIX}{name}", f"read record {name}")
    except exc.NotFoundError:
        return None
    return dict(res.get("Labels") or {})


async def find(eng: Engine, *label_pairs: str) -> list[dict[str, Any]]:
    """Records carrying every ``key=value`` given; each item has ``Name`` and ``Labels``."""
    filters = json.dumps({"label": [f"{L.KIND}={L.KIND_RECORD}", *label_pairs]})
    res = await eng.request_json("GET", "volumes", "list records", params={"filters": filters})
    return list(res.get("Volumes") or [])


async def remove(eng: Engine, full_name: str) -> None:
    """Remove a record by its full engine name; a missing one is not an error."""
    try:
        await eng.request_json("DELETE", f"volumes/{full_name}", f"remove record {full_name}")
    except exc.NotFoundError:
        pass
