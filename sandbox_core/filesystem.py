"""``Sandbox.filesystem``: read, write, copy, list, stat, remove, make directories and watch inside a sandbox.

How each operation reaches the sandbox:

* **Sandboxes whose user is root** (the image's ``USER`` is empty/0/root): ``read_*``, ``write_*``, ``copy_*``,
  ``make_directory`` and ``stat`` use the engine's archive API directly — no process in the sandbox, so they work
  on images with no shell at all, and data streams in 1 MiB chunks with no gzip in either direction.
* **Sandboxes running as another user**: the archive API would act as root and bypass file permissions, so every
  operation runs as a short process *as the sandbox's user* (``cat``, ``stat``, ``mkdir`` … under ``/bin/sh``),
  which yields Modal's ``SandboxFilesystemPermissionError`` where that user may not go. Data still streams
  (exec stdin/stdout) with bounded memory.
* ``list_files``, ``remove`` and ``watch`` always run a process in the sandbox (as its user). On an image without
  ``/bin/sh`` they raise ``InvalidError`` saying so, instead of hanging. So do, even for root, reads below
  ``/proc``, ``/sys`` and ``/dev`` (mounted inside the sandbox only, invisible to the engine) and reads or stats of
  names that are not UTF-8 (the engine's tar writer silently drops them).
* An overwrite through the archive API replaces the file (a new inode carrying the old owner and mode), as
  ``rename`` would: open descriptors keep the old content and hard links are split. An overwrite by a process
  truncates in place.

Guarantees for whatever runs inside the sandbox:

* Paths travel only as ``argv`` (octal-escaped ASCII, decoded by ``printf %b`` inside a fixed script), output comes
  back NUL-delimited or in fixed fields: spaces, newlines, leading dashes and non-UTF-8 bytes in names cannot change
  what runs or how output is parsed. Non-UTF-8 names appear as ``surrogateescape`` strings (like ``os.fsdecode``).
* **Writes never follow symbolic links.** ``write_*``, ``copy_from_local`` and ``make_directory`` refuse (with
  ``SandboxFilesystemError``) a path any of whose existing ancestor directories is a symlink, and a symlink at the
  target itself is replaced, never written through. So a link planted by sandboxed code (``/tmp/out -> /etc``)
  cannot redirect a write. Process-based writes (non-root sandboxes) then enter the parent directory, verify its
  physical path and write relative to it, so a later swap of an ancestor redirects nothing. Archive-based writes
  check immediately before the transfer; sandboxed code that swaps a directory for a link in the milliseconds
  between that check and the engine's extraction can still win that race, but only ever inside the
  sandbox's own filesystem: the engine resolves every path within the container root, never on the host, and a
  process-based write runs with exactly the rights the sandboxed code already has.
* Reads, ``stat`` (of ancestors), ``list_files`` and ``watch`` follow links in the path as ``open`` would; ``stat``
  and ``remove`` never follow a link at the final component.

``watch`` is polling-based (busybox has no inotify tool): the tree is snapshotted every ~0.2 s and differences are
reported (Create, Modify, Remove; a rename within the watched tree, recognised by inode, is ``Modify`` with
``[src, dst]``; a move into or out of it looks like Create or Remove). ``Access`` events are never reported, and
changes that cancel out within one poll interval are not seen.

Errors follow Modal (section 1.10 of the reference): a relative path raises ``InvalidError`` before any I/O; a
finished or removed sandbox raises ``NotFoundError("The Sandbox is unavailable. …")``; path failures raise the
``SandboxFilesystem*Error`` of Modal's table for that operation, with the message ``"<reason>: <path>"``.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import errno
import os
import posixpath
import random
import re
import stat as statmod
import string
import time
from collections.abc import AsyncIterator, Callable, Collection
from typing import TYPE_CHECKING, Any, Literal, NoReturn

from . import exception as exc
from ._engine import EngineAPI, get_engine
from ._engine import tar as archive
from ._engine.errors import ArchivePathError
from ._engine.values import PathStat
from .types import FileInfo, FileType, FileWatchEvent, FileWatchEventType, file_type_of_mode

if TYPE_CHECKING:
    from .sandbox import Sandbox

__all__ = ["FileInfo", "FileType", "FileWatchEvent", "FileWatchEventType", "SandboxFilesystem"]

UNAVAILABLE = "The Sandbox is unavailable. This Sandbox may have already shut down."
#: Transfer chunk size: large enough that per-chunk overhead vanishes, small enough to bound memory.
CHUNK = 1 << 20
#: Disk writes of one download that may run at once (each of about CHUNK bytes), once writes go to threads.
WRITES_IN_FLIGHT = 4
#: A download writes on the event loop until one write takes longer than this (seconds); then in worker threads.
SLOW_WRITE = 0.005
#: Seconds between two snapshots of a watched tree.
WATCH_POLL_INTERVAL = 0.2

Kind = Literal[
    "missing",
    "not_a_directory",
    "is_a_directory",
    "exists",
    "not_empty",
    "permission",
    "symlink",
    "read_only",
    "other",
]
Op = Literal["read", "write", "list", "mkdir", "remove", "stat", "watch"]


_TABLE: dict[Op, dict[Kind, type[exc.SandboxFilesystemError]]] = {
    "read": {
        "missing": exc.SandboxFilesystemNotFoundError,
        "is_a_directory": exc.SandboxFilesystemIsADirectoryError,
        "permission": exc.SandboxFilesystemPermissionError,
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

_REASONS: dict[Kind, str] = {
    "missing": "No such file or directory",
    "not_a_directory": "Not a directory",
    "is_a_directory": "Is a directory",
    "exists": "File exists",
    "not_empty": "Directory not empty",
    "permission": "Permission denied",
    "symlink": "Refusing to write through a symbolic link",
    "read_only": "Read-only file system",
    "other": "Operation failed",
}

# strerror texts (C locale) at the end of busybox/coreutils messages -> kind
_STRERROR: dict[str, Kind] = {
    "No such file or directory": "missing",
    "Not a directory": "not_a_directory",
    "Is a directory": "is_a_directory",
    "File exists": "exists",
    "Directory not empty": "not_empty",
    "Permission denied": "permission",
    "Operation not permitted": "permission",
    "Read-only file system": "read_only",
}
# exit codes the in-sandbox scripts use for failures they detect themselves
_EXIT_KINDS: dict[int, Kind] = {
    65: "missing",
    66: "not_a_directory",
    67: "is_a_directory",
    68: "exists",
    69: "not_empty",
    70: "permission",
    71: "symlink",
}
_RETRY_EXIT = 75  # the tree changed under a multi-file stat: run again
_ARCHIVE_OPERATIONS = frozenset(
    {
        "read_bytes",
        "read_text",
        "write_bytes",
        "write_text",
        "copy_to_local",
        "copy_from_local",
        "make_directory",
        "stat",
    }
)
#: Top-level directories that are mounted inside the sandbox only (the engine's archive API sees the image's).
_VIRTUAL_ROOTS = frozenset({b"proc", b"sys", b"dev"})


class _LocalError(Exception):
    """Internal: carries an exception of the caller's sink through the engine layer, which would otherwise
    translate an ``OSError`` into an engine error."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


