"""One Docker client per event loop, with error translation and deadlines.

- One ``aiodocker.Docker`` per running event loop, over our own connector with **no connection limit**: every
  open exec/attach/log stream pins a pooled connection, and aiohttp's default limit of 100 deadlocks every other
  call once 100 streams are open.
- ``DOCKER_HOST`` is honoured (``unix://`` and ``tcp://``); the API version is negotiated once per host and then
  pinned in every URL.
- Every non-streaming request runs under a deadline (``SANDBOX_CORE_REQUEST_TIMEOUT``, default 60 s).
- The client closes itself when its loop closes (``asyncio.run`` included), so no "Unclosed client session"
  warning is left behind; ``close_engine()`` closes it explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, NoReturn

import aiodocker
import aiohttp
import attrs
from yarl import URL

from .. import exception as exc

#: The newest Engine API version this library has been tested against; newer engines are spoken to in it.
MAX_API_VERSION = (1, 45)
#: The oldest Engine API version we accept (Docker 20.10).
MIN_API_VERSION = (1, 41)

DEFAULT_UNIX_SOCKET = "/var/run/docker.sock"


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise exc.InvalidError(f"{name} must be a number of seconds, got {raw!r}") from None


@attrs.frozen
class EngineAddress:
    """Where the engine listens: ``url`` as given, ``socket_path`` for unix sockets (None for tcp)."""

    url: str
    socket_path: str | None

    @property
    def is_local(self) -> bool:
        """True when the engine is on this host (a unix socket), so its processes are visible in /proc."""
        return self.socket_path is not None

    @classmethod
    def from_env(cls) -> EngineAddress:
        """Resolve ``DOCKER_HOST`` (unix:// or tcp://), defaulting to the standard unix socket."""
        host = os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_UNIX_SOCKET}"
        if host.startswith("unix://"):
            return cls(url=host, socket_path=host[len("unix://") :])
        if host.startswith(("tcp://", "http://", "https://")):
            return cls(url=host, socket_path=None)
        raise exc.InvalidError(f"DOCKER_HOST must start with unix:// or tcp://, got {host!r}")


_api_versions: dict[str, str] = {}


def translate(error: BaseException, what: str) -> exc.Error:
    """Map an aiodocker/aiohttp/OS error raised while doing ``what`` to a sandbox_core exception."""
    if isinstance(error, exc.Error):
        return error
    if isinstance(error, aiodocker.DockerError):
        status, message = error.status, str(error.message).strip()
        text = f"{what}: {message}"
        cls: type[exc.Error]
        if status == 900:
            cls = exc.ConnectionError
        elif status == 404:
            cls = exc.NotFoundError
        elif status == 409:
            cls = exc.ConflictError
        elif status == 400:
            cls = exc.InvalidError
        elif status in (401, 403):
            cls = exc.PermissionDeniedError
        elif status == 501:
            cls = exc.UnimplementedError
        else:
            cls = exc.ServiceError
        out = cls(text)
        out.engine_status = status
        return out
    if isinstance(error, asyncio.TimeoutError | TimeoutError):
        return exc.TimeoutError(f"{what}: the Docker engine did not answer in time")
    if isinstance(error, aiohttp.ClientConnectionError | ConnectionError):
        return exc.ConnectionError(f"{what}: lost the connection to the Docker engine ({error})")
    if isinstance(error, aiohttp.ClientError | OSError | json.JSONDecodeError):
        return exc.ServiceError(f"{what}: {type(error).__name__}: {error}")
    return exc.InternalError(f"{what}: {type(error).__name__}: {error}")


def raise_translated(error: BaseException, what: str) -> NoReturn:
    raise translate(error, what) from error


@contextlib.asynccontextmanager
async def engine_errors(what: str, deadline: float | None = None) -> AsyncIterator[None]:
    """Translate every engine error raised inside into sandbox_core's classes; apply ``deadline`` seconds."""
    try:
        if deadline is None:
            yield
        else:
            async with asyncio.timeout(None if deadline == float("inf") else deadline):
                yield
    except exc.Error:
        raise
    except (TimeoutError, aiodocker.DockerError, aiohttp.ClientError, OSError, json.JSONDecodeError) as e:
        raise translate(e, what) from e


