"""The engine's archive API (``/containers/{id}/archive``): streaming GET/PUT and HEAD stat.

What this module adds over aiodocker (docker-engine-notes §4):
- **Streaming both ways.** GET is read incrementally from the socket with ``Accept-Encoding: identity`` (the daemon
  gzips on the fly otherwise, 10× slower); PUT sends an async iterable, so neither direction holds a whole tar.
- **HEAD stat** issued on the aiohttp session directly (aiodocker crashes decoding the empty body of a 404), with
  the Go ``os.FileMode`` of the answer decoded into a POSIX ``st_mode``.
- **Errors classified and sanitised.** The daemon answers 404/500 with messages that name its data root
  (``/var/lib/docker/overlay2/<id>/merged``) and the container id; both are removed, and the failure is reported
  as ``ArchivePathError`` with a ``kind`` (missing, not_a_directory, ...) that callers map to their own classes.
  A missing container is ``NotFoundError``.

Paths are ``bytes`` here (file names need not be UTF-8); they are percent-encoded byte for byte in the URL.
The engine resolves every path inside the container's root filesystem: symlinks in the *directory part* are
followed within that root (never onto the host), the last component is not followed (HEAD/GET describe a
symlink itself; PUT replaces a symlink rather than writing through it).
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import json
import re
import stat as statmod
import tarfile
import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any, Literal

import aiodocker
import aiohttp
import attrs
from yarl import URL

from .. import exception as exc
from .client import Engine, engine_errors

BLOCK = 512
#: aiohttp read buffer for archive downloads (its flow control pauses the socket at twice this).
READ_BUFSIZE = 4 << 20
#: The two zero blocks that end a tar stream.
TAR_END = b"\0" * (2 * BLOCK)

# Go os.FileMode bits (https://pkg.go.dev/io/fs#FileMode).
_GO_DIR = 1 << 31
_GO_SYMLINK = 1 << 27
_GO_DEVICE = 1 << 26
_GO_PIPE = 1 << 25
_GO_SOCKET = 1 << 24
_GO_SETUID = 1 << 23
_GO_SETGID = 1 << 22
_GO_CHARDEV = 1 << 21
_GO_STICKY = 1 << 20

ErrorKind = Literal["missing", "not_a_directory", "is_a_directory", "exists", "read_only", "other"]


class ArchivePathError(exc.Error):
    """The engine refused an archive operation because of the path (not the container).

    ``kind`` is one of ``missing``, ``not_a_directory``, ``is_a_directory``, ``exists``, ``read_only``, ``other``;
    the message is the daemon's, sanitised of host paths and container ids.
    """

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind


def go_mode_to_posix(mode: int) -> int:
    """Convert a Go ``os.FileMode`` into a POSIX ``st_mode`` (type bits, setuid/setgid/sticky, permissions)."""
    out = mode & 0o777
    if mode & _GO_SETUID:
        out |= statmod.S_ISUID
    if mode & _GO_SETGID:
        out |= statmod.S_ISGID
    if mode & _GO_STICKY:
        out |= statmod.S_ISVTX
    if mode & _GO_DIR:
        out |= statmod.S_IFDIR
    elif mode & _GO_SYMLINK:
        out |= statmod.S_IFLNK
    elif mode & _GO_DEVICE:
        out |= statmod.S_IFCHR if mode & _GO_CHARDEV else statmod.S_IFBLK
    elif mode & _GO_PIPE:
        out |= statmod.S_IFIFO
    elif mode & _GO_SOCKET:
        out |= statmod.S_IFSOCK
    else:
        out |= statmod.S_IFREG
    return out


def _parse_go_time(text: str) -> float:
    """RFC 3339 with up to nanoseconds (Go's ``time.Time`` JSON) to epoch seconds."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", text)
    if m is None:
        return 0.0
    base = datetime.datetime.fromisoformat(m.group(1) + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    frac = m.group(2) or "0"
    return float(base.timestamp() + int(frac) / 10 ** len(frac))


@attrs.frozen
class PathStat:
    """What the engine reports for a path (``lstat`` of the last component).

    ``link_target`` is the symlink's target *fully resolved inside the container root* (absolute), not the raw
    link text; empty for non-links.
    """

    name: str
    size: int
    mode: int  # POSIX st_mode
    mtime: float
    link_target: str

    @property
    def is_dir(self) -> bool:
        return statmod.S_ISDIR(self.mode)

    @property
    def is_symlink(self) -> bool:
        return statmod.S_ISLNK(self.mode)

    @classmethod
    def from_header(cls, value: str) -> PathStat:
        """Decode the ``X-Docker-Container-Path-Stat`` header (base64 JSON)."""
        raw: dict[str, Any] = json.loads(base64.b64decode(value))
        return cls(
            name=str(raw.get("name", "")),
            size=int(raw.get("size", 0)),
            mode=go_mode_to_posix(int(raw.get("mode", 0))),
            mtime=_parse_go_time(str(raw.get("mtime", ""))),
            link_target=str(raw.get("linkTarget", "")),
        )


_HOST_PATH_RE = re.compile(
    r"/[^\s:\"']*?/(?:overlay2|overlay|aufs|btrfs|zfs|vfs|devicemapper|fuse-overlayfs)/[^/\s]+/(?:merged|diff|rootfs|mnt)(?=/|\b)"
)
_IN_CONTAINER_RE = re.compile(r"\s+in container [0-9a-zA-Z_.-]+")


def sanitize(message: str) -> str:
    """Remove the daemon's host paths and container ids from an engine message."""
    return _IN_CONTAINER_RE.sub("", _HOST_PATH_RE.sub("", message)).strip()


def _classify(status: int, message: str) -> exc.Error:
    clean = sanitize(message)
    # errno texts end the daemon's messages, after any path: matching the end keeps a hostile file name from
    # posing as the reason
    low = clean.lower().rstrip()
    if status == 404 and low.startswith("no such container"):
        return exc.NotFoundError(f"container not found: {clean}")
    if status == 404 or low.endswith("no such file or directory"):
        return ArchivePathError("missing", clean)
    # "cannot overwrite [non-]directory "<path>" with …": the first phrase is the daemon's, later ones a name's
    over_dir, over_file = low.find("cannot overwrite directory"), low.find("cannot overwrite non-directory")
    if over_dir >= 0 and (over_file < 0 or over_dir < over_file):
        return ArchivePathError("is_a_directory", clean)
    if over_file >= 0:
        return ArchivePathError("exists", clean)
    if low.endswith("is a directory"):
        return ArchivePathError("is_a_directory", clean)
    if low.endswith("file exists"):
        return ArchivePathError("exists", clean)
    if low.endswith("not a directory"):
        return ArchivePathError("not_a_directory", clean)
    if low.endswith(("read-only file system", "marked read-only")):
        return ArchivePathError("read_only", clean)
    if status == 409:
        return exc.ConflictError(f"container not running: {clean}")
    if status >= 500 or status == 400:
        return ArchivePathError("other", clean)
    out = exc.ServiceError(clean)
    out.engine_status = status
    return out


def _archive_url(cid: str, path: bytes, extra: str = "") -> URL:
    query = "path=" + urllib.parse.quote_from_bytes(path, safe="/") + extra
    return URL.build(path=f"containers/{cid}/archive", query_string=query, encoded=True)


@contextlib.asynccontextmanager
async def _errors(what: str) -> AsyncIterator[None]:
    try:
        async with engine_errors(what):
            yield
    except exc.Error as e:
        status = e.engine_status
        if status is not None and isinstance(e.__cause__, aiodocker.DockerError):
            raise _classify(status, str(e.__cause__.message)) from None
        raise


async def stat_path(eng: Engine, cid: str, path: bytes) -> PathStat:
    """``HEAD`` stat of ``path``. Raises ``ArchivePathError`` (``missing``/``not_a_directory``/...) or
    ``NotFoundError`` for a missing container."""
    url = eng.docker._canonicalize_url(_archive_url(cid, path))
    async with engine_errors("stat a path in the sandbox", eng.request_timeout):
        async with eng.docker.session.request("HEAD", url, headers={"Accept-Encoding": "identity"}) as resp:
            header = resp.headers.get("X-Docker-Container-Path-Stat")
            if resp.status == 200 and header:
                return PathStat.from_header(header)
            if resp.status == 404:
                # A HEAD has no body to tell a missing container from a missing path: ask the container.
                try:
                    await eng.request_json("GET", f"containers/{cid}/json", "inspect the sandbox container")
                except exc.NotFoundError:
                    raise exc.NotFoundError("container not found: No such container") from None
                raise ArchivePathError("missing", "no such file or directory")
            if resp.status == 409:
                raise exc.ConflictError("container is not running")
            # 500 for "not a directory" components (its body is empty too).
            raise ArchivePathError("not_a_directory" if resp.status == 500 else "other", f"status {resp.status}")


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


class TarReader:
    """Reads a tar stream incrementally from an aiohttp response body: headers, then each member's data."""

    def __init__(self, content: aiohttp.StreamReader) -> None:
        self._content = content
        self._remaining = 0  # data bytes of the current member not yet read
        self._padding = 0

    async def _exactly(self, n: int) -> bytes:
        try:
            return await self._content.readexactly(n)
        except aiohttp.ClientPayloadError as e:
            raise exc.ServiceError(f"the archive stream from the engine broke off: {e}") from e
        except EOFError as e:  # asyncio.IncompleteReadError
            raise exc.ServiceError("the archive stream from the engine ended early (truncated tar)") from e

    async def _skip_rest(self) -> None:
        while self._remaining:
            chunk = await self.read(1 << 20)
            if not chunk:
                break
        if self._padding:
            await self._exactly(self._padding)
            self._padding = 0

    async def next_member(self) -> TarMember | None:
        """The next member's header (pax/GNU long-name records applied), or None at the end of the archive."""
        await self._skip_rest()
        pax: dict[bytes, bytes] = {}
        long_name: bytes | None = None
        long_link: bytes | None = None
        while True:
            block = await self._content.read(BLOCK)
            if len(block) < BLOCK and block:
                block += await self._exactly(BLOCK - len(block))
            if not block or block.count(0) == BLOCK:
                return None
            try:
                info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
            except tarfile.HeaderError as e:
                raise exc.ServiceError(f"the engine sent an invalid tar header: {e}") from e
            padded = -info.size % BLOCK
            if info.type in (
                tarfile.XHDTYPE,
                tarfile.XGLTYPE,
                tarfile.SOLARIS_XHDTYPE,
                tarfile.GNUTYPE_LONGNAME,
                tarfile.GNUTYPE_LONGLINK,
            ):
                if info.size > 16 << 20:
                    raise exc.ServiceError("the engine sent an oversized tar extension header")
                data = await self._exactly(info.size + padded)
                data = data[: info.size]
                if info.type == tarfile.GNUTYPE_LONGNAME:
                    long_name = data.rstrip(b"\0")
                elif info.type == tarfile.GNUTYPE_LONGLINK:
                    long_link = data.rstrip(b"\0")
                elif info.type != tarfile.XGLTYPE:
                    pax.update(_parse_pax(data))
                continue
            name = pax.get(b"path") or long_name or info.name.encode("utf-8", "surrogateescape")
            link = pax.get(b"linkpath") or long_link or info.linkname.encode("utf-8", "surrogateescape")
            size = int(pax[b"size"]) if b"size" in pax else info.size
            mtime = float(pax[b"mtime"]) if b"mtime" in pax else float(info.mtime)
            member = TarMember(
                name=name,
                type=info.type,
                size=size,
                mode=info.mode & 0o7777,
                uid=int(pax[b"uid"]) if b"uid" in pax else info.uid,
                gid=int(pax[b"gid"]) if b"gid" in pax else info.gid,
                mtime=mtime,
                linkname=link,
            )
            has_data = member.type not in (tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE)
            self._remaining = size if has_data else 0
            self._padding = (-size % BLOCK) if has_data else 0
            return member

    async def read(self, n: int) -> bytes:
        """Up to ``n`` bytes of the current member's data (whatever has arrived, at least one byte); ``b""`` at
        the member's end."""
        if self._remaining <= 0:
            return b""
        try:
            chunk = await self._content.read(min(n, self._remaining))
        except aiohttp.ClientPayloadError as e:
            raise exc.ServiceError(f"the archive stream from the engine broke off: {e}") from e
        if not chunk:
            raise exc.ServiceError("the archive stream from the engine ended early (truncated tar)")
        self._remaining -= len(chunk)
        return chunk

    async def finish(self) -> None:
        """Consume the rest of the stream when little is left (so the connection can be reused); otherwise leave
        it, and the response is closed instead."""
        if self._remaining > (1 << 16):
            return
        await self._skip_rest()
        with contextlib.suppress(exc.Error):
            for _ in range(4):
                if not await self._content.read(BLOCK * 4):
                    break

    async def read_all(self) -> bytes:
        """The rest of the current member's data."""
        n, self._remaining = self._remaining, 0
        return await self._exactly(n) if n else b""


@attrs.frozen
class ArchiveDownload:
    """An open GET: the engine's stat of the path and the tar stream."""

    stat: PathStat
    tar: TarReader


@contextlib.asynccontextmanager
async def get_archive(eng: Engine, cid: str, path: bytes) -> AsyncIterator[ArchiveDownload]:
    """Open ``GET /containers/{cid}/archive?path=…`` as a stream (no gzip). Leaving the block early closes the
    connection, which stops the daemon's tar writer (used to read only the first header of a directory).

    Raises ``ArchivePathError`` / ``NotFoundError`` (container) before yielding; engine errors inside the block are
    translated.
    """
    url = eng.docker._canonicalize_url(_archive_url(cid, path))
    async with _errors("read from the sandbox"):
        # On the session directly: aiodocker cannot pass read_bufsize, and aiohttp's 64 KiB default pauses the
        # socket every 128 KiB, which stalls the daemon's tar writer.
        async with eng.docker.session.request(
            "GET", url, headers={"Accept-Encoding": "identity"}, read_bufsize=READ_BUFSIZE
        ) as resp:
            if resp.status >= 400:
                body = await resp.read()
                try:
                    message = str(json.loads(body)["message"])
                except (ValueError, KeyError, TypeError):
                    message = body.decode("utf-8", "replace")
                raise _classify(resp.status, message)
            try:
                header = resp.headers.get("X-Docker-Container-Path-Stat", "")
                st = PathStat.from_header(header) if header else PathStat("", 0, 0, 0.0, "")
                yield ArchiveDownload(st, TarReader(resp.content))
            finally:
                if resp.content.at_eof():
                    resp.release()
                else:
                    resp.close()  # never return a half-read connection to the pool


async def put_archive(
    eng: Engine,
    cid: str,
    dest: bytes,
    body: AsyncIterable[bytes],
    *,
    no_overwrite_dir_non_dir: bool = True,
) -> None:
    """``PUT`` the tar stream ``body`` into directory ``dest`` (which must exist; the tar may create parents of its
    members). Raises ``ArchivePathError``/``NotFoundError`` as classified from the daemon's answer."""
    extra = "&noOverwriteDirNonDir=1" if no_overwrite_dir_non_dir else ""
    url = _archive_url(cid, dest, extra)
    async with _errors("write to the sandbox"):
        async with eng.docker._query(
            url, "PUT", data=body, headers={"Content-Type": "application/x-tar"}, timeout=None
        ) as resp:
            try:
                await resp.read()
            finally:
                resp.release()


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

    Note: the engine *extracts* non-UTF-8 names fine, but its GET silently omits such members (Go's tar writer
    refuses them), so a download of such a path yields an empty archive.
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
