"""The archive API on Podman, made to answer as Docker's does (docs/podman.md, section 4):

- the ``path`` is a glob pattern there: an entry whose last component has ``*?[\\`` is read from the tar of its
  parent directory (a glob character in a *directory* has no route: ``ArchivePathError("other")``);
- a final symlink is followed by HEAD and GET: the link's own header (raw target included) comes from its parent's
  tar too, and a dangling link (404 with a header) is still described;
- every unusable path is 404: the ancestors are asked, so a file in the way is ``not_a_directory`` again;
- the container user's ids are written into every downloaded header: owners are mapped back by *name* through
  the container's ``/etc/passwd`` and ``/etc/group`` (cached per container);
- PUT creates a missing destination: it is checked first, so ``put`` keeps its contract.
"""

from __future__ import annotations

import collections
import contextlib
import posixpath
import re
import stat as statmod
import tarfile
from collections.abc import AsyncIterable, AsyncIterator

import attrs

from .... import exception as exc
from ...api import ArchiveDownload
from ...errors import ArchivePathError, NoSuchContainer
from ...tar import OwnerIds, TarMember, TarReader
from ...values import PathStat, parse_engine_time
from ..archive import DockerArchive, go_mode_to_posix, is_go_symlink, stat_fields
from ..http import DockerClient

_GLOB = (b"*", b"?", b"[", b"\\")
#: How Podman's copier ends a PUT that would replace a directory with a file (Docker: "cannot overwrite directory").
_FILE_OVER_DIRECTORY = re.compile(r'error creating file at "[^"]*": open .*: file exists$', re.DOTALL)
#: Containers whose owner maps are kept.
_OWNER_CACHE = 64


def is_glob(path: bytes) -> bool:
    """True when Podman would read ``path`` as a pattern rather than a name."""
    return any(c in path for c in _GLOB)


def _split(path: bytes) -> tuple[bytes, bytes]:
    parent, _, base = path.rstrip(b"/").rpartition(b"/")
    parent = parent or b"/"
    if is_glob(parent):
        raise ArchivePathError("other", "Podman cannot address a path whose directories have glob characters")
    return parent, base


def _relative(member_name: bytes, parent: bytes) -> bytes:
    """A member's name relative to the directory whose tar it is in (``<dir name>/x`` or ``./x`` at the root)."""
    name = member_name.rstrip(b"/")
    return name.removeprefix(b"./") if parent == b"/" else name.partition(b"/")[2]


def _stat_of_member(path: bytes, member: TarMember) -> PathStat:
    kind = {tarfile.DIRTYPE: statmod.S_IFDIR, tarfile.SYMTYPE: statmod.S_IFLNK}.get(member.type, statmod.S_IFREG)
    link = ""
    if member.is_symlink:
        base = path.rstrip(b"/").rpartition(b"/")[0] or b"/"
        link = posixpath.normpath(posixpath.join(base, member.linkname)).decode("utf-8", "surrogateescape")
    return PathStat(
        name=path.rstrip(b"/").rsplit(b"/", 1)[-1].decode("utf-8", "surrogateescape"),
        size=member.size,
        mode=kind | member.mode,
        mtime=member.mtime,
        link_target=link,
    )


class _Subtree(TarReader):
    """One entry (and, for a directory, what is below it) inside the tar of its parent directory, named as a GET of
    the entry itself would name it. The parent's stream is closed, not drained, when the caller is done."""

    def __init__(self, tar: TarReader, first: TarMember, prefix: bytes) -> None:
        self._tar = tar
        self._first: TarMember | None = first
        self._entry = first.name.rstrip(b"/")
        self._prefix = prefix
        self._done = False

    def _rename(self, member: TarMember) -> TarMember:
        return attrs.evolve(member, name=member.name[len(self._prefix) :])

    async def next_member(self) -> TarMember | None:
        if self._first is not None:
            first, self._first = self._first, None
            return self._rename(first)
        if self._done:
            return None
        member = await self._tar.next_member()
        if member is None or not member.name.startswith(self._entry + b"/"):
            self._done = True
            return None
        return self._rename(member)

    async def read(self, n: int) -> bytes:
        return await self._tar.read(n)

    async def read_all(self) -> bytes:
        return await self._tar.read_all()

    async def finish(self) -> None:
        return None


