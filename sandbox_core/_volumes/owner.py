"""Who owns an ephemeral volume or a helper container: the creating process, named so that any process on the same
host can tell whether it is still alive.

The identity is ``<host>:<boot id>:<pid>:<start time>``: the boot id (Linux) tells a pid of an earlier boot apart,
the start time (clock ticks since boot, ``/proc/<pid>/stat``) a reused pid. A process of another host cannot be
checked from here, so it counts as alive: its volumes are collected on its own host, or by ``Volume.objects.delete``.
"""

from __future__ import annotations

import functools
import os
import socket


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), or None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: fields after it start at the last ")".
    fields = raw[raw.rfind(b")") + 2 :].split()
    return fields[19].decode() if len(fields) > 19 else None


@functools.cache
def _host() -> tuple[str, str]:
    return socket.gethostname(), _boot_id()


def this_process() -> str:
    """The identity of the calling process."""
    host, boot = _host()
    pid = os.getpid()
    return f"{host}:{boot}:{pid}:{_start_time(pid) or ''}"


def is_alive(owner: str) -> bool:
    """False only when ``owner`` is certainly gone: a process of this host (this boot, or an earlier one) that no
    longer runs. Malformed identities and other hosts' processes count as alive."""
    parts = owner.rsplit(":", 3)
    if len(parts) != 4:
        return True
    host, boot, pid, start = parts
    my_host, my_boot = _host()
    if host != my_host:
        return True
    if boot and my_boot and boot != my_boot:
        return False
    try:
        current = _start_time(int(pid))
    except ValueError:
        return True
    return current is not None and (not start or current == start)
