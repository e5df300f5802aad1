"""The packaged agent binaries: ``bin/sandbox-agent-linux-<arch>``, built by ``scripts/build-agent.sh``."""

from __future__ import annotations

import functools
import hashlib
import os

import attrs

from .. import exception as exc

BIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bin")
NAME = "sandbox-agent"

#: Engine ``Architecture`` values (``uname -m`` of the engine host) -> Go architecture names.
_ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@attrs.frozen
class AgentBinary:
    """One agent build: its path on this machine, contents' SHA-256 and size."""

    path: str
    sha256: str
    size: int

    def read(self) -> bytes:
        """The binary's bytes."""
        with open(self.path, "rb") as f:
            return f.read()


def go_arch(engine_arch: str) -> str:
    """The Go architecture for an engine's reported ``Architecture``; ``UnimplementedError`` if unsupported."""
    arch = _ARCHES.get(engine_arch)
    if arch is None:
        raise exc.UnimplementedError(f"no agent build for architecture {engine_arch!r} (have: amd64, arm64)")
    return arch


@functools.cache
def _load(path: str, mtime_ns: int) -> AgentBinary:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return AgentBinary(path, h.hexdigest(), size)


def agent_binary(engine_arch: str, name: str = NAME) -> AgentBinary:
    """The packaged binary ``name`` for ``engine_arch``. Raises ``NotFoundError`` naming the build command when
    it is missing (a source checkout that has not run ``scripts/build-agent.sh``)."""
    path = os.path.join(BIN_DIR, f"{name}-linux-{go_arch(engine_arch)}")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise exc.NotFoundError(f"the agent binary {path} is missing: run scripts/build-agent.sh") from None
    return _load(path, st.st_mtime_ns)