class _LocalErrors:
    """Wraps a sink so that its exceptions travel as ``_LocalError``."""

    __slots__ = ("_sink",)

    def __init__(self, sink: Callable[[bytes], Any]) -> None:
        self._sink = sink

    async def __call__(self, chunk: bytes) -> None:
        try:
            await self._sink(chunk)
        except Exception as e:
            raise _LocalError(e) from e


class _Failure(Exception):
    """Internal: a path-level failure of ``kind``; translated per operation by ``_translate``."""

    def __init__(self, kind: Kind, reason: str | None = None) -> None:
        super().__init__(reason or _REASONS[kind])
        self.kind: Kind = kind
        self.reason = reason or _REASONS[kind]


def _check_path(operation: str, remote_path: Any) -> bytes:
    if not isinstance(remote_path, str) or not remote_path.startswith("/"):
        raise exc.InvalidError(f"Sandbox.filesystem.{operation}() currently only supports absolute remote_path values")
    if "\0" in remote_path:
        raise exc.InvalidError(f"Sandbox.filesystem.{operation}(): remote_path must not contain NUL characters")
    return remote_path.encode("utf-8", "surrogateescape")


def _norm(p: bytes) -> bytes:
    """Lexically normalised absolute path (``//``, ``.``, trailing ``/`` removed)."""
    out = posixpath.normpath(p)
    return b"/" + out.lstrip(b"/")


def _ancestors(p: bytes) -> list[bytes]:
    """``/a``, ``/a/b`` … for ``/a/b/c`` (the target and ``/`` excluded); ``p`` must be normalised."""
    parts = [c for c in p.split(b"/") if c]
    return [b"/" + b"/".join(parts[:i]) for i in range(1, len(parts))]


def _decode(p: bytes) -> str:
    return p.decode("utf-8", "surrogateescape")


def _arg(p: bytes) -> str:
    """Encode bytes as ASCII that ``printf %b`` turns back into the same bytes (no shell ever parses it)."""
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-"
    return "".join(chr(b) if b in safe else f"\\0{b:03o}" for b in p)


# ------------------------------------------------------------------------------------------- in-sandbox scripts
# Each script receives octal-escaped paths as arguments and never interpolates them into code.
_DEC = 'dec() { printf "%bx" "$1"; }\n'

_SH_READ = (
    _DEC
    + """p=$(dec "$1"); p=${p%x}
[ -d "$p" ] && exit 67
exec cat -- "$p"
"""
)

# $1 target, $2 "1" to create missing ancestors, $3... the ancestors, shallowest first.
# $1 the (normalised) target, $2 "1" to create missing ancestors. Walks the ancestors shallowest first, then
# enters the parent and checks that it physically is the expected directory: from there on the target is
# addressed relative to that directory, so swapping an ancestor for a link afterwards redirects nothing.
_SH_WALK = (
    _DEC
    + """t=$(dec "$1"); t=${t%x}; parents=$2
rest=${t#/}; a=""
while [ "$rest" != "${rest#*/}" ]; do
  a="$a/${rest%%/*}"; rest=${rest#*/}
  if [ -L "$a" ]; then exit 71; fi
  if [ -e "$a" ]; then [ -d "$a" ] || exit 66
  elif [ "$parents" = 1 ]; then mkdir -- "$a" || exit 1
  else exit 65
  fi
done
d=${t%/*}; [ -n "$d" ] || d=/
n="./${t##*/}"
cd -P -- "$d" || exit 1
here=$(pwd -P; printf x); here=${here%x}; here=${here%?}
[ "$here" = "$d" ] || exit 71
"""
)

_SH_WRITE = (
    _SH_WALK
    + """if [ -L "$n" ]; then rm -f -- "$n" || exit 1; fi
[ -d "$n" ] && exit 67
exec cat > "$n"
"""
)

_SH_MKDIR = (
    _SH_WALK
    + """if [ -L "$n" ] || [ -e "$n" ]; then
  if [ "$parents" = 1 ] && [ -d "$n" ]; then exit 0; fi
  exit 68
fi
exec mkdir -- "$n"
"""
)

_SH_REMOVE = (
    _DEC
    + """p=$(dec "$1"); p=${p%x}
if [ -d "$p" ] && ! [ -L "$p" ]; then
  if [ "$2" = 1 ]; then exec rm -r -- "$p"; fi
  exec rmdir -- "$p"
fi
exec rm -- "$p"
"""
)

_STAT_FMT = "%f %s %u %g %y"

_SH_STAT = (
    _DEC
    + f"""p=$(dec "$1"); p=${{p%x}}
stat -c '{_STAT_FMT}' -- "$p" || exit 1
if [ -L "$p" ]; then t=$(readlink -- "$p"; printf x); t=${{t%x}}; printf '%s' "${{t%?}}"; fi
"""
)

# Output per glob group: names NUL-terminated, an empty record, one stat line per name, then the raw target of
# each symlink (NUL-terminated), in name order.
_SH_LIST = (
    _DEC
    + f"""d=$(dec "$1"); d=${{d%x}}
cd -- "$d" || exit 1
[ -r . ] || exit 70
group() {{
  if [ "$#" = 1 ] && ! [ -e "$1" ] && ! [ -L "$1" ]; then return 0; fi
  printf '%s\\0' "$@"; printf '\\0'
  stat -c '{_STAT_FMT}' -- "$@" || exit 75
  for f; do
    if [ -L "$f" ]; then readlink -- "$f"; printf '\\0'; fi
  done
}}
group *
group .[!.]*
group ..?*
"""
)

