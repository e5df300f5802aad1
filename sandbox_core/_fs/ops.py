"""``FileOps``: the file operations of one sandbox — which transport serves a call, and Modal's error classes.

The transport is chosen once per call, by this rule (first match):

0. The sandbox has a running agent (this process's session with it, opened on first use): the agent transport,
   for every operation (no process per call, no shell needed, the sandbox's user's permissions). (An agent of an
   older build, which cannot carry names that are not UTF-8, leaves such paths, and listings holding such names,
   to the rules below.) Except a read or write of at least ``agent.BULK_BYTES`` (16 MiB), which goes to the archive
   transport when that does exactly what the agent would: the sandbox runs under runc (not gVisor) as root, the
   path is UTF-8 and not at or under any of the sandbox's mounts (rule 3; the mount table read through the agent),
   and, for a read, no component of the path is a symbolic link (the engine then resolves it as the sandbox does;
   a write refuses symlinked ancestors on both transports). The archive API moves bulk data with less CPU per byte
   than the agent's exec stream, which the engine and its runtime shim each relay. One difference remains: an
   overwrite through the archive transport replaces the file (a new inode with the old owner and mode) where the
   agent truncates it in place.
1. ``list_files``, ``remove``, ``watch``: the process transport (the archive API cannot list, remove or watch).
2. The sandbox's user is not root: the process transport (the archive API acts as root and would bypass the file
   permissions Modal's sandbox user is subject to).
3. A path at or below a mount of the sandbox (``/proc``, ``/sys``, ``/dev``, ``/dev/shm``, a tmpfs, a volume: see
   ``mounts``): the process transport (the archive API acts beneath mounts, so writes there would vanish); without
   ``/bin/sh`` a read or stat stays on the archive transport (it sees the image's files, but loses nothing) and a
   write or ``make_directory`` is refused with ``InvalidError``. The mounts are read from the sandbox's
   ``/proc/self/mountinfo``, plus the tmpfs mounts the engine made (``Limits.tmp_mib``, ``shm_mib``) and, under
   gVisor, its own ``/tmp`` and ``/dev/shm``.
4. A write in a gVisor sandbox: the process transport (gVisor keeps showing a file's old content to the sandbox
   after the engine overwrote it from outside).
5. A read or stat of a name (last component) that is not UTF-8: the process transport (the engine's tar writer
   silently leaves such names out).
6. Otherwise: the archive transport.

The process transport needs ``/bin/sh`` in the image; when the rule picks it and there is none, ``InvalidError``
says why a process was needed. Errors follow Modal (section 1.10 of the reference): a finished or removed sandbox
raises ``NotFoundError("The Sandbox is unavailable. …")``; path failures raise the ``SandboxFilesystem*Error`` of
Modal's table for that operation, with the message ``"<reason>: <path>"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import stat as statmod
from collections.abc import AsyncIterator, Coroutine
from typing import Any, Literal, NoReturn

from .. import _caps
from .. import exception as exc
from .._agent.sessions import slot_for
from .._engine import EngineAPI, get_engine
from .._engine import labels as L
from .._engine.errors import ArchivePathError, NoSuchContainer
from .._link import SandboxLink
from ..types import FileInfo, file_type_of_mode
from . import mounts
from .agent import AgentTransport
from .archive import ArchiveTransport, IdNames
from .base import REASONS, Chunks, Entry, Failure, FileTransport, Kind, Sink, Snapshot, TreeTransport, decode, norm
from .limits import bounded_read
from .process import ProcessTransport

UNAVAILABLE = "The Sandbox is unavailable. This Sandbox may have already shut down."

Op = Literal["read", "write", "list", "mkdir", "remove", "stat", "watch"]

_TABLE: dict[Op, dict[Kind, type[exc.SandboxFilesystemError]]] = {
    "read": {
        "missing": exc.SandboxFilesystemNotFoundError,
        "is_a_directory": exc.SandboxFilesystemIsADirectoryError,
        "permission": exc.SandboxFilesystemPermissionError,
        "too_large": exc.SandboxFilesystemFileTooLargeError,
    },
    "write": {
        "not_a_directory": exc.SandboxFilesystemNotADirectoryError,
        "exists": exc.SandboxFilesystemNotADirectoryError,
        "is_a_directory": exc.SandboxFilesystemIsADirectoryError,
        "permission": exc.SandboxFilesystemPermissionError,
    },
    "list": {
        "missing": exc.SandboxFilesystemNotFoundError,
        "not_a_directory": exc.SandboxFilesystemNotADirectoryError,
        "permission": exc.SandboxFilesystemPermissionError,
    },
    "mkdir": {
        "missing": exc.SandboxFilesystemNotFoundError,
        "not_a_directory": exc.SandboxFilesystemNotADirectoryError,
        "exists": exc.SandboxFilesystemPathAlreadyExistsError,
        "permission": exc.SandboxFilesystemPermissionError,
    },
    "remove": {
        "missing": exc.SandboxFilesystemNotFoundError,
        "not_empty": exc.SandboxFilesystemDirectoryNotEmptyError,
        "permission": exc.SandboxFilesystemPermissionError,
    },
    "stat": {
        "missing": exc.SandboxFilesystemNotFoundError,
        "not_a_directory": exc.SandboxFilesystemNotADirectoryError,
        "permission": exc.SandboxFilesystemPermissionError,
    },
    "watch": {
        "missing": exc.SandboxFilesystemNotFoundError,
        "permission": exc.SandboxFilesystemPermissionError,
    },
}

_UNDER_MOUNT = "for a path under a mount of the sandbox (the engine's archive API would act beneath the mount)"
_NOT_ROOT = "because the sandbox does not run as root (file permissions are checked by its user)"
#: Mounts gVisor makes in its own memory, which the engine does not know of: /tmp (over an empty one) and /dev/shm.
_GVISOR_TMPFS = (b"/tmp", b"/dev/shm")
_GVISOR_WRITE = "to write a file in a gVisor sandbox (gVisor does not show files the engine overwrites)"


def _under(target: bytes, mount: bytes) -> bool:
    return target == mount or target.startswith(mount.rstrip(b"/") + b"/")


def _raise_for(op: Op, kind: Kind, reason: str, remote_path: str) -> NoReturn:
    cls = _TABLE[op].get(kind, exc.SandboxFilesystemError)
    raise cls(f"{reason}: {remote_path}")


@contextlib.asynccontextmanager
async def modal_errors(op: Op, remote_path: str) -> AsyncIterator[None]:
    """Map transport and engine failures to Modal's classes for ``op`` (see the module docstring). Other exceptions
    (a sink's or a source's ``OSError``) pass unchanged."""
    try:
        yield
    except Failure as f:
        _raise_for(op, f.kind, f.reason, remote_path)
    except ArchivePathError as e:
        _raise_for(op, e.kind, REASONS[e.kind] if e.kind != "other" else str(e), remote_path)
    except (exc.SandboxFilesystemError, exc.InvalidError, exc.ClientClosed) as e:
        if isinstance(e, exc.ConflictError):
            raise exc.NotFoundError(UNAVAILABLE) from None
        raise
    except (exc.NotFoundError, exc.ServiceError, exc.ConnectionError):
        raise exc.NotFoundError(UNAVAILABLE) from None
    except exc.Error as e:
        raise exc.SandboxFilesystemError(f"An unexpected error occurred: {e}") from e


def _utf8(name: bytes) -> bool:
    try:
        name.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _info(name: str, path: str, entry: Entry, users: dict[int, str], groups: dict[int, str]) -> FileInfo:
    return FileInfo(
        name=name,
        path=path,
        type=file_type_of_mode(entry.mode),
        size=entry.size,
        mode=entry.mode,
        permissions=f"{statmod.S_IMODE(entry.mode):04o}",
        owner=entry.owner if entry.owner is not None else users.get(entry.uid, str(entry.uid)),
        group=entry.group if entry.group is not None else groups.get(entry.gid, str(entry.gid)),
        modified_time=entry.mtime,
        symlink_target=decode(entry.link) if statmod.S_ISLNK(entry.mode) else None,
    )


def _infos(
    remote_path: str, entries: list[tuple[bytes, Entry]], users: dict[int, str], groups: dict[int, str]
) -> list[FileInfo]:
    """A listing's ``FileInfo``s, sorted by name (bytes order), each ``path`` joined onto ``remote_path``."""
    infos = [
        _info(decode(n), posixpath.normpath(posixpath.join(remote_path, decode(n))), entry, users, groups)
        for n, entry in entries
    ]
    infos.sort(key=lambda i: i.name.encode("utf-8", "surrogateescape"))
    return infos


