"""The ``secret`` group: the local secret store behind ``Secret.from_name`` (``create``, ``ls``, ``rm``).

Values are read from ``KEY=VALUE`` arguments, a ``.env`` file (``--from-dotenv``) or, for ``KEY=-``, one line of
stdin (so that a value need not appear in the shell's history); they are never printed.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Annotated

import dotenv
import typer

import sandbox_core as sc

from ... import _secret_store
from .._exitcodes import UsageError
from .._output import emit_json, emit_line, emit_table, human_age, iso_time
from .._refs import parse_pairs
from .._runner import run
from ._options import JsonOption

group = typer.Typer(
    name="secret", help="Named secrets for Secret.from_name (a private local store).", no_args_is_help=True
)


def _values(pairs: list[str], dotenv_path: str | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if dotenv_path is not None:
        values.update({k: v or "" for k, v in dotenv.dotenv_values(dotenv_path).items()})
    for key, value in parse_pairs(pairs, "KEY=VALUE").items():
        values[key] = sys.stdin.readline().rstrip("\n") if value == "-" else value
    return values


@group.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The secret's name.", show_default=False)],
    pairs: Annotated[
        list[str] | None, typer.Argument(help="KEY=VALUE (VALUE - : one line of stdin).", show_default=False)
    ] = None,
    from_dotenv: Annotated[
        str | None, typer.Option("--from-dotenv", help="Also take the variables of this .env file.", show_default=False)
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the secret if it exists.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Store a secret (an error if it exists, unless --force). Its values are never printed."""

    async def main() -> int:
        values = await asyncio.to_thread(_values, pairs or [], from_dotenv)
        if not values:
            raise UsageError("a secret needs at least one KEY=VALUE (or --from-dotenv)")
        if force:
            sc.Secret.from_dict(dict(values))  # the same checks as Secret.objects.create
            _secret_store.write(name, values, mode="overwrite")
        else:
            await sc.Secret.objects.create(name, values)
        secret = await sc.Secret.from_name(name).hydrate()
        if as_json:
            emit_json({"name": name, "secret_id": secret.object_id, "keys": sorted(values)})
        else:
            emit_line(f"{secret.object_id} ({', '.join(sorted(values))})")
        return 0

    run(main, as_json=as_json)


@group.command("ls")
def ls(as_json: JsonOption = False) -> None:
    """List the stored secrets: name, id, keys (never values), age."""

    async def main() -> int:
        rows = []
        for secret in await sc.Secret.objects.list():
            info = await secret.info()
            rows.append((info.name or "", secret.object_id, sorted(secret.env), info.created_at.timestamp()))
        if as_json:
            emit_json([{"name": n, "secret_id": i, "keys": k, "created": iso_time(t)} for n, i, k, t in rows])
        else:
            now = time.time()
            emit_table(
                ("NAME", "SECRET ID", "KEYS", "AGE"), [(n, i, ",".join(k), human_age(now - t)) for n, i, k, t in rows]
            )
        return 0

    run(main, as_json=as_json)


@group.command("rm")
def rm(
    name: Annotated[str, typer.Argument(help="The secret's name.", show_default=False)],
    allow_missing: Annotated[
        bool, typer.Option("--allow-missing", help="No error when there is no such secret.")
    ] = False,
) -> None:
    """Delete a stored secret."""

    async def main() -> int:
        await sc.Secret.objects.delete(name, allow_missing=allow_missing)
        return 0

    run(main)


def register(app: typer.Typer) -> None:
    """Add the ``secret`` group to the root app."""
    app.add_typer(group)