# One snapshot: NUL-terminated paths on stdout, one "inode mode size mtime ctime" line per path on stderr.
_SH_SNAPSHOT = (
    _DEC
    + """p=$(dec "$1"); p=${p%x}
[ -e "$p" ] || [ -L "$p" ] || exec stat -c '' -- "$p"
if [ -d "$p" ] && ! [ -r "$p" ]; then exit 70; fi
depth="-maxdepth 1"
[ "$2" = 1 ] && depth=""
# Only stat's field lines reach stderr (via fd 3): find's and stat's own messages, which may quote hostile names,
# go to /dev/null; a path that vanished mid-way shows up as a count mismatch.
exec 3>&2 2>/dev/null
fmt="%i %f %s %y %z"
if [ "$3" = each ]; then
  # one stat per entry, and the name only when its stat succeeded: always aligned, but a process per entry
  exec find -H "$p" $depth -exec sh -c 'exec stat -c "$1" -- "$2" >&3' sh "$fmt" {} \\; -print0
fi
exec find -H "$p" $depth -print0 -exec sh -c 'f=$1; shift; exec stat -c "$f" -- "$@" >&3' sh "$fmt" {} +
"""
)


def _kind_from_stderr(stderr: bytes) -> tuple[Kind, str] | None:
    """Classify a failed tool by the strerror its message ends with (names come *before* it, so a hostile name
    cannot forge the suffix)."""
    text = stderr.decode("utf-8", "replace").rstrip("\n")
    for reason, kind in _STRERROR.items():
        if text.endswith(reason):
            return kind, reason
    return None


_TIME_RE = re.compile(rb"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? ([+-])(\d\d)(\d\d)")


def _parse_time(text: bytes) -> float:
    """busybox ``stat %y`` (``2026-11-26 03:12:36.123456789 +0000``) to epoch seconds."""
    m = _TIME_RE.search(text)
    if m is None:
        return 0.0
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    offset = (int(m.group(9)) * 3600 + int(m.group(10)) * 60) * (1 if m.group(8) == b"+" else -1)
    frac = m.group(7) or b"0"
    return float(secs - offset + int(frac) / 10 ** len(frac))


def _parse_stat_line(line: bytes) -> tuple[int, int, int, int, float]:
    """(st_mode, size, uid, gid, mtime) from one ``_STAT_FMT`` line."""
    fields = line.split(b" ", 4)
    if len(fields) != 5:
        raise _Failure("other", f"unexpected stat output {line[:80]!r}")
    return int(fields[0], 16), int(fields[1]), int(fields[2]), int(fields[3]), _parse_time(fields[4])


def _id_names(text: bytes) -> dict[int, str]:
    """uid/gid -> name from an /etc/passwd or /etc/group file (first entry wins)."""
    out: dict[int, str] = {}
    for line in text.split(b"\n"):
        parts = line.split(b":")
        if len(parts) >= 3 and parts[2].isdigit():
            out.setdefault(int(parts[2]), _decode(parts[0]))
    return out


def _temp_name() -> str:
    return ".modal-sandbox-fs-tmp-" + "".join(random.choices(string.ascii_letters + string.digits, k=6))


