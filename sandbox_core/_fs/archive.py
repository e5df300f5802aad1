"""The archive transport: file operations through the engine's archive API.

No process runs in the sandbox, so it works on images without a shell, and data streams in ``CHUNK`` pieces in
both directions. The engine acts as root: only sandboxes whose user is root use it (``FileOps`` decides). An
overwrite replaces the file (a new inode carrying the old owner and mode), as ``rename`` would: open descriptors
keep the old content and hard links are split. Writes check, immediately before the transfer, that no existing
ancestor is a symlink; sandboxed code that swaps a directory for a link in the milliseconds between that check and
the engine's extraction can still win that race, but only ever inside the sandbox's own filesystem (the engine
resolves every path within the container root, never on the host).
"""

from __future__ import annotations

import asyncio
import contextlib
import stat as statmod
import time
from collections.abc import AsyncIterator, Mapping

from .._engine import EngineAPI
from .._engine.errors import ArchivePathError
from .._engine.tar import TAR_END, TarMember, tar_header, tar_padding
from .._engine.values import PathStat
from ..exception import SandboxFilesystemError
from .base import CHUNK, Chunks, Entry, Failure, Sink, ancestors, decode, norm
from .limits import check_size

#: Symlink hops an archive read follows before giving up (as ELOOP).
MAX_HOPS = 40


def _omitted() -> Failure:
    # The engine's tar writer leaves out names it cannot encode (not UTF-8); FileOps sends those to a process.
    return Failure("other", "the engine's archive API left the file out (a name it cannot encode)")


class ArchiveTransport:
    """A ``FileTransport`` over ``EngineAPI.archive`` for container ``ref``. ``owners``: the (permission bits, uid,
    gid) of existing regular files the caller already knows, which an overwrite then keeps without asking the
    engine (a tar read of the file, which costs the engine a process)."""

    __slots__ = ("_eng", "_owners", "_ref")

    def __init__(self, eng: EngineAPI, ref: str, owners: Mapping[bytes, tuple[int, int, int]] | None = None) -> None:
        self._eng = eng
        self._ref = ref
        self._owners = owners or {}

    async def read(self, path: bytes, sink: Sink, *, whole: list[bytes] | None = None) -> None:
        target = path
        for _ in range(MAX_HOPS):  # symlink hops, resolved by the engine inside the container root
            async with self._eng.archive.get(self._ref, target) as dl:
                member = await dl.tar.next_member()
                if member is None:
                    raise _omitted()
                if member.is_symlink:
                    if not dl.stat.link_target:
                        raise Failure("missing")
                    target = dl.stat.link_target.encode("utf-8", "surrogateescape")
                    continue
                if member.is_dir:
                    raise Failure("is_a_directory")
                if not member.is_file:
                    raise Failure("not_regular")
                check_size(member.size)
                if whole is not None and member.size <= 64 * CHUNK:
                    whole.append(await dl.tar.read_all())
                else:
                    while chunk := await dl.tar.read(CHUNK):
                        await sink(chunk)
                await dl.tar.finish()
                return
        raise Failure("other", "Too many levels of symbolic links")

    async def write(self, path: bytes, size: int, chunks: Chunks) -> None:
        target = norm(path)
        existing_dir, _, st = await self._probe_ancestors(ancestors(target), target)
        mode, uid, gid = 0o644, 0, 0
        if st is not None and st.is_dir:
            raise Failure("is_a_directory")
        if st is not None and statmod.S_ISREG(st.mode):
            # Overwriting keeps the file's owner and mode (as open(O_TRUNC) would); only its header has them.
            known = self._owners.get(target)
            current = None if known is not None else await self._lstat_member(target)
            if known is not None:
                mode, uid, gid = known
            elif current is not None and current.is_file:
                mode, uid, gid = current.mode, current.uid, current.gid
        rel = target[len(existing_dir) :].lstrip(b"/")
        header = tar_header(rel, size=size, mode=mode, uid=uid, gid=gid, mtime=time.time())

        async def body() -> AsyncIterator[bytes]:
            yield header
            sent = 0
            async for chunk in chunks():
                sent += len(chunk)
                yield chunk
            if sent != size:
                raise SandboxFilesystemError(f"upload of {decode(path)!r}: sent {sent} of {size} bytes")
            yield tar_padding(size) + TAR_END

        await self._eng.archive.put(self._ref, existing_dir, body())

    async def make_directory(self, path: bytes, *, parents: bool) -> None:
        target = norm(path)
        if target == b"/":
            if parents:
                return
            raise Failure("exists")
        existing_dir, missing, st = await self._probe_ancestors(ancestors(target), target)
        if st is not None:
            if st.is_symlink and parents and st.link_target:
                with contextlib.suppress(ArchivePathError):
                    st = await self._eng.archive.stat(self._ref, st.link_target.encode("utf-8", "surrogateescape"))
            if st.is_dir and parents:
                return
            raise Failure("exists")
        if len(missing) > 1 and not parents:
            raise Failure("missing")
        now = time.time()
        header = b"".join(
            tar_header(m[len(existing_dir) :].lstrip(b"/"), mode=0o755, mtime=now, directory=True) for m in missing
        )

        async def body() -> AsyncIterator[bytes]:
            yield header + TAR_END

        await self._eng.archive.put(self._ref, existing_dir, body())

    async def stat(self, path: bytes) -> Entry:
        async with self._eng.archive.get(self._ref, norm(path)) as dl:
            st, member = dl.stat, await dl.tar.next_member()
        if member is None:
            raise _omitted()
        return Entry(st.mode, st.size, member.uid, member.gid, st.mtime, member.linkname if st.is_symlink else b"")

    async def without_links(self, path: bytes) -> bool:
        """True when ``path`` (normalised) is a regular file and none of its ancestors is a symbolic link, from one
        round of concurrent stats: the engine then reaches the file the sandbox sees at that path (outside its
        mounts)."""
        dirs = ancestors(path)
        results = await asyncio.gather(
            *(self._eng.archive.stat(self._ref, a) for a in [*dirs, path]), return_exceptions=True
        )
        for r in results[:-1]:
            if isinstance(r, BaseException) or r.is_symlink or not r.is_dir:
                return False
        last = results[-1]
        return not isinstance(last, BaseException) and statmod.S_ISREG(last.mode)

    async def _probe_ancestors(self, dirs: list[bytes], target: bytes) -> tuple[bytes, list[bytes], PathStat | None]:
        """(deepest existing ancestor directory, the paths still to create, the target's stat or None when it is
        missing), from one round of concurrent stats. ``Failure`` for an ancestor that is a symlink (``symlink``)
        or not a directory (``not_a_directory``)."""
        results = await asyncio.gather(
            *(self._eng.archive.stat(self._ref, a) for a in [*dirs, target]), return_exceptions=True
        )
        deepest = b"/"
        for i, (a, r) in enumerate(zip(dirs, results, strict=False)):
            if isinstance(r, ArchivePathError):
                if r.kind == "missing":
                    return deepest, [*dirs[i:], target], None
                raise Failure("not_a_directory")
            if isinstance(r, BaseException):
                raise r
            if r.is_symlink:
                raise Failure("symlink", f"Refusing to write through the symbolic link {decode(a)!r}")
            if not r.is_dir:
                raise Failure("not_a_directory")
            deepest = a
        last = results[-1]
        if isinstance(last, ArchivePathError):
            if last.kind == "missing":
                return deepest, [target], None
            raise last
        if isinstance(last, BaseException):
            raise last
        return deepest, [], last

    async def _lstat_member(self, path: bytes) -> TarMember | None:
        """The tar header the engine gives for ``path`` itself (no link followed), or None when it is missing."""
        try:
            async with self._eng.archive.get(self._ref, path) as dl:
                return await dl.tar.next_member()
        except ArchivePathError as e:
            if e.kind == "missing":
                return None
            raise


