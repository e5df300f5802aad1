"""Images on Podman: tags without the registry Podman writes into them, a pull's progress that ends like
Docker's, a list that survives images removed while it is made, and a commit's configuration sent as Dockerfile
instructions (Podman ignores the body Docker reads it from)."""

from __future__ import annotations

import builtins
import json

import attrs

from ....exception import InvalidError, ServiceError
from ...values import ImageConfig, ImageInfo, ImageSummary, LabelQuery
from ..build import Lines
from ..images import DEFAULT_PATH, DockerImages
from ..parse import repo_digests

#: What Podman puts before a tag that Docker leaves implicit: the default registry, and ``localhost/`` for a name
#: without a registry that it did not pull (tagged, imported, built).
_IMPLICIT = ("docker.io/library/", "docker.io/", "localhost/")

#: What a Dockerfile instruction's quoted word cannot carry through Podman's parser of ``changes`` (it strips the
#: quotes but keeps escapes, so neither a quote nor a backslash round-trips).
_UNQUOTABLE = ('"', "\\", "\n", "\r")

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

    async def commit(self, container: str, config: ImageConfig, *, repo: str, tag: str, pause: bool = True) -> str:
        """As on Docker. Podman's compatible commit ignores the configuration in the body (the image would keep the
        container's labels, environment, command), and applies ``changes`` instead."""
        params = [("container", container), ("repo", repo), ("tag", tag), ("pause", "1" if pause else "0")]
        params.extend(("changes", change) for change in commit_changes(config))
        res = await self._client.request_json(
            "POST", "commit", f"commit container {container[:12]}", params=params, body={}, timeout=float("inf")
        )
        return str(res["Id"])

    async def _after_pull(self, ref: str, log: Lines) -> None:
        """Podman's progress ends with the layers; Docker's with ``Digest:`` and ``Status:`` lines, which the
        image's inspect gives."""
        raw = await self._client.request_json("GET", f"images/{ref}/json", f"inspect image {ref}")
        for digest in repo_digests(raw)[:1]:
            log.emit(f"Digest: {digest}")
        log.emit(f"Status: Downloaded newer image for {ref}")


def commit_changes(config: ImageConfig) -> builtins.list[str]:
    """``config`` as the Dockerfile instructions of a commit's ``changes``, which override what the container has
    (as Docker's commit config does). ``InvalidError`` for a label or variable these cannot carry, and for a
    ``shell`` (Podman 4.3's commit refuses a ``SHELL`` change)."""
    if config.shell is not None:
        raise InvalidError(
            f"Podman's commit cannot keep an image's SHELL ({list(config.shell)!r}): build steps that need a commit "
            "(steps given env= or secrets=) cannot follow Image.shell() on Podman"
        )
    changes = [f"LABEL {_word(k)}={_word(v)}" for k, v in config.labels.items()]
    env = dict(config.env) or dict([DEFAULT_PATH.split("=", 1)])
    changes += [f"ENV {_word(k)}={_word(v)}" for k, v in env.items()]
    if config.cmd is not None:
        changes.append(f"CMD {json.dumps(list(config.cmd))}")
    if config.entrypoint is not None:
        changes.append(f"ENTRYPOINT {json.dumps(list(config.entrypoint))}")
    if config.workdir:
        changes.append(f"WORKDIR {config.workdir}")
    if config.user:
        changes.append(f"USER {config.user}")
    return changes


def _word(text: str) -> str:
    if any(c in text for c in _UNQUOTABLE):
        raise InvalidError(
            f"Podman's commit takes an image's labels and environment as Dockerfile instructions, which cannot "
            f"carry {text!r} (no quote, backslash or line break)"
        )
    return f'"{text}"'