class SandboxFilesystem:
    """File operations on one sandbox (``sb.filesystem``). Every method takes an absolute ``remote_path``.

    See the module docstring for how operations reach the sandbox, and the guarantees on links and names.
    """

    __slots__ = ("_has_shell", "_ids", "_root", "_sb")

    _sb: Sandbox
    _root: bool | None
    _has_shell: bool | None
    _ids: dict[bytes, tuple[tuple[int, float, int], dict[int, str]]]

    def __init__(self) -> None:
        raise exc.InvalidError("SandboxFilesystem has no public constructor; use `sandbox.filesystem`.")

    #: Internal (used by ``file_io``): the absolute-path check of every operation.
    _check_path_for = staticmethod(_check_path)

    @classmethod
    def _new(cls, sb: Sandbox) -> SandboxFilesystem:
        obj = cls.__new__(cls)
        obj._sb = sb
        obj._root = None
        obj._has_shell = None
        obj._ids = {}
        return obj

    def __repr__(self) -> str:
        return f"SandboxFilesystem({self._sb.object_id})"

    # ------------------------------------------------------------------------------------------- plumbing

    async def _begin(self) -> tuple[EngineAPI, str, bool]:
        """(engine, container id, user-is-root) for a live sandbox; ``NotFoundError(UNAVAILABLE)`` otherwise."""
        cid = self._sb._container  # ClientClosed after detach
        try:
            code = await self._sb._refresh()
        except exc.NotFoundError:
            raise exc.NotFoundError(UNAVAILABLE) from None
        if code is not None:
            raise exc.NotFoundError(UNAVAILABLE)
        eng = await get_engine()
        if self._root is None:
            try:
                info = await eng.containers.inspect(cid)
            except exc.NotFoundError:
                raise exc.NotFoundError(UNAVAILABLE) from None
            self._root = info.runs_as_root
        return eng, cid, self._root

    async def _shell_available(self, eng: EngineAPI, cid: str) -> bool:
        if self._has_shell is None:
            try:
                await eng.archive.stat(cid, b"/bin/sh")
                self._has_shell = True
            except ArchivePathError:
                self._has_shell = False
        return self._has_shell

    async def _need_shell(self, eng: EngineAPI, cid: str, operation: str, *, reason: str = "") -> None:
        if await self._shell_available(eng, cid):
            return
        head = f"Sandbox.filesystem.{operation}() needs a process in the sandbox"
        if reason:
            why = f" {reason}"
        elif operation in _ARCHIVE_OPERATIONS:
            why = " because the sandbox does not run as root (file permissions are checked by its user)"
        else:
            why = ""
        raise exc.InvalidError(
            f"{head}{why}, and its image has no /bin/sh. Without a shell, read/write/copy/make_directory/stat "
            "work for sandboxes that run as root; list_files/remove/watch need one."
        )

    @contextlib.asynccontextmanager
    async def _translate(self, op: Op, remote_path: str) -> AsyncIterator[None]:
        """Map internal/engine failures to Modal's classes for ``op`` (see the module docstring)."""
        try:
            yield
        except _Failure as f:
            _raise_for(op, f.kind, f.reason, remote_path)
        except ArchivePathError as e:
            kind: Kind = "other" if e.kind == "other" else e.kind
            _raise_for(op, kind, _REASONS[kind] if kind != "other" else str(e), remote_path)
        except (exc.SandboxFilesystemError, exc.InvalidError, exc.ClientClosed) as e:
            if isinstance(e, exc.ConflictError):
                raise exc.NotFoundError(UNAVAILABLE) from None
            raise
        except (exc.NotFoundError, exc.ServiceError, exc.ConnectionError):
            raise exc.NotFoundError(UNAVAILABLE) from None
        except exc.Error as e:
            raise exc.SandboxFilesystemError(f"An unexpected error occurred: {e}") from e

    async def _run(
        self,
        script: str,
        args: list[str],
        *,
        stdin: Callable[[Any], Any] | None = None,
        on_stdout: Callable[[bytes], Any] | None = None,
    ) -> tuple[int, bytes, bytes]:
        """Run ``script`` under ``/bin/sh`` as the sandbox's user; returns (exit code, stdout, stderr).

        With ``on_stdout`` stdout is streamed to it chunk by chunk instead of collected; with ``stdin`` the
        coroutine function ``stdin(process_stdin)`` feeds the process and the pipe is then half-closed.
        """
        p = await self._sb.exec("sh", "-c", script, "sh", *args, text=False, env={"LC_ALL": "C"})
        out = bytearray()
        sink_error: list[BaseException] = []

        async def pump_out() -> None:
            async for chunk in p.stdout:
                if sink_error:
                    continue  # keep draining so that the process (and its stderr) can finish
                if on_stdout is None:
                    out.extend(chunk)
                else:
                    try:
                        await on_stdout(chunk)
                    except Exception as e:
                        sink_error.append(e)

        async def feed() -> None:
            try:
                if stdin is not None:
                    await stdin(p.stdin)
            finally:
                p.stdin.write_eof()
                with contextlib.suppress(Exception):
                    await p.stdin.drain()

        feeder = asyncio.ensure_future(feed())
        try:
            results: list[Any] = list(await asyncio.gather(pump_out(), p.stderr.read(), return_exceptions=True))
            code = await p.wait()
            if not feeder.done():
                # The process ended without reading all its input (it failed early): stop sending it.
                feeder.cancel()
            fed = (await asyncio.gather(feeder, return_exceptions=True))[0]
            if not isinstance(fed, asyncio.CancelledError):
                results.append(fed)
        except BaseException:
            feeder.cancel()
            _spawn_cleanup(p)
            raise
        for r in [*sink_error, *results]:
            if isinstance(r, BaseException):
                raise r
        err = results[1]
        assert isinstance(err, bytes)
        return code, bytes(out), err

    @staticmethod
    def _check_exit(code: int, stderr: bytes, what: str) -> None:
        if code == 0:
            return
        kind = _EXIT_KINDS.get(code)
        if kind is not None:
            raise _Failure(kind)
        found = _kind_from_stderr(stderr)
        if found is not None:
            raise _Failure(found[0], found[1])
        if code in (126, 127):
            raise _Failure("other", f"{what} failed: a tool it needs is missing from the sandbox image (exit {code})")
        detail = stderr.decode("utf-8", "replace").strip().splitlines()
        raise _Failure("other", f"{what} failed with exit code {code}" + (f": {detail[-1]}" if detail else ""))

    async def _id_maps(self, eng: EngineAPI, cid: str) -> tuple[dict[int, str], dict[int, str]]:
        """uid -> user and gid -> group names from the sandbox's /etc/passwd and /etc/group, re-read only when a
        (fast) HEAD shows that a file changed."""

        async def grab(path: bytes) -> dict[int, str]:
            try:
                st = await eng.archive.stat(cid, path)
            except ArchivePathError:
                return {}
            key = (st.size, st.mtime, st.mode)
            cached = self._ids.get(path)
            if cached is not None and cached[0] == key:
                return cached[1]
            try:
                async with eng.archive.get(cid, path) as dl:
                    member = await dl.tar.next_member()
                    names = {}
                    if member is not None and member.is_file and member.size <= (8 << 20):
                        names = _id_names(await dl.tar.read_all())
            except ArchivePathError:
                return {}
            self._ids[path] = (key, names)
            return names

        users, groups = await asyncio.gather(grab(b"/etc/passwd"), grab(b"/etc/group"))
        return users, groups

    # ------------------------------------------------------------------------------------------------ reads

    async def read_bytes(self, remote_path: str) -> bytes:
        """The whole content of the file ``remote_path`` (links followed).

        Raises ``SandboxFilesystemNotFoundError`` (missing), ``…IsADirectoryError``, ``…PermissionError`` (the
        sandbox's user may not read it), ``SandboxFilesystemError`` otherwise.
        """
        return await self._read("read_bytes", remote_path)

    async def read_text(self, remote_path: str) -> str:
        """The file decoded as strict UTF-8 (``UnicodeDecodeError`` if it is not). Errors as ``read_bytes``."""
        return (await self._read("read_text", remote_path)).decode("utf-8")

    async def _read(self, operation: str, remote_path: str) -> bytes:
        path = _check_path(operation, remote_path)
        chunks: list[bytes] = []

        async def sink(chunk: bytes) -> None:
            chunks.append(chunk)

        await self._download(operation, remote_path, path, sink, whole=chunks)
        return b"".join(chunks)

    async def _download(
        self,
        operation: str,
        remote_path: str,
        path: bytes,
        sink: Callable[[bytes], Any],
        *,
        whole: list[bytes] | None = None,
    ) -> None:
        """Stream the file's data into ``sink``; an exception raised by ``sink`` (e.g. a local disk error)
        propagates as is."""
        try:
            await self._download_into(operation, remote_path, path, _LocalErrors(sink), whole)
        except _LocalError as e:
            raise e.error from None

    async def _download_into(
        self,
        operation: str,
        remote_path: str,
        path: bytes,
        sink: Callable[[bytes], Any],
        whole: list[bytes] | None,
    ) -> None:
        eng, cid, root = await self._begin()
        async with self._translate("read", remote_path):
            if not root:
                await self._need_shell(eng, cid, operation)
                code, _, err = await self._run(_SH_READ, [_arg(path)], on_stdout=sink)
                self._check_exit(code, err, "read")
                return
            target = path
            if _norm(path).split(b"/")[1] in _VIRTUAL_ROOTS and await self._shell_available(eng, cid):
                # /proc, /sys and /dev are mounted inside the sandbox only: the engine cannot see them.
                code, _, err = await self._run(_SH_READ, [_arg(path)], on_stdout=sink)
                self._check_exit(code, err, "read")
                return
            for _ in range(40):  # symlink hops, resolved by the engine inside the container root
                async with eng.archive.get(cid, target) as dl:
                    member = await dl.tar.next_member()
                    if member is None:
                        # The engine omits members whose names are not UTF-8: read those through a process.
                        await self._need_shell(eng, cid, operation, reason="to read a file whose name is not UTF-8")
                        code, _, err = await self._run(_SH_READ, [_arg(target)], on_stdout=sink)
                        self._check_exit(code, err, "read")
                        return
                    if member.is_symlink:
                        if not dl.stat.link_target:
                            raise _Failure("missing")
                        target = dl.stat.link_target.encode("utf-8", "surrogateescape")
                        continue
                    if member.is_dir:
                        raise _Failure("is_a_directory")
                    if whole is not None and member.size <= 64 * CHUNK:
                        whole.append(await dl.tar.read_all())
                    else:
                        while chunk := await dl.tar.read(CHUNK):
                            await sink(chunk)
                    await dl.tar.finish()
                    return
            raise _Failure("other", "Too many levels of symbolic links")

    async def copy_to_local(self, remote_path: str, local_path: str | os.PathLike[str]) -> None:
        """Download ``remote_path`` to ``local_path`` atomically: the data streams into a temporary file next to
        it (``.modal-sandbox-fs-tmp-XXXXXX``), renamed over ``local_path`` only when complete. On any failure the
        temporary file is removed and an existing ``local_path`` is untouched.

        Creates local parent directories. ``IsADirectoryError`` if ``local_path`` is a directory; remote errors as
        ``read_bytes``.
        """
        path = _check_path("copy_to_local", remote_path)
        local = os.fspath(local_path)
        parent = os.path.dirname(os.path.abspath(local))  # noqa: ASYNC240 - no I/O
        os.makedirs(parent, exist_ok=True)
        if os.path.isdir(local):  # noqa: ASYNC240 - one local stat
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), local)
        tmp = ""
        fd = -1
        for _ in range(100):
            tmp = os.path.join(parent, _temp_name())
            try:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                break
            except FileExistsError:
                continue
        if fd < 0:
            raise FileExistsError(errno.EEXIST, "could not create a temporary file", parent)
        try:
            loop = asyncio.get_running_loop()
            pending: list[bytes] = []
            pending_size = 0
            offset = 0
            # Writes into the page cache take well under a millisecond per chunk, so they run right here: handing
            # them to threads cost 0.6 s of CPU and ~20 % of the rate per GiB on 2 vCPUs (the copies compete with the
            # engine's tar writer). The first write slower than SLOW_WRITE (a throttled disk, a network filesystem)
            # moves the rest to worker threads, up to WRITES_IN_FLIGHT positioned writes at once, so that the event
            # loop is never held up by the disk for long.
            writing: list[asyncio.Future[None]] = []
            inline = True

            async def flush() -> None:
                nonlocal pending, pending_size, offset, inline
                if inline:
                    started = time.perf_counter()
                    _write_all(fd, pending, offset)
                    inline = time.perf_counter() - started <= SLOW_WRITE
                else:
                    if len(writing) >= WRITES_IN_FLIGHT:
                        await writing.pop(0)
                    writing.append(loop.run_in_executor(None, _write_all, fd, pending, offset))
                offset += pending_size
                pending, pending_size = [], 0

            async def sink(chunk: bytes) -> None:
                nonlocal pending_size
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= CHUNK:
                    await flush()

            try:
                await self._download("copy_to_local", remote_path, path, sink)
                if pending:
                    await flush()
            finally:
                results = await asyncio.gather(*writing, return_exceptions=True)
            for r in results:
                if isinstance(r, BaseException):
                    raise r
            os.close(fd)
            fd = -1
            os.replace(tmp, local)
            tmp = ""
        finally:
            if fd >= 0:
                os.close(fd)
            if tmp:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    # ----------------------------------------------------------------------------------------------- writes

    async def write_bytes(self, data: bytes | bytearray | memoryview, remote_path: str) -> None:
        """Write ``data`` to ``remote_path``, creating parent directories and replacing an existing file.

        Raises ``TypeError("data must be bytes-like")``; ``SandboxFilesystemNotADirectoryError`` (an ancestor is a
        file), ``…IsADirectoryError`` (the target is a directory), ``…PermissionError``, ``SandboxFilesystemError``
        (an ancestor is a symlink: writes never follow links).
        """
        path = _check_path("write_bytes", remote_path)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("data must be bytes-like")
        view = memoryview(data).cast("B")

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(view), CHUNK):
                yield bytes(view[i : i + CHUNK])

        await self._upload("write_bytes", remote_path, path, len(view), chunks)

    async def write_text(self, data: str, remote_path: str) -> None:
        """Write ``data`` encoded as UTF-8 (``TypeError("data must be str")`` otherwise). As ``write_bytes``."""
        _check_path("write_text", remote_path)
        if not isinstance(data, str):
            raise TypeError("data must be str")
        await self.write_bytes(data.encode("utf-8"), remote_path)

    async def copy_from_local(self, local_path: str | os.PathLike[str], remote_path: str) -> None:
        """Upload the local file ``local_path`` to ``remote_path``, streamed. The local file is opened first, so
        ``FileNotFoundError``/``IsADirectoryError``/``PermissionError`` come from it natively; remote errors as
        ``write_bytes``."""
        path = _check_path("copy_from_local", remote_path)
        with open(local_path, "rb") as f:  # noqa: ASYNC230 - the open itself must raise natively, first
            size = os.fstat(f.fileno()).st_size
            loop = asyncio.get_running_loop()

            async def chunks() -> AsyncIterator[bytes]:
                # Read-ahead of one chunk in a worker thread while the previous one is being sent.
                left = size
                ahead = loop.run_in_executor(None, f.read, min(CHUNK, left)) if left else None
                try:
                    while ahead is not None:
                        chunk = await ahead
                        ahead = None
                        if not chunk:
                            raise exc.SandboxFilesystemError(
                                f"local file {os.fspath(local_path)!r} shrank while it was being uploaded"
                            )
                        left -= len(chunk)
                        if left > 0:
                            ahead = loop.run_in_executor(None, f.read, min(CHUNK, left))
                        yield chunk
                finally:
                    if ahead is not None:
                        await asyncio.gather(ahead, return_exceptions=True)

            await self._upload("copy_from_local", remote_path, path, size, chunks)

    async def _upload(
        self,
        operation: str,
        remote_path: str,
        path: bytes,
        size: int,
        chunks: Callable[[], AsyncIterator[bytes]],
    ) -> None:
        """Stream ``size`` bytes from ``chunks()`` to ``path``; an exception raised by the source (e.g. a local read
        error) propagates as is, whatever the transport makes of the aborted request."""
        source_error: list[Exception] = []

        async def source() -> AsyncIterator[bytes]:
            try:
                async for chunk in chunks():
                    yield chunk
            except Exception as e:
                source_error.append(e)
                raise _LocalError(e) from e

        try:
            await self._upload_from(operation, remote_path, path, size, source)
        except Exception as e:
            if source_error:
                raise source_error[0] from None
            if isinstance(e, _LocalError):
                raise e.error from None
            raise

    async def _upload_from(
        self,
        operation: str,
        remote_path: str,
        path: bytes,
        size: int,
        chunks: Callable[[], AsyncIterator[bytes]],
    ) -> None:
        eng, cid, root = await self._begin()
        target = _norm(path)
        async with self._translate("write", remote_path):
            if target == b"/":
                raise _Failure("is_a_directory")
            ancestors = _ancestors(target)
            if not root:
                await self._need_shell(eng, cid, operation)

                async def feed(stdin: Any) -> None:
                    async for chunk in chunks():
                        stdin.write(chunk)
                        await stdin.drain()

                code, _, err = await self._run(_SH_WRITE, [_arg(target), "1"], stdin=feed)
                self._check_exit(code, err, "write")
                return
            existing_dir, _, st = await self._probe_ancestors(eng, cid, ancestors, target)
            mode, uid, gid = 0o644, 0, 0
            if st is not None and st.is_dir:
                raise _Failure("is_a_directory")
            if st is not None and statmod.S_ISREG(st.mode):
                # Overwriting keeps the file's owner and mode (as open(O_TRUNC) would); only its header has them.
                current = await self._lstat_member(eng, cid, target)
                if current is not None and current.is_file:
                    mode, uid, gid = current.mode, current.uid, current.gid
            rel = target[len(existing_dir) :].lstrip(b"/")
            header = archive.tar_header(rel, size=size, mode=mode, uid=uid, gid=gid, mtime=_now())

            async def body() -> AsyncIterator[bytes]:
                yield header
                sent = 0
                async for chunk in chunks():
                    sent += len(chunk)
                    yield chunk
                if sent != size:
                    raise exc.SandboxFilesystemError(f"upload of {remote_path!r}: sent {sent} of {size} bytes")
                yield archive.tar_padding(size) + archive.TAR_END

            await eng.archive.put(cid, existing_dir, body())

    async def _probe_ancestors(
        self, eng: EngineAPI, cid: str, ancestors: list[bytes], target: bytes
    ) -> tuple[bytes, list[bytes], PathStat | None]:
        """(deepest existing ancestor directory, the paths still to create, the target's stat or None when it is
        missing), from one round of concurrent HEAD requests. Raises ``_Failure`` for an ancestor that is a symlink
        (``symlink``) or not a directory (``not_a_directory``)."""
        results = await asyncio.gather(
            *(eng.archive.stat(cid, a) for a in [*ancestors, target]), return_exceptions=True
        )
        deepest = b"/"
        for i, (a, r) in enumerate(zip(ancestors, results, strict=False)):
            if isinstance(r, ArchivePathError):
                if r.kind == "missing":
                    return deepest, [*ancestors[i:], target], None
                raise _Failure("not_a_directory")
            if isinstance(r, BaseException):
                raise r
            if r.is_symlink:
                raise _Failure("symlink", f"Refusing to write through the symbolic link {_decode(a)!r}")
            if not r.is_dir:
                raise _Failure("not_a_directory")
            deepest = a
        last = results[-1]
        if isinstance(last, ArchivePathError):
            if last.kind == "missing":
                return deepest, [target], None
            raise last
        if isinstance(last, BaseException):
            raise last
        return deepest, [], last

    async def _lstat_member(self, eng: EngineAPI, cid: str, path: bytes) -> archive.TarMember | None:
        """The tar header the engine gives for ``path`` itself (no link followed), or None when it is missing."""
        try:
            async with eng.archive.get(cid, path) as dl:
                return await dl.tar.next_member()
        except ArchivePathError as e:
            if e.kind == "missing":
                return None
            raise

    async def make_directory(self, remote_path: str, *, create_parents: bool = True) -> None:
        """Create the directory ``remote_path``.

        ``create_parents=True`` behaves as ``mkdir -p`` (no error if it already is a directory). Raises
        ``SandboxFilesystemPathAlreadyExistsError`` (the path exists as a file, or as a directory without
        ``create_parents``), ``…NotFoundError`` (missing parent without ``create_parents``),
        ``…NotADirectoryError`` (an ancestor is a file), ``…PermissionError``; ``SandboxFilesystemError`` when an
        ancestor is a symlink.
        """
        path = _check_path("make_directory", remote_path)
        eng, cid, root = await self._begin()
        target = _norm(path)
        async with self._translate("mkdir", remote_path):
            ancestors = _ancestors(target)
            if not root:
                await self._need_shell(eng, cid, "make_directory")
                code, _, err = await self._run(_SH_MKDIR, [_arg(target), "1" if create_parents else "0"])
                self._check_exit(code, err, "make_directory")
                return
            if target == b"/":
                if create_parents:
                    return
                raise _Failure("exists")
            existing_dir, missing, st = await self._probe_ancestors(eng, cid, ancestors, target)
            if st is not None:
                if st.is_symlink and create_parents and st.link_target:
                    with contextlib.suppress(ArchivePathError):
                        st = await eng.archive.stat(cid, st.link_target.encode("utf-8", "surrogateescape"))
                if st.is_dir and create_parents:
                    return
                raise _Failure("exists")
            if len(missing) > 1 and not create_parents:
                raise _Failure("missing")
            now = _now()
            header = b"".join(
                archive.tar_header(m[len(existing_dir) :].lstrip(b"/"), mode=0o755, mtime=now, directory=True)
                for m in missing
            )

            async def body() -> AsyncIterator[bytes]:
                yield header + archive.TAR_END

            await eng.archive.put(cid, existing_dir, body())

    # --------------------------------------------------------------------------------------- metadata, lists

    async def stat(self, remote_path: str) -> FileInfo:
        """Metadata of ``remote_path`` itself (``lstat``: a symlink describes itself, even dangling).

        ``name`` is the last component, ``path`` the given string. Raises ``SandboxFilesystemNotFoundError``,
        ``…NotADirectoryError`` (an ancestor is a file), ``…PermissionError``.
        """
        path = _check_path("stat", remote_path)
        eng, cid, root = await self._begin()
        name = posixpath.basename(remote_path.rstrip("/"))
        target = _norm(path)
        async with self._translate("stat", remote_path):
            if not root:
                await self._need_shell(eng, cid, "stat")
                (code, out, err), (users, groups) = await asyncio.gather(
                    self._run(_SH_STAT, [_arg(target)]), self._id_maps(eng, cid)
                )
                self._check_exit(code, err, "stat")
                line, _, link = out.partition(b"\n")
                mode, size, uid, gid, mtime = _parse_stat_line(line)
                return _info(name, remote_path, mode, size, uid, gid, mtime, link, users, groups)

            async def head() -> tuple[PathStat, archive.TarMember | None]:
                async with eng.archive.get(cid, target) as dl:
                    return dl.stat, await dl.tar.next_member()

            (st, member), (users, groups) = await asyncio.gather(head(), self._id_maps(eng, cid))
            if member is None:
                # The engine omits members whose names are not UTF-8: owner and link text need a process.
                await self._need_shell(eng, cid, "stat", reason="for a name that is not UTF-8")
                code, out, err = await self._run(_SH_STAT, [_arg(target)])
                self._check_exit(code, err, "stat")
                line, _, link = out.partition(b"\n")
                mode, size, uid, gid, mtime = _parse_stat_line(line)
                return _info(name, remote_path, mode, size, uid, gid, mtime, link, users, groups)
            uid = member.uid if member is not None else 0
            gid = member.gid if member is not None else 0
            link = member.linkname if member is not None and st.is_symlink else b""
            return _info(name, remote_path, st.mode, st.size, uid, gid, st.mtime, link, users, groups)

    async def list_files(self, remote_path: str) -> list[FileInfo]:
        """The entries of directory ``remote_path`` (not recursive), sorted by name, each described by ``lstat``;
        ``entry.path`` is ``remote_path`` joined with the name. A symlink to a directory is followed.

        Raises ``SandboxFilesystemNotFoundError``, ``…NotADirectoryError`` (a file, or an ancestor is one),
        ``…PermissionError``. Needs ``/bin/sh`` in the image.
        """
        path = _check_path("list_files", remote_path)
        eng, cid, _ = await self._begin()
        async with self._translate("list", remote_path):
            await self._need_shell(eng, cid, "list_files")
            for _attempt in range(5):
                (code, out, err), (users, groups) = await asyncio.gather(
                    self._run(_SH_LIST, [_arg(path)]), self._id_maps(eng, cid)
                )
                if code == _RETRY_EXIT:
                    continue
                self._check_exit(code, err, "list_files")
                entries = _parse_listing(out)
                infos = [
                    _info(
                        _decode(n),
                        posixpath.normpath(posixpath.join(remote_path, _decode(n))),
                        mode,
                        size,
                        uid,
                        gid,
                        mtime,
                        link or b"",
                        users,
                        groups,
                    )
                    for n, (mode, size, uid, gid, mtime), link in entries
                ]
                infos.sort(key=lambda i: i.name.encode("utf-8", "surrogateescape"))
                return infos
            raise _Failure("other", "the directory kept changing while it was listed")

    async def remove(self, remote_path: str, *, recursive: bool = False) -> None:
        """Remove a file, symlink (never followed) or empty directory; a non-empty directory only with
        ``recursive=True``.

        Raises ``SandboxFilesystemNotFoundError``, ``…DirectoryNotEmptyError``, ``…PermissionError``. Needs
        ``/bin/sh`` in the image.
        """
        path = _check_path("remove", remote_path)
        eng, cid, _ = await self._begin()
        target = _norm(path)
        async with self._translate("remove", remote_path):
            if target == b"/":
                raise _Failure("permission", "Refusing to remove the root directory")
            await self._need_shell(eng, cid, "remove")
            code, _, err = await self._run(_SH_REMOVE, [_arg(target), "1" if recursive else "0"])
            self._check_exit(code, err, "remove")

    # ------------------------------------------------------------------------------------------------ watch

    async def watch(
        self,
        remote_path: str,
        *,
        filter: list[FileWatchEventType] | None = None,
        recursive: bool = False,
        timeout: int | None = None,
    ) -> AsyncIterator[FileWatchEvent]:
        """Yield changes under ``remote_path`` (a file, or a directory's entries; all descendants with
        ``recursive=True``) until ``timeout`` seconds pass (then it ends without raising), the iterator is
        closed (``break``), or the sandbox ends.

        ``filter=None`` passes everything, ``filter=[]`` nothing. Renames are ``Modify`` events with
        ``[src, dst]``. Raises ``SandboxFilesystemNotFoundError``/``…PermissionError`` at the start. Needs
        ``/bin/sh`` in the image; see the module docstring for the polling approximation.
        """
        async for event in self._watch(remote_path, filter=filter, recursive=recursive, timeout=timeout):
            yield event

    async def _watch(
        self,
        remote_path: str,
        *,
        filter: Collection[FileWatchEventType] | None,
        recursive: bool,
        timeout: float | None,
        ready: asyncio.Event | None = None,
    ) -> AsyncIterator[FileWatchEvent]:
        path = _check_path("watch", remote_path)
        if filter is not None:
            filter = list(filter)
            for f in filter:
                if not isinstance(f, FileWatchEventType):
                    raise exc.InvalidError(f"filter must contain FileWatchEventType values, got {f!r}")
        if timeout is not None and timeout <= 0:
            return
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        eng, cid, _ = await self._begin()
        target = _norm(path)
        async with self._translate("watch", remote_path):
            await self._need_shell(eng, cid, "watch")
            previous = None
            for _ in range(20):
                previous = await self._snapshot(target, recursive)
                if previous is not None:
                    break
            if previous is None:
                raise _Failure("other", "the watched tree kept changing while it was read")
        if ready is not None:
            ready.set()
        allowed = None if filter is None else set(filter)
        while True:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return
            await asyncio.sleep(WATCH_POLL_INTERVAL if remaining is None else min(WATCH_POLL_INTERVAL, remaining))
            if allowed is not None and not allowed:
                continue  # filter=[]: nothing can pass, but the watch still lasts until timeout/close
            try:
                current = await self._snapshot(target, recursive)
            except (exc.NotFoundError, exc.ClientClosed):
                return  # the sandbox ended
            except _Failure as f:
                if f.kind != "missing":
                    continue
                current = {}
            if current is None:
                continue  # inconsistent snapshot (the tree changed during it): try again
            for event in _diff(previous, current, target):
                if allowed is None or event.type in allowed:
                    yield event
            previous = current
            if not current:
                return  # the watched path itself is gone

    async def _snapshot(self, target: bytes, recursive: bool) -> dict[bytes, tuple[int, int, int, float, bytes]] | None:
        """path -> (inode, st_mode, size, mtime, ctime text) of the watched tree, or None if it changed mid-way."""
        for mode_arg in ("batch", "each"):
            # "batch" stats many entries per process; when an entry vanished or cannot be stat'ed, names and
            # lines no longer align, and the one-process-per-entry form ("each") is used for this snapshot.
            try:
                code, out, err = await self._run(_SH_SNAPSHOT, [_arg(target), "1" if recursive else "0", mode_arg])
            except exc.SandboxFilesystemError:
                raise
            except exc.Error:
                raise exc.NotFoundError(UNAVAILABLE) from None
            if code != 0 and not out:
                self._check_exit(code, err, "watch")
            snap = _parse_snapshot(out, err)
            if snap is not None:
                return snap
        return None


