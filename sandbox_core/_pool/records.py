"""What claiming a pool member makes true, for every process: the claim record, and who owns unclaimed members.

A pool member is a sandbox container created before anyone asked for it, so its labels (immutable) cannot hold what
a claim sets: the sandbox's name, deadline and idle timeout. A claim therefore writes a record ``claim.<sandbox id>``
(first writer wins: a member is claimed at most once) holding them; its tags go into the ordinary tag record. Until
claimed, a member is not a sandbox to anyone: ``from_id``, ``from_name`` and ``list`` skip it, and it is removed
once its pool's process is gone. A claimed member is a sandbox like any other, its facts read from its claim.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

import attrs

from .._engine import EngineAPI
from .._engine import labels as L

#: Record type of claim records.
CLAIM = "claim"
CLAIMED_AT = L.PREFIX + "claimed-at"


@attrs.frozen
class Claim:
    """A claimed member's facts: its ``name`` (None: unnamed), lifetime ``deadline`` (Unix time), ``idle_timeout``
    (None: none) and when it was claimed."""

    sandbox_id: str
    app_id: str
    app_name: str
    name: str | None
    deadline: float
    idle_timeout: float | None
    claimed_at: float

    @classmethod
    def from_labels(cls, labels: Mapping[str, str]) -> Claim:
        return cls(
            sandbox_id=labels.get(L.SANDBOX_ID, ""),
            app_id=labels.get(L.APP_ID, ""),
            app_name=labels.get(L.APP_NAME, ""),
            name=labels.get(L.NAME),
            deadline=float(labels.get(L.DEADLINE, "inf")),
            idle_timeout=float(labels[L.IDLE_TIMEOUT]) if L.IDLE_TIMEOUT in labels else None,
            claimed_at=float(labels.get(CLAIMED_AT, "0")),
        )

    def labels(self) -> dict[str, str]:
        out = L.owned(
            L.KIND_RECORD,
            **{
                L.RECORD_TYPE: CLAIM,
                L.SANDBOX_ID: self.sandbox_id,
                L.APP_ID: self.app_id,
                L.APP_NAME: self.app_name,
                L.DEADLINE: f"{self.deadline:.3f}",
                CLAIMED_AT: f"{self.claimed_at:.3f}",
            },
        )
        if self.name is not None:
            out[L.NAME] = self.name
        if self.idle_timeout is not None:
            out[L.IDLE_TIMEOUT] = str(self.idle_timeout)
        return out


def record_name(sandbox_id: str) -> str:
    return f"{CLAIM}.{sandbox_id}"


async def write_claim(eng: EngineAPI, claim: Claim) -> bool:
    """Record ``claim``; False when the member was already claimed (by whoever wrote first)."""
    rec = await eng.records.put(record_name(claim.sandbox_id), claim.labels())
    return rec.labels.get(CLAIMED_AT) == f"{claim.claimed_at:.3f}"


async def claim_of(eng: EngineAPI, sandbox_id: str) -> Claim | None:
    """The claim of member ``sandbox_id``, or None while it is unclaimed."""
    rec = await eng.records.get(record_name(sandbox_id))
    return None if rec is None else Claim.from_labels(rec.labels)


async def claims(eng: EngineAPI, labels: Mapping[str, str] | None = None) -> dict[str, Claim]:
    """Sandbox id -> claim, for every claim (carrying ``labels``)."""
    query: dict[str, str | None] = {L.RECORD_TYPE: CLAIM, **(labels or {})}
    found = await eng.records.find(query)
    return {c.sandbox_id: c for c in (Claim.from_labels(r.labels) for r in found)}


async def named(eng: EngineAPI, app_name: str, name: str) -> list[Claim]:
    """Claims that gave a member of app ``app_name`` the name ``name`` (at most one runs)."""
    return list((await claims(eng, {L.APP_NAME: app_name, L.NAME: name})).values())


# ------------------------------------------------------------------------------------------- member ownership


@functools.cache
def _own_start() -> str:
    return _start_ticks(os.getpid()) or "0"


def _start_ticks(pid: int) -> str | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


def owner_label() -> str:
    """This process, as members' ``pool-owner`` label names it: ``<host>:<pid>:<start time>``."""
    return f"{os.uname().nodename}:{os.getpid()}:{_own_start()}"


def owner_alive(label: str) -> bool | None:
    """Whether the process a ``pool-owner`` label names is alive: None when it ran on another host (unknown here;
    its members then end at their deadline)."""
    host, _, rest = label.partition(":")
    pid, _, start = rest.partition(":")
    if host != os.uname().nodename or not pid.isdigit():
        return None
    return _start_ticks(int(pid)) == start


def member_deadline(labels: Mapping[str, str], claim: Claim | None) -> float:
    """A member's lifetime deadline: its claim's, or (unclaimed) the pool's ``max_age`` from its labels."""
    if claim is not None:
        return claim.deadline
    return float(labels.get(L.DEADLINE, "inf"))
