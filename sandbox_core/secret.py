"""``Secret``: environment variables injected into sandboxes and execs (``Secret.from_dict``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .exception import InvalidError


class Secret:
    """A set of environment variables. Only ``Secret.from_dict`` exists locally (no remote secret store)."""

    __slots__ = ("_env",)

    _env: dict[str, str]

    def __init__(self) -> None:
        raise InvalidError("Class Secret has no constructor. Use class constructor methods instead.")

    @staticmethod
    def from_dict(env_dict: Mapping[str, str | None] = {}) -> Secret:
        """A secret holding ``env_dict``; keys whose value is ``None`` are dropped.

        Raises ``InvalidError`` unless ``env_dict`` is a ``dict[str, str | None]``.
        """
        if not isinstance(env_dict, Mapping) or not all(
            isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in env_dict.items()
        ):
            raise InvalidError("the env_dict argument to Secret has to be a dict[str, Union[str, None]]")
        obj = object.__new__(Secret)
        obj._env = {k: v for k, v in env_dict.items() if v is not None}
        return obj

    @property
    def env(self) -> dict[str, str]:
        """A copy of the variables this secret sets."""
        return dict(self._env)

    def __repr__(self) -> str:
        return f"Secret(keys={sorted(self._env)!r})"


def merge_env(secrets: Any, env: Mapping[str, str | None] | None) -> dict[str, str]:
    """Secrets in order, then ``env`` on top (``None`` values dropped). Raises ``InvalidError`` on bad input."""
    merged: dict[str, str] = {}
    if secrets is not None:
        for s in secrets:
            if not isinstance(s, Secret):
                raise InvalidError(f"secrets must be a collection of Secret objects, got {type(s).__name__}")
            merged.update(s._env)
    if env is not None:
        merged.update(Secret.from_dict(env)._env)
    return merged
