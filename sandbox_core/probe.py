"""``Probe``: the readiness probe of a sandbox (Modal's ``modal.Probe``).

Pass one as ``Sandbox.create(readiness_probe=...)``; ``Sandbox.wait_until_ready()`` then waits until it first
succeeds. It runs every ``interval_ms`` milliseconds: a TCP probe succeeds once the sandbox's ``tcp_port``
accepts a connection, an exec probe once ``exec_argv`` (run as is, not through a shell) exits 0.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import attrs

from .exception import InvalidError

_HOW = "Probe must be created with Probe.with_tcp(...) or Probe.with_exec(...)"


def _check_interval(method: str, interval_ms: Any) -> None:
    if not isinstance(interval_ms, int):
        raise InvalidError(f"Probe.{method}() expects an integer `interval_ms`")
    if interval_ms <= 0:
        raise InvalidError(f"Probe.{method}() expects `interval_ms` > 0, got {interval_ms}")


def _check_port(port: Any) -> None:
    if not isinstance(port, int):
        raise InvalidError("Probe.with_tcp() expects an integer `port`")
    if port <= 0 or port > 65535:
        raise InvalidError(f"Probe.with_tcp() expects `port` in [1, 65535], got {port}")


def _check_argv(argv: Sequence[Any]) -> None:
    if len(argv) == 0:
        raise InvalidError("Probe.with_exec() requires at least one argument")
    if not all(isinstance(arg, str) for arg in argv):
        raise InvalidError("Probe.with_exec() expects all arguments to be strings")


def _argv_tuple(value: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if value is None or isinstance(value, str) else tuple(value)


@attrs.frozen
class Probe:
    """A readiness probe: exactly one of ``tcp_port`` and ``exec_argv``, run every ``interval_ms``.

    Build with ``Probe.with_tcp`` or ``Probe.with_exec``; direct construction is checked the same way.
    """

    tcp_port: int | None = None
    exec_argv: tuple[str, ...] | None = attrs.field(default=None, converter=_argv_tuple)
    interval_ms: int = 100

    def __attrs_post_init__(self) -> None:
        if (self.tcp_port is None) == (self.exec_argv is None):
            raise InvalidError(_HOW)
        if self.tcp_port is not None:
            _check_port(self.tcp_port)
            _check_interval("with_tcp", self.interval_ms)
        else:
            assert self.exec_argv is not None
            _check_argv(self.exec_argv)
            _check_interval("with_exec", self.interval_ms)

    @classmethod
    def with_tcp(cls, port: int, *, interval_ms: int = 100) -> Probe:
        """Ready once ``port`` in the sandbox accepts a TCP connection."""
        _check_port(port)
        _check_interval("with_tcp", interval_ms)
        return cls(tcp_port=port, interval_ms=interval_ms)

    @classmethod
    def with_exec(cls, *argv: str, interval_ms: int = 100) -> Probe:
        """Ready once ``argv`` run in the sandbox exits 0."""
        _check_argv(argv)
        _check_interval("with_exec", interval_ms)
        return cls(exec_argv=tuple(argv), interval_ms=interval_ms)

    def to_json(self) -> str:
        """A compact JSON form (to keep with the sandbox, e.g. in a label); ``from_json`` reads it back."""
        if self.tcp_port is not None:
            return json.dumps({"tcp": self.tcp_port, "interval_ms": self.interval_ms}, separators=(",", ":"))
        return json.dumps({"exec": list(self.exec_argv or ()), "interval_ms": self.interval_ms}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Probe:
        """The probe ``to_json`` wrote; ``InvalidError`` when ``text`` is not one."""
        try:
            data = json.loads(text)
            if "tcp" in data:
                return cls(tcp_port=data["tcp"], interval_ms=data["interval_ms"])
            return cls(exec_argv=tuple(data["exec"]), interval_ms=data["interval_ms"])
        except (ValueError, TypeError, KeyError):
            raise InvalidError(f"not a stored readiness probe: {text!r}") from None
