"""A fake class with a public constructor and a method returning an async context manager (shaped like App.run)."""

from __future__ import annotations

import asyncio
import threading
import types

from ._loopcheck import LoopBound
from .sandbox import EVENTS


class Group(LoopBound):
    """Built by its constructor (on the loop that will own it)."""

    def __init__(self, name: str, *, size: int = 1) -> None:
        """A group called ``name``."""
        super().__init__()
        self.built_in = threading.current_thread().name
        self._name = name
        self._size = size

    @property
    def name(self) -> str:
        """The name."""
        return self._name

    @property
    def _experimental_self(self) -> Group:
        """An underscore-named member that the manifest lists (as Modal's ``Sandbox._experimental_sidecars``)."""
        return self

    def _internal(self) -> int:
        """An underscore-named member that is not listed: not in the facade."""
        return 1

    async def describe(self) -> str:
        """``name:size`` (checks the loop the group was built on)."""
        self._bound()
        return f"{self._name}:{self._size}"

    def run(self, *, label: str = "run") -> GroupRun:
        """Run the group while an ``async with`` block lasts."""
        return GroupRun(self, label)


class GroupRun(LoopBound):
    """One run: ``async with group.run():``."""

    def __init__(self, group: Group, label: str) -> None:
        super().__init__()
        self._group = group
        self._label = label

    async def __aenter__(self) -> Group:
        self._bound()
        await asyncio.sleep(0)
        EVENTS.append(("enter", self._label))
        return self._group

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: types.TracebackType | None
    ) -> bool:
        await asyncio.sleep(0)
        EVENTS.append(("exit", f"{self._label}:{exc_type.__name__ if exc_type else 'ok'}"))
        return exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