def _parse_snapshot(out: bytes, err: bytes) -> dict[bytes, tuple[int, int, int, float, bytes]] | None:
    """Pair the NUL-terminated names with the stat lines; None when they do not align."""
    names = out.split(b"\0")[:-1]
    lines = err.split(b"\n")[:-1]
    if len(lines) != len(names):
        return None
    snap: dict[bytes, tuple[int, int, int, float, bytes]] = {}
    for name, line in zip(names, lines, strict=True):
        fields = line.split(b" ", 3)
        try:
            ino, mode, size, times = int(fields[0]), int(fields[1], 16), int(fields[2]), fields[3]
        except (ValueError, IndexError):
            return None
        snap[_norm(name)] = (ino, mode, size, _parse_time(times), times)
    return snap


def _diff(
    old: dict[bytes, tuple[int, int, int, float, bytes]],
    new: dict[bytes, tuple[int, int, int, float, bytes]],
    root: bytes,
) -> list[FileWatchEvent]:
    """Events turning snapshot ``old`` into ``new``; a path gone and another appeared with its inode is a rename."""
    events: list[FileWatchEvent] = []
    gone = [p for p in old if p not in new]
    born = [p for p in new if p not in old]
    by_inode: dict[int, list[bytes]] = {}
    for p in gone:
        by_inode.setdefault(old[p][0], []).append(p)
    renamed_from: set[bytes] = set()
    creates: list[bytes] = []
    for p in sorted(born):
        candidates = by_inode.get(new[p][0], [])
        if len(candidates) == 1 and candidates[0] not in renamed_from:
            src = candidates[0]
            renamed_from.add(src)
            events.append(FileWatchEvent(paths=[_decode(src), _decode(p)], type=FileWatchEventType.Modify))
        else:
            creates.append(p)
    for p in creates:
        events.append(FileWatchEvent(paths=[_decode(p)], type=FileWatchEventType.Create))
    for p in sorted(new):
        if p in old:
            o, n = old[p], new[p]
            if statmod.S_ISDIR(n[1]) and statmod.S_ISDIR(o[1]):
                continue  # a directory's own mtime changes whenever an entry changes: not reported (as Modal)
            if o[0] != n[0] or o[2] != n[2] or o[3] != n[3] or o[4] != n[4] or o[1] != n[1]:
                events.append(FileWatchEvent(paths=[_decode(p)], type=FileWatchEventType.Modify))
    for p in sorted(gone):
        if p not in renamed_from:
            events.append(FileWatchEvent(paths=[_decode(p)], type=FileWatchEventType.Remove))
    del root
    return events


