"""The engine's archive API (``/containers/{id}/archive``): streaming GET/PUT and HEAD stat.

What this module adds over aiodocker (docker-engine-notes §4):
- **Streaming both ways.** GET is read incrementally from the socket with ``Accept-Encoding: identity`` (the daemon
  gzips on the fly otherwise, 10× slower); PUT sends an async iterable, so neither direction holds a whole tar.
- **HEAD stat** issued on the aiohttp session directly (aiodocker crashes decoding the empty body of a 404), with
  the Go ``os.FileMode`` of the answer decoded into a POSIX ``st_mode``.
- **Errors classified and sanitised.** The daemon answers 404/500 with messages that name its data root
  (``/var/lib/docker/overlay2/<id>/merged``) and the container id; both are removed, and a failure because of the
  path is ``ArchivePathError`` with a ``kind``; anything else goes through the one status table.

Paths are percent-encoded byte for byte in the URL. The engine resolves every path inside the container's root
filesystem: symlinks in the *directory part* are followed within that root (never onto the host), the last
component is not followed (HEAD/GET describe a symlink itself; PUT replaces a symlink rather than writing through
it).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import stat as statmod
import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import aiodocker
import aiohttp
from yarl import URL

from ... import exception as exc
from ..api import ArchiveDownload
from ..errors import ArchiveErrorKind, ArchivePathError, NoSuchContainer
from ..tar import OwnerIds, TarReader
from ..values import PathStat, parse_engine_time
from .errors import IO_ERRORS, engine_error, engine_errors, translate
from .http import DockerClient

#: aiohttp read buffer for archive downloads (its flow control pauses the socket at twice this).
READ_BUFSIZE = 4 << 20

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


def go_mode_to_posix(mode: int) -> int:
    """Convert a Go ``os.FileMode`` into a POSIX ``st_mode`` (type bits, setuid/setgid/sticky, permissions)."""
    out = mode & 0o777
    for go_bit, posix_bit in (
        (_GO_SETUID, statmod.S_ISUID),
        (_GO_SETGID, statmod.S_ISGID),
        (_GO_STICKY, statmod.S_ISVTX),
    ):
        if mode & go_bit:
            out |= posix_bit
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


def is_go_symlink(mode: int) -> bool:
    """True when the Go ``os.FileMode`` ``mode`` is a symlink's."""
    return bool(mode & _GO_SYMLINK)


def stat_fields(header: str) -> dict[str, Any]:
    """The fields of the ``X-Docker-Container-Path-Stat`` header (base64 JSON: Docker's standard alphabet, Podman's
    URL-safe one, which differ only in ``-_`` for ``+/``; both are accepted)."""
    raw: dict[str, Any] = json.loads(base64.b64decode(header, altchars=b"-_"))
    return raw


def path_stat(header: str) -> PathStat:
    """Decode the ``X-Docker-Container-Path-Stat`` header."""
    raw = stat_fields(header)
    return PathStat(
        name=str(raw.get("name", "")),
        size=int(raw.get("size", 0)),
        mode=go_mode_to_posix(int(raw.get("mode", 0))),
        mtime=parse_engine_time(str(raw.get("mtime", ""))) or 0.0,
        link_target=str(raw.get("linkTarget", "")),
    )


_HOST_PATH_RE = re.compile(
    r"/[^\s:\"']*?/(?:overlay2|overlay|aufs|btrfs|zfs|vfs|devicemapper|fuse-overlayfs)/[^/\s]+/(?:merged|diff|rootfs|mnt)(?=/|\b)"
)
_IN_CONTAINER_RE = re.compile(r"\s+in container [0-9a-zA-Z_.-]+")


def sanitize(message: str) -> str:
    """Remove the daemon's host paths and container ids from an engine message."""
    return _IN_CONTAINER_RE.sub("", _HOST_PATH_RE.sub("", message)).strip()


_SUFFIX_KINDS: tuple[tuple[str, ArchiveErrorKind], ...] = (
    ("is a directory", "is_a_directory"),
    ("file exists", "exists"),
    ("not a directory", "not_a_directory"),
    ("read-only file system", "read_only"),
    ("marked read-only", "read_only"),
)


def classify(status: int, message: str, what: str) -> exc.Error:
    """The exception for the archive endpoint's answer ``status``/``message``: ``ArchivePathError`` when the path
    is the reason, else the one status table (``NoSuchContainer``, ``ContainerNotRunning`` …)."""
    clean = sanitize(message)
    # errno texts end the daemon's messages, after any path: matching the end keeps a hostile file name from
    # posing as the reason
    low = clean.lower().rstrip()
    if status == 404 and low.startswith("no such container"):
        return engine_error(status, clean, what)
    if status == 404 or low.endswith("no such file or directory"):
        return ArchivePathError("missing", clean)
    # "cannot overwrite [non-]directory "<path>" with …": the first phrase is the daemon's, later ones a name's
    over_dir, over_file = low.find("cannot overwrite directory"), low.find("cannot overwrite non-directory")
    if over_dir >= 0 and (over_file < 0 or over_dir < over_file):
        return ArchivePathError("is_a_directory", clean)
    if over_file >= 0:
        return ArchivePathError("exists", clean)
    for suffix, kind in _SUFFIX_KINDS:
        if low.endswith(suffix):
            return ArchivePathError(kind, clean)
    if status == 409:
        return engine_error(status, clean, what)
    if status >= 500 or status == 400:
        return ArchivePathError("other", clean)
    return engine_error(status, clean, what)


