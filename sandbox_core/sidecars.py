"""``Sandbox._experimental_sidecars``: extra containers running alongside a sandbox's main container (Modal's
experimental sidecar API: ``create``/``get``/``list``, and ``SidecarContainer`` with exec, filesystem, wait, poll and
terminate).

A sidecar runs its own image and command in the sandbox's **network namespace** (``localhost`` is shared both ways,
as in Modal), hardened as the sandbox is, and shares its lifecycle: it ends when the sandbox ends and goes when the
sandbox is removed (``_sidecar_policy``). Where the local backend differs from Modal, it says so:

- The network namespace *is* the sandbox's, so a sidecar has the sandbox's network access (none with
  ``block_network=True``); a network policy of its own (``outbound_cidr_allowlist``/``outbound_domain_allowlist``)
  raises ``InvalidError``.
- ``volumes`` (and ``reload_volumes``) raise ``InvalidError``: sidecar volume mounts are not implemented.
- Any local ``Image`` works; Modal only takes pre-built ones (a program written for Modal passes both checks).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import os
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Literal, overload

from . import _lifecycle, _sidecar_policy
from ._create import DROPPED_CAPABILITIES, IDLE_COMMAND
from ._engine import EngineAPI, get_engine
from ._engine import labels as L
from ._engine.errors import ContainerNotRunning, NameConflict, NoSuchContainer
from ._engine.values import ContainerSpec, ContainerSummary
from ._fs.ops import FileOps
from ._ids import is_valid_object_name, new_id
from ._link import SandboxLink
from ._validation import check_workdir, validate_argv
from .exception import AlreadyExistsError, ConflictError, InvalidError, NotFoundError, SandboxTerminatedError
from .filesystem import SandboxFilesystem, sandbox_filesystem
from .image import Image, resolve_image
from .limits import DEFAULT_PIDS
from .process import ContainerProcess, start_exec
from .secret import Secret, merge_env
from .streams import StreamType

__all__ = ["SidecarContainer", "SidecarManager"]  # and, for Sandbox: sidecar_manager

#: The name Modal reserves for the sandbox's own container.
MAIN = "main"


class SidecarContainer:
    """One sidecar of a sandbox: its id (``sc-…``) and name, exec, filesystem, wait/poll/terminate."""

    __slots__ = ("__weakref__", "_files", "_filesystem", "_link", "_name", "_sandbox_id")

    _link: SandboxLink  # the sidecar's own container; its sandbox_id is the sidecar's id
    _sandbox_id: str
    _name: str
    _files: FileOps
    _filesystem: SandboxFilesystem | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise InvalidError("Class SidecarContainer has no constructor. Use Sandbox._experimental_sidecars instead.")

    @classmethod
    def _from_container(cls, container_id: str, labels: Mapping[str, str]) -> SidecarContainer:
        obj = object.__new__(cls)
        obj._link = SandboxLink(
            sandbox_id=labels[_sidecar_policy.SIDECAR_ID],
            container_id=container_id,
            app_id=labels.get(L.APP_ID, ""),
            pty=labels.get(L.PTY) == "1",
            idle_timeout=None,
        )
        obj._sandbox_id = labels[_sidecar_policy.SIDECAR_OF]
        obj._name = labels[_sidecar_policy.SIDECAR_NAME]
        obj._files = FileOps(obj._link)
        obj._filesystem = None
        return obj

    @property
    def object_id(self) -> str:
        """The sidecar's id, ``sc-`` + 22 alphanumerics."""
        return self._link.sandbox_id

    @property
    def name(self) -> str:
        """The name given at ``create``."""
        return self._name

    def __repr__(self) -> str:
        return f"SidecarContainer({self._link.sandbox_id}, name={self._name!r})"

    @overload
    async def exec(
        self,
        *args: str,
        stdout: StreamType = StreamType.PIPE,
        stderr: StreamType = StreamType.PIPE,
        timeout: int | None = None,
        workdir: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        text: Literal[True] = True,
        bufsize: Literal[-1, 1] = -1,
        pty: bool = False,
    ) -> ContainerProcess[str]: ...
    @overload
    async def exec(
        self,
        *args: str,
        stdout: StreamType = StreamType.PIPE,
        stderr: StreamType = StreamType.PIPE,
        timeout: int | None = None,
        workdir: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        text: Literal[False],
        bufsize: Literal[-1, 1] = -1,
        pty: bool = False,
    ) -> ContainerProcess[bytes]: ...
    async def exec(
        self,
        *args: str,
        stdout: StreamType = StreamType.PIPE,
        stderr: StreamType = StreamType.PIPE,
        timeout: int | None = None,
        workdir: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        text: bool = True,
        bufsize: Literal[-1, 1] = -1,
        pty: bool = False,
    ) -> ContainerProcess[Any]:
        """Run ``args`` in the sidecar: ``Sandbox.exec``'s contract (checks, streams, timeout, start failures)."""
        return await start_exec(
            self._link.ref,
            args,
            stdout=stdout,
            stderr=stderr,
            timeout=timeout,
            workdir=workdir,
            env=env,
            secrets=secrets,
            text=text,
            bufsize=bufsize,
            pty=pty,
        )

    @property
    def filesystem(self) -> SandboxFilesystem:
        """File operations on the sidecar's own filesystem (``Sandbox.filesystem``'s API)."""
        if self._filesystem is None:
            self._filesystem = sandbox_filesystem(self._files)
        return self._filesystem

    async def wait(self, raise_on_termination: bool = True) -> None:
        """Block until the sidecar ends; ``SandboxTerminatedError`` if it was terminated (by ``terminate`` or with
        its sandbox) and ``raise_on_termination``."""
        link = self._link
        while await link.refresh() is None:
            eng = await get_engine()
            with contextlib.suppress(NoSuchContainer):
                await eng.containers.wait(link.container_id)
        if link.status == _lifecycle.TERMINATED and raise_on_termination:
            raise SandboxTerminatedError()

    async def poll(self) -> int | None:
        """The return code once the sidecar has ended (137 if terminated), else None."""
        return await self._link.refresh()

    @overload
    async def terminate(self, *, wait: Literal[True]) -> int: ...
    @overload
    async def terminate(self, *, wait: Literal[False] = False) -> None: ...
    async def terminate(self, *, wait: bool = False) -> int | None:
        """Stop the sidecar (its sandbox keeps running); with ``wait=True`` returns its return code (137)."""
        link = self._link
        if await link.refresh() is None:
            eng = await get_engine()
            await _sidecar_policy.end_sidecar(
                eng, link.sandbox_id, link.container_id, self._sandbox_id, link.app_id, _lifecycle.TERMINATED
            )
        if wait:
            await self.wait(raise_on_termination=False)
            assert link.result is not None
            return link.result
        return None

    async def reload_volumes(self, *, timeout: int = 55) -> None:
        """Not supported: sidecars have no volume mounts locally (``InvalidError``)."""
        raise InvalidError("SidecarContainer.reload_volumes() is not supported: sidecars cannot mount volumes locally")


