"""The swarm implementation of ``EngineAPI``: sandboxes as Docker Swarm services, spread over a cluster's nodes.

Chosen by ``SANDBOX_CORE_CLUSTER=swarm`` (``config.py``). ``engine.py`` composes it; ``containers.py`` maps a
sandbox onto a one-task service, ``execs.py`` routes processes and files to the task's node, ``records.py`` and
``names.py`` keep records and names in swarm configs, ``distribute.py`` brings images to nodes, ``events.py`` merges
the nodes' events, ``nodes.py`` knows the nodes and their pools (``spec.py``).
"""

from .engine import SwarmEngine

__all__ = ["SwarmEngine"]
