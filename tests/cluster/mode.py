"""The test-suite in cluster mode: ``SANDBOX_CORE_TEST_CLUSTER=swarm`` runs the chosen test modules against a 2-node
swarm that the session brings up (``nox -s swarm``).

``start`` brings the swarm up (nodes as the library needs them: ``--no-new-privileges`` with its engine label; two
ordinary nodes and a third in the no-network pool, ``--bridge=none``, for ``block_network``) and points the library
at it through the environment (``SANDBOX_CORE_CLUSTER``, ``SANDBOX_CORE_SWARM_MANAGER``), so
every ``get_engine()`` of the session, and of every child process, is the swarm. The rest answers, for the
session-end check and for tests, what the suite's helpers answer on one engine: which apps the run made, what it
left behind, where a sandbox's container is.
"""

from __future__ import annotations

import json
import os
from typing import Any

from sandbox_core._engine import labels as L
from sandbox_core._engine.swarm.spec import NETWORK_POOL_LABEL

from . import harness
from ._http import UnixEngine

ENABLED = os.environ.get("SANDBOX_CORE_TEST_CLUSTER", "") == "swarm"
TEST_RUN_LABEL = "sandbox-core.test-run"

_current: harness.Cluster | None = None


def start() -> harness.Cluster:
    """Bring up the session's swarm and configure the library for it. ``RuntimeError`` saying why when this host
    cannot run it."""
    global _current
    reason = harness.unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"SANDBOX_CORE_TEST_CLUSTER=swarm, but {reason}")
    _current = harness.up(nodes=2, dockerd_args=harness.LIBRARY_DOCKERD_ARGS)
    try:
        blocked = _current.add_node(extra_args=(*harness.LIBRARY_DOCKERD_ARGS, "--bridge=none"))
        _current.label_node(blocked.index, {NETWORK_POOL_LABEL: "none"})
        _current = harness.attach(_current.instance)
    except BaseException:
        _current.down()
        raise
    os.environ["SANDBOX_CORE_CLUSTER"] = "swarm"
    os.environ["SANDBOX_CORE_SWARM_MANAGER"] = _current.manager.engine_url
    # A supervisor whose cluster is gone (the session tore it down) gives up soon instead of retrying for minutes.
    os.environ.setdefault("SANDBOX_CORE_SUPERVISOR_GIVE_UP", "20")
    return _current


def current() -> harness.Cluster:
    """The session's swarm (``start`` must have run)."""
    assert _current is not None, "the swarm is not up: ask for the engine fixture"
    return _current


def stop() -> None:
    global _current
    if _current is not None:
        _current.down()
        _current = None


def _manager() -> UnixEngine:
    return UnixEngine(current().manager.socket)


def _labelled(kind: str, *labels: str) -> list[dict[str, Any]]:
    params = [("filters", json.dumps({"label": list(labels)}))]
    found: list[dict[str, Any]] = _manager().request("GET", kind, params=params)
    return found


def _spec_labels(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("Spec") or {}).get("Labels") or {})


def run_app_ids(prefix: str) -> dict[str, str]:
    """app id -> app name for every app whose name starts with ``prefix`` (the cluster's app registry)."""
    ids: dict[str, str] = {}
    for config in _labelled("configs", f"{L.RECORD_TYPE}=app"):
        lbl = _spec_labels(config)
        if lbl.get(L.APP_NAME, "").startswith(prefix):
            ids[lbl[L.APP_ID]] = lbl[L.APP_NAME]
    return ids


def _ours(labels: dict[str, str], app_ids: set[str], run_id: str) -> bool:
    return labels.get(L.APP_ID) in app_ids or labels.get(TEST_RUN_LABEL) == run_id


def _running_services() -> set[str]:
    tasks = _manager().request("GET", "tasks", params=[("filters", json.dumps({"label": [L.OWNER]}))])
    return {t["ServiceID"] for t in tasks if t["Status"]["State"] == "running"}


def leftovers(app_ids: set[str], run_id: str, *, running_only: bool) -> list[str]:
    """What the run left in the cluster: running sandboxes only, or every service, config and container."""
    found: list[str] = []
    running = _running_services()
    for svc in _labelled("services", L.OWNER):
        if _ours(_spec_labels(svc), app_ids, run_id) and (not running_only or svc["ID"] in running):
            found.append(f"service {svc['Spec']['Name']} ({'running' if svc['ID'] in running else 'ended'})")
    if running_only:
        return found
    for config in _labelled("configs", L.OWNER):
        if _ours(_spec_labels(config), app_ids, run_id):
            found.append(f"config {config['Spec']['Name']}")
    for node in current().nodes:
        engine = UnixEngine(node.socket)
        params = [("all", "1"), ("filters", json.dumps({"label": [L.OWNER]}))]
        for c in engine.request("GET", "containers/json", params=params):
            if _ours(dict(c.get("Labels") or {}), app_ids, run_id):
                found.append(f"container {c['Names'][0]} on {node.name}")
        params = [("filters", json.dumps({"label": [f"{TEST_RUN_LABEL}={run_id}"]}))]
        for image in engine.request("GET", "images/json", params=params):
            found.append(f"image {image['Id'][:19]} on {node.name}")
    return found


def locate(sandbox_id: str) -> tuple[harness.Node, str]:
    """(the node running sandbox ``sandbox_id``, its container id there), from the manager's task."""
    services = _labelled("services", f"{L.SANDBOX_ID}={sandbox_id}")
    assert len(services) == 1, services
    tasks = _manager().request("GET", "tasks", params=[("filters", json.dumps({"service": [services[0]["ID"]]}))])
    task = max(tasks, key=lambda t: t["CreatedAt"])
    node = harness.attach(current().instance).nodes_by_id()[task["NodeID"]]  # nodes added since too
    return node, str(task["Status"]["ContainerStatus"]["ContainerID"])
