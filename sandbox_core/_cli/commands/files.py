"""``cp``: copy a file to or from a sandbox."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from .. import _transfer
from .._exitcodes import UsageError
from .._output import emit_json, emit_line, human_size, is_tty
from .._refs import parse_endpoint, resolve
from .._runner import run
from ._options import AppOption, JsonOption


def cp(
    source: Annotated[str, typer.Argument(help="Local path, or REF:/path in a sandbox.", show_default=False)],
    destination: Annotated[str, typer.Argument(help="Local path, or REF:/path in a sandbox.", show_default=False)],
    app: AppOption = None,
    as_json: JsonOption = False,
) -> None:
    """Copy one file between this machine and a sandbox, streamed (REF is a sandbox id, or a name with --app).

    A destination that is a directory, or ends in /, receives the file under its own name.
    """

    async def main() -> int:
        src, dst = parse_endpoint(source), parse_endpoint(destination)
        if src.is_remote == dst.is_remote:
            raise UsageError("exactly one of SOURCE and DESTINATION must be in a sandbox (REF:/path)")
        remote = src if src.is_remote else dst
        assert remote.ref is not None
        sb = await resolve(remote.ref, app)
        progress = not as_json and is_tty(sys.stderr)
        if src.is_remote:
            result = await _transfer.download(sb, src.path, dst.path, progress=progress)
        else:
            result = await _transfer.upload(sb, src.path, dst.path, progress=progress)
        if as_json:
            emit_json(result.to_json())
        else:
            where = f"{sb.object_id}:{result.destination}" if result.direction == "upload" else result.destination
            emit_line(f"copied {human_size(result.size)} to {where} in {result.seconds:.2f}s")
        return 0

    run(main, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add ``cp`` to the root app."""
    app.command()(cp)
