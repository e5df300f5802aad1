"""Containers on Podman: the default limits kept beside a container's own, the runtime a container really runs
under, host pids from ``top``, the stdin attach of a TTY container, ``wait`` on a container that never ran, a
follow of the output bounded by the container's end."""

from __future__ import annotations

import asyncio
import builtins
import collections
import json

import attrs

from ....exception import ConflictError, InvalidError, ServiceError
from ... import errors as E
from ...api import ExecStream, FrameSource
from ...values import ContainerInfo, ContainerSpec
from .. import output, parse
from ..containers import DockerContainers, create_body
from ..http import DockerClient
from . import hostlock, rlimits
from .logs import StopBoundLogs

#: Containers whose runtime is kept (it never changes).
_RUNTIMES_KEPT = 256


class PodmanContainers(DockerContainers):
    """``ContainersAPI`` on Podman."""

    __slots__ = ("_renames", "_runtimes")

    def __init__(self, client: DockerClient) -> None:
        super().__init__(client)
        self._runtimes: collections.OrderedDict[str, str] = collections.OrderedDict()
        self._renames = asyncio.Lock()

    async def create(self, spec: ContainerSpec, name: str | None = None) -> str:
        """As on Docker; a container that sets limits of its own keeps Podman's defaults for the others
        (``rlimits``: without them it may not start at all). Podman's compatible create ignores ``Runtime``
        (every container runs under the service's default), so another runtime is refused, never ignored."""
        if spec.runtime is not None:
            default = await default_runtime(self._client)
            if spec.runtime != default:
                raise InvalidError(
                    f"Podman's Docker-compatible API runs every container under its default runtime ({default!r}); "
                    f"it cannot run one under {spec.runtime!r}"
                )
        body = create_body(spec)
        if body["HostConfig"].get("Ulimits"):
            body = rlimits.with_defaults(body, await rlimits.default_ulimits(self._client, spec.image))
        res = await self._client.request_json(
            "POST",
            "containers/create",
            f"create container {name or 'from ' + spec.image}",
            params={"name": name} if name else None,
            body=body,
        )
        return str(res["Id"])

    async def inspect(self, ref: str) -> ContainerInfo:
        """Podman's default network is named ``podman`` where Docker's is ``bridge`` (the network mode says
        ``bridge`` on both): the endpoint is reported under Docker's name."""
        info = await super().inspect(ref)
        if info.runtime == "oci":  # Podman's word for "an OCI runtime"; which one only its own API says
            info = attrs.evolve(info, runtime=await self._runtime(info.id))
        if info.network_mode != "bridge":
            return info
        renamed = (attrs.evolve(e, network="bridge") if e.network == "podman" else e for e in info.networks)
        return attrs.evolve(info, networks=tuple(renamed))

    async def _runtime(self, container_id: str) -> str:
        """The OCI runtime container ``container_id`` runs under (``runc``, ``crun`` …), kept per container."""
        known = self._runtimes.get(container_id)
        if known is None:
            raw = await self._client.request_json(
                "GET", f"libpod/containers/{container_id}/json", f"read the runtime of {container_id[:12]}"
            )
            known = str(raw.get("OCIRuntime") or "")
            self._runtimes[container_id] = known
            while len(self._runtimes) > _RUNTIMES_KEPT:
                self._runtimes.popitem(last=False)
        return known

    async def host_pids(self, ref: str) -> builtins.list[int]:
        """From the container's cgroup where this host sees it, as on Docker. Else ``top``, which on Podman runs
        ``ps`` *inside* the container (container pids, nothing without a ``ps``) unless it is asked for its own
        descriptors: ``hpid`` is the host pid. Its JSON comes without a ``Content-Type``, and a stopped container
        gets an empty answer."""
        if self._client.address.is_local:
            pids = await self._cgroup_pids(ref)
            if pids is not None:
                return pids
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

    async def rename(self, ref: str, name: str) -> None:
        """Podman renames a container to the name it already has without complaint (Docker: 400, ``NameConflict``
        here), so of concurrent claims by rename all would win: the current name is checked first, with the check
        and the rename as one step for every process on this host (``hostlock``; docs/podman.md 7)."""
        async with self._renames, hostlock.held(self._client.address.url, "renames"):
            if (await self.inspect(ref)).name.lstrip("/") == name:
                raise E.NameConflict(f"rename container {ref[:12]}: it is already named {name!r}")
            await super().rename(ref, name)

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

    async def follow_output(self, ref: str, *, fd: int | None, tty: bool) -> FrameSource:
        """As on Docker, bounded by the container's end (``logs``: Podman can keep a follow open past it)."""
        stream = await output.follow_logs(self._client, ref, fd=fd, tty=tty)
        return StopBoundLogs(stream, lambda: super(PodmanContainers, self).wait(ref), ref)

    async def wait(self, ref: str) -> int:
        """Podman answers -1 for a container that never ran, where Docker answers 0."""
        code = await super().wait(ref)
        return 0 if code == -1 else code


#: Engine address -> the runtime Podman runs containers under (``GET /info``: ``DefaultRuntime``).
_default_runtimes: dict[str, str] = {}


async def default_runtime(client: DockerClient) -> str:
    """The runtime every container made through Podman's compatible API runs under (asked once per address)."""
    known = _default_runtimes.get(client.address.url)
    if known is None:
        raw = await client.request_json("GET", "info", "read the engine's description")
        known = _default_runtimes[client.address.url] = str(raw.get("DefaultRuntime") or "")
    return known
