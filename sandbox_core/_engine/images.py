"""Image lookup and pull."""

from __future__ import annotations

from typing import Any

from .. import exception as exc
from .client import Engine


async def inspect(eng: Engine, ref: str) -> dict[str, Any] | None:
    """The image's inspect document, or None when it is not present locally."""
    try:
        res: dict[str, Any] = await eng.request_json("GET", f"images/{ref}/json", f"inspect image {ref}")
    except exc.NotFoundError:
        return None
    return res


def _split_ref(ref: str) -> tuple[str, str]:
    name, _, digest = ref.partition("@")
    if digest:
        return name, digest
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, "latest"


async def pull(eng: Engine, ref: str, timeout: float) -> None:
    """Pull ``ref`` from its registry. Raises ``NotFoundError`` when the registry cannot provide it."""
    repo, tag = _split_ref(ref)
    try:
        async with eng.stream(
            "POST",
            "images/create",
            f"pull image {ref}",
            params={"fromImage": repo, "tag": tag},
            connect_timeout=timeout,
        ) as resp:
            import json

            async for line in resp.content:
                if not line.strip():
                    continue
                msg = json.loads(line)
                if "error" in msg:
                    raise exc.NotFoundError(f"pull image {ref}: {msg['error']}")
    except exc.NotFoundError:
        raise
    except exc.Error as e:
        raise exc.NotFoundError(f"pull image {ref}: {e}") from e


async def remove(eng: Engine, ref: str) -> None:
    """Remove an image (forced); a missing one is not an error."""
    try:
        await eng.request_json("DELETE", f"images/{ref}", f"remove image {ref}", params={"force": "1"})
    except exc.NotFoundError:
        pass
