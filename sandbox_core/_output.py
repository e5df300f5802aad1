"""The ``enable_output()`` switch, and the small API library code uses to show progress and logs under it.

Users write (as with Modal)::

    with sandbox_core.enable_output():          # or sandbox_core_sync.enable_output(), the same object
        sb = await Sandbox.create(image=..., app=app)

Contract for library code (image builds and pulls, sandbox creation, log streaming)::

    out = _output.current()                      # None unless some enable_output() block is open
    if out is not None:
        out.progress("Building image im-…")      # one status line; shown only with show_progress
        out.log(build_log_chunk)                 # log text as it arrives, shown line by line

- **Process-wide**, as in Modal: a block opened in any thread or task enables output for work running anywhere in
  the process meanwhile, including the blocking facade's loop thread. Call :func:`current` when the output is
  produced (not once at the start of a long operation) so that a block closing stops it.
- **Nesting.** Blocks may be nested and closed in any order (concurrent tasks); the most recently opened block that
  is still open decides the settings, and output stops when the last one closes.
- **Where it goes.** ``sys.stderr`` as it is at the time of writing (so redirecting it, or pytest's capture, works):
  programs that parse their own stdout are never disturbed. Every call writes whole lines under a lock, so lines
  from concurrent builds never interleave mid-line; ``show_timestamps`` prefixes each line with the local time.
- Thread-safe and usable from any thread or event loop; writing never blocks on anything but stderr itself.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sys
import threading
from collections.abc import Iterator

import attrs

from .exception import InvalidError

__all__ = ["Output", "current", "enable_output"]


@attrs.frozen
class Output:
    """The settings of the innermost open ``enable_output()`` block, and the way to write under them."""

    show_progress: bool = True
    show_timestamps: bool = False

    def progress(self, message: str) -> None:
        """One status line (build step, pull progress, object created); dropped unless ``show_progress``."""
        if self.show_progress:
            _write(message if message.endswith("\n") else message + "\n", self.show_timestamps)

    def log(self, text: str) -> None:
        """Log output (e.g. an image build's output) as it arrives; a missing final newline is added."""
        if text:
            _write(text if text.endswith("\n") else text + "\n", self.show_timestamps)


_lock = threading.Lock()
#: (token, settings) of every open block, oldest first; replaced as a whole under ``_lock`` (lock-free reads).
_open: tuple[tuple[object, Output], ...] = ()


def current() -> Output | None:
    """The settings of the most recently opened ``enable_output()`` block still open, or None (output disabled)."""
    blocks = _open
    return blocks[-1][1] if blocks else None


@contextlib.contextmanager
def enable_output(show_progress: bool = True, show_timestamps: bool = False) -> Iterator[None]:
    """Show build/pull progress and logs on stderr while the block is open (Modal's ``modal.enable_output``).

    ``show_progress=False`` keeps logs but drops status lines; ``show_timestamps=True`` prefixes every line with the
    local time. Usable in blocking and async code alike (it never blocks); see the module docstring for the rules.
    """
    global _open
    if not isinstance(show_progress, bool) or not isinstance(show_timestamps, bool):
        raise InvalidError("enable_output(): show_progress and show_timestamps must be True or False")
    token = object()
    with _lock:
        _open = (*_open, (token, Output(show_progress=show_progress, show_timestamps=show_timestamps)))
    try:
        yield
    finally:
        with _lock:
            _open = tuple(block for block in _open if block[0] is not token)


_write_lock = threading.Lock()


def _write(text: str, timestamps: bool) -> None:
    if timestamps:
        stamp = datetime.datetime.now().strftime("%H:%M:%S.%f")[:-3]
        text = "".join(f"{stamp} {line}" for line in text.splitlines(keepends=True))
    with _write_lock:
        stream = sys.stderr
        if stream is None:  # pythonw / closed stderr: output has nowhere to go
            return
        stream.write(text)
        stream.flush()


def _after_fork_in_child() -> None:
    # Another thread may have held a lock at fork time; it does not exist in the child.
    global _lock, _write_lock
    _lock = threading.Lock()
    _write_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