class PodmanArchive(DockerArchive):
    """``ArchiveAPI`` on Podman."""

    __slots__ = ("_owner_ids",)

    def __init__(self, client: DockerClient) -> None:
        super().__init__(client)
        self._owner_ids: collections.OrderedDict[str, OwnerIds] = collections.OrderedDict()

    async def stat(self, ref: str, path: bytes) -> PathStat:
        if is_glob(path.rstrip(b"/")):
            member = await self._member(ref, path)
            if member is None:
                raise await self._path_error(ref, path)
            return _stat_of_member(path, member)
        status, header = await self._head(ref, path)
        fields = stat_fields(header) if header else None
        mode = int((fields or {}).get("mode", 0))
        if fields is None or not (status == 200 or (status == 404 and is_go_symlink(mode))):
            if status == 404:
                raise await self._path_error(ref, path)
            return await super().stat(ref, path)
        link = str(fields.get("linkTarget", "")) if is_go_symlink(mode) else ""
        if path.endswith(b"/") and len(path) > 1:
            if not fields.get("isDir"):
                raise ArchivePathError("not_a_directory", "not a directory")
            if link:  # "link/" names the directory the link points to
                return await self.stat(ref, link.encode("utf-8", "surrogateescape").rstrip(b"/") + b"/")
        return PathStat(
            name=path.rstrip(b"/").rsplit(b"/", 1)[-1].decode("utf-8", "surrogateescape") or "/",
            size=int(fields.get("size", 0)),
            mode=go_mode_to_posix(mode),
            mtime=parse_engine_time(str(fields.get("mtime", ""))) or 0.0,
            link_target=link,
        )

    @contextlib.asynccontextmanager
    async def get(self, ref: str, path: bytes) -> AsyncIterator[ArchiveDownload]:
        st = await self.stat(ref, path)  # also the errors Docker would give
        owners = await self._owners(ref)
        if not (st.is_symlink or is_glob(path.rstrip(b"/"))):
            async with self._get(ref, path, owners) as download:
                yield download
            return
        # A GET would follow the link or glob the name: the entry comes from its parent's tar.
        parent, base = _split(path)
        async with self._get(ref, parent, owners) as download:
            while (member := await download.tar.next_member()) is not None:
                if _relative(member.name, parent) == base:
                    prefix = member.name[: len(member.name.rstrip(b"/")) - len(base)]
                    yield ArchiveDownload(st, _Subtree(download.tar, member, prefix))
                    return
        raise ArchivePathError("missing", "no such file or directory")

    async def put(
        self, ref: str, dest: bytes, body: AsyncIterable[bytes], *, no_overwrite_dir_non_dir: bool = True
    ) -> None:
        """As on Docker (``dest`` must exist: Podman would create it). Podman words a file that would replace a
        directory as ``file exists``, which Docker says of a directory that would replace a file: told apart here
        by the step that failed (creating a file)."""
        await self.stat(ref, dest)
        try:
            await super().put(ref, dest, body, no_overwrite_dir_non_dir=no_overwrite_dir_non_dir)
        except ArchivePathError as e:
            if e.kind == "exists" and _FILE_OVER_DIRECTORY.search(str(e)):
                raise ArchivePathError("is_a_directory", str(e)) from None
            raise

    async def _member(self, ref: str, path: bytes) -> TarMember | None:
        """The tar header of ``path`` itself (a link not followed), from its parent directory's tar."""
        parent, base = _split(path)
        async with self._get(ref, parent, await self._owners(ref)) as download:
            while (member := await download.tar.next_member()) is not None:
                if _relative(member.name, parent) == base:
                    return member
        return None

    async def _path_error(self, ref: str, path: bytes) -> exc.Error:
        """Why ``path`` cannot be used, as Docker would say: the first ancestor that is missing or not a directory
        decides; a missing container is ``NoSuchContainer``."""
        parts = [p for p in path.split(b"/") if p]
        for i in range(1, len(parts)):
            _, header = await self._head(ref, b"/" + b"/".join(parts[:i]))
            if header is None:
                break
            if not stat_fields(header).get("isDir"):
                return ArchivePathError("not_a_directory", "not a directory")
        if not await self._container_exists(ref):
            return NoSuchContainer("container not found: No such container")
        return ArchivePathError("missing", "no such file or directory")

    async def _owners(self, ref: str) -> OwnerIds:
        """User and group ids by name, from the container's ``/etc/passwd`` and ``/etc/group`` (empty maps when
        they are missing: the headers' ids are kept then)."""
        cached = self._owner_ids.get(ref)
        if cached is not None:
            return cached
        maps: list[dict[str, int]] = []
        for file in (b"/etc/passwd", b"/etc/group"):
            ids: dict[str, int] = {}
            with contextlib.suppress(exc.Error):
                async with self._get(ref, file) as download:
                    if await download.tar.next_member() is not None:
                        for line in (await download.tar.read_all()).decode("utf-8", "replace").splitlines():
                            fields = line.split(":")
                            if len(fields) > 2 and fields[2].isdigit():
                                ids.setdefault(fields[0], int(fields[2]))
            maps.append(ids)
        owners = (maps[0], maps[1])
        self._owner_ids[ref] = owners
        while len(self._owner_ids) > _OWNER_CACHE:
            self._owner_ids.popitem(last=False)
        return owners
