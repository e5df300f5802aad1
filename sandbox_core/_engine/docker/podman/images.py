"""Images on Podman: tags without the registry Podman writes into them, a pull's progress that ends like
Docker's, and a list that survives images removed while it is made."""

from __future__ import annotations

import builtins

import attrs

from ....exception import ServiceError
from ...values import ImageInfo, ImageSummary, LabelQuery
from ..build import Lines
from ..images import DockerImages
from ..parse import repo_digests

#: What Podman puts before a tag that Docker leaves implicit: the default registry, and ``localhost/`` for a name
#: without a registry that it did not pull (tagged, imported, built).
_IMPLICIT = ("docker.io/library/", "docker.io/", "localhost/")

#: Lists of images made again when an image vanished while Podman made one (each attempt is one request).
_LIST_ATTEMPTS = 5


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
        """As on Docker. Podman reads each image while it lists them and fails the whole list (500 ``image not
        known``) when one is removed meanwhile, where Docker lists the others: such a list is made again."""
        attempts = 1
        while True:
            try:
                found = await super().list(labels)
                break
            except ServiceError as e:
                if "image not known" not in str(e) or attempts >= _LIST_ATTEMPTS:
                    raise
                attempts += 1
        return [attrs.evolve(i, repo_tags=tuple(map(docker_tag, i.repo_tags))) for i in found]

    async def _after_pull(self, ref: str, log: Lines) -> None:
        """Podman's progress ends with the layers; Docker's with ``Digest:`` and ``Status:`` lines, which the
        image's inspect gives."""
        raw = await self._client.request_json("GET", f"images/{ref}/json", f"inspect image {ref}")
        for digest in repo_digests(raw)[:1]:
            log.emit(f"Digest: {digest}")
        log.emit(f"Status: Downloaded newer image for {ref}")
