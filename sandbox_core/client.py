"""``Client``: Modal's connection object, for the programs that pass ``client=`` explicitly.

The local backend talks to one engine (``DOCKER_HOST`` or the default socket) and needs no credentials, so there is
exactly one client per process. ``Client.from_env()`` and ``Client.from_credentials(...)`` both return it, and every
``client=`` parameter accepts it (or ``None``) and uses the same engine either way.
"""

from __future__ import annotations

import types

from .exception import InvalidError

__all__ = ["Client"]


class Client:
    """The process's connection to the local engine (Modal's ``modal.Client``); obtain it with ``from_env``."""

    __slots__ = ()

    _instance: Client | None = None

    def __init__(self) -> None:
        raise InvalidError("Class Client has no constructor. Use Client.from_env() instead.")

    @classmethod
    def _local(cls) -> Client:
        if Client._instance is None:
            Client._instance = object.__new__(cls)
        return Client._instance

    @classmethod
    async def from_env(cls, _override_config: object = None) -> Client:
        """The process's client. Modal reads its config and token here; locally there is nothing to read."""
        return cls._local()

    @classmethod
    async def from_credentials(cls, token_id: str, token_secret: str) -> Client:
        """The process's client. The local engine has no accounts: the token is checked for shape only (two
        strings) and not used."""
        if not isinstance(token_id, str) or not isinstance(token_secret, str):
            raise InvalidError("token_id and token_secret must be strings")
        return cls._local()

    def is_closed(self) -> bool:
        """Always False: the local client is never closed (engine connections are per event loop)."""
        return False

    async def hello(self) -> None:
        """Modal's connectivity check; a no-op locally (every call reaches the engine directly)."""

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        return None

    def __repr__(self) -> str:
        return "Client(local)"
