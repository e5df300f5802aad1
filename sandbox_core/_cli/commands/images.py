"""The ``image`` group: the project's images on the engine."""

from __future__ import annotations

import time

import typer

from .. import _inventory
from .._output import emit_json, emit_table, human_age, human_size, iso_time
from .._runner import run
from ._options import JsonOption

group = typer.Typer(name="image", help="Images on the engine.", no_args_is_help=True)


@group.command("ls")
def ls(as_json: JsonOption = False) -> None:
    """List the project's images (labelled sandbox-core.owner): tags, id, kind, size, age."""

    async def main() -> int:
        rows = await _inventory.list_images()
        if as_json:
            emit_json(
                [
                    {
                        "id": r.image_id,
                        "tags": list(r.tags),
                        "kind": r.kind,
                        "size": r.size,
                        "created": iso_time(r.created),
                    }
                    for r in rows
                ]
            )
            return 0
        now = time.time()
        cells = [
            (", ".join(r.tags) or "-", r.image_id[:15], r.kind or "-", human_size(r.size), human_age(now - r.created))
            for r in rows
        ]
        emit_table(("IMAGE", "ID", "KIND", "SIZE", "AGE"), cells)
        return 0

    run(main, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add the ``image`` group to the root app."""
    app.add_typer(group)
