"""Options shared by several commands (one definition, the same spelling and help everywhere)."""

from __future__ import annotations

from typing import Annotated

import typer

AppOption = Annotated[
    str | None,
    typer.Option(
        "--app",
        envvar="SANDBOX_CORE_APP",
        help="App name: scopes listings, resolves sandbox names, and owns new sandboxes (default for new ones: cli).",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document (stable keys) instead of text.")]
EnvOption = Annotated[
    list[str] | None,
    typer.Option("--env", "-e", help="Environment variable KEY=VALUE (repeatable).", show_default=False),
]
WorkdirOption = Annotated[
    str | None, typer.Option("--workdir", "-w", help="Absolute working directory.", show_default=False)
]
ImageOption = Annotated[
    str | None,
    typer.Option(
        "--image",
        help="Image reference (e.g. sandbox-core/busybox:1) or image id (im-…); default: the default image.",
        show_default=False,
    ),
]
TagOption = Annotated[
    list[str] | None, typer.Option("--tag", "-t", help="Tag KEY=VALUE (repeatable).", show_default=False)
]
NameOption = Annotated[
    str | None, typer.Option("--name", "-n", help="Sandbox name, unique among the app's running sandboxes.")
]
TimeoutOption = Annotated[int, typer.Option("--timeout", min=1, help="Lifetime in seconds (then it is ended: 124).")]
IdleTimeoutOption = Annotated[
    int | None,
    typer.Option("--idle-timeout", min=1, help="End after this many seconds without exec or stdin activity."),
]
CpuOption = Annotated[float | None, typer.Option("--cpu", min=0.0, help="CPU cores requested.", show_default=False)]
MemoryOption = Annotated[int | None, typer.Option("--memory", min=1, help="Memory in MiB.", show_default=False)]
BlockNetworkOption = Annotated[bool, typer.Option("--block-network", help="No network at all inside the sandbox.")]
RefArgument = Annotated[str, typer.Argument(help="Sandbox id (sb-…), or a running sandbox's name with --app.")]

#: Commands whose trailing arguments are a command line to run: options must come before the first argument, so
#: ``exec sb-… ls -la`` passes ``-la`` to ``ls``.
TRAILING_COMMAND = {"allow_interspersed_args": False}
