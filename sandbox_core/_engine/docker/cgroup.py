"""A local container's processes from its cgroup: the kernel's own list, which answers at once even when the
container has exhausted its pids (the engine's ``top`` runs ``ps`` and then takes tens of seconds), and its freezer,
which stops every process of the container at once (a fork bomb cannot outrun it).

Works where the engine shares this host's ``/proc`` and ``/sys/fs/cgroup`` (a local engine, not one in a VM): the
container's init pid (from inspect) names its cgroups in ``/proc/<pid>/cgroup``. cgroup v1 lists the processes in
the ``pids`` hierarchy and freezes through ``freezer.state``; v2 does both in the unified hierarchy.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator

import attrs

CGROUP_ROOT = "/sys/fs/cgroup"
#: How long a freeze may take before the caller goes on without it (a task in uninterruptible sleep delays it).
FREEZE_WAIT = 2.0


@attrs.frozen
class CgroupFiles:
    """One container's ``cgroup.procs`` and its freezer control file (None when there is none);
    ``v2``: the freezer is cgroup v2's ``cgroup.freeze``, else v1's ``freezer.state``."""

    procs: str
    freezer: str | None
    v2: bool


def _v1(controller: str, path: str, name: str) -> str | None:
    candidate = os.path.join(CGROUP_ROOT, controller, path.lstrip("/"), name)
    return candidate if os.path.exists(candidate) else None


def files_of(init_pid: int) -> CgroupFiles | None:
    """The cgroup files of host pid ``init_pid``, or None when they cannot be found here (not visible from this
    host, or no cgroup file system)."""
    try:
        with open(f"/proc/{init_pid}/cgroup", encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    procs = freezer = unified = None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        names = controllers.split(",")
        if "pids" in names:
            procs = _v1("pids", path, "cgroup.procs")
        if "freezer" in names:
            freezer = _v1("freezer", path, "freezer.state")
        if controllers == "":
            unified = os.path.join(CGROUP_ROOT, path.lstrip("/"))
    if procs is not None:
        return CgroupFiles(procs=procs, freezer=freezer, v2=False)
    if unified is not None and os.path.exists(os.path.join(unified, "cgroup.procs")):
        freeze = os.path.join(unified, "cgroup.freeze")
        return CgroupFiles(
            procs=os.path.join(unified, "cgroup.procs"), freezer=freeze if os.path.exists(freeze) else None, v2=True
        )
    return None


def alive(files: CgroupFiles) -> bool:
    """True while the cgroup exists (its container runs)."""
    return os.path.exists(files.procs)


def procs_file(init_pid: int) -> str | None:
    """The ``cgroup.procs`` of host pid ``init_pid``'s cgroup (see ``files_of``)."""
    files = files_of(init_pid)
    return None if files is None else files.procs


def read_pids(path: str) -> list[int] | None:
    """The pids listed in ``path`` (a ``cgroup.procs``); None once the cgroup is gone."""
    try:
        with open(path, encoding="ascii") as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return None


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


def _write(path: str, value: str) -> bool:
    try:
        with open(path, "w", encoding="ascii") as f:
            f.write(value)
    except OSError:
        return False
    return True


def _is_frozen(files: CgroupFiles) -> bool:
    assert files.freezer is not None
    if files.v2:
        events = _read(os.path.join(os.path.dirname(files.freezer), "cgroup.events"))
        return "frozen 1" in events.splitlines()
    return _read(files.freezer) == "FROZEN"


@contextlib.asynccontextmanager
async def frozen(files: CgroupFiles) -> AsyncIterator[bool]:
    """Freeze every process of the cgroup for the body (yields whether it froze within ``FREEZE_WAIT``); thawed
    afterwards, whatever happens, unless it was frozen before (a paused container stays paused). Signals sent
    meanwhile take effect at the thaw: a SIGKILLed process never runs again."""
    if files.freezer is None or _is_frozen(files):
        yield False
        return
    if not _write(files.freezer, "1" if files.v2 else "FROZEN"):
        yield False
        return
    try:
        end = time.monotonic() + FREEZE_WAIT
        # The kernel offers no notification of the freeze completing on cgroup v1: poll its state.
        while not _is_frozen(files) and time.monotonic() < end:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        yield _is_frozen(files)
    finally:
        _write(files.freezer, "0" if files.v2 else "THAWED")
