"""What the harness remembers about an instance (a JSON file in its run directory), and which instances exist.

The state is a convenience: teardown also works from names alone (network namespaces and directories named
``sbxsw-<instance>-…``), so a run that crashed before writing it still leaves nothing that cannot be found.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from typing import Any

from . import _host
from ._node import DATA_ROOT, PREFIX, RUN_ROOT


def instance_dir(instance: str) -> str:
    return f"{RUN_ROOT}/{instance}"


def hub(instance: str) -> str:
    """The network namespace holding the bridge that joins the instance's nodes."""
    return f"{PREFIX}-{instance}-hub"


def _path(instance: str) -> str:
    return f"{instance_dir(instance)}/state.json"


def read(instance: str) -> dict[str, Any] | None:
    """``{"instance", "owner": {"pid", "start"} | None, "nodes": {"<k>": {...}}, "created"}``, or None."""
    try:
        with open(_path(instance)) as f:
            state: dict[str, Any] = json.load(f)
            return state
    except (OSError, ValueError):
        return None


def write(instance: str, state: dict[str, Any]) -> None:
    os.makedirs(instance_dir(instance), exist_ok=True)
    tmp = _path(instance) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f, indent=1)
    os.replace(tmp, _path(instance))


def update_node(instance: str, index: int, **values: Any) -> None:
    state = read(instance) or {"instance": instance, "owner": None, "nodes": {}}
    state["nodes"].setdefault(str(index), {}).update(values)
    write(instance, state)


def forget_node(instance: str, index: int) -> None:
    state = read(instance)
    if state is not None:
        state["nodes"].pop(str(index), None)
        write(instance, state)


def node_entry(instance: str, index: int) -> dict[str, Any]:
    entry: dict[str, Any] = ((read(instance) or {}).get("nodes") or {}).get(str(index), {})
    return entry


@contextlib.contextmanager
def lock() -> Iterator[None]:
    """One harness bring-up or teardown at a time on this host (concurrent test runs serialise here)."""
    os.makedirs(RUN_ROOT, exist_ok=True)
    with open(f"{RUN_ROOT}/.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def instances() -> list[str]:
    """Every instance with anything left on this host: state, a network namespace or a data directory."""
    names = {n for n in os.listdir(RUN_ROOT) if not n.startswith(".")} if os.path.isdir(RUN_ROOT) else set()
    for ns in _host.netns_list(f"{PREFIX}-"):
        names.add(ns[len(PREFIX) + 1 :].rsplit("-", 1)[0])
    if os.path.isdir(DATA_ROOT):
        names |= set(os.listdir(DATA_ROOT))
    return sorted(names)


def owner_alive(instance: str) -> bool | None:
    """True/False for an instance owned by a process (a test session); None for a manual one (no owner)."""
    state = read(instance)
    if state is None:
        return False  # a crash before the state was written: nobody can own it
    owner = state.get("owner")
    if owner is None:
        return None
    return _host.alive(int(owner["pid"]), owner.get("start"))


def node_indices(instance: str) -> list[int]:
    """Every node index with anything left: state, network namespace, run or data directory."""
    found = {int(i) for i in ((read(instance) or {}).get("nodes") or {})}
    ns_prefix = f"{PREFIX}-{instance}-n"
    found |= {int(ns[len(ns_prefix) :]) for ns in _host.netns_list(ns_prefix) if ns[len(ns_prefix) :].isdigit()}
    for root in (instance_dir(instance), f"{DATA_ROOT}/{instance}"):
        if os.path.isdir(root):
            found |= {int(d[1:]) for d in os.listdir(root) if d[:1] == "n" and d[1:].isdigit()}
    return sorted(found)
