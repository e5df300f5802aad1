"""Containers on Podman: host pids from ``top``, the stdin attach of a TTY container, ``wait`` on a container that
never ran."""

from __future__ import annotations

import builtins
import json

import attrs

from ....exception import ConflictError, ServiceError
from ... import errors as E
from ...api import ExecStream
from ...values import ContainerInfo
from .. import output, parse
from ..containers import DockerContainers


class PodmanContainers(DockerContainers):
    """``ContainersAPI`` on Podman."""

    __slots__ = ()

    async def inspect(self, ref: str) -> ContainerInfo:
        """Podman's default network is named ``podman`` where Docker's is ``bridge`` (the network mode says
        ``bridge`` on both): the endpoint is reported under Docker's name."""
        info = await super().inspect(ref)
        if info.network_mode != "bridge":
            return info
        renamed = (attrs.evolve(e, network="bridge") if e.network == "podman" else e for e in info.networks)
        return attrs.evolve(info, networks=tuple(renamed))

    async def host_pids(self, ref: str) -> builtins.list[int]:
        """Podman's ``top`` runs ``ps`` *inside* the container (container pids, nothing without a ``ps``) unless it
        is asked for its own descriptors: ``hpid`` is the host pid. Its JSON comes without a ``Content-Type``, and
        a stopped container gets an empty answer."""
        try:
            res = await self._client.request_json(
                "GET", f"containers/{ref}/top", f"list processes of {ref[:12]}", params={"ps_args": "hpid"}
            )
        except (E.ContainerNotRunning, E.NoSuchContainer, ServiceError):
            return []
        if isinstance(res, str):
            try:
                res = json.loads(res)
            except ValueError:
                return []
        return parse.top_pids(res, "HPID") if isinstance(res, dict) else []

    async def attach_stdin(self, ref: str, *, tty: bool) -> ExecStream:
        """Podman ends a stdin-only attach to a TTY container at once; with the output attached it stays open (the
        caller drains that output: the same bytes are in the logs)."""
        return await output.attach_stdin(self._client, ref, tty=tty, with_output=tty)

    async def remove(self, ref: str) -> bool:
        """Podman refuses to remove a container whose namespace other containers joined (a sandbox's network
        holder, a sandbox with sidecars); Docker removes it and leaves them in a namespace nothing else uses. The
        library removes those containers with it anyway, so here they go together (Podman's own ``depend``)."""
        try:
            return await super().remove(ref)
        except ConflictError as e:
            if "dependent containers" not in str(e):
                raise
        try:
            await self._client.request_json(
                "DELETE",
                f"libpod/containers/{ref}",
                f"remove container {ref[:12]} with the containers in its namespace",
                params={"force": "true", "v": "true", "depend": "true"},
            )
        except E.NoSuchContainer:
            return False
        return True

    async def wait(self, ref: str) -> int:
        """Podman answers -1 for a container that never ran, where Docker answers 0."""
        code = await super().wait(ref)
        return 0 if code == -1 else code
