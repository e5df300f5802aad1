"""Volumes and networks on the Docker engine."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import NameConflict, NoSuchNetwork, NoSuchVolume
from ..values import LabelQuery, NetworkInfo, VolumeInfo
from . import parse
from .http import DockerClient, filters_param, has_labels, label_filters


class DockerVolumes:
    """``VolumesAPI`` on the Docker engine."""

    __slots__ = ("_client",)

    def __init__(self, client: DockerClient) -> None:
        self._client = client

    async def create(
        self, name: str, labels: Mapping[str, str], *, driver: str = "local", options: Mapping[str, str] | None = None
    ) -> VolumeInfo:
        body = {"Name": name, "Driver": driver, "Labels": dict(labels), "DriverOpts": dict(options or {})}
        try:
            res = await self._client.request_json("POST", "volumes/create", f"create volume {name}", body=body)
        except NameConflict:
            # Another create of the name won the race (Podman says so; Docker returns the winner's volume).
            existing = await self.inspect(name)
            if existing is None:
                raise
            return existing
        return parse.volume_info(res)

    async def inspect(self, name: str) -> VolumeInfo | None:
        try:
            res = await self._client.request_json("GET", f"volumes/{name}", f"inspect volume {name}")
        except NoSuchVolume:
            return None
        return parse.volume_info(res)

    async def list(self, labels: LabelQuery) -> list[VolumeInfo]:
        query = label_filters(labels)
        params = {"filters": filters_param(label=query)}
        found = parse.volumes(await self._client.request_json("GET", "volumes", "list volumes", params=params))
        return [v for v in found if has_labels(v.labels, query)]

    async def remove(self, name: str) -> bool:
        try:
            await self._client.request_json("DELETE", f"volumes/{name}", f"remove volume {name}")
        except NoSuchVolume:
            return False
        return True


class DockerNetworks:
    """``NetworksAPI`` on the Docker engine."""

    __slots__ = ("_client",)

    def __init__(self, client: DockerClient) -> None:
        self._client = client

    async def inspect(self, ref: str) -> NetworkInfo | None:
        try:
            res = await self._client.request_json("GET", f"networks/{ref}", f"inspect network {ref}")
        except NoSuchNetwork:
            return None
        return parse.network_info(res)

    async def list(self, labels: LabelQuery) -> list[NetworkInfo]:
        query = label_filters(labels)
        params = {"filters": filters_param(label=query)}
        res = await self._client.request_json("GET", "networks", "list networks", params=params)
        return [n for raw in res or () if has_labels((n := parse.network_info(raw)).labels, query)]

    async def remove(self, ref: str) -> bool:
        try:
            await self._client.request_json("DELETE", f"networks/{ref}", f"remove network {ref}")
        except NoSuchNetwork:
            return False
        return True
