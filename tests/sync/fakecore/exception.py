"""Exceptions of the fake package."""

from __future__ import annotations

__all__ = ["Error", "NotFoundError"]


class Error(Exception):
    """Base class."""


class NotFoundError(Error):
    """Unknown object."""
