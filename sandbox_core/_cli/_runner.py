"""Run one command: its coroutine under one ``asyncio.run``, its errors mapped to exit codes (``_exitcodes``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import NoReturn

import attrs
import typer

from ._exitcodes import ExitCode, exit_code_for
from ._report import report_error


@attrs.frozen
class Settings:
    """Options of the root command, shared by every subcommand."""

    debug: bool = False


# One command line per process: the root command's options are set once, before any subcommand runs.
_settings = Settings()


def apply_settings(value: Settings) -> None:
    """Record the root command's options (called by the root callback)."""
    global _settings
    _settings = value
    configure_logging(value.debug)


def settings() -> Settings:
    """The root command's options (defaults when no root command ran)."""
    return _settings


def configure_logging(debug: bool) -> None:
    """With ``--debug``, the library's debug log goes to stderr."""
    if debug:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        logging.getLogger("sandbox_core").setLevel(logging.DEBUG)


def run(main: Callable[[], Awaitable[int]], *, as_json: bool = False, passthrough: bool = False) -> NoReturn:
    """Run ``main()`` (which returns the exit code) and exit with its code.

    An exception ends the command with one line on stderr (a JSON object with ``as_json``) and the code from
    ``exit_code_for`` — or ``ExitCode.CLI_FAILED`` for a ``passthrough`` command, whose other codes belong to the
    remote process. Ctrl-C that reaches the command line exits ``ExitCode.INTERRUPTED``.
    """
    debug = settings().debug

    async def guarded() -> int:
        return await main()

    try:
        code = asyncio.run(guarded())
    except KeyboardInterrupt:
        code = int(ExitCode.INTERRUPTED)
    except Exception as e:
        code = int(ExitCode.CLI_FAILED if passthrough else exit_code_for(e))
        report_error(e, code, as_json=as_json, debug=debug)
    raise typer.Exit(code)
