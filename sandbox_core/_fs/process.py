"""The process transport: file operations as short processes in the sandbox, as its user, under ``/bin/sh``.

Used where the archive API cannot serve (listing, removing, watching; sandboxes not running as root, whose file
permissions must hold; paths only the sandbox sees). Data streams through the exec's stdin/stdout with bounded
memory. An overwrite truncates the file in place.

What runs inside the sandbox cannot be steered by a name: paths travel only as ``argv`` (octal-escaped ASCII,
decoded by ``printf %b`` inside a fixed script), output comes back NUL-delimited or in fixed fields, so spaces,
newlines, leading dashes and non-UTF-8 bytes in names change neither what runs nor how output is parsed. Writes
walk the ancestors refusing symlinks, enter the parent directory, verify its physical path and write relative to
it, so a later swap of an ancestor redirects nothing.
"""

from __future__ import annotations

import asyncio
import calendar
import contextlib
import re
import stat as statmod
from collections.abc import Callable
from typing import Any

from .._tasks import TaskSet
from ..process import ContainerProcess, start_exec
from ..streams import StreamWriter
from .base import Chunks, Entry, Failure, Kind, Sink, Snapshot, norm
from .limits import max_read_bytes, too_large


def argv_path(p: bytes) -> str:
    """Encode bytes as ASCII that ``printf %b`` turns back into the same bytes (no shell ever parses it)."""
    safe = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-"
    return "".join(chr(b) if b in safe else f"\\0{b:03o}" for b in p)


# ------------------------------------------------------------------------------------------- in-sandbox scripts
# Each script receives octal-escaped paths as arguments and never interpolates them into code.
_DEC = 'dec() { printf "%bx" "$1"; }\n'

SH_READ = (
    _DEC
    + """p=$(dec "$1"); p=${p%x}
[ -d "$p" ] && exit 67
[ -e "$p" ] && [ ! -f "$p" ] && exit 72
s=$(stat -L -c %s -- "$p" 2>/dev/null) && [ "$s" -gt "$2" ] 2>/dev/null && { printf %s "$s" >&2; exit 73; }
exec cat -- "$p"
"""
)

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

SH_WRITE = (
    _SH_WALK
    + """if [ -L "$n" ]; then rm -f -- "$n" || exit 1; fi
[ -d "$n" ] && exit 67
exec 3>"$n" || exit 1
printf R
exec cat >&3
"""
)

SH_MKDIR = (
    _SH_WALK
    + """if [ -L "$n" ] || [ -e "$n" ]; then
  if [ "$parents" = 1 ] && [ -d "$n" ]; then exit 0; fi
  exit 68
fi
exec mkdir -- "$n"
"""
)

