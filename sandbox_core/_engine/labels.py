"""Ownership labels: every object sandbox_core creates on the engine carries ``OWNER`` plus a ``KIND``.

Labels are immutable once an object exists. What must change later (tags, the reason a sandbox ended) lives in
*records* (``RecordsAPI``), never in client memory, so any process can read it.
"""

from __future__ import annotations

PREFIX = "sandbox-core."
OWNER = PREFIX + "owner"
OWNER_VALUE = "sandbox-core"
KIND = PREFIX + "kind"

KIND_SANDBOX = "sandbox"
#: An extra container of a sandbox (``Sandbox._experimental_sidecars``), in the sandbox's network namespace.
KIND_SIDECAR = "sidecar"
KIND_RECORD = "record"
#: Images the image builder makes (``_imagebuild``): a Python base image, and the image of one build step.
KIND_BASE_IMAGE = "base-image"
KIND_IMAGE = "image"
#: An image of a sandbox's filesystem or of one of its directories (``snapshot_filesystem``/``snapshot_directory``).
KIND_SNAPSHOT = "snapshot"
#: A container created (never started) to read an image's files (``mount_image``), removed right after.
KIND_IMAGE_EXPORT = "image-export"

SANDBOX_ID = PREFIX + "sandbox-id"
APP_ID = PREFIX + "app-id"
APP_NAME = PREFIX + "app-name"
NAME = PREFIX + "name"
TAG_PREFIX = PREFIX + "tag."
#: Unix time (seconds) at which the sandbox's lifetime ``timeout`` expires.
DEADLINE = PREFIX + "deadline"
IDLE_TIMEOUT = PREFIX + "idle-timeout"
#: Seconds a finished sandbox stays inspectable before the sweep removes it.
RETENTION = PREFIX + "retention"
PTY = PREFIX + "pty"
#: The sandbox runtime asked for at creation (absent: runc; ``gvisor``).
RUNTIME = PREFIX + "runtime"
#: The sandbox's disk cap in bytes (absent: none), which the supervisor's disk watchdog enforces.
DISK_LIMIT = PREFIX + "disk-limit"
#: Unix time (seconds) after which a snapshot image may be removed; absent: kept until removed by hand.
EXPIRES_AT = PREFIX + "expires-at"
CREATED_BY = PREFIX + "created-by"
RECORD_TYPE = PREFIX + "record"
#: On a sandbox created with the in-sandbox agent mounted: the name of the volume that holds it.
AGENT = PREFIX + "agent"
#: On a warm-pool member: its pool's id, and the pool's process (``<host>:<pid>:<start time>``).
POOL = PREFIX + "pool"
POOL_OWNER = PREFIX + "pool-owner"


def owned(kind: str, **extra: str) -> dict[str, str]:
    """The labels of a new object of ``kind``: ownership plus ``extra``."""
    return {OWNER: OWNER_VALUE, KIND: kind, **extra}
