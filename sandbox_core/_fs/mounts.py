"""The sandbox's own mounts, which the engine's archive API does not see: it reads and writes the container's root
file system *beneath* them, so a file written under ``/dev/shm``, a tmpfs or ``/proc`` through it never shows in the
sandbox (and a read shows the image's files, not the mount's).

``FileOps`` sends every path at or under such a mount point to a process in the sandbox (or refuses, typed, when
the image has no shell). The mount points are ``/proc``, ``/sys`` and ``/dev`` always, plus what the sandbox's own
``/proc/self/mountinfo`` lists (read once per sandbox and handle, by one process), plus the engine's volume and
bind mounts — those the archive API does handle, so without a shell they stay on it.
"""

from __future__ import annotations

import re

from .base import norm

#: Mounted inside every sandbox by the runtime.
ALWAYS = (b"/proc", b"/sys", b"/dev")
#: mountinfo escapes space, tab, newline and backslash as octal.
_OCTAL = re.compile(rb"\\([0-7]{3})")
#: Reads the sandbox's mount table.
SH_MOUNTINFO = "cat /proc/self/mountinfo"


def parse_mountinfo(text: bytes) -> set[bytes]:
    """The mount points of a ``/proc/<pid>/mountinfo`` (field 5, unescaped), ``/`` left out."""
    points: set[bytes] = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 4:
            point = _OCTAL.sub(lambda m: bytes([int(m.group(1), 8)]), fields[4])
            if point.startswith(b"/") and point != b"/":
                points.add(norm(point))
    return points


def under(path: bytes, points: frozenset[bytes]) -> bool:
    """True when normalised ``path`` is one of ``points`` or below one."""
    return any(path == p or path.startswith(p + b"/") for p in points)
