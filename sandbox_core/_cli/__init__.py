"""The ``sandbox-core`` command line (console script ``sandbox-core = sandbox_core._cli:main``).

It needs the optional extra ``cli`` (typer and rich); the library itself does not. Without it, ``main`` says how to
install it and exits 1.
"""

from __future__ import annotations

import sys

from ._exitcodes import ExitCode

_MISSING = (
    "sandbox-core: the command line needs the optional 'cli' extra ({missing} is not installed): "
    "pip install 'sandbox-core[cli]'\n"
)


def main(argv: list[str] | None = None) -> None:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); exits with the command's exit code."""
    try:
        import rich  # noqa: F401
        import typer  # noqa: F401
    except ImportError as e:
        sys.stderr.write(_MISSING.format(missing=e.name or "a dependency"))
        raise SystemExit(int(ExitCode.FAILED)) from None
    from ._app import build_app

    build_app()(args=argv, prog_name="sandbox-core")
