"""``sweep``: apply the lifecycle policy now (what the supervisor does in the background)."""

from __future__ import annotations

from typing import Annotated

import typer

import sandbox_core as sc

from .._exitcodes import UsageError
from .._output import emit_json, emit_line
from .._runner import run
from ._options import AppOption, JsonOption


def sweep(
    app: AppOption = None,
    everything: Annotated[
        bool,
        typer.Option(
            "--everything", help="Terminate and remove every sandbox of --app, with its records and the app itself."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """End sandboxes past their timeout and remove finished ones past retention (of --app, or of every app), and
    volumes nobody holds any more (deleted ones, ephemeral ones whose block or process ended)."""

    async def main() -> int:
        app_id = None
        if app is not None:
            app_id = (await sc.App.lookup(app)).app_id
        elif everything:
            raise UsageError("--everything needs --app (it clears one app, never the whole engine)")
        result = await sc.sweep(app_id=app_id, everything=everything)
        counts = {
            "timed_out": result.timed_out,
            "removed": result.removed,
            "records_removed": result.records_removed,
            "volumes_removed": result.volumes_removed,
        }
        if as_json:
            emit_json(counts)
        else:
            emit_line(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items()))
        return 0

    run(main, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add ``sweep`` to the root app."""
    app.command()(sweep)