class FileOps:
    """The file operations of one sandbox handle. Every method takes the caller's ``remote_path`` (for messages)
    and that path already checked (``base.check_path``), and raises Modal's classes."""

    __slots__ = ("_engine_mounts", "_gvisor", "_has_shell", "_link", "_mounts", "_names", "_root", "_tmpfs")

    def __init__(self, link: SandboxLink) -> None:
        self._link = link
        self._root: bool | None = None  # does the sandbox's user run as root (fixed at creation)
        self._tmpfs: tuple[bytes, ...] = ()  # its tmpfs mount points (fixed at creation)
        self._gvisor = False  # does it run under gVisor (fixed at creation)
        self._has_shell: bool | None = None
        self._engine_mounts: frozenset[bytes] = frozenset()  # volume and bind mounts (the archive API sees them)
        self._mounts: frozenset[bytes] | None = None  # every in-sandbox mount point (see ``mounts``)
        self._names = IdNames()

    @property
    def sandbox_id(self) -> str:
        return self._link.sandbox_id

    # ------------------------------------------------------------------------------------ choosing a transport

    async def agent(self, path: bytes) -> AgentTransport | None:
        """Rule 0: the agent transport for ``path``, or None. ``ClientClosed`` after detach,
        ``NotFoundError(UNAVAILABLE)`` when the sandbox is not running."""
        self._link.check_attached()
        slot = slot_for(self._link)
        if slot is None:
            return None
        try:
            agent = await slot.get()
        except exc.ConflictError:
            raise exc.NotFoundError(UNAVAILABLE) from None
        if agent is None:
            return None
        transport = AgentTransport(agent)
        transport.bulk = self._bulk_route
        return transport if transport.usable(path) else None

    async def _bulk_route(
        self, agent: AgentTransport, path: bytes, op: Literal["read", "write"]
    ) -> FileTransport | None:
        """Rule 0's exception for a large transfer: the archive transport when it is equivalent, else None (also
        when checking fails: the agent then goes on and reports what is wrong)."""
        try:
            # the agent's session runs, so the sandbox does: no refresh needed
            eng, ref = await get_engine(), self._link.ref
            root = await self._facts(eng, ref)
            target = norm(path)
            if not root or self._gvisor or not _utf8(target):
                return None
            if await self._in_mount(eng, ref, target, agent):
                return None
            if op == "read":
                archive = ArchiveTransport(eng, ref)
                return archive if await archive.without_links(target) else None
            return ArchiveTransport(eng, ref, await _owner_of(agent, target))
        except (exc.Error, Failure, ArchivePathError):
            return None

    async def _begin(self) -> tuple[EngineAPI, str, bool]:
        """(engine, container ref, user-is-root) for a live sandbox; ``NotFoundError(UNAVAILABLE)`` otherwise and
        ``ClientClosed`` after detach."""
        ref = self._link.ref
        try:
            code = await self._link.refresh()
        except exc.NotFoundError:
            raise exc.NotFoundError(UNAVAILABLE) from None
        if code is not None:
            raise exc.NotFoundError(UNAVAILABLE)
        eng = await get_engine()
        return eng, ref, await self._facts(eng, ref)

    async def _facts(self, eng: EngineAPI, ref: str) -> bool:
        """Learn what is fixed at creation (user, runtime, tmpfs and engine mounts) once; returns user-is-root."""
        if self._root is None:
            try:
                info = await eng.containers.inspect(ref)
            except NoSuchContainer:
                raise exc.NotFoundError(UNAVAILABLE) from None
            self._tmpfs = tuple(p.encode("utf-8", "surrogateescape") for p in info.tmpfs_paths)
            self._gvisor = info.labels.get(L.RUNTIME) == _caps.GVISOR
            if self._gvisor:
                self._tmpfs += _GVISOR_TMPFS
            self._root = info.runs_as_root
            self._engine_mounts = frozenset(
                norm(m.destination.encode("utf-8", "surrogateescape"))
                for m in info.mounts
                if m.type in ("volume", "bind")
            )
        return self._root

    async def _shell_available(self, eng: EngineAPI, ref: str) -> bool:
        if self._has_shell is None:
            try:
                await eng.archive.stat(ref, b"/bin/sh")
                self._has_shell = True
            except ArchivePathError:
                self._has_shell = False
        return self._has_shell

    async def _process(self, eng: EngineAPI, ref: str, operation: str, reason: str = "") -> ProcessTransport:
        """The process transport, or ``InvalidError`` (saying ``reason``) when the image has no shell to run it."""
        if not await self._shell_available(eng, ref):
            why = f" {reason}" if reason else ""
            raise exc.InvalidError(
                f"Sandbox.filesystem.{operation}() needs a process in the sandbox{why}, and its image has no /bin/sh. "
                "Without a shell, read/write/copy/make_directory/stat work for sandboxes that run as root, outside "
                "tmpfs mounts (with runc, Limits(tmp_mib=0) keeps /tmp on the sandbox's disk); list_files/remove/watch "
                "need one."
            )
        return ProcessTransport(ref)

    async def _mount_points(self, eng: EngineAPI, ref: str, agent: AgentTransport | None = None) -> frozenset[bytes]:
        """The sandbox's mount points (``mounts``): read once, through ``agent`` when given, else by a process when
        the image has a shell."""
        if self._mounts is None:
            points = set(mounts.ALWAYS)
            if agent is not None:
                table: list[bytes] = []

                async def keep(chunk: bytes) -> None:
                    table.append(chunk)

                await agent.read(b"/proc/self/mountinfo", keep)
                points |= mounts.parse_mountinfo(b"".join(table))
            elif await self._shell_available(eng, ref):
                code, out, _ = await ProcessTransport(ref).run(mounts.SH_MOUNTINFO, [])
                if code == 0:
                    points |= mounts.parse_mountinfo(out)
            else:
                points -= self._engine_mounts
            self._mounts = frozenset(points)
        return self._mounts

    async def _in_mount(self, eng: EngineAPI, ref: str, target: bytes, agent: AgentTransport | None = None) -> bool:
        """True when ``target`` is at or under one of the sandbox's mounts or tmpfs (rule 3)."""
        points = await self._mount_points(eng, ref, agent)
        return mounts.under(target, points) or any(_under(target, m) for m in self._tmpfs)

    async def _transport(
        self, eng: EngineAPI, ref: str, root: bool, operation: str, op: Op, path: bytes
    ) -> FileTransport:
        """Rules 2-6 of the module docstring (for reads, writes, directories and stats)."""
        if not root:
            return await self._process(eng, ref, operation, _NOT_ROOT)
        target = norm(path)
        in_mount = await self._in_mount(eng, ref, target)
        if in_mount and (op not in ("read", "stat") or await self._shell_available(eng, ref)):
            return await self._process(eng, ref, operation, _UNDER_MOUNT)
        if op == "write" and self._gvisor:
            return await self._process(eng, ref, operation, _GVISOR_WRITE)
        if op in ("read", "stat") and not _utf8(posixpath.basename(target)):
            reason = "to read a file whose name is not UTF-8" if op == "read" else "for a name that is not UTF-8"
            return await self._process(eng, ref, operation, reason)
        return ArchiveTransport(eng, ref)

    # --------------------------------------------------------------------------------------------- operations

    async def read(
        self, operation: str, remote_path: str, path: bytes, sink: Sink, *, whole: list[bytes] | None = None
    ) -> None:
        """Stream the file into ``sink`` (or into ``whole``: see ``FileTransport.read``)."""
        if (agent := await self.agent(path)) is not None:
            async with modal_errors("read", remote_path):
                return await bounded_read(lambda s, w: agent.read(path, s, whole=w), sink, whole)
        eng, ref, root = await self._begin()
        async with modal_errors("read", remote_path):
            transport = await self._transport(eng, ref, root, operation, "read", path)
            await bounded_read(lambda s, w: transport.read(path, s, whole=w), sink, whole)

    async def write(self, operation: str, remote_path: str, path: bytes, size: int, chunks: Chunks) -> None:
        """Replace the file with ``size`` bytes from ``chunks()``; what the source raises propagates as is."""
        if norm(path) == b"/":
            _raise_for("write", "is_a_directory", REASONS["is_a_directory"], remote_path)
        if (agent := await self.agent(path)) is not None:
            async with modal_errors("write", remote_path):
                return await agent.write(path, size, chunks)
        eng, ref, root = await self._begin()
        async with modal_errors("write", remote_path):
            transport = await self._transport(eng, ref, root, operation, "write", path)
            await transport.write(path, size, chunks)

    async def make_directory(self, remote_path: str, path: bytes, *, parents: bool) -> None:
        if (agent := await self.agent(path)) is not None:
            async with modal_errors("mkdir", remote_path):
                return await agent.make_directory(path, parents=parents)
        eng, ref, root = await self._begin()
        async with modal_errors("mkdir", remote_path):
            transport = await self._transport(eng, ref, root, "make_directory", "mkdir", path)
            await transport.make_directory(path, parents=parents)

    async def stat(self, remote_path: str, path: bytes) -> FileInfo:
        name = posixpath.basename(remote_path.rstrip("/"))
        if (agent := await self.agent(path)) is not None:
            async with modal_errors("stat", remote_path):
                return _info(name, remote_path, await agent.stat(path), {}, {})
        eng, ref, root = await self._begin()
        async with modal_errors("stat", remote_path):
            transport = await self._transport(eng, ref, root, "stat", "stat", path)
            entry, (users, groups) = await asyncio.gather(transport.stat(path), self._names.maps(eng, ref))
            return _info(name, remote_path, entry, users, groups)

    async def list_files(self, remote_path: str, path: bytes) -> list[FileInfo]:
        if (agent := await self.agent(path)) is not None:
            async with modal_errors("list", remote_path):
                entries = await agent.list(path)
            if agent.exact_names or not any("\ufffd" in decode(n) for n, _ in entries):
                return _infos(remote_path, entries, {}, {})
            # an older agent replaced a name that is not UTF-8: list again below
        eng, ref, _ = await self._begin()
        async with modal_errors("list", remote_path):
            transport: TreeTransport = await self._process(eng, ref, "list_files")
            entries, (users, groups) = await asyncio.gather(transport.list(path), self._names.maps(eng, ref))
            return _infos(remote_path, entries, users, groups)

    async def remove(self, remote_path: str, path: bytes, *, recursive: bool) -> None:
        if norm(path) == b"/":
            _raise_for("remove", "permission", "Refusing to remove the root directory", remote_path)
        if (agent := await self.agent(path)) is not None:
            async with modal_errors("remove", remote_path):
                return await agent.remove(path, recursive=recursive)
        eng, ref, _ = await self._begin()
        async with modal_errors("remove", remote_path):
            transport: TreeTransport = await self._process(eng, ref, "remove")
            await transport.remove(path, recursive=recursive)

    async def first_snapshot(self, remote_path: str, target: bytes, *, recursive: bool) -> Snapshot:
        """The watched tree when a watch starts (retried while it changes under the snapshot)."""
        eng, ref, _ = await self._begin()
        async with modal_errors("watch", remote_path):
            transport: TreeTransport = await self._process(eng, ref, "watch")
            for _ in range(20):
                snap = await _unavailable_if_gone(transport.snapshot(target, recursive=recursive))
                if snap is not None:
                    return snap
            raise Failure("other", "the watched tree kept changing while it was read")

    async def next_snapshot(self, target: bytes, *, recursive: bool) -> Snapshot | None:
        """The watched tree again: None when it changed while it was read (or could not be read: try again), ``{}``
        when it is gone. ``NotFoundError``/``ClientClosed`` once the sandbox (or the handle) is gone."""
        transport: TreeTransport = ProcessTransport(self._link.ref)
        try:
            return await _unavailable_if_gone(transport.snapshot(target, recursive=recursive))
        except Failure as f:
            return {} if f.kind == "missing" else None

    async def workdir(self) -> str:
        """The sandbox's working directory."""
        try:
            info = await (await get_engine()).containers.inspect(self._link.ref)
        except NoSuchContainer:
            raise exc.NotFoundError(UNAVAILABLE) from None
        return info.workdir or "/"


async def _owner_of(agent: AgentTransport, target: bytes) -> dict[bytes, tuple[int, int, int]]:
    """What an overwrite of ``target`` keeps (``ArchiveTransport``'s ``owners``), from the agent's lstat: empty when
    it is missing, not a regular file, or the agent does not report ids."""
    try:
        entry = await agent.stat(target)
    except Failure:
        return {}
    if not statmod.S_ISREG(entry.mode) or entry.uid < 0 or entry.gid < 0:
        return {}
    return {target: (statmod.S_IMODE(entry.mode), entry.uid, entry.gid)}


async def _unavailable_if_gone(snapshot: Coroutine[Any, Any, Snapshot | None]) -> Snapshot | None:
    """A snapshot, with any failure to run it (the sandbox ended, the engine is gone) as ``NotFoundError``."""
    try:
        return await snapshot
    except exc.SandboxFilesystemError:
        raise
    except exc.Error:
        raise exc.NotFoundError(UNAVAILABLE) from None
