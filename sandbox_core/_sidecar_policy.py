"""Sidecars share their sandbox's lifecycle: the policy that ends and removes them, for every process.

A sidecar is a container labelled ``kind=sidecar`` with its sandbox's id (``SIDECAR_OF``: never ``SANDBOX_ID``, which
finds a sandbox's own container), its own id (``SIDECAR_ID``, ``sc-…``) and name. Why one ended is an
``end.<sidecar id>`` record like a sandbox's, but labelled with the *sandbox's* id (``SANDBOX_ID``), so that it lives
and goes with the sandbox's records.

- Terminating a sandbox from the handle that made its sidecars ends them at once (:func:`end_all`); an ephemeral
  app's end does the same for its apps' sidecars.
- Otherwise — the sandbox exited, timed out, or was terminated from another process — :func:`enforce`, run by every
  supervisor pass and by ``sweep()``, ends the sidecars of a sandbox that no longer runs and removes those of a
  sandbox that no longer exists (retention over, or swept).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping

from . import _lifecycle
from ._engine import EngineAPI
from ._engine import labels as L
from ._engine.errors import ContainerNotRunning, NoSuchContainer

__all__ = ["SIDECAR_ID", "SIDECAR_NAME", "SIDECAR_OF", "end_all", "end_sidecar", "enforce"]

SIDECAR_OF = L.PREFIX + "sidecar-of"
SIDECAR_ID = L.PREFIX + "sidecar-id"
SIDECAR_NAME = L.PREFIX + "sidecar-name"


async def end_sidecar(eng: EngineAPI, sidecar_id: str, ref: str, sandbox_id: str, app_id: str, reason: str) -> None:
    """Record why the sidecar ends (the first reason wins), then kill it."""
    await eng.records.put(
        f"end.{sidecar_id}",
        L.owned(
            L.KIND_RECORD,
            **{
                L.RECORD_TYPE: "end",
                L.SANDBOX_ID: sandbox_id,
                L.APP_ID: app_id,
                _lifecycle.REASON: reason,
                _lifecycle.AT: f"{time.time():.6f}",
            },
        ),
    )
    with contextlib.suppress(NoSuchContainer, ContainerNotRunning):
        await eng.containers.kill(ref)


async def end_all(eng: EngineAPI, *, sandbox_id: str | None = None, app_id: str | None = None) -> int:
    """End the running sidecars of one sandbox (or of every sandbox of ``app_id``) as terminated; returns how many."""
    query: dict[str, str | None] = {L.KIND: L.KIND_SIDECAR}
    if sandbox_id is not None:
        query[SIDECAR_OF] = sandbox_id
    if app_id is not None:
        query[L.APP_ID] = app_id
    running = await eng.containers.list(query, all=False)
    for item in running:
        await _end_listed(eng, item.id, item.labels)
    return len(running)


async def _end_listed(eng: EngineAPI, ref: str, lbl: Mapping[str, str]) -> None:
    sidecar_id, sandbox_id, app_id = lbl.get(SIDECAR_ID, ""), lbl.get(SIDECAR_OF, ""), lbl.get(L.APP_ID, "")
    await end_sidecar(eng, sidecar_id, ref, sandbox_id, app_id, _lifecycle.TERMINATED)


async def enforce(eng: EngineAPI) -> int:
    """End the sidecars of sandboxes that no longer run; remove those of sandboxes that no longer exist. Returns
    how many it ended or removed. One listing when there are no sidecars at all."""
    sidecars = await eng.containers.list({L.KIND: L.KIND_SIDECAR}, all=True)
    if not sidecars:
        return 0
    sandboxes = await eng.containers.list({L.KIND: L.KIND_SANDBOX}, all=True)
    existing = {s.labels.get(L.SANDBOX_ID, "") for s in sandboxes}
    running = {s.labels.get(L.SANDBOX_ID, "") for s in sandboxes if s.status in ("running", "created")}
    acted = 0
    for item in sidecars:
        lbl = item.labels
        sandbox_id = lbl.get(SIDECAR_OF, "")
        if sandbox_id not in existing:
            await eng.containers.remove(item.id)
            acted += 1
        elif sandbox_id not in running and item.status == "running":
            await _end_listed(eng, item.id, lbl)
            acted += 1
    return acted
