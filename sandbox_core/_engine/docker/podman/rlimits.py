"""Podman's own process limits, kept when a container sets some of its own (docs/podman.md, section 9).

Podman 4.3 takes its default rlimits (``default_ulimits`` in containers.conf) only for a container that names none.
A container that names one (a sandbox's ``nofile`` cap) gets that one, and for ``nofile``/``nproc`` left unnamed
Podman's built-in 1048576 instead of the configured default. Where the host cannot raise its limits that far (no
``CAP_SYS_RESOURCE``, as in many VMs and nested containers) such a container never starts: ``error setting rlimit
type 6`` (``RLIMIT_NPROC``). Docker gives every limit a container does not name the daemon's own.

So on Podman a create that names limits also names every default it would otherwise lose: the defaults are read
once per engine address from a container created (never started) without limits, whose inspect lists them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from ... import labels as L
from ..http import DockerClient

#: The kind label of the container created to read the defaults (removed right after).
KIND_PROBE = "rlimit-probe"

#: Engine address -> its default limits as ``HostConfig.Ulimits`` entries.
_defaults: dict[str, tuple[dict[str, Any], ...]] = {}


def ulimit_entries(raw: Sequence[Mapping[str, Any]] | None) -> tuple[dict[str, Any], ...]:
    """``HostConfig.Ulimits`` of an inspect (``RLIMIT_NPROC`` or ``nproc``) as create entries (``nproc``)."""
    out = []
    for entry in raw or ():
        name = str(entry.get("Name") or "").lower().removeprefix("rlimit_")
        if name:
            out.append({"Name": name, "Soft": int(entry.get("Soft") or 0), "Hard": int(entry.get("Hard") or 0)})
    return tuple(out)


def with_defaults(body: dict[str, Any], defaults: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``body`` (a create body) whose ``HostConfig.Ulimits`` also has each default it does not name itself."""
    host = body["HostConfig"]
    given = host.get("Ulimits") or []
    named = {str(u["Name"]) for u in given}
    host["Ulimits"] = [*given, *(dict(d) for d in defaults if d["Name"] not in named)]
    return body


async def default_ulimits(client: DockerClient, image: str) -> tuple[dict[str, Any], ...]:
    """The limits Podman gives a container that names none (read once per engine address), as create entries.

    The reading container is created from ``image`` (one the caller is about to use, so it is present), never
    started, and removed before this returns, cancelled or not.
    """
    cached = _defaults.get(client.address.url)
    if cached is not None:
        return cached
    body = {"Image": image, "Labels": L.owned(KIND_PROBE), "Cmd": ["true"], "HostConfig": {}}
    res = await client.request_json(
        "POST", "containers/create", "create a container to read the default limits", body=body
    )
    ref = str(res["Id"])
    try:
        raw = await client.request_json("GET", f"containers/{ref}/json", "read the default limits")
    finally:
        remove = client.request_json(
            "DELETE", f"containers/{ref}", "remove the limits probe", params={"force": "1", "v": "1"}
        )
        await asyncio.shield(remove)
    defaults = ulimit_entries((raw.get("HostConfig") or {}).get("Ulimits"))
    _defaults[client.address.url] = defaults
    return defaults
