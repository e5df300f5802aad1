"""``AppLike``: what ``Image.build(app)`` needs of an app, its id. A protocol, so that ``image.py`` (which
``app.py`` depends on) need not import ``app.py``, and so that the blocking facade's ``App`` fits it too."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["AppLike"]


@runtime_checkable
class AppLike(Protocol):
    """An ``App`` (either API's): its ``app_id`` is set once it has run or been deployed/looked up."""

    @property
    def app_id(self) -> str | None: ...
