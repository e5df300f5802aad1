"""Tar, the archive format of the archive API: writing headers for uploads, reading a tar stream incrementally.

Names are ``bytes`` here (file names need not be UTF-8). Nothing in this module knows how the bytes travel: a
``TarReader`` reads from any ``ByteSource`` (an engine implementation adapts its response body, translating its
transport's errors into ``sandbox_core.exception`` classes).
"""

from __future__ import annotations

import contextlib
import tarfile
from typing import Protocol

import attrs

from .. import exception as exc

BLOCK = 512
#: The two zero blocks that end a tar stream.
TAR_END = b"\0" * (2 * BLOCK)


class ByteSource(Protocol):
    """A byte stream (a response body). Both reads raise a ``sandbox_core.exception.Error`` when the stream breaks."""

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes, at least one unless the stream ended (then ``b""``)."""
        ...

    async def readexactly(self, n: int) -> bytes:
        """Exactly ``n`` bytes; ``ServiceError`` when the stream ends first."""
        ...


@attrs.frozen
class TarMember:
    """One tar header (names as bytes, exactly as stored)."""

    name: bytes
    type: bytes
    size: int
    mode: int  # permission bits (and setuid/setgid/sticky), no type bits
    uid: int
    gid: int
    mtime: float
    linkname: bytes

    @property
    def is_dir(self) -> bool:
        return self.type == tarfile.DIRTYPE

    @property
    def is_symlink(self) -> bool:
        return self.type == tarfile.SYMTYPE

    @property
    def is_file(self) -> bool:
        return self.type in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)


def _parse_pax(data: bytes) -> dict[bytes, bytes]:
    out: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(data):
        space = data.find(b" ", pos)
        if space < 0:
            break
        try:
            length = int(data[pos:space])
        except ValueError:
            break
        record = data[space + 1 : pos + length - 1]  # without the trailing newline
        key, _, value = record.partition(b"=")
        out[key] = value
        pos += length
    return out


_EXTENSIONS = (
    tarfile.XHDTYPE,
    tarfile.XGLTYPE,
    tarfile.SOLARIS_XHDTYPE,
    tarfile.GNUTYPE_LONGNAME,
    tarfile.GNUTYPE_LONGLINK,
)


#: Owner ids by name: (user name -> uid, group name -> gid).
OwnerIds = tuple[dict[str, int], dict[str, int]]


def _owner(ids: dict[str, int] | None, name: str, header_id: int) -> int:
    if ids is None or not name:
        return header_id
    return ids.get(name, header_id)


def _member(
    info: tarfile.TarInfo,
    pax: dict[bytes, bytes],
    long_name: bytes | None,
    long_link: bytes | None,
    owners: OwnerIds | None,
) -> TarMember:
    member = TarMember(
        name=pax.get(b"path") or long_name or info.name.encode("utf-8", "surrogateescape"),
        type=info.type,
        size=int(pax[b"size"]) if b"size" in pax else info.size,
        mode=info.mode & 0o7777,
        uid=int(pax[b"uid"]) if b"uid" in pax else info.uid,
        gid=int(pax[b"gid"]) if b"gid" in pax else info.gid,
        mtime=float(pax[b"mtime"]) if b"mtime" in pax else float(info.mtime),
        linkname=pax.get(b"linkpath") or long_link or info.linkname.encode("utf-8", "surrogateescape"),
    )
    if owners is None:
        return member
    return attrs.evolve(
        member,
        uid=_owner(owners[0], pax.get(b"uname", b"").decode() or info.uname, member.uid),
        gid=_owner(owners[1], pax.get(b"gname", b"").decode() or info.gname, member.gid),
    )


class TarReader:
    """Reads a tar stream incrementally: ``next_member`` gives each header, ``read``/``read_all`` its data.

    With ``owners``, a member's uid/gid are those its owner *names* map to (for a writer that puts other ids than
    the files' into the headers but names them right); a name not in the map keeps the header's id."""

    def __init__(self, source: ByteSource, owners: OwnerIds | None = None) -> None:
        self._source = source
        self._owners = owners
        self._remaining = 0  # data bytes of the current member not yet read
        self._padding = 0

    async def _skip_rest(self) -> None:
        while self._remaining:
            if not await self.read(1 << 20):
                break
        if self._padding:
            await self._source.readexactly(self._padding)
            self._padding = 0

    async def _block(self) -> bytes | None:
        block = await self._source.read(BLOCK)
        if len(block) < BLOCK and block:
            block += await self._source.readexactly(BLOCK - len(block))
        if not block or block.count(0) == BLOCK:
            return None
        return block

    async def next_member(self) -> TarMember | None:
        """The next member's header (pax/GNU long-name records applied), or None at the end of the archive."""
        await self._skip_rest()
        pax: dict[bytes, bytes] = {}
        long_name: bytes | None = None
        long_link: bytes | None = None
        while (block := await self._block()) is not None:
            try:
                info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            except tarfile.HeaderError as e:
                raise exc.ServiceError(f"the engine sent an invalid tar header: {e}") from e
            if info.type not in _EXTENSIONS:
                member = _member(info, pax, long_name, long_link, self._owners)
                has_data = member.type not in (tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE)
                self._remaining = member.size if has_data else 0
                self._padding = (-member.size % BLOCK) if has_data else 0
                return member
            if info.size > 16 << 20:
                raise exc.ServiceError("the engine sent an oversized tar extension header")
            data = (await self._source.readexactly(info.size + (-info.size % BLOCK)))[: info.size]
            if info.type == tarfile.GNUTYPE_LONGNAME:
                long_name = data.rstrip(b"\0")
            elif info.type == tarfile.GNUTYPE_LONGLINK:
                long_link = data.rstrip(b"\0")
            elif info.type != tarfile.XGLTYPE:
                pax.update(_parse_pax(data))
        return None

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes of the current member's data (whatever has arrived, at least one byte); ``b""`` at
        the member's end. ``ServiceError`` when the stream ends inside the member."""
        if self._remaining <= 0:
            return b""
        chunk = await self._source.read(min(n, self._remaining))
        if not chunk:
            raise exc.ServiceError("the archive stream from the engine ended early (truncated tar)")
        self._remaining -= len(chunk)
        return chunk

    async def read_all(self) -> bytes:
        """The rest of the current member's data."""
        n, self._remaining = self._remaining, 0
        return await self._source.readexactly(n) if n else b""

    async def finish(self) -> None:
        """Consume the rest of the stream when little is left (so that its connection can be reused); otherwise
        leave it (the connection is then closed instead)."""
        if self._remaining > (1 << 16):
            return
        await self._skip_rest()
        with contextlib.suppress(exc.Error):
            for _ in range(4):
                if not await self._source.read(BLOCK * 4):
                    break


def tar_header(
    name: bytes,
    *,
    size: int = 0,
    mode: int = 0o644,
    uid: int = 0,
    gid: int = 0,
    mtime: float = 0.0,
    directory: bool = False,
) -> bytes:
    """One tar header (PAX where names are long or not UTF-8, or ``mtime`` has a fraction) for a regular file or a
    directory.

    Note: the Docker engine *extracts* non-UTF-8 names fine, but its GET silently omits such members (Go's tar
    writer refuses them), so a download of such a path yields an empty archive.
    """
    info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape") + ("/" if directory else ""))
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.size = 0 if directory else size
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = mtime  # a float becomes a PAX record: sub-second precision survives
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="surrogateescape")


def tar_padding(size: int) -> bytes:
    """Zero bytes that pad a member of ``size`` bytes to a whole block."""
    return b"\0" * (-size % BLOCK)
