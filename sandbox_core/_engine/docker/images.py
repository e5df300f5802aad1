"""Images: inspect, pull, remove."""

from __future__ import annotations

import json

from ... import exception as exc
from ..errors import ImagePullError, NoSuchImage
from ..values import ImageInfo
from . import parse
from .http import DockerClient, lines


def _split_ref(ref: str) -> tuple[str, str]:
    name, _, digest = ref.partition("@")
    if digest:
        return name, digest
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, "latest"


class DockerImages:
    """``ImagesAPI`` on the Docker engine."""

    __slots__ = ("_client",)

    def __init__(self, client: DockerClient) -> None:
        self._client = client

    async def inspect(self, ref: str) -> ImageInfo | None:
        try:
            res = await self._client.request_json("GET", f"images/{ref}/json", f"inspect image {ref}")
        except exc.NotFoundError:
            return None
        return parse.image_info(res)

    async def pull(self, ref: str, *, timeout: float) -> None:
        repo, tag = _split_ref(ref)
        what = f"pull image {ref}"
        try:
            resp = await self._client.open_stream(
                "POST", "images/create", what, params={"fromImage": repo, "tag": tag}, timeout=timeout
            )
            try:
                async for line in lines(resp, what):
                    try:
                        message = json.loads(line)
                    except ValueError as e:
                        raise exc.ServiceError(f"{what}: the engine sent {line[:80]!r}") from e
                    if "error" in message:
                        raise ImagePullError(f"{what}: {message['error']}")
            finally:
                resp.release()
        except ImagePullError:
            raise
        except exc.Error as e:
            raise ImagePullError(f"{what}: {e}") from e

    async def remove(self, ref: str) -> None:
        try:
            await self._client.request_json("DELETE", f"images/{ref}", f"remove image {ref}", params={"force": "1"})
        except NoSuchImage:
            pass
