"""The volume file API without a sandbox: list, read, remove, copy and make directories, through helper containers.

Paths are relative to the volume's root; a leading ``/`` is allowed and ``..`` cannot leave the volume (a path is
normalised as if the volume were ``/``). Reads stream through the archive API (bounded memory: one chunk at a time);
the rest runs a busybox script in a helper. Errors are Modal's: ``FileNotFoundError`` for a file to read or remove
that does not exist, ``NotFoundError`` for a path to list or a source to copy.
"""

from __future__ import annotations

import collections
import contextlib
import os
import posixpath
import typing
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any

from .._engine import EngineAPI
from .._engine.api import STDOUT
from .._engine.errors import ArchivePathError
from ..exception import InvalidError, NotFoundError, ServiceError
from ..types import FileEntry, file_entry_type_of_mode
from . import helper
from .helper import MOUNT
from .store import VolumeRef

#: Size of the chunks ``read_file`` yields (at most).
READ_CHUNK = 1 << 20


def relative(path: Any) -> str:
    """``path`` inside the volume, normalised, without a leading ``/`` (``""``: the root). ``InvalidError`` for
    anything but a ``str`` without NUL bytes."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or "\0" in path:
        raise InvalidError(f"a volume path must be a str without NUL characters, got {path!r}")
    return posixpath.normpath("/" + path).lstrip("/")


def script_path(rel: str) -> str:
    """A relative path as a script argument: never starting with ``-`` (``.`` is the root)."""
    return "./" + rel if rel else "."


def mount_path(rel: str) -> bytes:
    """Where a helper sees ``rel``."""
    return os.fsencode(MOUNT + ("/" + rel if rel else ""))


# -------------------------------------------------------------------------------------------------- listing

_LIST = r"""
p=$1
if [ ! -e "$p" ] && [ ! -L "$p" ]; then exit 4; fi
if [ -d "$p" ] && [ ! -L "$p" ]; then
  if [ "$2" = 1 ]; then find "$p" -mindepth 1 -print0; else find "$p" -mindepth 1 -maxdepth 1 -print0; fi >/tmp/names
else
  printf '%s\0' "$p" >/tmp/names
fi
cat /tmp/names
printf '\0'
if [ -s /tmp/names ]; then xargs -0 stat -c '%f %s %Y %n' </tmp/names; fi
exit 0
"""


class _Listing:
    """Parses the listing script's output as it arrives: NUL-terminated names, an empty name, then one line
    ``<mode hex> <size> <mtime> <name>`` per name, in the same order. The names are known exactly from the first
    part, so a name holding a newline is read right; a name whose ``stat`` failed (removed meanwhile) is skipped."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._names: collections.deque[bytes] = collections.deque()
        self._in_names = True

    def feed(self, data: bytes) -> list[FileEntry]:
        self._buf += data
        if self._in_names:
            self._take_names()
        return [] if self._in_names else self._take_entries()

    def _take_names(self) -> None:
        while (end := self._buf.find(b"\0")) >= 0:
            name = bytes(self._buf[:end])
            del self._buf[: end + 1]
            if not name:
                self._in_names = False
                return
            self._names.append(name)

    def _take_entries(self) -> list[FileEntry]:
        out: list[FileEntry] = []
        while self._names:
            name = self._names[0]
            s1 = self._buf.find(b" ")
            s2 = self._buf.find(b" ", s1 + 1) if s1 >= 0 else -1
            s3 = self._buf.find(b" ", s2 + 1) if s2 >= 0 else -1
            if s3 < 0:
                return out  # the line's fields are still arriving
            expected = name + b"\n"
            got = self._buf[s3 + 1 : s3 + 1 + len(expected)]
            if got != expected:
                if len(got) < len(expected) and expected.startswith(got):
                    return out  # the name is still arriving
                self._names.popleft()  # this name's stat failed: the line is the next name's
                continue
            self._names.popleft()
            out.append(
                _entry(bytes(self._buf[:s1]), bytes(self._buf[s1 + 1 : s2]), bytes(self._buf[s2 + 1 : s3]), name)
            )
            del self._buf[: s3 + 1 + len(expected)]
        return out


def _entry(mode: bytes, size: bytes, mtime: bytes, name: bytes) -> FileEntry:
    path = os.fsdecode(name[2:] if name.startswith(b"./") else name)
    try:
        return FileEntry(path=path, type=file_entry_type_of_mode(int(mode, 16)), mtime=int(mtime), size=int(size))
    except ValueError:
        raise ServiceError(f"unexpected listing output for {path!r}") from None


