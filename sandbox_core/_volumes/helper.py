"""Helper containers: how the volume file API reaches a volume's files through the engine alone (never a host path,
so a remote engine works the same).

A helper is a container of the project's busybox image with the volume mounted at ``MOUNT``, no network, labelled
(``kind=volume-helper``, the volume id, the owning process) and always removed after use, also when the caller is
cancelled. Archive operations (read a file, upload files, stat a path) need a *created* helper only, which never
runs anything; other operations (list, remove, copy, make directories) run one ``sh`` script as the helper's
command, with the paths as arguments (never spliced into the script), and read its output from the engine's log.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

import attrs

from .._engine import EngineAPI
from .._engine import labels as L
from .._engine.api import STDERR, STDOUT
from .._engine.errors import NoSuchImage
from .._engine.values import ContainerSpec, Mount
from ..exception import NotFoundError
from . import owner
from .store import KIND_HELPER, OWNER_PROCESS, VOLUME_ID, VolumeRef

#: The image helpers run (the project's busybox image, which ``scripts/build-images.sh`` builds).
HELPER_IMAGE = "sandbox-core/busybox:1"
#: Where a helper sees the volume.
MOUNT = "/volume"
#: A helper's output can be long (a listing of a large tree): its log may grow this large before it rotates.
_LOG_MAX = "512m"


@attrs.frozen
class ScriptResult:
    """What a helper script did: its exit code and its whole stdout and stderr."""

    code: int
    stdout: bytes
    stderr: bytes


def _spec(ref: VolumeRef, cmd: Sequence[str], read_only: bool) -> ContainerSpec:
    labels = L.owned(KIND_HELPER, **{VOLUME_ID: ref.volume_id, OWNER_PROCESS: owner.this_process()})
    return ContainerSpec(
        image=HELPER_IMAGE,
        labels=labels,
        cmd=tuple(cmd),
        workdir=MOUNT,
        open_stdin=False,
        network_disabled=True,
        init=False,
        pids_limit=64,
        log_max_size=_LOG_MAX,
        mounts=(Mount(type="volume", source=ref.engine_name, target=MOUNT, read_only=read_only, no_copy=True),),
    )


async def _create(eng: EngineAPI, spec: ContainerSpec) -> str:
    try:
        return await eng.containers.create(spec)
    except NoSuchImage:
        raise NotFoundError(
            f"the volume file API needs the image {HELPER_IMAGE}, which is not on the engine "
            "(scripts/build-images.sh builds it)"
        ) from None


async def _remove(eng: EngineAPI, cref: str) -> None:
    # Shielded: a cancelled caller must not leave the helper behind.
    await asyncio.shield(eng.containers.remove(cref))


@contextlib.asynccontextmanager
async def created(eng: EngineAPI, ref: VolumeRef, *, read_only: bool) -> AsyncIterator[str]:
    """A created (never started) helper for archive operations; yields its ref, removes it on exit."""
    cref = await _create(eng, _spec(ref, ("true",), read_only))
    try:
        yield cref
    finally:
        await _remove(eng, cref)


async def stream_script(
    eng: EngineAPI, ref: VolumeRef, script: str, args: Sequence[str], *, read_only: bool
) -> AsyncGenerator[tuple[int, bytes], None]:
    """Run ``sh -c script sh args…`` in a helper; yield its output frames ``(fd, data)`` as they come, then one
    final frame ``(0, <exit code as text>)``. The helper is removed when the iteration ends (or is abandoned)."""
    cref = await _create(eng, _spec(ref, ("sh", "-c", script, "sh", *args), read_only))
    try:
        await eng.containers.start(cref)
        source = await eng.containers.follow_output(cref, fd=None, tty=False)
        try:
            while (frame := await source.read_frame()) is not None:
                yield frame
        finally:
            await source.close()
        yield 0, str(await eng.containers.wait(cref)).encode()
    finally:
        await _remove(eng, cref)


async def run_script(
    eng: EngineAPI, ref: VolumeRef, script: str, args: Sequence[str], *, read_only: bool
) -> ScriptResult:
    """Run ``sh -c script sh args…`` in a helper to completion."""
    out, err, code = bytearray(), bytearray(), -1
    async with contextlib.aclosing(stream_script(eng, ref, script, args, read_only=read_only)) as frames:
        async for fd, data in frames:
            if fd == STDOUT:
                out += data
            elif fd == STDERR:
                err += data
            else:
                code = int(data)
    return ScriptResult(code, bytes(out), bytes(err))
