"""Every engine call the agent needs, in one adapter over ``sandbox_core._engine`` (re-point it when the engine
layer changes): the binary volume's create/exists/fill, the engine's architecture, and opening an agent stream
(one engine exec of ``sandbox-agent serve``) as an ``AgentTransport``.
"""

from __future__ import annotations

import collections
import secrets
from collections.abc import AsyncIterator, Mapping

from .. import exception as exc
from .._engine import archive, execs
from .._engine.client import Engine
from .volume import AGENT_PATH

#: Labels of the short-lived helper container that fills the binary volume (created, never started, removed).
_HELPER_LABELS = {"sandbox-core.owner": "sandbox-core", "sandbox-core.kind": "agent-fill"}


class EngineVolumeCalls:
    """``volume.VolumeEngine`` on the engine client; ``helper_image`` must exist locally (any image will do: the
    helper container that writes into the volume is never started)."""

    def __init__(self, eng: Engine, helper_image: str, helper_labels: Mapping[str, str] | None = None) -> None:
        self._eng = eng
        self._image = helper_image
        self._labels = {**_HELPER_LABELS, **(helper_labels or {})}

    async def create_volume(self, name: str, labels: Mapping[str, str]) -> Mapping[str, str]:
        res = await self._eng.request_json(
            "POST",
            "volumes/create",
            f"create volume {name}",
            body={"Name": name, "Driver": "local", "Labels": dict(labels)},
        )
        return dict(res.get("Labels") or {})

    async def volume_exists(self, name: str) -> bool:
        try:
            await self._eng.request_json("GET", f"volumes/{name}", f"inspect volume {name}")
        except exc.NotFoundError:
            return False
        return True

    async def put_file(self, volume: str, name: str, data: bytes, mode: int) -> None:
        body = {
            "Image": self._image,
            "Entrypoint": ["/sandbox-core-agent-fill"],
            "Cmd": [],
            "Labels": self._labels,
            "NetworkDisabled": True,
            "HostConfig": {"Mounts": [{"Type": "volume", "Source": volume, "Target": "/fill"}]},
        }
        res = await self._eng.request_json(
            "POST",
            "containers/create",
            "create the agent volume's fill container",
            params={"name": f"sandbox-core-agent-fill-{secrets.token_hex(6)}"},
            body=body,
        )
        cid = str(res["Id"])
        try:

            async def tar() -> AsyncIterator[bytes]:
                yield archive.tar_header(name.encode(), size=len(data), mode=mode)
                yield data
                yield archive.tar_padding(len(data)) + b"\0" * 1024

            await archive.put_archive(self._eng, cid, b"/fill", tar())
        finally:
            await self._eng.request_json(
                "DELETE", f"containers/{cid}", "remove the fill container", params={"force": "1", "v": "0"}
            )


async def engine_arch(eng: Engine) -> str:
    """The engine host's architecture as the engine reports it (``x86_64``/``aarch64``...)."""
    info = await eng.request_json("GET", "info", "read engine info")
    return str(info.get("Architecture", ""))


class ExecStreamTransport:
    """``AgentTransport`` over one hijacked engine exec stream (non-TTY: stdout frames carry the protocol; the
    agent's stderr, diagnostics only, is kept in a bounded tail)."""

    def __init__(self, stream: execs.HijackedStream) -> None:
        self._stream = stream
        self.stderr_tail: collections.deque[bytes] = collections.deque(maxlen=64)

    async def read(self) -> bytes | None:
        while True:
            frame = await self._stream.read_frame()
            if frame is None:
                return None
            fd, data = frame
            if fd == execs.STDOUT:
                return data
            self.stderr_tail.append(data)

    async def write(self, data: bytes) -> None:
        await self._stream.write(data)

    def close_write(self) -> None:
        self._stream.close_write()

    async def close(self) -> None:
        await self._stream.close()


async def open_agent_stream(
    eng: Engine, cid: str, *, agent_path: str = AGENT_PATH, user: str | None = None
) -> ExecStreamTransport:
    """Start ``agent_path serve`` in container ``cid`` (one engine exec) and return its stream as a transport.

    The agent inherits the exec's environment (the container's defaults, which its execs start from) and user
    (``None``: the image's USER). Raises ``ConflictError`` when the container is not running."""
    exec_id = await execs.create_exec(eng, cid, [agent_path, "serve"], env={}, workdir=None, tty=False, user=user)
    return ExecStreamTransport(await execs.start_exec(eng, exec_id, tty=False))
