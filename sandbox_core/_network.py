"""A running sandbox's network, from its labels: which container owns its ports, its policy, its holder's end.

A sandbox with a holder carries ``NET_HOLDER`` (the holder's ref) and the parts of its policy that outlive an
egress change (``policy_labels``); the holder owns the namespace, so its ports and address are the sandbox's.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Mapping

from ._engine import EngineAPI
from ._engine import labels as L
from ._engine.errors import NoSuchContainer
from ._engine.netholder import ReplaceResult, remove_holder, replace_policy
from ._engine.netpolicy import KIND_HOLDER, LABEL_INBOUND, NET_HOLDER, policy_from_labels
from ._engine.values import ContainerSummary
from ._holderpool import CLAIMED_PREFIX, MAX_AGE, parse_sandbox_holder_name
from ._netplan import DEFAULT_NETWORK
from ._netpolicy_types import EgressPolicy, InboundPolicy
from .exception import ConflictError, InvalidError

#: On a sandbox with a holder: the engine network the holder is attached to.
LABEL_NETWORK = L.PREFIX + "net.network"
#: On a sandbox: "none" (block_network), "plain" (the engine's network, no policy) or "holder".
LABEL_MODE = L.PREFIX + "net.mode"
#: Seconds an unreferenced holder of a sandbox is given before it counts as left behind (its create may still run).
ORPHAN_GRACE = 60.0


def port_owner(labels: Mapping[str, str], container_ref: str) -> str:
    """The ref of the container that owns the network namespace of the sandbox with container ``container_ref`` and
    ``labels``, and so its published ports and its address: its holder when it has one, else the sandbox itself."""
    return labels.get(NET_HOLDER) or container_ref


async def published_ports(eng: EngineAPI, owner_ref: str) -> dict[int, tuple[str, int]]:
    """TCP container port → (host address, host port) as published on ``owner_ref`` (see ``port_owner``); ports
    not bound yet are left out. ``NoSuchContainer`` when the owner is gone."""
    info = await eng.containers.inspect(owner_ref)
    return {p.container_port: (p.host_ip, p.host_port) for p in info.ports if p.protocol == "tcp" and p.host_port}


async def sandbox_address(eng: EngineAPI, owner_ref: str, labels: Mapping[str, str]) -> str | None:
    """The sandbox's IPv4 address on its engine network (None without one, e.g. ``block_network``)."""
    info = await eng.containers.inspect(owner_ref)
    network = labels.get(LABEL_NETWORK, DEFAULT_NETWORK)
    endpoint = info.endpoint(network) or next(iter(info.networks), None)
    return endpoint.ip_address or None if endpoint is not None else None


def inbound_policy(labels: Mapping[str, str]) -> InboundPolicy:
    """Who may open connections to the sandbox's ports (the tunnel relays and the connect-token proxy apply it)."""
    raw = labels.get(LABEL_INBOUND)
    if raw is None:
        return InboundPolicy()
    return InboundPolicy(tuple(ipaddress.ip_network(v) for v in raw.split(",") if v))


async def set_outbound_policy(eng: EngineAPI, container_ref: str, egress: EgressPolicy) -> ReplaceResult:
    """Put ``egress`` in force for the running sandbox of ``container_ref``, cutting the connections it no longer
    allows; isolation, inbound allowlist and DNS upstreams stay as created.

    ``InvalidError`` when the sandbox has no enforcement point (``block_network``, or created with isolation off
    and no allowlist), ``ConflictError`` when it is not running.
    """
    try:
        info = await eng.containers.inspect(container_ref)
    except NoSuchContainer:
        raise ConflictError("Sandbox already finished") from None
    labels = info.labels
    holder = labels.get(NET_HOLDER)
    if holder is None:
        if labels.get(LABEL_MODE) == "none":
            raise InvalidError("a sandbox created with `block_network=True` has no network whose policy could change")
        raise InvalidError(
            "this sandbox has no network policy enforcement: it was created with SANDBOX_CORE_ISOLATION=0 and no "
            "allowlist; create it with an allowlist (or with isolation on) to change its policy later"
        )
    if not info.state.running:
        raise ConflictError("Sandbox already finished")
    policy, upstream = policy_from_labels(labels, egress)
    network = labels.get(LABEL_NETWORK, DEFAULT_NETWORK)
    return await replace_policy(eng, holder, policy, network=network, dns_upstream=upstream)


async def stop_network_of(eng: EngineAPI, labels: Mapping[str, str]) -> None:
    """Stop the holder of a sandbox that has ended (nothing without one; a holder already stopped or gone is fine):
    it would otherwise run, unused, for the sandbox's retention period."""
    holder = labels.get(NET_HOLDER)
    if holder:
        with contextlib.suppress(NoSuchContainer):
            await eng.containers.kill(holder)


async def remove_network_of(eng: EngineAPI, labels: Mapping[str, str]) -> None:
    """Remove the holder of a sandbox whose container was just removed (nothing without one)."""
    holder = labels.get(NET_HOLDER)
    if holder:
        await remove_holder(eng, holder)


def holder_is_orphan(holder: ContainerSummary, referenced: set[str], live_ids: set[str], now: float) -> bool:
    """Whether ``holder`` serves no sandbox any more: no existing container names it (``referenced``), and its
    sandbox (``live_ids``: ids of existing sandboxes) is gone for longer than a create could still be under way.

    Only holders that ``Sandbox.create`` made are judged: named after their sandbox, or claimed from the pool.
    Pool members are the pool's business (``_holderpool``); holders made any other way are their maker's.
    """
    if holder.id in referenced:
        return False
    named = parse_sandbox_holder_name(holder.name)
    if named is not None:
        return named[0] not in live_ids and now - named[1] >= ORPHAN_GRACE
    if holder.name.startswith(CLAIMED_PREFIX):
        # Claimed, then its claimant died before naming it: it was younger than MAX_AGE when claimed.
        return now - holder.created_at >= MAX_AGE + ORPHAN_GRACE
    return False


async def orphan_holders(
    eng: EngineAPI, now: float, *, app_id: str | None = None, everything: bool = False
) -> list[str]:
    """Refs of holders left behind (``holder_is_orphan``). A holder some container still joins is never among
    them: removing the owner of a namespace others use is never done. With ``app_id``, only the holders labelled
    with that app; ``everything``: whatever their age (a clean slate, as ``sweep(everything=True)``)."""
    joiners = await eng.containers.list({NET_HOLDER: None}, all=True)
    referenced = {c.labels[NET_HOLDER] for c in joiners}
    live_ids = {c.labels[L.SANDBOX_ID] for c in joiners if L.SANDBOX_ID in c.labels}
    query: dict[str, str | None] = {L.KIND: KIND_HOLDER}
    if app_id is not None:
        query[L.APP_ID] = app_id
    holders = await eng.containers.list(query, all=True)
    if everything and app_id is not None:
        return [h.id for h in holders if h.id not in referenced]
    at = float("inf") if everything else now
    return [h.id for h in holders if holder_is_orphan(h, referenced, live_ids, at)]
