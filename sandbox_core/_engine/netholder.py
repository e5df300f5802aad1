"""The holder container's life: create it for a sandbox, start it until its helper is ready, change its policy,
remove it. Every engine call goes through ``HolderEngine``, a small adapter the sandbox layer can re-point.

Order for a sandbox with a policy (``create_holder`` → ``start_holder`` → the sandbox):
1. ``create_holder``: one create (the rules travel in its command); published ports belong on the holder.
2. The sandbox's create may overlap ``start_holder`` (it only needs the holder to exist): its HostConfig gets
   ``sandbox_host_config(holder_id)`` and it must keep NET_RAW dropped and never get NET_ADMIN.
3. ``start_holder``: start, then wait for ``READY_LINE`` (rules installed and verified, helper listening).
4. Start the sandbox. Remove the sandbox first, then ``remove_holder``; ``remove_holders_of`` cleans up after a
   create that failed midway, and ``orphan_holders`` finds holders whose sandbox is gone (for ``sweep()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import attrs

from .. import exception as exc
from .._netpolicy_types import EgressPolicy, NetworkPolicy
from . import containers, execs
from . import labels as L
from .client import Engine
from .netpolicy import (
    HOLDER_IMAGE,
    HOLDER_OF,
    KIND_HOLDER,
    NET_HOLDER,
    READY_LINE,
    NetworkFacts,
    helper_config,
    policy_from_labels,
    policy_labels,
)

#: Seconds to wait for the helper's ready line (it normally takes 10-30 ms after start).
READY_TIMEOUT = 20.0
HOLDER_MEMORY = 64 << 20
HOLDER_PIDS = 64
_HEADER = struct.Struct(">BxxxL")


class HolderEngine(Protocol):
    """The engine calls the holder needs. Errors are ``sandbox_core.exception`` classes."""

    async def create(self, body: Mapping[str, Any], name: str | None) -> str: ...
    async def start(self, cid: str) -> None: ...
    async def remove(self, cid: str) -> bool: ...
    async def output_until(self, cid: str, line: str, timeout: float) -> tuple[bool, str]: ...
    async def inspect(self, cid: str) -> Mapping[str, Any] | None: ...
    async def exec(self, cid: str, argv: Sequence[str]) -> tuple[int, str]: ...
    async def network(self, name: str) -> Mapping[str, Any]: ...
    async def find(self, *label_pairs: str) -> list[Mapping[str, Any]]: ...


@attrs.frozen
class ReplaceResult:
    """What a policy change cut: connections through the proxy, and direct TCP connections."""

    flows_cut: int
    sockets_cut: int


def holder_body(
    sandbox_id: str,
    config_json: str,
    *,
    network: str = "bridge",
    port_bindings: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    dns: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The create body of a holder: only NET_ADMIN, read-only root, small caps, no restart."""
    host: dict[str, Any] = {
        "NetworkMode": network,
        "CapDrop": ["ALL"],
        "CapAdd": ["NET_ADMIN"],
        "SecurityOpt": ["no-new-privileges"],
        "ReadonlyRootfs": True,
        "Tmpfs": {"/run": "size=1m,mode=0700"},
        "Memory": HOLDER_MEMORY,
        "MemorySwap": HOLDER_MEMORY,
        "PidsLimit": HOLDER_PIDS,
        "RestartPolicy": {"Name": "no"},
        "LogConfig": {"Type": "json-file", "Config": {"max-size": "1m", "max-file": "1"}},
    }
    body: dict[str, Any] = {
        "Image": HOLDER_IMAGE,
        "Cmd": ["run", config_json],
        "Labels": {**(labels or {}), **L.owned(KIND_HOLDER, **{HOLDER_OF: sandbox_id})},
        "HostConfig": host,
    }
    if port_bindings:
        host["PortBindings"] = {p: [dict(b) for b in bs] for p, bs in port_bindings.items()}
        body["ExposedPorts"] = {p: {} for p in port_bindings}
    if dns:
        host["Dns"] = list(dns)
    return body


def sandbox_host_config(holder_id: str) -> dict[str, Any]:
    """HostConfig fields of a sandbox joining its holder's namespace. The sandbox must set no PortBindings, Dns,
    ExtraHosts or Hostname of its own (the engine refuses them with this mode; ports go on the holder)."""
    return {"NetworkMode": f"container:{holder_id}"}


def sandbox_labels(holder_id: str) -> dict[str, str]:
    """Labels a sandbox with a holder carries, so that any process finds the holder (policy changes, cleanup)."""
    return {NET_HOLDER: holder_id}


