"""When the engine's process started, for an engine on this host: the process at the other end of its unix socket
(``SO_PEERCRED``), and that process's start time in ``/proc``."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import time

_CREDS = struct.Struct("3i")  # struct ucred: pid, uid, gid


def process_started_at(pid: int) -> float | None:
    """Unix time at which process ``pid`` (of this pid namespace) started, to a clock tick (10 ms); None when it is
    gone. Measured back from now on the boot-time clock, which ``/proc/<pid>/stat``'s start time counts on:
    ``/proc/stat``'s ``btime`` is whole seconds, and an estimate off by up to a second would misplace a
    container that started shortly before the engine's restart."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # Field 22, starttime in clock ticks since boot; the command name (field 2) may hold spaces: count after ")".
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        ticks = int(fields[19])
    except (IndexError, ValueError):
        return None
    age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    return time.time() - age


async def socket_peer_started_at(path: str) -> float | None:
    """Start time of the process listening on the unix socket ``path``; None when it cannot be told (no answer, or
    a listener outside this pid namespace: the kernel reports pid 0 then)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, path), timeout=2.0)
        raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDS.size)
    except (OSError, TimeoutError):
        return None
    finally:
        sock.close()
    pid, _uid, _gid = _CREDS.unpack(raw)
    return process_started_at(pid) if pid > 0 else None
