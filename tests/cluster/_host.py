"""Host primitives for the harness: commands with deadlines, network namespaces, processes, cgroups, mounts.

Everything here acts on objects found by name or path, so teardown works from nothing but an instance's names
(a crashed run leaves no memory behind, only names).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable, Sequence

NETNS_DIR = "/run/netns"
CGROUP_FS_TYPES = ("cgroup", "cgroup2")


class HostError(RuntimeError):
    """A host command failed; the message carries the command and its stderr."""


def run(cmd: Sequence[str], *, timeout: float = 20.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` with a deadline; raise ``HostError`` (with stderr) when it fails and ``check`` is set."""
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise HostError(f"{' '.join(cmd)}: no answer within {timeout} s") from e
    if check and proc.returncode != 0:
        raise HostError(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()}")
    return proc


def ip(*args: str, netns: str | None = None, check: bool = True) -> None:
    """One ``ip`` command, inside ``netns`` when given."""
    run(["ip", *(["-n", netns] if netns else []), *args], check=check)


def netns_list(prefix: str) -> list[str]:
    """Named network namespaces whose name starts with ``prefix``."""
    try:
        names = os.listdir(NETNS_DIR)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if n.startswith(prefix))


def netns_inode(name: str) -> int | None:
    """The inode identifying a named network namespace, or None when it does not exist."""
    try:
        return os.stat(os.path.join(NETNS_DIR, name)).st_ino
    except FileNotFoundError:
        return None


def netns_delete(name: str) -> None:
    """Delete a named network namespace (its veth ends go with it); absent is fine."""
    if netns_inode(name) is not None:
        ip("netns", "del", name, check=False)


def pids_in_netns(inode: int) -> set[int]:
    """Every process whose network namespace has ``inode``."""
    found: set[int] = set()
    target = f"net:[{inode}]"
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/net") == target:
                found.add(int(entry))
        except OSError:
            continue
    return found


def cgroup_mounts() -> list[str]:
    """Mount points of every cgroup hierarchy (v1 and v2) in this mount namespace."""
    points: list[str] = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split(" ", 1)[0] in CGROUP_FS_TYPES:
                points.append(left.split(" ")[4])
    return points


def cgroup_dirs(parent: str) -> list[str]:
    """Every directory of the cgroup tree ``parent`` (e.g. ``/sbxsw-x-n0``) in every hierarchy, deepest first."""
    dirs: list[str] = []
    for mount in cgroup_mounts():
        top = os.path.join(mount, parent.lstrip("/"))
        for root, _subdirs, _files in os.walk(top, topdown=False):
            dirs.append(root)
    return dirs


def pids_in_cgroups(parent: str) -> set[int]:
    """Every process in the cgroup tree ``parent``, in any hierarchy."""
    found: set[int] = set()
    for d in cgroup_dirs(parent):
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                found.update(int(p) for p in f.read().split())
        except OSError:
            continue
    return found


def remove_cgroups(parent: str, deadline: float) -> list[str]:
    """Remove the cgroup tree ``parent`` in every hierarchy; returns the directories that would not go."""
    left: list[str] = []
    while True:
        left = []
        for d in cgroup_dirs(parent):
            try:
                os.rmdir(d)
            except FileNotFoundError:
                pass
            except OSError:
                left.append(d)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL each pid; gone already is fine."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (tells a pid from a reused one), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[19])


def comm(pid: int) -> str:
    """The process's command name ("" when it is gone)."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def alive(pid: int, started: int | None) -> bool:
    """True when ``pid`` runs and is the same process that started at ``started`` (not a reused pid)."""
    now = start_time(pid)
    if now is None:
        return False
    if started is not None and now != started:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def mounts_under(path: str) -> list[str]:
    """Mount points at or below ``path`` in this mount namespace, deepest first."""
    prefix = path.rstrip("/") + "/"
    found: list[str] = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split(" ")[4]
            if point == path or point.startswith(prefix):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def unmount_all(path: str) -> None:
    """Lazily unmount anything mounted at or below ``path`` (normally nothing: node mounts die with the node)."""
    for point in mounts_under(path):
        run(["umount", "-l", point], check=False)