class SidecarManager:
    """The sidecars of one sandbox (``sb._experimental_sidecars``)."""

    __slots__ = ("__weakref__", "_link")

    _link: SandboxLink

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise InvalidError("Class SidecarManager has no constructor. Use Sandbox._experimental_sidecars instead.")

    @classmethod
    def _of(cls, link: SandboxLink) -> SidecarManager:
        obj = object.__new__(cls)
        obj._link = link
        return obj

    async def create(
        self,
        *args: str,
        name: str,
        image: Image,
        env: dict[str, str] | None = None,
        secrets: Collection[Secret] | None = None,
        workdir: str | None = None,
        volumes: dict[str | os.PathLike[str], Any] | None = None,
        outbound_cidr_allowlist: Sequence[str] | None = None,
        outbound_domain_allowlist: Sequence[str] | None = None,
        pty: bool = False,
    ) -> SidecarContainer:
        """Start a sidecar running ``args`` (or its image's command) in ``image``, in the sandbox's network namespace.

        Raises ``InvalidError`` (Modal's checks, in Modal's order; see the module docstring for what the local
        backend refuses), ``AlreadyExistsError`` when a running sidecar of the sandbox has ``name``,
        ``ConflictError`` when the sandbox is not running.
        """
        _check(args, name, image, workdir, volumes, outbound_cidr_allowlist, outbound_domain_allowlist)
        merged_env = merge_env(secrets, env)
        link = self._link
        ref = link.ref
        if await link.refresh() is not None:
            raise ConflictError("Sandbox already finished")
        eng = await get_engine()
        resolved = await resolve_image(image, eng)
        if resolved.mounts:
            raise InvalidError(
                "A sidecar's image cannot have add_local_* layers added at start (copy=False): use copy=True"
            )
        info = resolved.info
        sidecar_id = new_id("sc")
        labels = L.owned(
            L.KIND_SIDECAR,
            **{
                _sidecar_policy.SIDECAR_OF: link.sandbox_id,
                L.APP_ID: link.app_id,
                _sidecar_policy.SIDECAR_ID: sidecar_id,
                _sidecar_policy.SIDECAR_NAME: name,
                L.PTY: "1" if pty else "0",
            },
        )
        spec = ContainerSpec(
            image=info.id,
            labels=labels,
            cmd=args or (None if info.cmd or info.entrypoint else IDLE_COMMAND),
            env=merged_env,
            workdir=workdir,
            tty=pty,
            network_mode=f"container:{ref}",
            pids_limit=DEFAULT_PIDS,
            cap_drop=DROPPED_CAPABILITIES,
        )
        cid = await _start(eng, spec, f"sandbox-core.{link.sandbox_id}.{name}", name)
        return SidecarContainer._from_container(cid, labels)

    async def get(self, *, name: str, include_terminated: bool = False) -> SidecarContainer:
        """The sidecar called ``name`` (a running one unless ``include_terminated``); ``NotFoundError`` if none."""
        if name == MAIN:
            raise InvalidError(
                "Cannot get the main sandbox container through the sidecars API. "
                "Use Sandbox methods directly to interact with the main container."
            )
        found = await self._find({_sidecar_policy.SIDECAR_NAME: name}, include_terminated)
        if not found:
            raise NotFoundError(f"Sidecar container '{name}' not found in sandbox {self._link.sandbox_id}")
        return SidecarContainer._from_container(found[0].id, found[0].labels)

    async def list(self, include_terminated: bool = False) -> builtins.list[SidecarContainer]:
        """The sandbox's sidecars (running ones unless ``include_terminated``), oldest first."""
        found = await self._find({}, include_terminated)
        return [SidecarContainer._from_container(c.id, c.labels) for c in reversed(found)]

    async def _find(self, labels: dict[str, str | None], include_terminated: bool) -> builtins.list[ContainerSummary]:
        self._link.check_attached()
        eng = await get_engine()
        query: dict[str, str | None] = {
            L.KIND: L.KIND_SIDECAR,
            _sidecar_policy.SIDECAR_OF: self._link.sandbox_id,
            **labels,
        }
        found = await eng.containers.list(query, all=include_terminated)
        return sorted(found, key=lambda c: c.created_at, reverse=True)


