"""Who created a container, and whether that create was abandoned: the creator's ``host:pid`` label
(``CREATED_BY``) and the container's age decide whether a created, never-started container is still being started.

A container that stays *created* holds its sandbox name: a client killed between the engine's create and start
leaves one. It counts as abandoned when its creator ran on this host and is gone (at once), or, whatever the host,
once it is older than ``CREATED_GRACE`` (a start takes well under a second; the grace covers a loaded engine).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ._engine import labels as L

#: Seconds after which a created, never-started container is abandoned even if its creator cannot be checked.
CREATED_GRACE = 15.0


def this_creator() -> str:
    """The ``CREATED_BY`` value of this process: ``host:pid``."""
    return f"{os.uname().nodename}:{os.getpid()}"


def creator_alive(created_by: str | None) -> bool | None:
    """True/False when ``created_by`` names a process of this host (alive or gone); None when it cannot be told
    (another host, or no label). A recycled pid reads as alive: the grace then decides."""
    if not created_by:
        return None
    host, _, pid_text = created_by.rpartition(":")
    if host != os.uname().nodename or not pid_text.isdigit():
        return None
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def abandoned(labels: Mapping[str, str], created_at: float, now: float, *, grace: float = CREATED_GRACE) -> bool:
    """True when a created, never-started container with ``labels``, created at epoch ``created_at``, is no longer
    being started (see the module docstring)."""
    return creator_alive(labels.get(L.CREATED_BY)) is False or now - created_at > grace
