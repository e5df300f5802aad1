"""Constants shared by the harness and its worker processes: image, create body, labels, tar streaming, stats."""

from __future__ import annotations

import math
import os
import resource
import statistics
import tarfile
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

IMAGE = "sandbox-core/busybox:1"
#: The engine's socket: ``DOCKER_HOST`` when it names a unix socket (a private engine), else the default one.
DOCKER_SOCKET = (
    os.environ["DOCKER_HOST"].removeprefix("unix://")
    if os.environ.get("DOCKER_HOST", "").startswith("unix://")
    else "/var/run/docker.sock"
)

RUN_LABEL = "bench.run"
ARM_LABEL = "bench.arm"
#: sandbox_core cannot take arbitrary labels: its sandboxes are found by the App name it puts in this label.
SC_APP_LABEL = "sandbox-core.app-name"

#: The hardening sandbox_core applies by default; every raw arm sends the same so all arms do the same work.
SECURITY_OPT = ["no-new-privileges"]
CAP_DROP = ["NET_RAW", "MKNOD", "AUDIT_WRITE"]
PIDS_LIMIT = 4096
LOG_CONFIG: dict[str, Any] = {"Type": "json-file", "Config": {"max-size": "64m", "max-file": "2"}}

MIB = 1024 * 1024


def stream_argv(nbytes: int) -> list[str]:
    """A command writing ``nbytes`` (a multiple of 1 MiB) of zeros to stdout in 1 MiB writes."""
    return ["sh", "-c", f"dd if=/dev/zero bs=1048576 count={nbytes // MIB} 2>/dev/null"]


CHUNK = 1 << 20


def app_name(run_id: str, arm: str) -> str:
    """The sandbox_core App name of ``arm`` in run ``run_id`` (unique per run, swept by its label)."""
    return f"bench-{run_id}-{arm}"


def raw_labels(run_id: str, arm: str) -> dict[str, str]:
    return {RUN_LABEL: run_id, ARM_LABEL: arm}


def create_body(run_id: str, arm: str) -> dict[str, Any]:
    """The container-create body every raw arm sends: ``ContainerSpec.to_body()`` of sandbox_core's default create.

    (sandbox_core additionally names the container after the sandbox id and resolves the image to its id.)
    """
    return {
        "Image": IMAGE,
        "Labels": raw_labels(run_id, arm),
        "Env": [],
        "Tty": False,
        "OpenStdin": True,
        "StdinOnce": True,
        "AttachStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "NetworkDisabled": False,
        "HostConfig": {
            "Init": True,
            "CapDrop": CAP_DROP,
            "SecurityOpt": SECURITY_OPT,
            "LogConfig": LOG_CONFIG,
            "PidsLimit": PIDS_LIMIT,
        },
    }


# ---------------------------------------------------------------------------------------------------------- tar
def tar_header(name: str, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = int(time.time())
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def _tar_tail(size: int) -> bytes:
    return b"\0" * ((-size) % 512) + b"\0" * 1024


def tar_chunks(local: str, name: str) -> Iterator[bytes]:
    """A one-member tar of ``local`` (member ``name``), yielded in 1 MiB chunks: memory stays flat."""
    size = os.path.getsize(local)
    yield tar_header(name, size)
    with open(local, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk
    yield _tar_tail(size)


async def tar_chunks_async(local: str, name: str) -> AsyncIterator[bytes]:
    """``tar_chunks`` as an async generator (local disk reads are short and page-cached)."""
    for chunk in tar_chunks(local, name):
        yield chunk


class TarFileSink:
    """Writes the first regular file of a streamed tar to ``local``, chunk by chunk (never the whole tar).

    Skips PAX/GNU extension headers. ``written`` is the member's size once ``close`` returns; raises ValueError
    when the tar holds no regular file or ends early.
    """

    def __init__(self, local: str) -> None:
        self._f = open(local, "wb")  # noqa: SIM115 - closed in close()
        self._hdr = bytearray()
        self._skip = 0  # bytes of a non-file member (plus padding) still to skip
        self._left = -1  # bytes of the file member still to write; -1 = not found yet, -2 = done
        self.written = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data)
        while view:
            if self._left == -2:
                return
            if self._skip:
                k = min(self._skip, len(view))
                self._skip -= k
                view = view[k:]
                continue
            if self._left > 0:
                k = min(self._left, len(view))
                self._f.write(view[:k])
                self._left -= k
                self.written += k
                view = view[k:]
                if self._left == 0:
                    self._left = -2
                continue
            need = 512 - len(self._hdr)
            self._hdr += view[:need]
            view = view[need:]
            if len(self._hdr) < 512:
                return
            block = bytes(self._hdr)
            self._hdr.clear()
            if block == b"\0" * 512:
                continue
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            if info.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
                self._left = info.size if info.size else -2
            else:
                self._skip = info.size + (-info.size) % 512

    def close(self) -> None:
        self._f.close()
        if self._left != -2:
            raise ValueError("tar stream ended before a complete regular file was read")


# -------------------------------------------------------------------------------------------------------- stats
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))
    return s[k]


def summarize(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "count": len(values),
        "median": statistics.median(values),
        "p95": percentile(values, 95),
        "min": min(values),
        "max": max(values),
    }


def rusage_now() -> dict[str, float]:
    """CPU seconds and peak RSS (bytes) of this process and of its waited-for children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu_self": me.ru_utime + me.ru_stime,
        "cpu_children": ch.ru_utime + ch.ru_stime,
        "maxrss_self": me.ru_maxrss * 1024.0,
        "maxrss_children": ch.ru_maxrss * 1024.0,
    }