def sidecar_manager(link: SandboxLink) -> SidecarManager:
    """The ``SidecarManager`` of the sandbox behind ``link`` (what ``Sandbox._experimental_sidecars`` hands out)."""
    return SidecarManager._of(link)


def _check(
    args: tuple[str, ...],
    name: Any,
    image: Any,
    workdir: str | None,
    volumes: Any,
    cidrs: Sequence[str] | None,
    domains: Sequence[str] | None,
) -> None:
    """``create``'s checks, Modal's first, then the local backend's."""
    if name == MAIN:
        raise InvalidError(f"The name {MAIN!r} is reserved for the sandbox's main container.")
    check_workdir(workdir)
    validate_argv(args)
    if volumes:
        raise InvalidError("Sandbox._experimental_sidecars.create(volumes=...) is not supported by the local backend")
    if not isinstance(image, Image):
        raise InvalidError("Sandbox._experimental_sidecars.create(image=...) needs a modal.Image")
    if not isinstance(name, str) or not is_valid_object_name(name):
        raise InvalidError(
            f"Invalid sidecar name: {name!r}. Names may contain only alphanumeric characters, dashes, periods, "
            "and underscores, and must be shorter than 64 characters."
        )
    for param, value in (("outbound_cidr_allowlist", cidrs), ("outbound_domain_allowlist", domains)):
        if value is not None:
            raise InvalidError(
                f"`{param}` is not supported for sidecars by the local backend: a sidecar shares its sandbox's "
                "network namespace, so it has the sandbox's network access"
            )


async def _start(eng: EngineAPI, spec: ContainerSpec, cname: str, name: str) -> str:
    """Create (claiming ``cname`` from a finished holder) and start the sidecar; nothing is left if it fails."""
    cid: str | None = None
    try:
        for _ in range(5):
            try:
                cid = await eng.containers.create(spec, cname)
                break
            except NameConflict:
                holder = await eng.containers.inspect(cname)
                if holder.state.is_live:
                    raise AlreadyExistsError(f"Sidecar with name '{name}' already exists") from None
                with contextlib.suppress(NameConflict, NoSuchContainer):
                    await eng.containers.rename(holder.id, holder.labels.get(_sidecar_policy.SIDECAR_ID) or holder.id)
        if cid is None:
            raise AlreadyExistsError(f"Sidecar with name '{name}' already exists")
        await eng.containers.start(cid)
    except BaseException as e:
        if cid is not None:
            await asyncio.shield(_remove_quietly(eng, cid))
        if isinstance(e, ContainerNotRunning | NoSuchContainer):
            raise ConflictError("Sandbox already finished") from None
        raise
    return cid


async def _remove_quietly(eng: EngineAPI, cid: str) -> None:
    with contextlib.suppress(Exception):
        await eng.containers.remove(cid)
