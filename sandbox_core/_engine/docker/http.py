"""One Docker client per event loop: the connection, API version negotiation, requests with deadlines.

- One ``aiodocker.Docker`` over our own connector with **no connection limit**: every open exec/attach/log stream
  pins a pooled connection, and aiohttp's default limit of 100 deadlocks every other call once 100 streams are open.
- ``DOCKER_HOST`` is honoured (``unix://`` and ``tcp://``); the API version is negotiated once per host and then
  pinned in every URL.
- Every non-streaming request runs under a deadline (``SANDBOX_CORE_REQUEST_TIMEOUT``, default 60 s); streaming
  requests have it until their headers arrive.
"""

from __future__ import annotations

import codecs
import json
import os
import ssl
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiodocker
import aiohttp
import attrs
from yarl import URL

from ... import exception as exc
from ..labels import OWNER, OWNER_VALUE
from .errors import engine_errors, translate

#: The newest Engine API version this library has been tested against; newer engines are spoken to in it.
MAX_API_VERSION = (1, 45)
#: The oldest Engine API version we accept (Docker 20.10).
MIN_API_VERSION = (1, 41)

DEFAULT_UNIX_SOCKET = "/var/run/docker.sock"

Params = Mapping[str, str] | list[tuple[str, str]]
_OWNER_FILTER = (f"{OWNER}={OWNER_VALUE}",)


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise exc.InvalidError(f"{name} must be a number of seconds, got {raw!r}") from None


@attrs.frozen
class TLSFiles:
    """Client TLS for a ``tcp://`` engine, as Docker's ``DOCKER_CERT_PATH`` lays it out: the CA that signed the
    engine's certificate, and this client's certificate and key (None: no client certificate)."""

    ca: str
    cert: str | None = None
    key: str | None = None

    @classmethod
    def from_dir(cls, path: str) -> TLSFiles:
        """``ca.pem``, ``cert.pem`` and ``key.pem`` in ``path`` (the client pair only when both exist).

        Raises ``InvalidError`` when ``ca.pem`` is missing."""
        ca, cert, key = (os.path.join(path, f) for f in ("ca.pem", "cert.pem", "key.pem"))
        if not os.path.isfile(ca):
            raise exc.InvalidError(f"no ca.pem in the TLS certificate directory {path!r}")
        if os.path.isfile(cert) and os.path.isfile(key):
            return cls(ca, cert, key)
        return cls(ca)

    def context(self) -> ssl.SSLContext:
        """A verifying client context (the engine's certificate must chain to ``ca`` and name its host)."""
        try:
            ctx = ssl.create_default_context(cafile=self.ca)
            if self.cert is not None:
                ctx.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as e:
            raise exc.InvalidError(f"cannot load the engine TLS files ({self.ca}, {self.cert}): {e}") from None
        return ctx


@attrs.frozen
class EngineAddress:
    """Where the engine listens: ``url`` as given, ``socket_path`` for unix sockets (None for tcp), ``tls`` for a
    tcp engine spoken to over TLS. ``host_pids``: False when the engine's container pids are not this host's even
    though it is on a unix socket (a cluster node's engine in its own PID namespace)."""

    url: str
    socket_path: str | None
    tls: TLSFiles | None = None
    host_pids: bool = True

    @property
    def is_local(self) -> bool:
        """True when the engine is on this host (a unix socket) and its processes are visible in /proc."""
        return self.socket_path is not None and self.host_pids

    @classmethod
    def parse(
        cls, url: str, *, tls: TLSFiles | None = None, host_pids: bool = True, what: str = "DOCKER_HOST"
    ) -> EngineAddress:
        """An engine URL: ``unix://<path>``, or ``tcp://host:port`` (over TLS when ``tls`` is given)."""
        if url.startswith("unix://"):
            return cls(url=url, socket_path=url[len("unix://") :], host_pids=host_pids)
        if url.startswith(("tcp://", "http://", "https://")):
            return cls(url=url, socket_path=None, tls=tls, host_pids=host_pids)
        raise exc.InvalidError(f"{what} must start with unix:// or tcp://, got {url!r}")

    @classmethod
    def from_env(cls) -> EngineAddress:
        """Resolve ``DOCKER_HOST`` (unix:// or tcp://), defaulting to the standard unix socket; a tcp engine is
        spoken to over TLS when ``DOCKER_TLS_VERIFY`` is set (certificates from ``DOCKER_CERT_PATH``, default
        ``~/.docker``), as the Docker CLI does."""
        host = os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_UNIX_SOCKET}"
        return cls.parse(host, tls=tls_from_env())


def tls_from_env() -> TLSFiles | None:
    """Docker's client TLS settings: ``DOCKER_CERT_PATH`` when ``DOCKER_TLS_VERIFY`` is set, else None."""
    if not os.environ.get("DOCKER_TLS_VERIFY"):
        return None
    return TLSFiles.from_dir(os.environ.get("DOCKER_CERT_PATH") or os.path.expanduser("~/.docker"))


