"""The root command: global options, and the command modules it is built from.

Each module in ``COMMAND_MODULES`` adds its commands with ``register(app)``; a new group (``volume``, ``secret``)
is one more module and one more entry here.
"""

from __future__ import annotations

import importlib.metadata
from typing import Annotated

import typer

from ._runner import Settings, apply_settings
from .commands import files, images, maintenance, processes, sandboxes, secrets, volumes

COMMAND_MODULES = (sandboxes, processes, files, maintenance, images, volumes, secrets)

HELP = """Sandboxes on the local container engine, from the command line.

Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 engine unreachable, 5 conflict, 130 interrupted.
exec, shell and run exit with the remote command's code (124: timeout) and use 125 for their own failures.
"""


def version() -> str:
    """The installed package's version."""
    try:
        return importlib.metadata.version("sandbox-core")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"sandbox-core {version()}")
        raise typer.Exit(0)


def _root(
    debug: Annotated[
        bool, typer.Option("--debug", envvar="SANDBOX_CORE_DEBUG", help="Tracebacks and the library's debug log.")
    ] = False,
    show_version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    apply_settings(Settings(debug=debug))


def build_app() -> typer.Typer:
    """The ``sandbox-core`` command with every command module registered."""
    app = typer.Typer(
        name="sandbox-core",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    for module in COMMAND_MODULES:
        module.register(app)
    return app
