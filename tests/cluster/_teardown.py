"""Teardown: kill every process of a node, then remove its cgroups, network namespace and directories.

Idempotent and name-based; a Ctrl-C during it is held until it is done.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from types import FrameType

from . import _host, _node, _state
from ._node import DATA_ROOT, NodeLayout


@contextlib.contextmanager
def sigint_deferred() -> Iterator[None]:
    """Hold a Ctrl-C until the block is done (a half-done teardown is worse than a second's delay)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def hold(signum: int, _frame: FrameType | None) -> None:
        caught.append(signum)

    previous = signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught:
            raise KeyboardInterrupt


def remove_nodes(instance: str, layouts: list[NodeLayout], deadline: float, removed: list[str]) -> list[str]:
    """Kill and remove ``layouts`` completely; returns the problems (what would not go)."""
    problems: list[str] = []
    for layout in layouts:  # every node's init first: no manager may reschedule what the next steps kill
        pid = _node.init_pid(layout)
        if pid is not None:
            _host.kill_all([pid])
            removed.append(f"node {layout.name} (init pid {pid})")
    for layout in layouts:
        survivors = _node.kill_node(layout, deadline)
        _node.reap(layout)
        if survivors:
            problems.append(f"{layout.name}: processes survived SIGKILL: {sorted(survivors)}")
    for layout in layouts:
        if left := _host.remove_cgroups(layout.cgroup_parent, deadline):
            problems.append(f"cgroups that would not go: {left}")
        problems += _remove_netns(layout.name, removed)
        problems += remove_tree(layout.run_dir, removed) + remove_tree(layout.data_root, removed)
    return problems


def _remove_netns(name: str, removed: list[str]) -> list[str]:
    if _host.netns_inode(name) is None:
        return []
    _host.netns_delete(name)
    removed.append(f"netns {name}")
    return [f"netns {name} would not go"] if _host.netns_inode(name) is not None else []


def remove_tree(root: str, removed: list[str]) -> list[str]:
    """``rm -rf`` a directory of ours, never across a mount point; returns problems."""
    if not os.path.exists(root):
        return []
    _host.unmount_all(root)
    if mounted := _host.mounts_under(root):
        return [f"still mounted: {mounted}"]
    _host.run(["rm", "-rf", "--one-file-system", root], timeout=120, check=False)
    removed.append(f"dir {root}")
    return [f"{root} would not go"] if os.path.exists(root) else []


def down_unlocked(instance: str) -> list[str]:
    """Tear down ``instance``; the caller holds ``_state.lock()``. Raises ``HostError`` if anything stays."""
    removed: list[str] = []
    layouts = [NodeLayout(instance, i) for i in _state.node_indices(instance)]
    problems = remove_nodes(instance, layouts, time.monotonic() + 30.0, removed)
    problems += _remove_netns(_state.hub(instance), removed)
    for root in (_state.instance_dir(instance), f"{DATA_ROOT}/{instance}"):
        problems += remove_tree(root, removed)
    if problems:
        raise _host.HostError(f"swarm {instance}: teardown incomplete: " + "; ".join(problems))
    return removed


def sweep_stale_unlocked() -> list[str]:
    """Tear down every instance whose owner process is gone; the caller holds ``_state.lock()``."""
    stale = [name for name in _state.instances() if _state.owner_alive(name) is False]
    for name in stale:
        down_unlocked(name)
    return stale