async def network_facts(eng: HolderEngine, network: str) -> NetworkFacts:
    """The subnets and gateways of ``network``."""
    return NetworkFacts.from_inspect(await eng.network(network))


async def create_holder(
    eng: HolderEngine,
    sandbox_id: str,
    policy: NetworkPolicy,
    *,
    network: str = "bridge",
    port_bindings: Mapping[str, Sequence[Mapping[str, str]]] | None = None,
    dns: Sequence[str] = (),
    dns_upstream: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> str:
    """Create (not start) the holder of ``sandbox_id``; returns its container id.

    ``dns`` sets the namespace's resolv.conf (the engine's ``Dns``); ``dns_upstream`` tells the helper where to
    forward allowed names instead of that file's nameservers, which a user-defined network needs: its resolver,
    127.0.0.11, forwards from inside the namespace, where the sandbox's rules would send it back to the helper.
    Raises ``InvalidError`` when the holder image is missing (the engine cannot enforce a policy without it).
    """
    facts = await network_facts(eng, network)
    cfg = helper_config(policy, facts, initial=True, dns_upstream=dns_upstream)
    labels = {**(labels or {}), **policy_labels(policy, dns_upstream)}
    body = holder_body(sandbox_id, cfg, network=network, port_bindings=port_bindings, dns=dns, labels=labels)
    try:
        return await eng.create(body, None)
    except exc.NotFoundError as e:
        raise exc.InvalidError(
            f"network policies need the image {HOLDER_IMAGE} on the engine, which does not have it "
            "(scripts/build-images.sh builds it)"
        ) from e


async def start_holder(eng: HolderEngine, holder_id: str, *, timeout: float = READY_TIMEOUT) -> None:
    """Start the holder and wait until its rules are verified and its helper listens.

    Raises ``InvalidError`` when the helper could not enforce the policy on this engine (its reason included;
    e.g. no nf_tables or no CAP_NET_ADMIN for containers), ``TimeoutError`` past ``timeout``.
    """
    await eng.start(holder_id)
    ready, output = await eng.output_until(holder_id, READY_LINE, timeout)
    if ready:
        return
    reason = output.strip().splitlines()[-1] if output.strip() else "it exited without a word"
    info = await eng.inspect(holder_id)
    if output or not (info and (info.get("State") or {}).get("Running")):
        raise exc.InvalidError(f"this engine cannot enforce the sandbox's network policy: {reason}")
    raise exc.TimeoutError(f"the network policy helper was not ready within {timeout:g} s")


async def replace_policy(
    eng: HolderEngine,
    holder_id: str,
    policy: NetworkPolicy,
    *,
    network: str = "bridge",
    dns_upstream: Sequence[str] = (),
) -> ReplaceResult:
    """Put ``policy`` in force in a running holder and cut the connections it no longer allows.

    Raises ``ConflictError`` when the holder no longer runs, ``InternalError`` when the helper failed (its
    message says whether the new rules are in force: rules that fail to apply are rolled back), ``TimeoutError``
    when it did not answer within ``READY_TIMEOUT``.
    """
    facts = await network_facts(eng, network)
    cfg = helper_config(policy, facts, initial=False, dns_upstream=dns_upstream)
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            code, out = await eng.exec(holder_id, ["/sandbox-egress", "set", cfg])
    except TimeoutError:
        raise exc.TimeoutError(f"the network policy helper did not answer within {READY_TIMEOUT:g} s") from None
    answer: dict[str, Any] = {}
    for line in reversed(out.splitlines()):
        with contextlib.suppress(ValueError):
            answer = json.loads(line)
            break
    if code != 0 or not answer.get("ok"):
        raise exc.InternalError(f"changing the network policy failed: {answer.get('error') or out.strip()}")
    return ReplaceResult(flows_cut=int(answer.get("flows_cut", 0)), sockets_cut=int(answer.get("sockets_cut", 0)))


async def replace_egress(eng: HolderEngine, holder_id: str, egress: EgressPolicy) -> ReplaceResult:
    """``replace_policy`` with only the egress part new: the rest (isolation, inbound, network, DNS upstreams) is
    read back from the holder, so any process can change any sandbox's egress. Raises ``NotFoundError`` when the
    holder is gone, else as ``replace_policy``."""
    info = await eng.inspect(holder_id)
    if info is None:
        raise exc.NotFoundError(f"the sandbox's network holder {holder_id[:12]} no longer exists")
    policy, upstream = policy_from_labels((info.get("Config") or {}).get("Labels") or {}, egress)
    network = str((info.get("HostConfig") or {}).get("NetworkMode") or "bridge")
    return await replace_policy(eng, holder_id, policy, network=network, dns_upstream=upstream)


async def remove_holder(eng: HolderEngine, holder_id: str) -> bool:
    """Remove a holder (after its sandbox); False when it was already gone."""
    return await eng.remove(holder_id)


async def remove_holders_of(eng: HolderEngine, sandbox_id: str) -> int:
    """Remove every holder created for ``sandbox_id``; returns how many."""
    found = await eng.find(f"{HOLDER_OF}={sandbox_id}")
    removed = await asyncio.gather(*(eng.remove(str(c["Id"])) for c in found))
    return sum(removed)


async def orphan_holders(
    eng: HolderEngine, live_sandbox_ids: set[str], *, now: float | None = None, min_age: float = 60.0
) -> list[str]:
    """Ids of holders whose sandbox is not among ``live_sandbox_ids`` (sandbox containers that still exist) and
    that are older than ``min_age`` seconds: a younger one may belong to a create still under way."""
    now = time.time() if now is None else now
    found = await eng.find(HOLDER_OF)
    return [
        str(c["Id"])
        for c in found
        if (c.get("Labels") or {}).get(HOLDER_OF) not in live_sandbox_ids
        and now - float(c.get("Created", now)) >= min_age
    ]


class EngineHolderAPI:
    """``HolderEngine`` over this package's engine client. Network inspections are cached for
    ``NETWORK_CACHE_SECONDS`` (a network keeps its subnets for its life; a short bound covers one re-created
    under the same name)."""

    NETWORK_CACHE_SECONDS = 30.0

    def __init__(self, eng: Engine) -> None:
        self._eng = eng
        self._networks: dict[str, tuple[float, Mapping[str, Any]]] = {}

    async def create(self, body: Mapping[str, Any], name: str | None) -> str:
        params = {"name": name} if name else None
        res = await self._eng.request_json(
            "POST", "containers/create", "create network holder", params=params, body=dict(body)
        )
        return str(res["Id"])

    async def start(self, cid: str) -> None:
        await containers.start(self._eng, cid)

    async def remove(self, cid: str) -> bool:
        return await containers.remove(self._eng, cid)

    async def output_until(self, cid: str, line: str, timeout: float) -> tuple[bool, str]:
        """Follow the container's output until a line equal to ``line`` (True), or until it stops (False);
        returns what was read. ``timeout`` bounds the whole wait."""
        want = line.encode()
        seen = bytearray()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                if await self._read_output(cid, seen, want, follow=True):
                    return True, seen.decode(errors="replace")
                if not seen:  # a follow can end before the last entries reach it: read them once more
                    await self._read_output(cid, seen, want, follow=False)
        return want in seen.splitlines(), seen.decode(errors="replace")

    async def _read_output(self, cid: str, seen: bytearray, want: bytes, *, follow: bool) -> bool:
        params = {"follow": "1" if follow else "0", "stdout": "1", "stderr": "1"}
        async with self._eng.stream("GET", f"containers/{cid}/logs", f"read holder {cid[:12]}", params=params) as r:
            while True:
                try:
                    _, size = _HEADER.unpack(await r.content.readexactly(_HEADER.size))
                    seen += await r.content.readexactly(size)
                except asyncio.IncompleteReadError:
                    return False
                if want in seen.splitlines():
                    return True

    async def inspect(self, cid: str) -> Mapping[str, Any] | None:
        try:
            return await containers.inspect(self._eng, cid)
        except exc.NotFoundError:
            return None

    async def exec(self, cid: str, argv: Sequence[str]) -> tuple[int, str]:
        exec_id = await execs.create_exec(self._eng, cid, argv, env={}, workdir=None, tty=False)
        stream = await execs.start_exec(self._eng, exec_id, tty=False)
        out = bytearray()
        try:
            stream.close_write()
            while (frame := await stream.read_frame()) is not None:
                out += frame[1]
        finally:
            await stream.close()
        code = await execs.exit_code(self._eng, exec_id)
        return (-1 if code is None else code), out.decode(errors="replace")

    async def network(self, name: str) -> Mapping[str, Any]:
        cached = self._networks.get(name)
        if cached is not None and time.monotonic() - cached[0] < self.NETWORK_CACHE_SECONDS:
            return cached[1]
        res: dict[str, Any] = await self._eng.request_json("GET", f"networks/{name}", f"inspect network {name}")
        self._networks[name] = (time.monotonic(), res)
        return res

    async def find(self, *label_pairs: str) -> list[Mapping[str, Any]]:
        found = await containers.list_(self._eng, L.label_filter(f"{L.KIND}={KIND_HOLDER}", *label_pairs), all=True)
        return list(found)
