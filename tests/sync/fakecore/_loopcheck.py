"""Objects of the fake bind to the loop that created them, like sandbox_core's engine clients."""

from __future__ import annotations

import asyncio


class LoopBound:
    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()

    def _bound(self) -> None:
        if asyncio.get_running_loop() is not self._loop:
            raise RuntimeError(f"{type(self).__name__} used outside the loop that created it")
