"""Images on Podman: tags without the registry Podman writes into them, and a pull's progress that ends like
Docker's."""

from __future__ import annotations

import builtins

import attrs

from ...values import ImageInfo, ImageSummary, LabelQuery
from ..build import Lines
from ..images import DockerImages
from ..parse import repo_digests

#: What Podman puts before a tag that Docker leaves implicit: the default registry, and ``localhost/`` for a name
#: without a registry that it did not pull (tagged, imported, built).
_IMPLICIT = ("docker.io/library/", "docker.io/", "localhost/")


def docker_tag(tag: str) -> str:
    """``tag`` as Docker names it."""
    for prefix in _IMPLICIT:
        if tag.startswith(prefix):
            return tag[len(prefix) :]
    return tag


class PodmanImages(DockerImages):
    """``ImagesAPI`` on Podman."""

    __slots__ = ()

    async def inspect(self, ref: str) -> ImageInfo | None:
        info = await super().inspect(ref)
        return None if info is None else attrs.evolve(info, repo_tags=tuple(map(docker_tag, info.repo_tags)))

    async def list(self, labels: LabelQuery) -> builtins.list[ImageSummary]:
        return [attrs.evolve(i, repo_tags=tuple(map(docker_tag, i.repo_tags))) for i in await super().list(labels)]

    async def _after_pull(self, ref: str, log: Lines) -> None:
        """Podman's progress ends with the layers; Docker's with ``Digest:`` and ``Status:`` lines, which the
        image's inspect gives."""
        raw = await self._client.request_json("GET", f"images/{ref}/json", f"inspect image {ref}")
        for digest in repo_digests(raw)[:1]:
            log.emit(f"Digest: {digest}")
        log.emit(f"Status: Downloaded newer image for {ref}")
