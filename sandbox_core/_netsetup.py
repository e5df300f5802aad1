"""The network step of ``Sandbox.create``: a holder for the sandbox, its policy in force before the sandbox starts,
and nothing left behind when the create fails.

``NetworkSetup.acquire`` runs while the image is resolved: it claims a pooled holder when the plan allows
(``NetworkPlan.poolable``; an allowlist is then put in force with ``sandbox-egress set`` while the sandbox's container
is created) or creates a cold one (started, and its rules verified, while the sandbox's container is created).
``apply`` joins the sandbox's spec to the holder; ``ready`` is awaited between the sandbox's create and its start;
``discard`` removes the holder after a failed or cancelled create.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Mapping

import attrs

from ._engine import EngineAPI
from ._engine.errors import NoSuchContainer
from ._engine.netholder import (
    create_holder,
    remove_holder,
    remove_holders_of,
    replace_policy,
    sandbox_labels,
    sandbox_network_mode,
    start_holder,
)
from ._engine.netpolicy import policy_labels
from ._engine.values import ContainerSpec
from ._holderpool import claim, pool_key, pool_size, sandbox_holder_name
from ._netplan import NetworkPlan, isolated_policy
from ._network import LABEL_MODE, LABEL_NETWORK
from .exception import InvalidError

#: After this long between acquiring the holder and creating the sandbox (a slow image pull or build), check that
#: the holder still exists: past ``_network.ORPHAN_GRACE`` a supervisor may have taken it for a leftover.
RECHECK_AFTER = 30.0


class NetworkSetup:
    """One create's holder: acquired, joined, made ready, or discarded."""

    def __init__(self, eng: EngineAPI, plan: NetworkPlan, sandbox_id: str, labels: Mapping[str, str]) -> None:
        self.eng = eng
        self.plan = plan if eng.joins_network_namespaces else without_holder(plan)
        self.sandbox_id = sandbox_id
        #: Labels for a cold holder (the app's, so that the app's sweep finds it).
        self.labels = dict(labels)
        self.holder: str | None = None
        self.pooled = False
        self._ready: asyncio.Future[None] | None = None
        self._acquired_at = 0.0

    async def acquire(self) -> None:
        """Get the holder (nothing for a plan without one) and start making it ready."""
        plan = self.plan
        if plan.policy is None:
            return
        ref = await self._claim() if plan.poolable else None
        if ref is not None:
            self.holder, self.pooled = ref, True
            self._ready = asyncio.ensure_future(self._ready_pooled(ref))
        else:
            self.holder = await create_holder(
                self.eng,
                self.sandbox_id,
                plan.policy,
                network=plan.network,
                ports=plan.ports,
                dns_upstream=plan.dns_upstream,
                labels=self.labels,
                name=sandbox_holder_name(self.sandbox_id, time.time()),
            )
            self._ready = asyncio.ensure_future(start_holder(self.eng, self.holder))
        self._acquired_at = time.monotonic()

    async def _claim(self) -> str | None:
        if pool_size() == 0:
            return None
        assert self.plan.policy is not None
        key = await pool_key(self.eng, isolated_policy(), self.plan.network)
        return await claim(self.eng, key)

    async def _ready_pooled(self, ref: str) -> None:
        """For an allowlist, put the sandbox's policy in force in the claimed holder. (It keeps its claimed name:
        renamed again, it could be claimed a second time by a claimant that listed it while it was in the pool.)"""
        assert self.plan.policy is not None
        if not self.plan.policy.egress.open:
            await replace_policy(self.eng, ref, self.plan.policy, network=self.plan.network)

    async def recheck(self) -> None:
        """After a long image resolution: re-acquire when the holder was removed meanwhile."""
        if self.holder is None or time.monotonic() - self._acquired_at < RECHECK_AFTER:
            return
        try:
            await self.eng.containers.inspect(self.holder)
        except NoSuchContainer:
            await self.discard()
            await self.acquire()

    def sandbox_labels(self) -> dict[str, str]:
        """Labels for the sandbox: how it is networked, its holder, and the policy parts later changes keep."""
        plan = self.plan
        if plan.block:
            return {LABEL_MODE: "none"}
        if self.holder is None or plan.policy is None:
            return {LABEL_MODE: "plain"}
        return {
            LABEL_MODE: "holder",
            LABEL_NETWORK: plan.network,
            **sandbox_labels(self.holder),
            **policy_labels(plan.policy, plan.dns_upstream),
        }

    def apply(self, spec: ContainerSpec) -> ContainerSpec:
        """The sandbox's spec joined to its holder (or given its ports when it has none)."""
        if self.plan.block:
            return attrs.evolve(spec, network_disabled=True, ports=())
        if self.holder is None:
            return attrs.evolve(spec, ports=self.plan.ports)
        return attrs.evolve(spec, network_mode=sandbox_network_mode(self.holder), ports=(), dns=())

    async def ready(self) -> None:
        """Wait until the sandbox's policy is in force (``InvalidError`` when the engine cannot enforce it)."""
        if self._ready is not None:
            await self._ready

    async def discard(self) -> None:
        """Undo ``acquire`` after a failed create: let what is under way finish, then remove the holder."""
        if self._ready is not None:
            with contextlib.suppress(BaseException):
                await self._ready
            self._ready = None
        with contextlib.suppress(Exception):
            if self.holder is not None:
                await remove_holder(self.eng, self.holder)
            elif self.plan.policy is not None:
                # Cancelled while creating a cold holder: the engine may have made it all the same.
                await remove_holders_of(self.eng, self.sandbox_id)
        self.holder = None


def without_holder(plan: NetworkPlan) -> NetworkPlan:
    """``plan`` on an engine without network holders (a swarm): the default isolation is dropped (the cluster's
    own network setup is what separates sandboxes there: docs/guide/cluster.md); an allowlist cannot be enforced,
    so it is refused (``InvalidError``)."""
    policy = plan.policy
    if policy is None:
        return plan
    if policy.egress.open and policy.inbound.cidrs is None:
        return attrs.evolve(plan, policy=None)
    raise InvalidError(
        "outbound_cidr_allowlist, outbound_domain_allowlist and inbound_cidr_allowlist are not supported on this "
        "engine (a swarm cluster): they need a container sharing the sandbox's network namespace"
    )


async def discard_after(acquiring: asyncio.Future[None], net: NetworkSetup) -> None:
    """Cleanup for a create that failed while ``acquiring`` may still run: wait for it, then ``discard``."""
    with contextlib.suppress(BaseException):
        await acquiring
    await net.discard()
