"""The records through which clients and supervisors share ingress state (``EngineAPI.records``; every one carries
the sandbox's id, so it goes with the sandbox):

- ``ingress.<sandbox id>.<generation>`` — a supervisor *claims* a sandbox: it serves its tunnels, its connect
  tokens and its readiness probe. The labels name the claimant, its token proxy and the tunnels. Records are
  first-writer-wins, so of two supervisors (two installations on one engine) claiming the same generation one
  wins; a claimant that died is replaced by a claim of the next generation, and the highest generation is the one
  that counts.
- ``ingress-request.<sandbox id>`` — a client asks for a sandbox without ports to be claimed (a connect token).
- ``token.<first 32 hex digits of its hash>`` — one connect token: its SHA-256 (never the token), port, metadata.
- ``ready.<sandbox id>`` — the readiness probe succeeded (and when).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Mapping

import attrs

from .._engine import labels as L
from .._engine.values import RecordInfo
from .._tunnel import Tunnel
from ..exception import InvalidError

CLAIM = "ingress"
REQUEST = "ingress-request"
TOKEN = "token"
READY = "ready"

GEN = L.PREFIX + "ingress.gen"
OWNER = L.PREFIX + "ingress.owner"
PROXY = L.PREFIX + "ingress.proxy"
TUNNELS = L.PREFIX + "ingress.tunnels"
TOKEN_HASH = L.PREFIX + "token.hash"
TOKEN_PORT = L.PREFIX + "token.port"
TOKEN_METADATA = L.PREFIX + "token.metadata"
READY_AT = L.PREFIX + "ready-at"

#: Hex digits of a token's hash in its record's name (the full hash is a label, compared in constant time).
TOKEN_NAME_DIGITS = 32


def claim_prefix(sandbox_id: str) -> str:
    return f"{CLAIM}.{sandbox_id}."


def claim_name(sandbox_id: str, gen: int) -> str:
    return f"{claim_prefix(sandbox_id)}{gen:06d}"


def request_name(sandbox_id: str) -> str:
    return f"{REQUEST}.{sandbox_id}"


def token_name(token_hash: str) -> str:
    return f"{TOKEN}.{token_hash[:TOKEN_NAME_DIGITS]}"


def ready_name(sandbox_id: str) -> str:
    return f"{READY}.{sandbox_id}"


def base_labels(kind: str, sandbox_id: str, app_id: str, **extra: str) -> dict[str, str]:
    """The labels every ingress record carries."""
    return L.owned(L.KIND_RECORD, **{L.RECORD_TYPE: kind, L.SANDBOX_ID: sandbox_id, L.APP_ID: app_id}, **extra)


@attrs.frozen
class SupervisorId:
    """Who claims: a supervisor process (host name, pid) and the lock file its installation holds."""

    host: str
    pid: int
    lock: str

    def __str__(self) -> str:
        return f"{self.host}|{self.pid}|{self.lock}"

    @classmethod
    def parse(cls, text: str) -> SupervisorId | None:
        host, _, rest = text.partition("|")
        pid, _, lock = rest.partition("|")
        return cls(host, int(pid), lock) if pid.isdigit() and lock else None

    @classmethod
    def this_process(cls, lock: str) -> SupervisorId:
        return cls(socket.gethostname(), os.getpid(), lock)

    def alive(self) -> bool:
        """False when this supervisor is known to be gone: on this host, its process has exited or its
        installation's lock is free. On another host it cannot be told, so True."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # a process of another user: alive
        return lock_held(self.lock)


def lock_held(path: str) -> bool:
    """True when some process holds the flock on ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@attrs.frozen
class Claim:
    """One supervisor's claim on a sandbox: generation, claimant, token proxy URL, tunnels by container port."""

    sandbox_id: str
    gen: int
    owner: SupervisorId
    proxy_url: str
    tunnels: Mapping[int, Tunnel]

    def labels(self, app_id: str) -> dict[str, str]:
        tunnels = {str(p): [t.host, t.port, t.unencrypted_host, t.unencrypted_port] for p, t in self.tunnels.items()}
        return base_labels(
            CLAIM,
            self.sandbox_id,
            app_id,
            **{
                GEN: str(self.gen),
                OWNER: str(self.owner),
                PROXY: self.proxy_url,
                TUNNELS: json.dumps(tunnels, separators=(",", ":")),
            },
        )

    @classmethod
    def from_record(cls, rec: RecordInfo) -> Claim | None:
        """The claim a record holds; None when it is not one (or is damaged)."""
        lbl = rec.labels
        owner = SupervisorId.parse(lbl.get(OWNER, ""))
        if lbl.get(L.RECORD_TYPE) != CLAIM or owner is None or not lbl.get(GEN, "").isdigit():
            return None
        try:
            raw = json.loads(lbl.get(TUNNELS, "{}"))
            tunnels = {int(p): Tunnel(h, hp, uh, up) for p, (h, hp, uh, up) in raw.items()}
        except (ValueError, TypeError, InvalidError):
            return None
        return cls(lbl.get(L.SANDBOX_ID, ""), int(lbl[GEN]), owner, lbl.get(PROXY, ""), tunnels)


def latest_claims(records: list[RecordInfo]) -> dict[str, Claim]:
    """sandbox id -> its highest-generation claim among ``records``."""
    best: dict[str, Claim] = {}
    for rec in records:
        claim = Claim.from_record(rec)
        if claim is not None and (claim.sandbox_id not in best or claim.gen > best[claim.sandbox_id].gen):
            best[claim.sandbox_id] = claim
    return best


@attrs.frozen
class TokenRecord:
    """A connect token as stored: its full hash, the sandbox and container port it opens, the metadata header."""

    token_hash: str
    sandbox_id: str
    port: int
    metadata: str | None

    def labels(self, app_id: str) -> dict[str, str]:
        extra = {TOKEN_HASH: self.token_hash, TOKEN_PORT: str(self.port)}
        if self.metadata is not None:
            extra[TOKEN_METADATA] = self.metadata
        return base_labels(TOKEN, self.sandbox_id, app_id, **extra)

    @classmethod
    def from_record(cls, rec: RecordInfo) -> TokenRecord | None:
        lbl = rec.labels
        port = lbl.get(TOKEN_PORT, "")
        if lbl.get(L.RECORD_TYPE) != TOKEN or not port.isdigit() or not lbl.get(TOKEN_HASH):
            return None
        return cls(lbl[TOKEN_HASH], lbl.get(L.SANDBOX_ID, ""), int(port), lbl.get(TOKEN_METADATA))


def ready_at(rec: RecordInfo | None) -> float | None:
    """When the readiness probe first succeeded, from a ``ready`` record (None: no record)."""
    if rec is None:
        return None
    with contextlib.suppress(ValueError):
        return float(rec.labels.get(READY_AT, ""))
    return rec.created_at or 0.0
