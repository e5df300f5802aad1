"""A minimal blocking HTTP/1.1 client for a Docker engine on a unix socket (the harness needs no event loop).

Only what bring-up and teardown use: JSON requests, and streaming a response body into another request's body
(image export → image load). Every call has a deadline; a non-2xx answer raises ``EngineError``.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlencode


class EngineError(RuntimeError):
    """The engine answered with a non-2xx status."""

    def __init__(self, status: int, message: str, what: str) -> None:
        super().__init__(f"{what}: HTTP {status}: {message}")
        self.status = status
        self.message = message


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _url(path: str, params: Sequence[tuple[str, str]] | None) -> str:
    return f"/{path.lstrip('/')}" + (f"?{urlencode(params)}" if params else "")


def _message(raw: bytes) -> str:
    try:
        doc = json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace").strip()
    return str(doc.get("message", doc)) if isinstance(doc, dict) else str(doc)


class UnixEngine:
    """One engine reached through the unix socket ``path``; each call opens its own connection."""

    def __init__(self, path: str) -> None:
        self.path = path

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        body: Any = None,
        timeout: float = 30.0,
    ) -> Any:
        """Send one request; returns the decoded JSON answer (``None`` for an empty body)."""
        conn = _UnixConnection(self.path, timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, _url(path, params), body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        if resp.status >= 300:
            raise EngineError(resp.status, _message(raw), f"{method} {path}")
        return json.loads(raw) if raw.strip() else None

    def ping(self, timeout: float = 2.0) -> bool:
        """True when the engine answers ``/_ping``."""
        conn = _UnixConnection(self.path, timeout)
        try:
            conn.request("GET", "/_ping")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def download(self, path: str, *, params: Sequence[tuple[str, str]] | None = None, timeout: float = 120.0) -> bytes:
        """The whole body of a GET (for image exports, which are small here)."""
        return b"".join(self.stream(path, params=params, timeout=timeout))

    def stream(
        self, path: str, *, params: Sequence[tuple[str, str]] | None = None, timeout: float = 120.0
    ) -> Iterator[bytes]:
        """The body of a GET, in chunks."""
        conn = _UnixConnection(self.path, timeout)
        try:
            conn.request("GET", _url(path, params))
            resp = conn.getresponse()
            if resp.status >= 300:
                raise EngineError(resp.status, _message(resp.read()), f"GET {path}")
            while chunk := resp.read(1 << 20):
                yield chunk
        finally:
            conn.close()

    def upload(
        self, path: str, data: bytes, *, params: Sequence[tuple[str, str]] | None = None, timeout: float = 120.0
    ) -> bytes:
        """POST a binary body (e.g. an image tarball to ``images/load``); returns the raw answer."""
        conn = _UnixConnection(self.path, timeout)
        try:
            conn.request("POST", _url(path, params), body=data, headers={"Content-Type": "application/x-tar"})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        if resp.status >= 300:
            raise EngineError(resp.status, _message(raw), f"POST {path}")
        return raw
