"""The ``volume`` group: named volumes and their files, without a sandbox (``ls``, ``create``, ``rm``, ``get``,
``put``)."""

from __future__ import annotations

import posixpath
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

import sandbox_core as sc

from .. import _volume_files
from .._exitcodes import UsageError
from .._output import emit_json, emit_line, emit_table, human_age, human_size, iso_time
from .._runner import run
from ._options import JsonOption

group = typer.Typer(
    name="volume", help="Volumes: storage shared by sandboxes and kept after them.", no_args_is_help=True
)

NameArgument = Annotated[str, typer.Argument(help="The volume's name.", show_default=False)]
_TYPES = {sc.FileEntryType.FILE: "file", sc.FileEntryType.DIRECTORY: "dir", sc.FileEntryType.SYMLINK: "link"}


@group.command("ls")
def ls(
    name: Annotated[str | None, typer.Argument(help="List this volume's files (default: list volumes).")] = None,
    path: Annotated[str, typer.Argument(help="Directory (or file) in the volume.")] = "/",
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Every level below PATH.")] = False,
    as_json: JsonOption = False,
) -> None:
    """List the named volumes, or the files of volume NAME under PATH."""

    async def main() -> int:
        if name is None:
            vols = await sc.Volume.objects.list()
            rows = [(v.name or "", v.object_id, await _volume_files.created_at(v)) for v in vols]
            if as_json:
                emit_json([{"name": n, "volume_id": i, "created": iso_time(t)} for n, i, t in rows])
            else:
                now = time.time()
                emit_table(("NAME", "VOLUME ID", "AGE"), [(n, i, human_age(now - t)) for n, i, t in rows])
            return 0
        entries = await sc.Volume.from_name(name).listdir(path, recursive=recursive)
        if as_json:
            emit_json(
                [
                    {"path": e.path, "type": _TYPES.get(e.type, "other"), "size": e.size, "mtime": iso_time(e.mtime)}
                    for e in entries
                ]
            )
        else:
            files = [(_TYPES.get(e.type, "other"), human_size(e.size), iso_time(e.mtime), e.path) for e in entries]
            emit_table(("TYPE", "SIZE", "MODIFIED", "PATH"), files)
        return 0

    run(main, as_json=as_json)


@group.command("create")
def create(
    name: NameArgument,
    version: Annotated[int | None, typer.Option("--version", help="Filesystem version (1 or 2).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create the named volume NAME (an error if it exists)."""

    async def main() -> int:
        await sc.Volume.objects.create(name, version=version)
        vol = await sc.Volume.from_name(name).hydrate()
        if as_json:
            emit_json({"name": name, "volume_id": vol.object_id})
        else:
            emit_line(vol.object_id)
        return 0

    run(main, as_json=as_json)


@group.command("rm")
def rm(
    name: NameArgument,
    path: Annotated[str | None, typer.Argument(help="Remove this path in the volume (default: the volume).")] = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Remove a directory and its files.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Confirm deleting the whole volume.")] = False,
) -> None:
    """Remove PATH from volume NAME; without PATH, delete the volume and all its files (needs --yes)."""

    async def main() -> int:
        if path is None:
            if not yes:
                raise UsageError(f"deleting volume {name!r} removes all its files: pass --yes to confirm")
            await sc.Volume.objects.delete(name)
        else:
            await sc.Volume.from_name(name).remove_file(path, recursive=recursive)
        return 0

    run(main)


@group.command("get")
def get(
    name: NameArgument,
    remote: Annotated[str, typer.Argument(help="File or directory in the volume.", show_default=False)],
    local: Annotated[str, typer.Argument(help="Local destination; - writes a file to stdout.")] = ".",
    force: Annotated[bool, typer.Option("--force", help="Overwrite local files.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Download a file (or a directory, recursively) from volume NAME. A LOCAL directory receives it under its own
    name."""

    async def main() -> int:
        vol = sc.Volume.from_name(name)
        if local == "-":
            async for chunk in vol.read_file(remote):
                sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
            return 0
        started = time.monotonic()
        written = await _volume_files.download(vol, remote, Path(local), force=force)
        _report(written, time.monotonic() - started, as_json)
        return 0

    run(main, as_json=as_json)


@group.command("put")
def put(
    name: NameArgument,
    local: Annotated[str, typer.Argument(help="Local file or directory.", show_default=False)],
    remote: Annotated[
        str, typer.Argument(help="Destination in the volume; ending in /: into that directory, keeping the name.")
    ] = "/",
    force: Annotated[bool, typer.Option("--force", help="Overwrite files in the volume.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Upload a local file or directory to volume NAME (parent directories are created)."""
    source = Path(local)
    exists, is_dir, size = _inspect(source)
    target = posixpath.join(remote or "/", source.name) if remote.endswith("/") or not remote else remote

    async def main() -> int:
        if not exists:
            raise FileNotFoundError(2, "No such file or directory", local)
        started = time.monotonic()
        async with sc.Volume.from_name(name).batch_upload(force=force) as batch:
            if is_dir:
                batch.put_directory(source, target)
            else:
                batch.put_file(source, target)
        _report([(target, size)], time.monotonic() - started, as_json)
        return 0

    run(main, as_json=as_json)


def _inspect(path: Path) -> tuple[bool, bool, int]:
    """(exists, is a directory, bytes of the file or of every file below the directory)."""
    if not path.exists():
        return False, False, 0
    if path.is_dir():
        return True, True, sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return True, False, path.stat().st_size


def _report(files: list[tuple[str, int]], seconds: float, as_json: bool) -> None:
    total = sum(size for _, size in files)
    if as_json:
        emit_json({"files": [{"path": p, "bytes": s} for p, s in files], "bytes": total, "seconds": round(seconds, 3)})
    else:
        emit_line(f"copied {len(files)} file(s), {human_size(total)} in {seconds:.2f}s")


def register(app: typer.Typer) -> None:
    """Add the ``volume`` group to the root app."""
    app.add_typer(group)