def _parse_listing(out: bytes) -> list[tuple[bytes, tuple[int, int, int, int, float], bytes | None]]:
    """Parse ``_SH_LIST`` output into (name, stat fields, symlink target or None)."""
    entries: list[tuple[bytes, tuple[int, int, int, int, float], bytes | None]] = []
    pos = 0
    while pos < len(out):
        names: list[bytes] = []
        while True:
            end = out.index(b"\0", pos)
            record = out[pos:end]
            pos = end + 1
            if not record:
                break
            names.append(record)
        stats = []
        for _ in names:
            end = out.index(b"\n", pos)
            stats.append(_parse_stat_line(out[pos:end]))
            pos = end + 1
        for name, st in zip(names, stats, strict=True):
            link: bytes | None = None
            if statmod.S_ISLNK(st[0]):
                end = out.index(b"\0", pos)
                link = out[pos:end].removesuffix(b"\n")  # readlink's own newline (the text may hold others)
                pos = end + 1
            entries.append((name, st, link))
    return entries


def _info(
    name: str,
    path: str,
    mode: int,
    size: int,
    uid: int,
    gid: int,
    mtime: float,
    link: bytes,
    users: dict[int, str],
    groups: dict[int, str],
) -> FileInfo:
    is_link = statmod.S_ISLNK(mode)
    return FileInfo(
        name=name,
        path=path,
        type=file_type_of_mode(mode),
        size=size,
        mode=mode,
        permissions=f"{statmod.S_IMODE(mode):04o}",
        owner=users.get(uid, str(uid)),
        group=groups.get(gid, str(gid)),
        modified_time=mtime,
        symlink_target=_decode(link) if is_link else None,
    )


