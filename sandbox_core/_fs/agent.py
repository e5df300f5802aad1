"""The agent transport: file operations through the sandbox's agent (this process's session with it).

No process per operation and no shell: the agent does each operation itself, as the sandbox's user (so file
permissions hold), with the semantics of the other transports — entries from ``lstat``, writes that create parents,
replace a final symlink and refuse a symlinked ancestor, data streamed with bounded memory in both directions. Its
entries carry the owner and group names (the agent reads the sandbox's ``/etc/passwd`` and ``/etc/group``).

Paths cross the protocol as JSON strings; bytes that are not UTF-8 travel as lone surrogates (Python's
``surrogateescape``), which agents of this version understand (feature ``PATH_BYTES``). An older agent mangles them:
then ``FileOps`` sends such paths to the other transports (``usable`` says which paths this one takes), and a
listing with such a name is redone there.

A transfer of at least ``BULK_BYTES`` asks ``FileOps`` (the ``bulk`` hook) whether another transport moves it as
this one would, and faster: the engine's exec stream that carries the agent's data is relayed twice (by the engine
and its runtime shim, in small pieces), which costs more CPU per byte than the engine's archive API. The hook
decides; this transport only asks it, once the size is known (a write's size up front, a read's from the agent's
``started``), so small transfers pay nothing for it.
"""

from __future__ import annotations

import builtins
import stat as statmod
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Literal

from .. import exception as exc
from .._agent.client import Agent
from .._agent.ops import WatchStream
from .._agent.protocol import AgentOpError, Feature
from .base import Chunks, Entry, Failure, FileTransport, Kind, Sink, decode, norm
from .limits import max_read_bytes

#: Transfers of at least this many bytes may be moved by another transport (see the module docstring).
BULK_BYTES = 16 << 20

#: Agent error kinds (PROTOCOL.md §6) -> transport failure kinds.
_KINDS: dict[str, Kind] = {
    "NotFound": "missing",
    "NotDirectory": "not_a_directory",
    "IsDirectory": "is_a_directory",
    "AlreadyExists": "exists",
    "PathAlreadyExists": "exists",
    "DirectoryNotEmpty": "not_empty",
    "PermissionDenied": "permission",
    "ReadOnlyFilesystem": "read_only",
    "Symlink": "symlink",
    "NotRegular": "not_regular",
}
#: Agent error kinds whose own message is the better reason.
_OWN_MESSAGE = frozenset({"FileTooLarge", "TooManySymlinks", "Io", "InvalidArgument", "ResourceExhausted"})


def _utf8(path: bytes) -> bool:
    try:
        path.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def failure(e: AgentOpError) -> Failure:
    """The transport failure an agent error stands for."""
    kind = _KINDS.get(e.kind)
    if kind is not None:
        return Failure(kind)
    if e.kind == "FileTooLarge":
        return Failure("too_large", e.message or None)
    reason = e.message if e.kind in _OWN_MESSAGE and e.message else e.kind
    return Failure("other", reason[:1].upper() + reason[1:])


def entry_of(obj: dict[str, Any]) -> Entry:
    """An ``Entry`` (with owner and group names) from one FileEntry of the agent."""
    try:
        mode = int(obj["mode"])
        link = obj.get("symlink_target")
        return Entry(
            mode=mode,
            size=int(obj["size"]),
            uid=int(obj.get("uid", -1)),  # agents before 1.2.0 send names only
            gid=int(obj.get("gid", -1)),
            mtime=float(obj["modified_time"]),
            link=str(link).encode("utf-8", "surrogateescape") if statmod.S_ISLNK(mode) and link is not None else b"",
            owner=str(obj.get("owner", "")),
            group=str(obj.get("group", "")),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise exc.SandboxFilesystemError(f"the sandbox's agent sent a malformed file entry: {e}") from None


class AgentTransport:
    """A ``TreeTransport`` (except ``snapshot``: watches are the agent's own) over one agent session."""

    __slots__ = ("_agent", "bulk", "exact_names")

    def __init__(self, agent: Agent) -> None:
        self._agent = agent
        #: Names that are not UTF-8 arrive intact (else as U+FFFD).
        self.exact_names = bool(agent.peer.features & Feature.PATH_BYTES)
        #: Asked before a transfer of ``BULK_BYTES`` or more (see the module docstring); None: never.
        self.bulk: BulkRoute | None = None

    def usable(self, path: bytes) -> bool:
        """True when ``path`` can travel to this agent intact."""
        return self.exact_names or _utf8(path)

    async def read(self, path: bytes, sink: Sink, *, whole: list[bytes] | None = None) -> None:
        try:
            stream = await self._agent.read_file(decode(path), max_size=max_read_bytes())
        except AgentOpError as e:
            raise failure(e) from None
        if self.bulk is not None and stream.size >= BULK_BYTES:
            other = await self.bulk(self, path, "read")
            if other is not None:
                stream.close()  # what the agent sent ahead within its window is dropped
                return await other.read(path, sink, whole=whole)
        try:
            async for chunk in stream:
                await sink(chunk)
        except AgentOpError as e:
            raise failure(e) from None
        finally:
            stream.close()

    async def write(self, path: bytes, size: int, chunks: Chunks) -> None:
        if self.bulk is not None and size >= BULK_BYTES:
            other = await self.bulk(self, path, "write")
            if other is not None:
                return await other.write(path, size, chunks)

        async def checked() -> AsyncIterator[bytes]:
            sent = 0
            async for chunk in chunks():
                sent += len(chunk)
                yield chunk
            if sent != size:
                raise exc.SandboxFilesystemError(f"upload of {decode(path)!r}: sent {sent} of {size} bytes")

        try:
            await self._agent.write_file(decode(norm(path)), checked())
        except AgentOpError as e:
            raise failure(e) from None

    async def make_directory(self, path: bytes, *, parents: bool) -> None:
        try:
            await self._agent.mkdir(decode(norm(path)), parents=parents)
        except AgentOpError as e:
            raise failure(e) from None

    async def stat(self, path: bytes) -> Entry:
        try:
            return entry_of(await self._agent.stat(decode(norm(path))))
        except AgentOpError as e:
            raise failure(e) from None

    async def list(self, path: bytes) -> list[tuple[bytes, Entry]]:
        try:
            objs = await self._agent.list_files(decode(path))
        except AgentOpError as e:
            raise failure(e) from None
        return [(str(o.get("name", "")).encode("utf-8", "surrogateescape"), entry_of(o)) for o in objs]

    async def remove(self, path: bytes, *, recursive: bool) -> None:
        try:
            await self._agent.remove(decode(norm(path)), recursive=recursive)
        except AgentOpError as e:
            raise failure(e) from None

    async def watch(self, path: bytes, *, recursive: bool, filter: builtins.list[str] | None) -> WatchStream:
        """Start watching ``path``; events flow until the stream is closed."""
        try:
            return await self._agent.watch(decode(norm(path)), recursive=recursive, filter=filter)
        except AgentOpError as e:
            raise failure(e) from None


#: ``FileOps``'s answer for a large transfer of ``path`` by the agent transport (passed as the first argument):
#: the transport to use instead, or None to stay on the agent.
BulkRoute = Callable[[AgentTransport, bytes, Literal["read", "write"]], Awaitable[FileTransport | None]]
