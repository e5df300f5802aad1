"""The ``AsyncUsageWarning`` for a blocking facade call made inside a running event loop (Modal's message and hints).

The call still runs (it blocks that loop meanwhile, as in Modal); the warning names the user's line and suggests its
async rewrite, computed from the source line:

=====================================  ===========================================================
blocking form                          suggested rewrite
=====================================  ===========================================================
``sb = Sandbox.create(...)``           ``sb = await Sandbox.create.aio(...)``
``for line in p.stdout:``              ``async for line in p.stdout:``
``for s in Sandbox.list(...):``        ``async for s in Sandbox.list.aio(...):``
``with sb.open(...) as f:``            ``async with await sb.open.aio(...) as f:``
``x = next(p.stdout)``                 ``x = await anext(p.stdout)``
=====================================  ===========================================================

A line it cannot rewrite gets a generic hint naming the ``.aio`` form. No warning in an interactive IPython session
(a notebook runs an event loop in the thread that runs the cells, where blocking calls are the expected style).
"""

from __future__ import annotations

import ast
import linecache
import sys
import threading
import types

from sandbox_core import _warnings
from sandbox_core.exception import AsyncUsageWarning

__all__ = ["suggest", "warn_blocking"]

#: Kinds of blocking use: a call (``obj.m(...)``), iteration (``for``), ``with``, ``next()``.
KINDS = ("call", "iter", "enter", "next")

_HEAD = (
    "A blocking sandbox_core_sync interface is being used in an async context."
    "\n\nThis may cause performance issues or bugs."
    " Consider rewriting to use the async interfaces (the `.aio` form of each call, or sandbox_core itself):"
    "\ndocs/sync-facade.md"
)


_last_call = threading.local()


def warn_blocking(name: str, kind: str, frame: types.FrameType | None) -> None:
    """Warn ``AsyncUsageWarning`` at ``frame`` (the user's) about blocking use ``kind`` of the facade member ``name``.

    Raises the warning instead under an ``error`` filter.
    """
    if _interactive_ipython():
        return
    here = None if frame is None else (id(frame), frame.f_lineno)  # an id: keeping the frame would keep its locals
    if kind == "enter" and here is not None and getattr(_last_call, "at", None) == here:
        return  # ``with sb.open(...) as f``: the call on this line already warned, with the full rewrite
    _last_call.at = here if kind == "call" else None
    line = None
    if frame is not None:
        line = linecache.getline(frame.f_code.co_filename, frame.f_lineno or 0, frame.f_globals).strip() or None
    _warnings.warn_at(frame, message(line, name, kind), AsyncUsageWarning)


def message(line: str | None, name: str, kind: str) -> str:
    """The warning's text: Modal's, with the suggested rewrite of ``line`` (the source line is shown after it)."""
    if line is None:
        return f"{_HEAD}\n\nSuggested rewrite:\n  {_fallback(name, kind)}"
    return f"{_HEAD}\n\nSuggested rewrite:\n  {suggest(line, name, kind)}\n\nOriginal line:"


def _interactive_ipython() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        return getattr(ipython, "get_ipython")() is not None  # noqa: B009 - an untyped optional module
    except Exception:
        return False


def _fallback(name: str, kind: str) -> str:
    if kind == "iter":
        return "async for ... in ..." if name == "__aiter__" else f"async for ... in ...{name}.aio(...)"
    if kind == "enter":
        return "async with ..."
    if kind == "next":
        return "await anext(...)"
    return f"await ...{name}.aio(...)"


def suggest(line: str, name: str, kind: str) -> str:
    """The async rewrite of source ``line`` (stripped) for blocking use ``kind`` of member ``name``; else a hint."""
    stmt = _parse(line)
    if stmt is None:
        return _fallback(name, kind)
    edits: list[tuple[int, str]] = []  # (character offset, text to insert), applied right to left
    if isinstance(stmt, ast.For) and kind == "iter":
        call = _method_call(stmt.iter, name)
        if call is not None:
            edits.append(_aio_edit(line, call))
        elif name != "__aiter__":
            return _fallback(name, kind)
        edits.append((_offset(line, stmt), "async "))
    elif isinstance(stmt, ast.With) and kind == "call":
        # ``with sb.open(...) as f``: the call and its ``__enter__`` both block; one rewrite covers both.
        call = _method_call(stmt.items[0].context_expr, name)
        if call is None:
            return _fallback(name, kind)
        edits += [_aio_edit(line, call), (_offset(line, call), "await "), (_offset(line, stmt), "async ")]
    elif isinstance(stmt, ast.With) and kind == "enter":
        edits.append((_offset(line, stmt), "async "))
    elif kind == "next":
        found = next((n for n in ast.walk(stmt) if isinstance(n, ast.Call) and _is_builtin_next(n)), None)
        if found is None:
            return _fallback(name, kind)
        edits.append((_offset(line, found), "await a"))
    elif kind == "call" and not isinstance(stmt, ast.If | ast.While | ast.For | ast.With):
        call = _first_call_of(stmt, name)
        if call is None or _inside_boolop(stmt, call):
            return _fallback(name, kind)
        edits += [_aio_edit(line, call), (_offset(line, call), "await ")]
    else:
        return _fallback(name, kind)
    for at, text in sorted(edits, reverse=True):
        line = line[:at] + text + line[at:]
    return line


def _parse(line: str) -> ast.stmt | None:
    # A compound statement's header (``for x in y:``) only parses with a body.
    for source in (line, line + " pass"):
        try:
            body = ast.parse(source).body
        except SyntaxError:
            continue
        return body[0] if body else None
    return None


def _offset(line: str, node: ast.expr | ast.stmt, end: bool = False) -> int:
    # ast offsets count UTF-8 bytes; the edits index characters.
    col = node.end_col_offset if end else node.col_offset
    return len(line.encode()[: col or 0].decode(errors="ignore"))


def _method_call(node: ast.expr, name: str | None) -> ast.Call | None:
    """``node`` itself if it is a call of an attribute (named ``name`` unless None)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and name in (None, node.func.attr):
        return node
    return None


def _first_call_of(stmt: ast.stmt, name: str) -> ast.Call | None:
    calls = [n for n in ast.walk(stmt) if isinstance(n, ast.Call) and _method_call(n, name) is not None]
    return min(calls, key=lambda n: (n.lineno, n.col_offset), default=None)


def _inside_boolop(stmt: ast.stmt, call: ast.Call) -> bool:
    return any(isinstance(n, ast.BoolOp) and any(d is call for d in ast.walk(n)) for n in ast.walk(stmt))


def _is_builtin_next(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "next"


def _aio_edit(line: str, call: ast.Call) -> tuple[int, str]:
    """Insert ``.aio`` right after the called attribute (``obj.m(`` -> ``obj.m.aio(``)."""
    return _offset(line, call.func, end=True), ".aio"
