"""The isolation settings of a new sandbox: its hard caps (``Limits`` resolved against the process-wide defaults and
Modal's ``memory=``) and its container runtime (runc, or gVisor's ``runsc``).

``resolve`` is pure (it runs with the argument checks, before anything is created); ``engine_runtime`` asks the
engine once per process whether it offers the runtime asked for.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from ._engine import EngineAPI
from ._engine import labels as L
from .exception import InvalidError
from .limits import (
    DEFAULT_DISK_MIB,
    DEFAULT_MEMORY_MIB,
    DEFAULT_NOFILE,
    DEFAULT_PIDS,
    DEFAULT_SHM_MIB,
    DEFAULT_TMP_MIB,
    Limits,
    check_cap,
)

MIB = 1 << 20

#: ``Limits`` field -> (environment variable, built-in default).
ENV_DEFAULTS: dict[str, tuple[str, int]] = {
    "memory_mib": ("SANDBOX_CORE_MEMORY_LIMIT_MIB", DEFAULT_MEMORY_MIB),
    "pids": ("SANDBOX_CORE_PIDS_LIMIT", DEFAULT_PIDS),
    "disk_mib": ("SANDBOX_CORE_DISK_LIMIT_MIB", DEFAULT_DISK_MIB),
    "tmp_mib": ("SANDBOX_CORE_TMP_MIB", DEFAULT_TMP_MIB),
    "shm_mib": ("SANDBOX_CORE_SHM_MIB", DEFAULT_SHM_MIB),
    "nofile": ("SANDBOX_CORE_NOFILE", DEFAULT_NOFILE),
}

RUNC = "runc"
GVISOR = "gvisor"
#: The sandbox runtimes one can ask for, and the engine's name for each.
RUNTIMES = {RUNC: "runc", GVISOR: "runsc"}
RUNTIME_ENV = "SANDBOX_CORE_RUNTIME"

#: The smallest process cap a gVisor sandbox can start with: gVisor's own threads (about 30-40) count toward it, and
#: below that ``runsc`` hangs while starting.
GVISOR_MIN_PIDS = 64

#: Why a gVisor sandbox gets no sized tmpfs at /tmp (gVisor's own, bounded by the memory limit, serves it): a sized
#: tmpfs at /tmp that fills up crashes gVisor's kernel (runsc 2022-12: the sandbox exits 2, every process gone)
#: instead of failing the write with ``ENOSPC``.
GVISOR_TMP_REASON = "a sized tmpfs at /tmp that fills up crashes gVisor's kernel instead of failing the write"

#: Docker's own tmpfs defaults are ``noexec``; programs build and run binaries in /tmp, so it keeps ``exec``.
TMP_OPTIONS = "rw,exec,nosuid,nodev,mode=1777"


@attrs.frozen
class Caps:
    """The resolved caps of one sandbox, in bytes and counts (None: no cap of ours on that resource)."""

    memory_bytes: int | None
    memory_reservation_bytes: int | None
    pids: int | None
    disk_bytes: int | None
    tmp_bytes: int | None
    shm_bytes: int | None
    nofile: int | None
    runtime: str  # RUNC or GVISOR


def process_default(field: str) -> int:
    """The process-wide default of cap ``field``: its environment variable, else the built-in default."""
    var, builtin = ENV_DEFAULTS[field]
    raw = os.environ.get(var)
    if raw is None or raw.strip() == "":
        return builtin
    try:
        value = int(raw)
    except ValueError:
        raise InvalidError(f"{var} must be a whole number (0: no cap), got {raw!r}") from None
    try:
        check_cap(field, value)
    except InvalidError:
        raise InvalidError(f"{var} must be 0 (no cap) or a positive whole number within bounds, got {raw!r}") from None
    return value


def _given_or_default(limits: Limits, field: str) -> tuple[int, bool]:
    """(value, explicit): the cap from ``limits``, else the process default."""
    value = getattr(limits, field)
    return (value, True) if value is not None else (process_default(field), False)


def _pids(limits: Limits, pids_limit: Any) -> int:
    if pids_limit is None:
        return _given_or_default(limits, "pids")[0]
    if not isinstance(pids_limit, int) or isinstance(pids_limit, bool) or not 0 < pids_limit <= 1 << 22:
        raise InvalidError(f"pids_limit must be a positive integer up to {1 << 22}, got {pids_limit!r}")
    if limits.pids is not None and limits.pids != pids_limit:
        raise InvalidError(f"pids_limit={pids_limit} contradicts limits.pids={limits.pids}: give one of them")
    return pids_limit


def _memory(limits: Limits, request_mib: float | None, limit_mib: float | None) -> tuple[int | None, int | None]:
    """(hard limit, reservation) in bytes: Modal's explicit limit, else ``max(request, the default cap)``."""
    reservation = None if request_mib is None else int(request_mib * MIB)
    if limit_mib is not None:
        return int(limit_mib * MIB), reservation
    cap = _given_or_default(limits, "memory_mib")[0] * MIB
    if cap == 0:
        return None, reservation
    return max(cap, reservation or 0), reservation