class DockerClient:
    """The HTTP side of one engine connection (bound to the event loop it was made in)."""

    def __init__(self, address: EngineAddress, api_version: str) -> None:
        self.address = address
        self.api_version = api_version
        self.request_timeout = _env_float("SANDBOX_CORE_REQUEST_TIMEOUT", 60.0)
        connector: aiohttp.BaseConnector
        if address.socket_path is not None:
            connector = aiohttp.UnixConnector(address.socket_path, limit=0)
            url = "unix://localhost"
        elif address.tls is not None:
            connector = aiohttp.TCPConnector(limit=0, ssl=address.tls.context())
            url = address.url.replace("tcp://", "https://", 1)
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
        """Close the session and the connector. Idempotent."""
        if self.closed:
            return
        self.closed = True
        await self.docker.close()
        await self._connector.close()

    @staticmethod
    def url(path: str, params: Params | None = None) -> URL:
        """The relative URL for ``path`` with ``params`` (repeated keys allowed, unlike aiodocker's httpize)."""
        u = URL(path)
        return u.with_query(params) if params else u

    async def request_json(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Params | None = None,
        body: Any = None,
        timeout: float | None = None,
    ) -> Any:
        """One non-streaming request; returns the decoded JSON body (None when empty, text when not JSON).

        Raises the library's exception for any engine or HTTP failure; ``TimeoutError`` past ``timeout`` (default:
        the request deadline; ``inf``: none).
        """
        data = None if body is None else json.dumps(body)
        async with engine_errors(what, self.request_timeout if timeout is None else timeout):
            async with self.docker._query(self.url(path, params), method, data=data, timeout=None) as resp:
                raw = await resp.read()
                if not raw:
                    return None
                if "json" in resp.headers.get("Content-Type", ""):
                    return json.loads(raw)
                return raw.decode("utf-8", "replace")

    async def open_stream(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Params | None = None,
        timeout: float | None = None,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> aiohttp.ClientResponse:
        """Start a streaming request; returns the response once its headers arrived (within ``timeout``, default
        the request deadline; a request with a body ``data`` is answered only once the body is sent). The caller
        reads the body (``lines``, ``json_messages``) and releases the response."""
        async with engine_errors(what, self.request_timeout if timeout is None else timeout):
            # Identity: the engine would otherwise gzip on the fly, which is slow.
            return await self.docker._do_query(
                self.url(path, params),
                method,
                data=data,
                headers={"Accept-Encoding": "identity", **(headers or {})},
                timeout=None,
            )


async def lines(resp: aiohttp.ClientResponse, what: str) -> AsyncIterator[bytes]:
    """The non-empty lines of a streaming response body; failures of the connection are translated."""
    while True:
        try:
            line = await resp.content.readline()
        except (aiohttp.ClientError, OSError) as e:
            raise translate(e, what) from e
        if not line:
            return
        if line.strip():
            yield line


async def json_messages(resp: aiohttp.ClientResponse, what: str) -> AsyncIterator[dict[str, Any]]:
    """The JSON objects of a streaming response body, decoded as they arrive (a message may span chunks, and a
    chunk may hold several messages). ``ServiceError`` when the body ends inside a message."""
    decoder = json.JSONDecoder()
    text = codecs.getincrementaldecoder("utf-8")("replace")  # a character may span two chunks
    buf = ""
    while True:
        try:
            chunk = await resp.content.readany()
        except (aiohttp.ClientError, OSError) as e:
            raise translate(e, what) from e
        if not chunk:
            break
        buf += text.decode(chunk)
        while buf := buf.lstrip():
            try:
                msg, end = decoder.raw_decode(buf)
            except ValueError:
                break  # an incomplete message: wait for more
            buf = buf[end:]
            if isinstance(msg, dict):
                yield msg
    if buf.strip():
        raise exc.ServiceError(f"{what}: the engine's answer ended inside a message: {buf[:200]!r}")


_api_versions: dict[str, str] = {}


def _parse_version(v: str) -> tuple[int, int]:
    major, minor = v.split(".")[:2]
    return int(major), int(minor)


async def negotiate(address: EngineAddress) -> str:
    """The API version to speak with the engine at ``address`` (asked once per host and process, then cached).

    Raises ``ConnectionError`` when the engine cannot be reached, ``UnimplementedError`` when it is too old.
    """
    cached = _api_versions.get(address.url)
    if cached is not None:
        return cached
    probe = DockerClient(address, api_version="auto")
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


def label_filters(labels: Mapping[str, str | None], *, owned: bool = True) -> list[str]:
    """The engine's ``label`` filter values for a ``LabelQuery`` (plus the ownership label when ``owned``)."""
    from_query = [k if v is None else f"{k}={v}" for k, v in labels.items()]
    return [*_OWNER_FILTER, *from_query] if owned else from_query


def filters_param(**filters: list[str]) -> str:
    """The ``filters`` query parameter (engine filter JSON)."""
    return json.dumps(filters)