class IdNames:
    """uid → user and gid → group names of one sandbox, from its /etc/passwd and /etc/group.

    Read through the archive API whatever transport serves the operation (a name table needs no permission check),
    and re-read only when a (fast) stat shows that a file changed.
    """

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[bytes, tuple[tuple[int, float, int], dict[int, str]]] = {}

    async def maps(self, eng: EngineAPI, ref: str) -> tuple[dict[int, str], dict[int, str]]:
        """(users, groups); empty maps for files the image lacks."""
        users, groups = await asyncio.gather(
            self._names(eng, ref, b"/etc/passwd"), self._names(eng, ref, b"/etc/group")
        )
        return users, groups

    async def _names(self, eng: EngineAPI, ref: str, path: bytes) -> dict[int, str]:
        try:
            st = await eng.archive.stat(ref, path)
        except ArchivePathError:
            return {}
        key = (st.size, st.mtime, st.mode)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == key:
            return cached[1]
        names: dict[int, str] = {}
        try:
            async with eng.archive.get(ref, path) as dl:
                member = await dl.tar.next_member()
                if member is not None and member.is_file and member.size <= (8 << 20):
                    names = _id_names(await dl.tar.read_all())
        except ArchivePathError:
            return {}
        self._cache[path] = (key, names)
        return names


def _id_names(text: bytes) -> dict[int, str]:
    """uid/gid -> name from an /etc/passwd or /etc/group file (first entry wins)."""
    out: dict[int, str] = {}
    for line in text.split(b"\n"):
        parts = line.split(b":")
        if len(parts) >= 3 and parts[2].isdigit():
            out.setdefault(int(parts[2]), decode(parts[0]))
    return out