def _tmpfs(limits: Limits, field: str, memory: int | None, share: int) -> int | None:
    """A tmpfs size in bytes (None: off): a default shrinks to ``memory // share``, a given value is kept."""
    value, explicit = _given_or_default(limits, field)
    if value == 0:
        return None
    size = value * MIB
    return size if explicit or memory is None else max(MIB, min(size, memory // share))


def runtime_choice(runtime: Any) -> str:
    """The runtime asked for (``runtime=`` or ``SANDBOX_CORE_RUNTIME``), checked: ``runc`` or ``gvisor``."""
    source = "runtime"
    if runtime is None:
        runtime, source = os.environ.get(RUNTIME_ENV) or RUNC, RUNTIME_ENV
    if not isinstance(runtime, str) or runtime not in RUNTIMES:
        raise InvalidError(f"{source} must be one of {sorted(RUNTIMES)}, got {runtime!r}")
    return runtime


def resolve(
    limits: Any, pids_limit: Any, runtime: Any, memory_request_mib: float | None, memory_limit_mib: float | None
) -> Caps:
    """The caps of a new sandbox from its ``limits=``, ``pids_limit=``, ``runtime=`` and Modal's ``memory=``
    (request and limit in MiB, already checked). ``InvalidError`` for a bad value or environment variable."""
    if limits is None:
        limits = Limits()
    elif not isinstance(limits, Limits):
        raise InvalidError(f"limits must be a sandbox_core.Limits, got {type(limits).__name__}")
    memory, reservation = _memory(limits, memory_request_mib, memory_limit_mib)
    pids = _pids(limits, pids_limit)
    disk = _given_or_default(limits, "disk_mib")[0]
    nofile = _given_or_default(limits, "nofile")[0]
    chosen = runtime_choice(runtime)
    if chosen == GVISOR and 0 < pids < GVISOR_MIN_PIDS:
        raise InvalidError(
            f"A gVisor sandbox needs a process limit of at least {GVISOR_MIN_PIDS} (gVisor's own threads count "
            f"toward it), got {pids}"
        )
    tmp = _tmpfs(limits, "tmp_mib", memory, 2)
    if chosen == GVISOR and tmp is not None:
        if limits.tmp_mib is not None:
            raise InvalidError(
                f"A gVisor sandbox takes no size for /tmp ({GVISOR_TMP_REASON}; /tmp is bounded by the memory "
                "limit there). "
                f"Give Limits.tmp_mib=None or 0 with runtime='gvisor', got {limits.tmp_mib}"
            )
        tmp = None
    return Caps(
        memory_bytes=memory,
        memory_reservation_bytes=reservation,
        pids=pids or None,
        disk_bytes=disk * MIB or None,
        tmp_bytes=tmp,
        shm_bytes=_tmpfs(limits, "shm_mib", memory, 4),
        nofile=nofile or None,
        runtime=chosen,
    )


def spec_settings(caps: Caps) -> dict[str, Any]:
    """The ``ContainerSpec`` fields that carry ``caps``."""
    return {
        "memory_bytes": caps.memory_bytes,
        # No swap: a memory limit that swap could stretch is no limit.
        "memory_swap_bytes": caps.memory_bytes,
        "memory_reservation_bytes": caps.memory_reservation_bytes,
        "pids_limit": caps.pids,
        "shm_size_bytes": caps.shm_bytes,
        "nofile_limit": caps.nofile,
        "tmpfs": {} if caps.tmp_bytes is None else {"/tmp": f"{TMP_OPTIONS},size={caps.tmp_bytes}"},
    }


def cap_labels(caps: Caps) -> dict[str, str]:
    """The labels that record ``caps`` on the sandbox (what the supervisor and the filesystem API read)."""
    out: dict[str, str] = {}
    if caps.disk_bytes is not None:
        out[L.DISK_LIMIT] = str(caps.disk_bytes)
    if caps.runtime != RUNC:
        out[L.RUNTIME] = caps.runtime
    return out


_offered: dict[str, frozenset[str]] = {}


async def engine_runtime(eng: EngineAPI, runtime: str) -> str | None:
    """The engine's name of ``runtime`` (None for runc: the engine's default); ``InvalidError`` when the engine
    does not offer it. The engine's runtimes are asked for once per engine and process."""
    if runtime == RUNC:
        return None
    offered = _offered.get(eng.endpoint)
    if offered is None:
        offered = _offered[eng.endpoint] = frozenset((await eng.info()).runtimes)
    name = RUNTIMES[runtime]
    if name not in offered:
        raise InvalidError(
            f"runtime={runtime!r} needs the engine to offer the {name!r} runtime, and the engine at {eng.endpoint} "
            f"offers {sorted(offered)}. Register gVisor with the engine (scripts/ensure-engine.sh does when it "
            "starts one), or use runtime='runc'."
        )
    return name