def _raise_for(op: Op, kind: Kind, reason: str, remote_path: str) -> NoReturn:
    cls = _TABLE[op].get(kind)
    if cls is None:
        raise exc.SandboxFilesystemError(f"{reason}: {remote_path}")
    raise cls(f"{reason}: {remote_path}")


_cleanups: set[asyncio.Task[None]] = set()


def _spawn_cleanup(p: Any) -> None:
    """After an abandoned ``_run`` (cancelled, e.g. a ``break`` out of ``watch``): close the process's stdin and
    let its output drain in the background, so it ends and releases its engine connection."""

    async def finish() -> None:
        with contextlib.suppress(Exception):
            p.stdin.write_eof()
            await p.stdin.drain()
        with contextlib.suppress(Exception):
            await p.wait()

    task = asyncio.get_running_loop().create_task(finish())
    _cleanups.add(task)
    task.add_done_callback(_cleanups.discard)


def _write_all(fd: int, chunks: list[bytes], offset: int) -> None:
    """Write ``chunks`` at ``offset`` with as few system calls as possible (``pwritev``, no joining copy)."""
    views = [memoryview(c) for c in chunks if c]
    while views:
        n = os.pwritev(fd, views[:1024], offset)
        offset += n
        while n and views:
            if n >= len(views[0]):
                n -= len(views[0])
                views.pop(0)
            else:
                views[0] = views[0][n:]
                n = 0


def _now() -> float:
    return time.time()
