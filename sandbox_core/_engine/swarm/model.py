"""What the swarm implementation reads from the cluster: nodes, services and tasks as frozen values.

These stay inside ``swarm/``: the public layer sees only ``values.py`` (a sandbox is a ``ContainerInfo`` whose ``id``
is its service's id). ``parse.py`` builds them from the manager's JSON.
"""

from __future__ import annotations

import types
from collections.abc import Mapping

import attrs


def _frozen_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return types.MappingProxyType(dict(value or {}))


#: Task states before the container runs (swarm's ``TaskState`` order up to ``running``).
PENDING_STATES = frozenset({"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"})
#: Task states after the container ended, or in which it never will run.
FINAL_STATES = frozenset({"complete", "failed", "shutdown", "rejected", "orphaned", "remove"})


@attrs.frozen
class NodeView:
    """One swarm node: ``state`` ready/down/unknown/disconnected, ``availability`` active/pause/drain, its node
    labels (set through the manager), its engine labels (set in the node's own dockerd configuration), and
    ``engine_url`` (its ``sandbox-core.engine`` label; empty when missing)."""

    id: str
    hostname: str
    state: str
    availability: str
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    engine_labels: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    engine_url: str = ""

    @property
    def down(self) -> bool:
        """True when the manager has declared the node gone (its tasks have ended)."""
        return self.state == "down"

    @property
    def schedulable(self) -> bool:
        """True when swarm places new tasks here."""
        return self.state == "ready" and self.availability == "active"


@attrs.frozen
class TaskView:
    """The one task of a sandbox's service: its node, state, the container once it exists."""

    id: str
    service_id: str
    node_id: str
    state: str
    desired_state: str
    message: str
    error: str
    container_id: str
    exit_code: int | None
    pid: int
    created_at: float
    updated_at: float

    @property
    def pending(self) -> bool:
        return self.state in PENDING_STATES

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


@attrs.frozen
class ServiceView:
    """A sandbox's service: what was asked for (the container part of its spec) and when."""

    id: str
    name: str
    labels: Mapping[str, str] = attrs.field(converter=_frozen_map)
    created_at: float
    image: str
    tty: bool
    workdir: str
    command: tuple[str, ...] | None
    args: tuple[str, ...] | None
    env: Mapping[str, str] = attrs.field(converter=_frozen_map)


@attrs.frozen
class NodeCaps:
    """What a node's engine offers that a service spec cannot ask for: its ``default_runtime``, and whether it has a
    default bridge network (``--bridge=none`` nodes have none)."""

    default_runtime: str
    has_bridge: bool


@attrs.frozen
class Placement:
    """Where a sandbox's container runs: the node and the container's id on that node's engine."""

    node_id: str
    container_id: str