def check_no_glob(path: str) -> None:
    """Modal's errors for the glob patterns ``Volume.listdir`` once accepted."""
    if path.endswith("**"):
        raise InvalidError(
            "Glob patterns in `volume get` and `Volume.listdir()` are deprecated. "
            "Please pass recursive=True instead. For the CLI, just remove the glob suffix."
        )
    if path.endswith("*"):
        raise InvalidError(
            "Glob patterns in `volume get` and `Volume.listdir()` are deprecated. Please remove the glob `*` suffix."
        )


async def iterdir(eng: EngineAPI, ref: VolumeRef, path: str, *, recursive: bool) -> AsyncGenerator[FileEntry, None]:
    """The entries under directory ``path`` (all levels when ``recursive``), or the entry of ``path`` itself when it
    is not a directory. ``NotFoundError`` when it does not exist."""
    rel = relative(path)  # first: it refuses anything but a path
    check_no_glob(os.fspath(path))
    parser = _Listing()
    frames = helper.stream_script(eng, ref, _LIST, [script_path(rel), "1" if recursive else "0"], read_only=True)
    async with contextlib.aclosing(frames) as it:
        async for fd, data in it:
            if fd == STDOUT:
                for entry in parser.feed(data):
                    yield entry
            elif fd == 0 and data == b"4":
                raise NotFoundError(f"No such file or directory: '{path}'")
            elif fd == 0 and data != b"0":
                raise ServiceError(f"listing {path!r} in the volume failed (exit code {data.decode()})")


# -------------------------------------------------------------------------------------------------- reading


async def _stat_file(eng: EngineAPI, cref: str, rel: str, path: str) -> bytes:
    """The helper path of the regular file ``rel`` (a symlink inside the volume is followed)."""
    where = mount_path(rel)
    for _ in range(40):
        try:
            st = await eng.archive.stat(cref, where)
        except ArchivePathError as e:
            if e.kind in ("missing", "not_a_directory"):
                raise FileNotFoundError(f"No such file in the volume: '{path}'") from None
            raise
        if st.is_dir:
            raise IsADirectoryError(f"Is a directory: '{path}'")
        if not st.is_symlink:
            return where
        target = st.link_target
        if not (target == MOUNT or target.startswith(MOUNT + "/")):
            raise FileNotFoundError(f"'{path}' is a symbolic link that leads out of the volume")
        where = os.fsencode(target)
    raise FileNotFoundError(f"'{path}': too many levels of symbolic links")


async def read_file(eng: EngineAPI, ref: VolumeRef, path: str) -> AsyncGenerator[bytes, None]:
    """The file's bytes in chunks of at most ``READ_CHUNK`` (streamed from the engine; nothing more is held)."""
    rel = relative(path)
    async with helper.created(eng, ref, read_only=True) as cref:
        where = await _stat_file(eng, cref, rel, path)
        async with eng.archive.get(cref, where) as download:
            member = await download.tar.next_member()
            if member is None or not member.is_file:
                raise FileNotFoundError(f"No such file in the volume: '{path}'")
            while chunk := await download.tar.read(READ_CHUNK):
                yield chunk
            await download.tar.finish()


async def read_into(
    eng: EngineAPI, ref: VolumeRef, path: str, fileobj: typing.IO[bytes], progress: Callable[..., Any] | None
) -> int:
    """Write the file into ``fileobj`` at its position; returns the number of bytes written."""
    total = 0
    async with contextlib.aclosing(read_file(eng, ref, path)) as chunks:
        async for chunk in chunks:
            view = memoryview(chunk)
            while view:
                n = fileobj.write(view)
                written = len(view) if n is None else n
                view = view[written:]
                total += written
                if progress is not None:
                    progress(advance=written)
    return total


# ------------------------------------------------------------------------------------------------ changing

_REMOVE = r"""
p=$1
if [ ! -e "$p" ] && [ ! -L "$p" ]; then exit 4; fi
if [ -d "$p" ] && [ ! -L "$p" ]; then
  if [ "$2" = 1 ]; then rm -rf -- "$p" || exit 1; else rmdir -- "$p" 2>/dev/null || exit 5; fi
else
  rm -f -- "$p" || exit 1
fi
"""

