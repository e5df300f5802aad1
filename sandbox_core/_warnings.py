"""Warnings that name the user's line: the one place sandbox_core and its facade emit warnings from.

Contract (for library code): never call ``warnings.warn`` directly; call :func:`warn` (or
``exception.deprecation_warning``, which uses it). The warning is attributed to the *user's* code:

- **Async API.** The first frame, walking out from the caller, whose module is not part of the library or of the
  machinery that runs it (``sandbox_core``, ``sandbox_core_sync``, ``asyncio``, ``concurrent``, ``threading``,
  ``contextlib``, ``anyio``). For ``await sb.exec(...)`` that is the line of the ``await``.
- **Blocking facade.** The coroutine runs on the facade's loop thread, whose stack holds no user frame. The facade
  sets :data:`call_origin` in the context it runs each call in, to a :class:`CallOrigin` naming the frame that made
  the call (the caller is suspended in that call meanwhile, so the frame still shows the calling line); :func:`warn`
  starts its walk there. The facade clears the frame when the call ends, so tasks the call left running neither
  keep the caller's frame alive nor blame its line.

The warning is emitted with ``warnings.warn_explicit`` exactly as ``warnings.warn`` would emit it from that frame:
the user module's name (``-W``/``filterwarnings`` module patterns match it), its ``__warningregistry__`` (the
``default`` action shows a warning once per location) and its globals (for the source line). The filters are
process-wide, so emitting from the facade's loop thread applies the caller's filters; under an ``error`` filter
the warning is raised where it was emitted, which ends the operation there and reaches the caller as its
exception, in both APIs.
"""

from __future__ import annotations

import contextvars
import linecache
import re
import sys
import types
import warnings

__all__ = [
    "CallOrigin",
    "apply_startup_options",
    "call_origin",
    "register_internal_package",
    "user_frame",
    "warn",
    "warn_at",
]

_internal: set[str] = {"sandbox_core", "sandbox_core_sync", "asyncio", "concurrent", "threading", "contextlib", "anyio"}


def register_internal_package(name: str) -> None:
    """Treat frames of top-level package ``name`` as library frames too (for a package built like this one)."""
    _internal.add(name.partition(".")[0])


class CallOrigin:
    """Where a blocking/``.aio`` facade call was made: ``frame`` while the call runs, ``None`` after it."""

    __slots__ = ("frame",)

    def __init__(self, frame: types.FrameType | None) -> None:
        self.frame = frame


#: Set by the facade in the context of each call it runs on its loop thread.
call_origin: contextvars.ContextVar[CallOrigin | None] = contextvars.ContextVar("call_origin", default=None)


def user_frame(frame: types.FrameType | None) -> types.FrameType | None:
    """``frame`` or the first frame outward from it that is not a library frame (None if there is none)."""
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if not isinstance(name, str) or name.partition(".")[0] not in _internal:
            return frame
        frame = frame.f_back
    return None


def warn_at(frame: types.FrameType | None, message: str, category: type[Warning]) -> None:
    """Emit ``category(message)`` as ``warnings.warn`` would from ``frame`` (the caller's caller when None)."""
    if frame is None:
        warnings.warn(message, category, stacklevel=3)
        return
    module_globals = frame.f_globals
    module = module_globals.get("__name__")
    filename, lineno = frame.f_code.co_filename, frame.f_lineno or 0
    # The source line, through the module's loader if need be (zip imports). Loaded here rather than by passing
    # module_globals on: warn_explicit lets a loader's failure escape (``python -c``'s __main__ has a loader
    # that cannot give its source), where linecache ignores it.
    linecache.getline(filename, lineno, module_globals)
    registry = module_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(
        message, category, filename, lineno, module if isinstance(module, str) else "<string>", registry
    )


def warn(message: str, category: type[Warning]) -> None:
    """Emit ``category(message)`` at the user's line (see the module docstring); raises it under an error filter."""
    origin = call_origin.get()
    frame = user_frame(origin.frame) if origin is not None and origin.frame is not None else None
    if frame is None:
        frame = user_frame(sys._getframe(1))
    warn_at(frame, message, category)


#: The modules a ``-W`` option may name our categories by (the facade re-exports the same classes).
_CATEGORY_MODULES = ("sandbox_core.exception", "sandbox_core_sync.exception")
_ACTIONS = ("default", "always", "ignore", "module", "once", "error")


def apply_startup_options(*categories: type[Warning]) -> None:
    """Apply the ``-W``/``PYTHONWARNINGS`` options that name one of ``categories`` (by either package's module).

    Python reads those options before site-packages are importable and drops such options ("Invalid -W option
    ignored: invalid module name"); ``sandbox_core.exception`` calls this once its classes exist, so that
    ``-W error::sandbox_core.exception.AsyncUsageWarning`` works. They are applied in order, in front of the
    filters installed so far (as Python applies ``-W`` options), parsed as Python parses them.
    """
    by_name = {c.__name__: c for c in categories}
    for arg in sys.warnoptions:
        parts = [part.strip() for part in arg.split(":")]
        if not 3 <= len(parts) <= 5:
            continue
        action, message, category_name, module, lineno = [*parts, "", ""][:5]
        modname, _, name = category_name.rpartition(".")
        category = by_name.get(name) if modname in _CATEGORY_MODULES else None
        if category is None:
            continue
        action = "always" if action == "all" else next((a for a in _ACTIONS if a.startswith(action or "default")), "")
        if not action or not (lineno.isdigit() or not lineno):
            continue  # Python itself reports malformed options at startup
        warnings.filterwarnings(
            action,  # type: ignore[arg-type]
            re.escape(message),
            category,
            re.escape(module) + r"\Z" if module else "",
            int(lineno or 0),
        )
