"""The engine layer: the only code in sandbox_core that talks to a container engine.

``api.py`` is the interface (``EngineAPI``), ``values.py`` what crosses it, ``errors.py`` the specific exceptions
it raises; ``docker/`` implements it on one Docker engine, ``swarm/`` on a Docker Swarm cluster (chosen by
``SANDBOX_CORE_CLUSTER=swarm``). ``get_engine()`` returns the engine of the running event loop: one per loop,
opened on first use, closed with the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable

from .api import EngineAPI
from .docker.engine import DockerEngine
from .swarm.config import cluster_mode
from .swarm.engine import SwarmEngine

__all__ = ["EngineAPI", "close_engine", "get_engine"]

_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, EngineAPI] = weakref.WeakKeyDictionary()
_engine_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _close_with_loop(loop: asyncio.AbstractEventLoop, engine: EngineAPI) -> None:
    """Close ``engine`` when ``loop`` closes, so asyncio.run() users never leak its connections."""
    original: Callable[[], None] = loop.close

    def close() -> None:
        if not engine.closed and not loop.is_closed() and not loop.is_running():
            with contextlib.suppress(Exception):
                loop.run_until_complete(engine.close())
        _engines.pop(loop, None)
        original()

    with contextlib.suppress(AttributeError, TypeError):
        loop.close = close  # type: ignore[method-assign]


async def _open() -> EngineAPI:
    if cluster_mode() == "swarm":
        return await SwarmEngine.open()
    return await DockerEngine.open()


async def get_engine() -> EngineAPI:
    """The engine of the running loop, opened on first use: the Docker engine ``DOCKER_HOST`` names, or with
    ``SANDBOX_CORE_CLUSTER=swarm`` the swarm ``SANDBOX_CORE_SWARM_MANAGER`` manages.

    Raises ``ConnectionError`` when the engine cannot be reached, ``InvalidError`` when it is misconfigured.
    """
    loop = asyncio.get_running_loop()
    engine = _engines.get(loop)
    if engine is not None and not engine.closed:
        return engine
    lock = _engine_locks.setdefault(loop, asyncio.Lock())
    async with lock:
        engine = _engines.get(loop)
        if engine is None or engine.closed:
            engine = await _open()
            _engines[loop] = engine
            _close_with_loop(loop, engine)
    return engine


async def close_engine() -> None:
    """Close the running loop's engine, if any. A later ``get_engine`` opens a new one."""
    loop = asyncio.get_running_loop()
    engine = _engines.pop(loop, None)
    if engine is not None:
        await engine.close()