_COPY = r"""
dst=$1; rec=$2; shift 2
for s; do
  if [ ! -e "$s" ] && [ ! -L "$s" ]; then printf '%s' "$s" >&2; exit 4; fi
  if [ "$rec" != 1 ] && [ -d "$s" ] && [ ! -L "$s" ]; then printf '%s' "$s" >&2; exit 5; fi
done
case "$dst" in */) mkdir -p -- "$dst" || exit 1 ;; *) mkdir -p -- "$(dirname -- "$dst")" || exit 1 ;; esac
if [ $# -gt 1 ] && [ ! -d "$dst" ]; then exit 6; fi
for s; do
  t=$dst; if [ -d "$dst" ]; then t=${dst%/}/$(basename -- "$s"); fi
  if [ -e "$t" ] && [ "$s" -ef "$t" ]; then printf '%s' "$s" >&2; exit 9; fi
done
if [ "$rec" = 1 ]; then cp -a -- "$@" "$dst"; else cp -p -- "$@" "$dst"; fi
"""

_MAKE_DIRS = r"""
set -f
IFS=/
cur=.
for c in $1; do
  [ -z "$c" ] && continue
  cur="$cur/$c"
  if [ -L "$cur" ]; then exit 7; fi
  if [ -e "$cur" ]; then [ -d "$cur" ] || exit 8; else mkdir -- "$cur" || exit 1; fi
done
"""


def _failure(what: str, stderr: bytes) -> ServiceError:
    return ServiceError(f"{what} failed: {stderr.decode('utf-8', 'replace').strip() or 'no message'}")


async def remove(eng: EngineAPI, ref: VolumeRef, path: str, *, recursive: bool) -> None:
    """Remove a file, a symlink, an empty directory, or (``recursive``) a directory tree."""
    rel = relative(path)
    if not rel:
        raise InvalidError("the root of a volume cannot be removed (remove its entries instead)")
    res = await helper.run_script(eng, ref, _REMOVE, [script_path(rel), "1" if recursive else "0"], read_only=False)
    if res.code == 4:
        raise FileNotFoundError(f"No such file or directory: '{path}'")
    if res.code == 5:
        raise InvalidError(f"'{path}' is a directory that is not empty: pass recursive=True to remove it")
    if res.code != 0:
        raise _failure(f"removing {path!r} from the volume", res.stderr)


async def copy(eng: EngineAPI, ref: VolumeRef, sources: Sequence[str], dst: str, *, recursive: bool) -> None:
    """``cp`` (``-a`` with ``recursive``) of ``sources`` to ``dst`` inside the volume; the destination's parent
    directories are created."""
    rels = [relative(s) for s in sources]
    dst_rel = relative(dst)
    for rel in rels if recursive else ():
        if rel == "" or dst_rel == rel or dst_rel.startswith(rel + "/"):
            raise InvalidError(f"cannot copy /{rel} into itself ({dst})")
    dst_arg = script_path(dst_rel) + ("/" if dst.endswith("/") and dst_rel else "")
    res = await helper.run_script(
        eng, ref, _COPY, [dst_arg, "1" if recursive else "0", *map(script_path, rels)], read_only=False
    )
    if res.code == 4:
        missing = os.fsdecode(res.stderr).removeprefix("./")
        raise NotFoundError(f"Source file not found: {missing}")
    if res.code == 5:
        directory = os.fsdecode(res.stderr).removeprefix("./")
        raise InvalidError(f"/{directory} is a directory: pass recursive=True to copy it")
    if res.code == 6:
        raise InvalidError(f"{dst} is not a directory.")
    if res.code == 9:
        same = os.fsdecode(res.stderr).removeprefix("./")
        raise InvalidError(f"/{same} and {dst} are the same file")
    if res.code != 0:
        raise _failure("copy_files", res.stderr)


async def make_dirs(eng: EngineAPI, ref: VolumeRef, rel: str) -> None:
    """Create directory ``rel`` and its parents; ``InvalidError`` when a component is a symbolic link or not a
    directory (so that nothing outside the volume is ever reached through it)."""
    res = await helper.run_script(eng, ref, _MAKE_DIRS, [rel], read_only=False)
    if res.code == 7:
        raise InvalidError(f"sub_path '/{rel}' of the volume passes through a symbolic link")
    if res.code == 8:
        raise InvalidError(f"sub_path '/{rel}' of the volume is not a directory")
    if res.code != 0:
        raise _failure(f"creating '/{rel}' in the volume", res.stderr)
