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

# The extra's modules are imported with the command line itself: without them, ``main`` explains instead.
try:
    from ._app import build_app
except ImportError as e:
    if e.name not in ("typer", "rich") and not (e.name or "").startswith(("typer.", "rich.")):
        raise
    _missing: str | None = e.name or "a dependency"
else:
    _missing = None


def main(argv: list[str] | None = None) -> None:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); exits with the command's exit code."""
    if _missing is not None:
        sys.stderr.write(_MISSING.format(missing=_missing))
        raise SystemExit(int(ExitCode.FAILED))
    build_app()(args=argv, prog_name="sandbox-core")