def _archive_url(cid: str, path: bytes, extra: str = "") -> URL:
    query = "path=" + urllib.parse.quote_from_bytes(path, safe="/") + extra
    return URL.build(path=f"containers/{cid}/archive", query_string=query, encoded=True)


class _Body:
    """A response body as a ``ByteSource``: the transport's failures become library exceptions."""

    __slots__ = ("_content",)

    def __init__(self, content: aiohttp.StreamReader) -> None:
        self._content = content

    async def read(self, n: int) -> bytes:
        try:
            return await self._content.read(n)
        except (aiohttp.ClientError, OSError) as e:
            raise exc.ServiceError(f"the archive stream from the engine broke off: {e}") from e

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._content.readexactly(n)
        except (aiohttp.ClientError, OSError) as e:
            raise exc.ServiceError(f"the archive stream from the engine broke off: {e}") from e
        except EOFError as e:  # asyncio.IncompleteReadError
            raise exc.ServiceError("the archive stream from the engine ended early (truncated tar)") from e


async def _error_of(resp: aiohttp.ClientResponse, what: str) -> exc.Error:
    async with engine_errors(what):
        body = await resp.read()
    try:
        message = str(json.loads(body)["message"])
    except (ValueError, KeyError, TypeError):
        message = body.decode("utf-8", "replace")
    return classify(resp.status, message, what)


class DockerArchive:
    """``ArchiveAPI`` on the Docker engine."""

    __slots__ = ("_client",)

    def __init__(self, client: DockerClient) -> None:
        self._client = client

    async def _head(self, ref: str, path: bytes) -> tuple[int, str | None]:
        """``HEAD`` of the path: the status and the stat header (None when absent)."""
        docker = self._client.docker
        url = docker._canonicalize_url(_archive_url(ref, path))
        async with engine_errors("stat a path in the sandbox", self._client.request_timeout):
            async with docker.session.request("HEAD", url, headers={"Accept-Encoding": "identity"}) as resp:
                return resp.status, resp.headers.get("X-Docker-Container-Path-Stat")

    async def _container_exists(self, ref: str) -> bool:
        try:
            await self._client.request_json("GET", f"containers/{ref}/json", "inspect the sandbox container")
        except NoSuchContainer:
            return False
        return True

    async def stat(self, ref: str, path: bytes) -> PathStat:
        what = "stat a path in the sandbox"
        status, header = await self._head(ref, path)
        if status == 200 and header:
            return path_stat(header)
        if status == 404:
            # A HEAD has no body to tell a missing container from a missing path: ask the container.
            if not await self._container_exists(ref):
                raise NoSuchContainer("container not found: No such container")
            raise ArchivePathError("missing", "no such file or directory")
        if status == 409:
            raise engine_error(409, "container is not running", what)
        # 500 for "not a directory" components (its body is empty too).
        raise ArchivePathError("not_a_directory" if status == 500 else "other", f"status {status}")

    @contextlib.asynccontextmanager
    async def get(self, ref: str, path: bytes) -> AsyncIterator[ArchiveDownload]:
        async with self._get(ref, path) as download:
            yield download

    @contextlib.asynccontextmanager
    async def _get(self, ref: str, path: bytes, owners: OwnerIds | None = None) -> AsyncIterator[ArchiveDownload]:
        """The GET itself; with ``owners``, members' ids come from their owner names (see ``TarReader``)."""
        what = "read from the sandbox"
        docker = self._client.docker
        url = docker._canonicalize_url(_archive_url(ref, path))
        async with engine_errors(what, self._client.request_timeout):
            # On the session directly: aiodocker cannot pass read_bufsize, and aiohttp's 64 KiB default pauses the
            # socket every 128 KiB, which stalls the daemon's tar writer.
            resp = await docker.session.request(
                "GET", url, headers={"Accept-Encoding": "identity"}, read_bufsize=READ_BUFSIZE
            )
        try:
            if resp.status >= 400:
                raise await _error_of(resp, what)
            header = resp.headers.get("X-Docker-Container-Path-Stat", "")
            st = path_stat(header) if header else PathStat("", 0, 0, 0.0, "")
            yield ArchiveDownload(st, TarReader(_Body(resp.content), owners))
        finally:
            if resp.content.at_eof():
                resp.release()
            else:
                resp.close()  # never return a half-read connection to the pool

    async def put(
        self, ref: str, dest: bytes, body: AsyncIterable[bytes], *, no_overwrite_dir_non_dir: bool = True
    ) -> None:
        what = "write to the sandbox"
        url = _archive_url(ref, dest, "&noOverwriteDirNonDir=1" if no_overwrite_dir_non_dir else "")
        failure: list[BaseException] = []

        async def source() -> AsyncIterator[bytes]:
            # The caller's exception must come out as it is, not as the transport's report of an aborted request.
            try:
                async for chunk in body:
                    yield chunk
            except Exception as e:
                failure.append(e)
                raise

        try:
            async with self._client.docker._query(
                url, "PUT", data=source(), headers={"Content-Type": "application/x-tar"}, timeout=None
            ) as resp:
                await resp.read()
        except Exception as e:
            if failure:
                raise failure[0] from None
            if isinstance(e, aiodocker.DockerError):
                raise classify(e.status, str(e.message), what) from None
            if isinstance(e, IO_ERRORS):
                raise translate(e, what) from e
            raise
