"""The byte transport an ``AgentClient`` runs on: one duplex stream to the agent's stdin/stdout.

In a sandbox it is an engine exec stream (``engine_calls.open_agent_stream``); tests also use a
``docker exec -i`` subprocess. Nothing else is assumed: no framing, no message boundaries.
"""

from __future__ import annotations

from typing import Protocol


class AgentTransport(Protocol):
    """A duplex byte stream. Implementations need not be safe for concurrent writers (the client has one)."""

    async def read(self) -> bytes | None:
        """The next bytes from the agent (any split), or None at EOF. Raises ``ConnectionError`` on a broken link."""
        ...

    async def write(self, data: bytes) -> None:
        """Write ``data``, waiting while the link's buffer is full. Raises ``BrokenPipeError`` once closed."""
        ...

    def close_write(self) -> None:
        """Half-close: the agent sees EOF on its stdin (and ends its session); reading continues."""
        ...

    async def close(self) -> None:
        """Close both directions. Idempotent."""
        ...
