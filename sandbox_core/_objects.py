"""What the named-object managers (``Secret.objects``, ``Volume.objects``) share: Modal's argument checks."""

from __future__ import annotations

import datetime
from typing import Any

from ._ids import is_valid_object_name
from .exception import InvalidError


def check_object_name(name: Any, object_type: str) -> None:
    """Modal's ``check_object_name``: ``InvalidError`` unless ``name`` is a valid name for an ``object_type``."""
    if not isinstance(name, str) or not is_valid_object_name(name):
        raise InvalidError(
            f"Invalid {object_type} name: '{name}'."
            "\n\nNames may contain only alphanumeric characters, dashes, periods, and underscores,"
            " must be shorter than 64 characters, and cannot conflict with App ID strings."
        )


def reject_environment(environment_name: str | None) -> None:
    """Modal environments do not exist locally: only None (or ``""``, the default of ``objects.list``) is allowed."""
    if environment_name:
        raise InvalidError("environment_name is not supported by the local backend (there are no environments)")


def check_max_objects(max_objects: int | None) -> None:
    """``objects.list(max_objects=)``: None or a non-negative int."""
    if max_objects is not None and (not isinstance(max_objects, int) or isinstance(max_objects, bool)):
        raise InvalidError(f"max_objects must be an int or None, got {max_objects!r}")
    if max_objects is not None and max_objects < 0:
        raise InvalidError("max_objects cannot be negative")


def created_before(value: datetime.datetime | str | None) -> float | None:
    """``objects.list(created_before=)`` as Unix time: a datetime (naive: local time) or an ISO date string."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise InvalidError(f"created_before must be a datetime or an ISO date string, got {value!r}") from None
    if not isinstance(value, datetime.datetime):
        raise InvalidError(f"created_before must be a datetime or an ISO date string, got {type(value).__name__}")
    return value.timestamp()


def newest_first(items: list[Any], created_at: list[float], before: float | None, limit: int | None) -> list[Any]:
    """``items`` (with their creation times) newest first, those created before ``before`` only, at most
    ``limit``."""
    ranked = sorted(zip(created_at, range(len(items)), items, strict=True), reverse=True)
    kept = [item for t, _, item in ranked if before is None or t < before]
    return kept if limit is None else kept[:limit]
