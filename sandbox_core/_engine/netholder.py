"""The holder container's life: create it for a sandbox, start it until its helper is ready, change its policy,
remove it, all through ``EngineAPI``.

Order for a sandbox with a policy (``create_holder`` → ``start_holder`` → the sandbox):
1. ``create_holder``: one create (the rules travel in its command); published ports belong on the holder.
2. The sandbox's create may overlap ``start_holder`` (it only needs the holder to exist): its spec gets
   ``network_mode=sandbox_network_mode(holder_ref)`` and it must keep NET_RAW dropped and never get NET_ADMIN.
3. ``start_holder``: start, then wait for ``READY_LINE`` (rules installed and verified, helper listening).
4. Start the sandbox. Remove the sandbox first, then ``remove_holder``; ``remove_holders_of`` cleans up after a
   create that failed midway, and ``orphan_holders`` finds holders whose sandbox is gone (for ``sweep()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .. import exception as exc
from .._netpolicy_types import EgressPolicy, NetworkPolicy
from . import labels as L
from .api import EngineAPI
from .errors import NoSuchContainer
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
from .values import ContainerSpec, ContainerSummary, ExecSpec, PortBinding

#: Seconds to wait for the helper's ready line (it normally takes 10-30 ms after start).
READY_TIMEOUT = 20.0
HOLDER_MEMORY = 64 << 20
HOLDER_PIDS = 64
#: A network keeps its subnets for its life; this short bound covers one re-created under the same name.
NETWORK_CACHE_SECONDS = 30.0


@attrs.frozen
class ReplaceResult:
    """What a policy change cut: connections through the proxy, and direct TCP connections."""

    flows_cut: int
    sockets_cut: int


def holder_spec(
    sandbox_id: str | None,
    config_json: str,
    *,
    network: str = "bridge",
    ports: Sequence[PortBinding] = (),
    dns: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
) -> ContainerSpec:
    """The spec of a holder: only NET_ADMIN, read-only root, small limits, no restart, the helper as PID 1.
    ``sandbox_id`` None: a holder made in advance (a pool's), which learns its sandbox when claimed."""
    own = {HOLDER_OF: sandbox_id} if sandbox_id is not None else {}
    return ContainerSpec(
        image=HOLDER_IMAGE,
        cmd=("run", config_json),
        labels={**(labels or {}), **L.owned(KIND_HOLDER, **own)},
        network_mode=network,
        ports=ports,
        dns=dns,
        open_stdin=False,
        init=False,
        cap_drop=("ALL",),
        cap_add=("NET_ADMIN",),
        read_only_rootfs=True,
        tmpfs={"/run": "size=1m,mode=0700"},
        memory_bytes=HOLDER_MEMORY,
        memory_swap_bytes=HOLDER_MEMORY,
        pids_limit=HOLDER_PIDS,
        log_max_size="1m",
        log_max_files=1,
    )


def sandbox_network_mode(holder_ref: str) -> str:
    """The ``ContainerSpec.network_mode`` of a sandbox joining its holder's namespace. The sandbox can then set no
    ports or DNS servers of its own (ports go on the holder)."""
    return f"container:{holder_ref}"


def sandbox_labels(holder_ref: str) -> dict[str, str]:
    """Labels a sandbox with a holder carries, so that any process finds the holder (policy changes, cleanup)."""
    return {NET_HOLDER: holder_ref}


_networks: dict[tuple[str, str], tuple[float, NetworkFacts]] = {}


async def network_facts(eng: EngineAPI, network: str) -> NetworkFacts:
    """The subnets and gateways of ``network`` (remembered for ``NETWORK_CACHE_SECONDS`` per engine and name).
    ``NotFoundError`` when it does not exist."""
    key = (eng.endpoint, network)
    cached = _networks.get(key)
    if cached is not None and time.monotonic() - cached[0] < NETWORK_CACHE_SECONDS:
        return cached[1]
    info = await eng.networks.inspect(network)
    if info is None:
        raise exc.NotFoundError(f"the network {network!r} does not exist")
    facts = NetworkFacts.from_network(info)
    _networks[key] = (time.monotonic(), facts)
    return facts


async def create_holder(
    eng: EngineAPI,
    sandbox_id: str | None,
    policy: NetworkPolicy,
    *,
    network: str = "bridge",
    ports: Sequence[PortBinding] = (),
    dns: Sequence[str] = (),
    dns_upstream: Sequence[str] = (),
    labels: Mapping[str, str] | None = None,
    name: str | None = None,
) -> str:
    """Create (not start) the holder of ``sandbox_id`` (None: of a sandbox to come), named ``name``; returns its ref.

    ``dns`` sets the namespace's resolv.conf; ``dns_upstream`` tells the helper where to forward allowed names
    instead of that file's nameservers, which a user-defined network needs: its resolver, 127.0.0.11, forwards from
    inside the namespace, where the sandbox's rules would send it back to the helper. Raises ``InvalidError`` when
    the holder image is missing (the engine cannot enforce a policy without it).
    """
    facts = await network_facts(eng, network)
    cfg = helper_config(policy, facts, initial=True, dns_upstream=dns_upstream)
    labels = {**(labels or {}), **policy_labels(policy, dns_upstream)}
    spec = holder_spec(sandbox_id, cfg, network=network, ports=ports, dns=dns, labels=labels)
    try:
        return await eng.containers.create(spec, name)
    except exc.NotFoundError as e:
        raise exc.InvalidError(
            f"network policies need the image {HOLDER_IMAGE} on the engine, which does not have it "
            "(scripts/build-images.sh builds it)"
        ) from e


async def output_until(eng: EngineAPI, ref: str, line: str, timeout: float) -> tuple[bool, str]:
    """Follow the container's output (stdout and stderr) until a line equal to ``line`` (True), or until it stops
    (False); returns what was read. ``timeout`` bounds the whole wait."""
    want = line.encode()
    seen = bytearray()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            source = await eng.containers.follow_output(ref, fd=None, tty=False)
            try:
                while (frame := await source.read_frame()) is not None:
                    seen += frame[1]
                    if want in seen.splitlines():
                        return True, seen.decode(errors="replace")
            finally:
                await source.close()
    return want in seen.splitlines(), seen.decode(errors="replace")


async def start_holder(eng: EngineAPI, holder_ref: str, *, timeout: float = READY_TIMEOUT) -> None:
    """Start the holder and wait until its rules are verified and its helper listens.

    Raises ``InvalidError`` when the helper could not enforce the policy on this engine (its reason included;
    e.g. no nf_tables or no CAP_NET_ADMIN for containers), ``TimeoutError`` past ``timeout``.
    """
    await eng.containers.start(holder_ref)
    ready, output = await output_until(eng, holder_ref, READY_LINE, timeout)
    if ready:
        return
    reason = output.strip().splitlines()[-1] if output.strip() else "it exited without a word"
    try:
        running = (await eng.containers.inspect(holder_ref)).state.running
    except NoSuchContainer:
        running = False
    if output or not running:
        raise exc.InvalidError(f"this engine cannot enforce the sandbox's network policy: {reason}")
    raise exc.TimeoutError(f"the network policy helper was not ready within {timeout:g} s")


async def holder_exec(eng: EngineAPI, ref: str, argv: Sequence[str]) -> tuple[int, str]:
    """Run ``argv`` in the container ``ref`` (stdin closed) to its end: (exit code, stdout and stderr); the code is
    -1 when the engine never reports one."""
    exec_id = await eng.execs.create(ref, ExecSpec(cmd=tuple(argv)))
    stream = await eng.execs.start(exec_id, tty=False)
    out = bytearray()
    try:
        stream.close_write()
        while (frame := await stream.read_frame()) is not None:
            out += frame[1]
    finally:
        await stream.close()
    code = await eng.execs.exit_code(exec_id)
    return (-1 if code is None else code), out.decode(errors="replace")


async def replace_policy(
    eng: EngineAPI,
    holder_ref: str,
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
            code, out = await holder_exec(eng, holder_ref, ["/sandbox-egress", "set", cfg])
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


async def replace_egress(eng: EngineAPI, holder_ref: str, egress: EgressPolicy) -> ReplaceResult:
    """``replace_policy`` with only the egress part new: the rest (isolation, inbound, network, DNS upstreams) is
    read back from the holder, so any process can change any sandbox's egress. Raises ``NotFoundError`` when the
    holder is gone, else as ``replace_policy``."""
    try:
        info = await eng.containers.inspect(holder_ref)
    except NoSuchContainer:
        raise exc.NotFoundError(f"the sandbox's network holder {holder_ref[:12]} no longer exists") from None
    policy, upstream = policy_from_labels(info.labels, egress)
    network = info.network_mode or "bridge"
    return await replace_policy(eng, holder_ref, policy, network=network, dns_upstream=upstream)


async def remove_holder(eng: EngineAPI, holder_ref: str) -> bool:
    """Remove a holder (after its sandbox); False when it was already gone."""
    return await eng.containers.remove(holder_ref)


async def find_holders(eng: EngineAPI, labels: Mapping[str, str | None] | None = None) -> list[ContainerSummary]:
    """Every holder (running or not) carrying ``labels`` as well."""
    return await eng.containers.list({L.KIND: KIND_HOLDER, **(labels or {})}, all=True)


async def remove_holders_of(eng: EngineAPI, sandbox_id: str) -> int:
    """Remove every holder created for ``sandbox_id``; returns how many."""
    found = await find_holders(eng, {HOLDER_OF: sandbox_id})
    removed = await asyncio.gather(*(eng.containers.remove(c.id) for c in found))
    return sum(removed)


async def orphan_holders(
    eng: EngineAPI, live_sandbox_ids: set[str], *, now: float | None = None, min_age: float = 60.0
) -> list[str]:
    """Refs of holders whose sandbox is not among ``live_sandbox_ids`` (sandbox containers that still exist) and
    that are older than ``min_age`` seconds: a younger one may belong to a create still under way."""
    now = time.time() if now is None else now
    found = await find_holders(eng, {HOLDER_OF: None})
    return [c.id for c in found if c.labels.get(HOLDER_OF) not in live_sandbox_ids and now - c.created_at >= min_age]