SH_REMOVE = (
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

SH_STAT = (
    _DEC
    + f"""p=$(dec "$1"); p=${{p%x}}
stat -c '{_STAT_FMT}' -- "$p" || exit 1
if [ -L "$p" ]; then t=$(readlink -- "$p"; printf x); t=${{t%x}}; printf '%s' "${{t%?}}"; fi
"""
)

# Output per glob group: names NUL-terminated, an empty record, one stat line per name, then the raw target of
# each symlink (NUL-terminated), in name order.
SH_LIST = (
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
SH_SNAPSHOT = (
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
    72: "not_regular",
}
_TOO_LARGE_EXIT = 73  # the read's file is over the limit (its size on stderr)
_RETRY_EXIT = 75  # the tree changed under a multi-file stat: run again
_TIME_RE = re.compile(rb"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))? ([+-])(\d\d)(\d\d)")


def check_exit(code: int, stderr: bytes, what: str) -> None:
    """Raise the ``Failure`` a script's exit code (or, failing that, its tool's strerror) stands for."""
    if code == 0:
        return
    kind = _EXIT_KINDS.get(code)
    if kind is not None:
        raise Failure(kind)
    # Names come *before* the strerror in a tool's message, so a hostile name cannot forge the suffix.
    text = stderr.decode("utf-8", "replace").rstrip("\n")
    for reason, found in _STRERROR.items():
        if text.endswith(reason):
            raise Failure(found, reason)
    if code in (126, 127):
        raise Failure("other", f"{what} failed: a tool it needs is missing from the sandbox image (exit {code})")
    detail = stderr.decode("utf-8", "replace").strip().splitlines()
    raise Failure("other", f"{what} failed with exit code {code}" + (f": {detail[-1]}" if detail else ""))


def parse_stat_time(text: bytes) -> float:
    """busybox ``stat %y`` (``2026-11-26 03:12:36.123456789 +0000``) to epoch seconds (0.0 when unreadable)."""
    m = _TIME_RE.search(text)
    if m is None:
        return 0.0
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
    offset = (int(m.group(9)) * 3600 + int(m.group(10)) * 60) * (1 if m.group(8) == b"+" else -1)
    frac = m.group(7) or b"0"
    return float(secs - offset + int(frac) / 10 ** len(frac))


def _stat_line(line: bytes, link: bytes = b"") -> Entry:
    """An ``Entry`` from one ``_STAT_FMT`` line."""
    fields = line.split(b" ", 4)
    if len(fields) != 5:
        raise Failure("other", f"unexpected stat output {line[:80]!r}")
    return Entry(int(fields[0], 16), int(fields[1]), int(fields[2]), int(fields[3]), parse_stat_time(fields[4]), link)


def parse_listing(out: bytes) -> list[tuple[bytes, Entry]]:
    """Parse ``SH_LIST`` output into (name, entry) pairs."""
    entries: list[tuple[bytes, Entry]] = []
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
            stats.append(_stat_line(out[pos:end]))
            pos = end + 1
        for name, st in zip(names, stats, strict=True):
            if statmod.S_ISLNK(st.mode):  # its target follows
                end = out.index(b"\0", pos)
                # readlink's own newline goes; the text may hold others
                st = Entry(st.mode, st.size, st.uid, st.gid, st.mtime, out[pos:end].removesuffix(b"\n"))
                pos = end + 1
            entries.append((name, st))
    return entries


def parse_snapshot(out: bytes, err: bytes) -> Snapshot | None:
    """Pair ``SH_SNAPSHOT``'s NUL-terminated names with its stat lines; None when they do not align."""
    names = out.split(b"\0")[:-1]
    lines = err.split(b"\n")[:-1]
    if len(lines) != len(names):
        return None
    snap: Snapshot = {}
    for name, line in zip(names, lines, strict=True):
        fields = line.split(b" ", 3)
        try:
            ino, mode, size, times = int(fields[0]), int(fields[1], 16), int(fields[2]), fields[3]
        except (ValueError, IndexError):
            return None
        snap[norm(name)] = (ino, mode, size, parse_stat_time(times), times)
    return snap


_cleanups = TaskSet()


def _finish_later(p: ContainerProcess[Any]) -> None:
    """After an abandoned run (cancelled, e.g. a ``break`` out of ``watch``): close the process's stdin and let its
    output drain in the background, so that it ends and releases its engine stream."""

    async def finish() -> None:
        with contextlib.suppress(Exception):
            p.stdin.write_eof()
            await p.stdin.drain()
        with contextlib.suppress(Exception):
            await p.wait()

    _cleanups.spawn(finish(), "filesystem-process-cleanup")


class ProcessTransport:
    """A ``TreeTransport`` that runs the scripts above in container ``ref``."""

    __slots__ = ("_ref",)

    def __init__(self, ref: str) -> None:
        self._ref = ref

    async def run(
        self,
        script: str,
        args: list[str],
        *,
        stdin: Callable[[StreamWriter], Any] | None = None,
        on_stdout: Sink | None = None,
    ) -> tuple[int, bytes, bytes]:
        """Run ``script`` under ``/bin/sh``; returns (exit code, stdout, stderr).

        With ``on_stdout`` stdout is streamed to it chunk by chunk instead of collected (what it raises is raised
        once the process ended); with ``stdin`` the coroutine function ``stdin(process_stdin)`` feeds the process,
        whose stdin is then closed.
        """
        p = await start_exec(self._ref, ("sh", "-c", script, "sh", *args), text=False, env={"LC_ALL": "C"})
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
            _finish_later(p)
            raise
        for r in [*sink_error, *results]:
            if isinstance(r, BaseException):
                raise r
        err = results[1]
        assert isinstance(err, bytes)
        return code, bytes(out), err

    async def read(self, path: bytes, sink: Sink, *, whole: list[bytes] | None = None) -> None:
        limit = max_read_bytes()
        code, _, err = await self.run(SH_READ, [argv_path(path), str(limit)], on_stdout=sink)
        if code == _TOO_LARGE_EXIT:
            raise too_large(int(err) if err.isdigit() else None, limit)
        check_exit(code, err, "read")

    async def write(self, path: bytes, size: int, chunks: Chunks) -> None:
        """The input is sent only once the script has opened the target (it prints one byte then): a helper that
        fails before must not leave input unread, because some engines (Podman) then drop its output, and with it
        the reason it failed."""
        source_error: list[Exception] = []
        opened = asyncio.Event()

        async def on_stdout(chunk: bytes) -> None:
            opened.set()

        async def feed(stdin: StreamWriter) -> None:
            await opened.wait()  # cancelled by ``run`` when the script ends without opening the target
            try:
                async for chunk in chunks():
                    stdin.write(chunk)
                    await stdin.drain()
            except Exception as e:
                source_error.append(e)
                raise

        try:
            code, _, err = await self.run(SH_WRITE, [argv_path(norm(path)), "1"], stdin=feed, on_stdout=on_stdout)
        except Exception:
            if source_error:  # the caller's error, not whatever the aborted process made of it
                raise source_error[0] from None
            raise
        check_exit(code, err, "write")

    async def make_directory(self, path: bytes, *, parents: bool) -> None:
        code, _, err = await self.run(SH_MKDIR, [argv_path(norm(path)), "1" if parents else "0"])
        check_exit(code, err, "make_directory")

    async def stat(self, path: bytes) -> Entry:
        code, out, err = await self.run(SH_STAT, [argv_path(norm(path))])
        check_exit(code, err, "stat")
        line, _, link = out.partition(b"\n")
        return _stat_line(line, link)

    async def list(self, path: bytes) -> list[tuple[bytes, Entry]]:
        for _attempt in range(5):
            code, out, err = await self.run(SH_LIST, [argv_path(path)])
            if code != _RETRY_EXIT:
                check_exit(code, err, "list_files")
                return parse_listing(out)
        raise Failure("other", "the directory kept changing while it was listed")

    async def remove(self, path: bytes, *, recursive: bool) -> None:
        code, _, err = await self.run(SH_REMOVE, [argv_path(norm(path)), "1" if recursive else "0"])
        check_exit(code, err, "remove")

    async def snapshot(self, path: bytes, *, recursive: bool) -> Snapshot | None:
        for form in ("batch", "each"):
            # "batch" stats many entries per process; when an entry vanished or cannot be stat'ed, names and lines
            # no longer align, and the one-process-per-entry form ("each") is used for this snapshot.
            code, out, err = await self.run(SH_SNAPSHOT, [argv_path(path), "1" if recursive else "0", form])
            if code != 0 and not out:
                check_exit(code, err, "watch")
            snap = parse_snapshot(out, err)
            if snap is not None:
                return snap
        return None