class Engine:
    """The engine client bound to one event loop. Obtain it with ``await get_engine()``."""

    def __init__(self, address: EngineAddress, api_version: str) -> None:
        self.address = address
        self.api_version = api_version
        self.request_timeout = _env_float("SANDBOX_CORE_REQUEST_TIMEOUT", 60.0)
        connector: aiohttp.BaseConnector
        if address.socket_path is not None:
            connector = aiohttp.UnixConnector(address.socket_path, limit=0)
            url = "unix://localhost"
        else:
            connector = aiohttp.TCPConnector(limit=0)
            url = address.url.replace("tcp://", "http://", 1)
        self._connector = connector
        self.docker = aiodocker.Docker(
            url=url,
            connector=connector,
            api_version=api_version,
            timeout=aiohttp.ClientTimeout(sock_connect=10),
        )
        self.closed = False

    async def close(self) -> None:
        """Close the client's session and connector. Idempotent."""
        if self.closed:
            return
        self.closed = True
        await self.docker.close()
        await self._connector.close()

    def url(self, path: str, params: Mapping[str, str] | list[tuple[str, str]] | None = None) -> URL:
        """The relative URL for ``path`` with ``params`` (repeated keys allowed, unlike aiodocker's httpize)."""
        u = URL(path)
        return u.with_query(params) if params else u

    async def request_json(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """One non-streaming request; returns the decoded JSON body (None when empty).

        Raises a sandbox_core exception on any engine/HTTP error; ``TimeoutError`` past ``timeout``
        (default: the client's request deadline).
        """
        data = None if body is None else json.dumps(body)
        async with engine_errors(what, self.request_timeout if timeout is None else timeout):
            async with self.docker._query(self.url(path, params), method, data=data, timeout=None) as resp:
                raw = await resp.read()
                if not raw:
                    return None
                ctype = resp.headers.get("Content-Type", "")
                if "json" in ctype:
                    return json.loads(raw)
                return raw.decode("utf-8", "replace")

    @contextlib.asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, str] | list[tuple[str, str]] | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        connect_timeout: float | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """A streaming request: the response is yielded once its headers arrived (bounded by the request
        deadline); the body has no deadline. Errors inside the block are translated too."""
        hdrs: dict[str, str] = {"Accept-Encoding": "identity"}
        if headers:
            hdrs.update(headers)
        try:
            async with asyncio.timeout(self.request_timeout if connect_timeout is None else connect_timeout):
                resp = await self.docker._do_query(
                    self.url(path, params), method, data=data, headers=hdrs, timeout=None
                )
        except exc.Error:
            raise
        except (TimeoutError, aiodocker.DockerError, aiohttp.ClientError, OSError) as e:
            raise translate(e, what) from e
        try:
            async with engine_errors(what):
                yield resp
        finally:
            resp.release()


_engines: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Engine] = weakref.WeakKeyDictionary()
_engine_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def _parse_version(v: str) -> tuple[int, int]:
    major, minor = v.split(".")[:2]
    return int(major), int(minor)


async def _negotiate(address: EngineAddress) -> str:
    cached = _api_versions.get(address.url)
    if cached is not None:
        return cached
    probe = Engine(address, api_version="auto")
    try:
        async with engine_errors("contact the Docker engine", probe.request_timeout):
            info = await probe.docker._query_json("version", versioned_api=False)
    except exc.ConnectionError as e:
        raise exc.ConnectionError(
            f"cannot reach the Docker engine at {address.url}: {e}. Start it (scripts/ensure-engine.sh does) "
            "or set DOCKER_HOST."
        ) from e
    finally:
        await probe.close()
    server_max = _parse_version(str(info["ApiVersion"]))
    if server_max < MIN_API_VERSION:
        raise exc.UnimplementedError(
            f"the Docker engine at {address.url} speaks API {info['ApiVersion']}; sandbox_core needs at least "
            f"{MIN_API_VERSION[0]}.{MIN_API_VERSION[1]} (Docker 20.10)"
        )
    chosen = min(server_max, MAX_API_VERSION)
    version = f"v{chosen[0]}.{chosen[1]}"
    _api_versions[address.url] = version
    return version


def _close_with_loop(loop: asyncio.AbstractEventLoop, engine: Engine) -> None:
    """Close ``engine`` when ``loop`` closes, so asyncio.run() users never leak the aiohttp session."""
    original: Callable[[], None] = loop.close

    def close() -> None:
        if not engine.closed and not loop.is_closed() and not loop.is_running():
            with contextlib.suppress(Exception):
                loop.run_until_complete(engine.close())
        _engines.pop(loop, None)
        original()

    with contextlib.suppress(AttributeError, TypeError):
        loop.close = close  # type: ignore[method-assign]


async def get_engine() -> Engine:
    """Return the engine client of the running loop, creating (and version-negotiating) it on first use.

    Raises ``ConnectionError`` when the engine cannot be reached.
    """
    loop = asyncio.get_running_loop()
    engine = _engines.get(loop)
    if engine is not None and not engine.closed:
        return engine
    lock = _engine_locks.setdefault(loop, asyncio.Lock())
    async with lock:
        engine = _engines.get(loop)
        if engine is None or engine.closed:
            address = EngineAddress.from_env()
            version = await _negotiate(address)
            engine = Engine(address, version)
            _engines[loop] = engine
            _close_with_loop(loop, engine)
    return engine


async def close_engine() -> None:
    """Close the running loop's engine client, if any. A later call to ``get_engine`` opens a new one."""
    loop = asyncio.get_running_loop()
    engine = _engines.pop(loop, None)
    if engine is not None:
        await engine.close()
