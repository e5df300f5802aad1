"""When the engine's process started, for an engine on this host: the process at the other end of its unix socket
(``SO_PEERCRED``), and that process's start time in ``/proc``."""

from __future__ import annotations

import asyncio
import os
import socket
import struct

_CREDS = struct.Struct("3i")  # struct ucred: pid, uid, gid


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except OSError:
        return None
    return None


def process_started_at(pid: int) -> float | None:
    """Unix time at which process ``pid`` (of this pid namespace) started, to a second; None when it is gone."""
    boot = _boot_time()
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    if boot is None:
        return None
    # Field 22, starttime in clock ticks since boot; the command name (field 2) may hold spaces: count after ")".
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        ticks = int(fields[19])
    except (IndexError, ValueError):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


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
