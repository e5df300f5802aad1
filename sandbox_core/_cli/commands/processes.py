"""Commands that run or read processes in a sandbox: ``exec``, ``shell``, ``logs``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import sys
from typing import Annotated

import typer

import sandbox_core as sc

from .._exitcodes import UsageError, returncode_to_exit
from .._logs import read_output, write_output
from .._output import FdSink, emit_json_line
from .._refs import DEFAULT_APP, parse_pairs, resolve
from .._runner import run
from .._stdin import StdinForwarder
from .._terminal import bridge
from ._options import TRAILING_COMMAND, AppOption, EnvOption, ImageOption, RefArgument, WorkdirOption
from .sandboxes import image_of


async def _copy_out(reader: sc.StreamReader[bytes], sink: FdSink) -> None:
    async for chunk in reader:
        sink.write(chunk)


def exec_(
    ref: RefArgument,
    command: Annotated[list[str], typer.Argument(help="The command and its arguments.", show_default=False)],
    app: AppOption = None,
    interactive: Annotated[
        bool, typer.Option("--stdin", "-i", help="Forward this command's stdin (otherwise the command gets EOF).")
    ] = False,
    timeout: Annotated[
        int | None, typer.Option("--timeout", min=1, help="Kill the command after this many seconds (exit 124).")
    ] = None,
    workdir: WorkdirOption = None,
    env: EnvOption = None,
) -> None:
    """Run a command in a sandbox, streaming its stdout and stderr as they come; exit with its exit code."""

    async def main() -> int:
        variables = parse_pairs(env, "--env")
        sb = await resolve(ref, app)
        proc = await sb.exec(*command, text=False, timeout=timeout, workdir=workdir, env=dict(variables) or None)
        feeding: asyncio.Task[None] | None = None
        if interactive:
            feeding = asyncio.create_task(StdinForwarder(proc.stdin, sys.stdin.fileno()).run())
        else:
            proc.stdin.write_eof()
            await proc.stdin.drain()
        try:
            await asyncio.gather(_copy_out(proc.stdout, FdSink(1)), _copy_out(proc.stderr, FdSink(2)))
            return returncode_to_exit(await proc.wait())
        finally:
            if feeding is not None:
                feeding.cancel()
                await asyncio.gather(feeding, return_exceptions=True)

    run(main, passthrough=True)


def shell(
    ref: Annotated[
        str | None,
        typer.Argument(help="Sandbox id (sb-…) or name (with --app); without it, a new sandbox for this shell only."),
    ] = None,
    app: AppOption = None,
    image: ImageOption = None,
    cmd: Annotated[str, typer.Option("--cmd", "-c", help="The shell (or any program) to run, as one string.")] = "sh",
    workdir: WorkdirOption = None,
    env: EnvOption = None,
    timeout: Annotated[
        int, typer.Option("--timeout", min=1, help="Lifetime of a sandbox made for this shell, in seconds.")
    ] = 3600,
) -> None:
    """An interactive shell in a sandbox (a PTY; keys, Ctrl-C and window size go to it); exit with its code.

    Without a sandbox reference a new sandbox is made from --image and terminated when the shell ends.
    """

    async def main() -> int:
        argv = shlex.split(cmd)
        if not argv:
            raise UsageError("--cmd must name a program")
        if ref is not None and image is not None:
            raise UsageError("--image makes a new sandbox: give either a sandbox or --image, not both")
        variables = {"TERM": os.environ.get("TERM") or "xterm-256color", **parse_pairs(env, "--env")}
        made: sc.Sandbox | None = None
        if ref is None:
            the_app = await sc.App.lookup(app or DEFAULT_APP, create_if_missing=True)
            sb = made = await sc.Sandbox.create(app=the_app, image=image_of(image), timeout=timeout)
        else:
            sb = await resolve(ref, app)
        try:
            proc = await sb.exec(*argv, pty=True, text=False, workdir=workdir, env=dict(variables))
            return returncode_to_exit(await bridge(proc))
        finally:
            if made is not None:
                await asyncio.shield(made.terminate())

    run(main, passthrough=True)


def logs(
    ref: RefArgument,
    app: AppOption = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep streaming until the sandbox ends.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help='One JSON object per line: {"stream": "stdout"|"stderr", "text": …}.')
    ] = False,
) -> None:
    """Print the output of a sandbox's entrypoint (stdout to stdout, stderr to stderr), from its start."""

    async def main() -> int:
        sb = await resolve(ref, app)
        if as_json:
            async with contextlib.aclosing(read_output(sb, follow=follow)) as lines:
                async for line in lines:
                    emit_json_line({"stream": line.stream, "text": line.text})
        else:
            await write_output(sb, follow=follow)
        return 0

    run(main, as_json=as_json)


def register(app: typer.Typer) -> None:
    """Add ``exec``, ``shell`` and ``logs`` to the root app."""
    app.command("exec", context_settings=TRAILING_COMMAND)(exec_)
    app.command()(shell)
    app.command()(logs)
