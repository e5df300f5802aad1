"""A real Docker Swarm of private dockerds in network namespaces, for tests and for manual use.

Topology of instance ``I`` (every name starts with ``sbxsw-I-``, so leftovers of a crashed run are found by name):

- netns ``sbxsw-I-hub``: a bridge ``br0`` (10.213.0.254/24) joining the nodes; no route anywhere else;
- netns ``sbxsw-I-n<k>`` per node: ``eth0`` = 10.213.0.<k+1>, a veth to the hub (both ends created inside the
  namespaces, never in the host's), and a dockerd (see ``_node``) reachable at
  ``unix:///run/sbxsw/I/n<k>/docker.sock``;
- node 0 is the swarm manager, the others join as workers; every node runs tasks. Each node carries the labels
  ``sandbox-core.engine`` (its engine URL: exec, attach, archives and logs go to the node that runs a task) and
  ``sandbox-core.node`` (``n<k>``);
- the project's images are copied from the main engine into every node (``docker save | docker load``).

The main engine is only read from (image export). ``down`` removes processes, cgroups, mounts, network namespaces
(with their veths and iptables rules) and directories, and works from names alone. ``up`` first removes instances
whose owner process is gone.

Manual use: ``python -m tests.cluster.harness up|down|status`` (``--help``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from . import _host, _node, _state, _teardown
from ._http import UnixEngine
from ._node import PREFIX, NodeLayout

DEFAULT_IMAGES = ("sandbox-core/busybox:1", "sandbox-core/busybox-user:1", "sandbox-core/noshell:1")
ENGINE_LABEL = "sandbox-core.engine"
NODE_LABEL = "sandbox-core.node"
OVERLAY_POOL = "10.215.0.0/16"
SWARM_PORT = 2377
#: What every node of a swarm used by the library's cluster mode runs with (a service spec cannot ask for it).
LIBRARY_DOCKERD_ARGS = ("--no-new-privileges", "--label=sandbox-core.no-new-privileges=true")


@dataclass(frozen=True)
class Node:
    """One node as a test sees it."""

    index: int
    name: str  # hostname and netns name
    socket: str  # unix socket path of the node's engine
    engine_url: str  # the value of the node's ``sandbox-core.engine`` label
    address: str  # underlay address (swarm traffic)
    node_id: str  # swarm node id
    engine_id: str  # the engine's own id (distinct per node)
    role: str  # "manager" or "worker"

    def engine(self) -> UnixEngine:
        return UnixEngine(self.socket)


@dataclass
class Cluster:
    """A running instance; ``timings`` holds the seconds each bring-up phase took."""

    instance: str
    nodes: list[Node]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def manager(self) -> Node:
        return self.nodes[0]

    def nodes_by_id(self) -> dict[str, Node]:
        return {n.node_id: n for n in self.nodes}

    def layout(self, index: int) -> NodeLayout:
        return NodeLayout(self.instance, index)

    def stop_engine(self, index: int, *, timeout: float = 30.0) -> None:
        """Stop node ``index``'s dockerd gracefully (SIGTERM; it stops its containers and containerd)."""
        stop_engine(self.instance, index, timeout=timeout)

    def crash_node(self, index: int, *, timeout: float = 10.0) -> None:
        """SIGKILL every process of node ``index`` (dockerd, containerd, shims, containers): a node lost at once."""
        layout = self.layout(index)
        survivors = _node.kill_node(layout, time.monotonic() + timeout)
        _node.reap(layout)
        if survivors:
            raise _host.HostError(f"{layout.name}: processes survived SIGKILL: {sorted(survivors)}")

    def start_engine(self, index: int, *, timeout: float = 30.0) -> None:
        """Start node ``index``'s dockerd again (same data root: it rejoins the swarm by itself)."""
        start_engine(self.instance, index, timeout=timeout)

    def set_link(self, index: int, up: bool) -> None:
        """Cut (or restore) node ``index``'s link to the others: a network partition, processes untouched."""
        _host.ip("link", "set", f"n{index}", "up" if up else "down", netns=_state.hub(self.instance))

    def add_node(self, *, extra_args: tuple[str, ...] = (), timeout: float = 60.0) -> Node:
        """Start one more node (``extra_args`` go to its dockerd), load the images, join it as a worker."""
        return add_node(self.instance, extra_args=extra_args, timeout=timeout)

    def label_node(self, index: int, labels: dict[str, str]) -> None:
        """Add node labels (through the manager) to node ``index``."""
        layout, manager = self.layout(index), self.layout(0)
        node_id = str(UnixEngine(layout.socket).request("GET", "info")["Swarm"]["NodeID"])
        _update_node_labels(manager, node_id, labels)

    def down(self) -> list[str]:
        return down(self.instance)


def _main_engine() -> UnixEngine:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        raise _host.HostError(f"the harness copies images from a unix-socket engine; DOCKER_HOST={host}")
    return UnixEngine(host.removeprefix("unix://"))


def unavailable_reason() -> str | None:
    """Why a swarm cannot be brought up on this host (None when it can): root, the tools, network namespaces."""
    if os.geteuid() != 0:
        return "the swarm harness needs root (network namespaces, mounts, private dockerds)"
    for tool in ("ip", "unshare", "nsenter", "dockerd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (the swarm harness needs iproute2, util-linux and docker.io)"
    if shutil.which("docker-init") is None and shutil.which("tini") is None:
        return "docker-init (tini) is not installed (Debian's docker.io ships it)"
    probe = f"{PREFIX}probe{os.getpid()}"  # outside the instance namespace names
    try:
        made = _host.run(["ip", "netns", "add", probe], check=False)
    except _host.HostError as e:
        return f"`ip netns` is unavailable: {e}"
    if made.returncode != 0:
        return f"`ip netns` is unavailable: {made.stderr.strip()}"
    _host.netns_delete(probe)
    return None


# ---- bring-up -------------------------------------------------------------------------------------------------


class _Timer:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.timings[name] = round(time.monotonic() - t0, 3)


def export_images(images: tuple[str, ...]) -> bytes:
    """One ``docker save`` tarball of ``images`` from the main engine."""
    params = [("names", image) for image in images]
    return _main_engine().download("images/get", params=params)


def load_images(node: NodeLayout, tarball: bytes) -> None:
    UnixEngine(node.socket).upload("images/load", tarball, params=[("quiet", "1")])


def _launch(instance: str, index: int, extra_args: tuple[str, ...]) -> subprocess.Popen[bytes]:
    proc = _node.start_dockerd(NodeLayout(instance, index), extra_args)
    _state.update_node(instance, index, extra_args=list(extra_args))
    return proc


def _swarm_init(node: NodeLayout) -> str:
    """Init the swarm on ``node``; returns the worker join token."""
    engine = UnixEngine(node.socket)
    engine.request(
        "POST",
        "swarm/init",
        body={
            "ListenAddr": f"{node.address}:{SWARM_PORT}",
            "AdvertiseAddr": f"{node.address}:{SWARM_PORT}",
            "DefaultAddrPool": [OVERLAY_POOL],
            "SubnetSize": 24,
        },
    )
    return str(engine.request("GET", "swarm")["JoinTokens"]["Worker"])


def _swarm_join(node: NodeLayout, manager: NodeLayout, token: str) -> None:
    UnixEngine(node.socket).request(
        "POST",
        "swarm/join",
        body={
            "ListenAddr": f"{node.address}:{SWARM_PORT}",
            "AdvertiseAddr": f"{node.address}:{SWARM_PORT}",
            "RemoteAddrs": [f"{manager.address}:{SWARM_PORT}"],
            "JoinToken": token,
        },
    )


def _update_node_labels(manager: NodeLayout, node_id: str, labels: dict[str, str]) -> None:
    mgr = UnixEngine(manager.socket)
    doc = mgr.request("GET", f"nodes/{node_id}")
    spec = dict(doc["Spec"])
    spec["Labels"] = {**(spec.get("Labels") or {}), **labels}
    mgr.request("POST", f"nodes/{node_id}/update", params=[("version", str(doc["Version"]["Index"]))], body=spec)


def _label_node(manager: NodeLayout, node: NodeLayout) -> tuple[str, str]:
    """Put the engine-address labels on ``node``; returns (swarm node id, engine id)."""
    info = UnixEngine(node.socket).request("GET", "info")
    node_id = str(info["Swarm"]["NodeID"])
    _update_node_labels(manager, node_id, {ENGINE_LABEL: node.engine_url, NODE_LABEL: f"n{node.index}"})
    return node_id, str(info["ID"])


def _wait_nodes_ready(manager: NodeLayout, node_ids: set[str], deadline: float) -> None:
    mgr = UnixEngine(manager.socket)
    while True:
        nodes = mgr.request("GET", "nodes")
        ready = {n["ID"] for n in nodes if n["Status"]["State"] == "ready"}
        if node_ids <= ready:
            return
        if time.monotonic() > deadline:
            raise _host.HostError(f"swarm nodes not ready in time: {sorted(node_ids - ready)}")
        time.sleep(0.05)


def _node_view(instance: str, index: int) -> Node:
    layout = NodeLayout(instance, index)
    node = (_state.read(instance) or {}).get("nodes", {}).get(str(index), {})
    return Node(
        index=index,
        name=layout.name,
        socket=layout.socket,
        engine_url=layout.engine_url,
        address=layout.address,
        node_id=node.get("node_id", ""),
        engine_id=node.get("engine_id", ""),
        role="manager" if index == 0 else "worker",
    )


def _bring_up(
    instance: str, count: int, images: tuple[str, ...], dockerd_args: tuple[str, ...], deadline: float, timer: _Timer
) -> None:
    layouts = [NodeLayout(instance, i) for i in range(count)]
    hub = _state.hub(instance)
    with ThreadPoolExecutor(max_workers=max(4, count + 1)) as pool:
        with timer.phase("netns"):
            _host.ip("netns", "add", hub)
            _host.ip("link", "set", "lo", "up", netns=hub)
            _host.ip("link", "add", "br0", "type", "bridge", netns=hub)
            _host.ip("addr", "add", f"{_node.HUB_ADDRESS}/24", "dev", "br0", netns=hub)
            _host.ip("link", "set", "br0", "up", netns=hub)
            for layout in layouts:
                _node.create_network(layout, hub)
        exported = pool.submit(export_images, images)  # overlaps the dockerd start-up
        with timer.phase("dockerd"):
            procs = [_launch(instance, i, dockerd_args) for i in range(count)]
            for layout, proc in zip(layouts, procs, strict=True):
                _node.wait_ready(layout, proc, deadline)
        with timer.phase("images"):
            tarball = exported.result(timeout=max(1.0, deadline - time.monotonic()))
            timer.timings["image_bytes"] = len(tarball)
            for f in [pool.submit(load_images, layout, tarball) for layout in layouts]:
                f.result(timeout=max(1.0, deadline - time.monotonic()))
        with timer.phase("swarm"):
            token = _swarm_init(layouts[0])
            for f in [pool.submit(_swarm_join, layout, layouts[0], token) for layout in layouts[1:]]:
                f.result(timeout=max(1.0, deadline - time.monotonic()))
            ids = {}
            for layout in layouts:
                node_id, engine_id = _label_node(layouts[0], layout)
                _state.update_node(instance, layout.index, node_id=node_id, engine_id=engine_id)
                ids[node_id] = layout
            _wait_nodes_ready(layouts[0], set(ids), deadline)


def up(
    instance: str | None = None,
    *,
    nodes: int = 2,
    images: tuple[str, ...] = DEFAULT_IMAGES,
    owned: bool = True,
    timeout: float = 90.0,
    dockerd_args: tuple[str, ...] = (),
) -> Cluster:
    """Bring up a swarm of ``nodes`` nodes (node 0 the manager); everything is torn down again if this fails.
    ``dockerd_args`` go to every node's dockerd (the library's cluster mode needs ``--no-new-privileges``).

    ``owned``: the instance belongs to this process; once it is gone, the next ``up`` on the host removes the
    instance. ``owned=False`` (manual use) keeps it until ``down``.
    """
    if nodes < 1:
        raise ValueError("a swarm needs at least one node")
    instance = instance or uuid.uuid4().hex[:6]
    if not instance.isalnum() or len(instance) > 8 or instance != instance.lower():
        raise ValueError(f"instance names are 1-8 lowercase letters/digits, got {instance!r}")
    timings: dict[str, float] = {}
    timer = _Timer(timings)
    t0 = time.monotonic()
    with _state.lock():
        with timer.phase("sweep"):
            timings["stale_removed"] = len(_teardown.sweep_stale_unlocked())
        if instance in _state.instances():
            raise _host.HostError(f"swarm instance {instance!r} exists already (python -m tests.cluster.harness down)")
        owner = {"pid": os.getpid(), "start": _host.start_time(os.getpid())} if owned else None
        _state.write(instance, {"instance": instance, "owner": owner, "nodes": {}, "created": time.time()})
        try:
            _bring_up(instance, nodes, images, dockerd_args, t0 + timeout, timer)
        except BaseException:
            with _teardown.sigint_deferred():
                _teardown.down_unlocked(instance)
            raise
    timings["total"] = round(time.monotonic() - t0, 3)
    return Cluster(instance, [_node_view(instance, i) for i in range(nodes)], timings)


def attach(instance: str) -> Cluster:
    """A ``Cluster`` view of an instance that is up (e.g. one started with ``harness up``)."""
    state = _state.read(instance)
    if state is None:
        raise _host.HostError(f"no swarm instance {instance!r}")
    indices = sorted(int(i) for i in state["nodes"])
    return Cluster(instance, [_node_view(instance, i) for i in indices])


def add_node(instance: str, *, extra_args: tuple[str, ...] = (), timeout: float = 60.0) -> Node:
    """Start one more node in ``instance`` and join it as a worker (images loaded first)."""
    deadline = time.monotonic() + timeout
    state = _state.read(instance)
    if state is None:
        raise _host.HostError(f"no swarm instance {instance!r}")
    index = max(int(i) for i in state["nodes"]) + 1
    layout, manager = NodeLayout(instance, index), NodeLayout(instance, 0)
    try:
        _node.create_network(layout, _state.hub(instance))
        proc = _launch(instance, index, extra_args)
        _node.wait_ready(layout, proc, deadline)
        load_images(layout, export_images(DEFAULT_IMAGES))
        token = str(UnixEngine(manager.socket).request("GET", "swarm")["JoinTokens"]["Worker"])
        _swarm_join(layout, manager, token)
        node_id, engine_id = _label_node(manager, layout)
        _state.update_node(instance, index, node_id=node_id, engine_id=engine_id)
        _wait_nodes_ready(manager, {node_id}, deadline)
    except BaseException:
        with _teardown.sigint_deferred():
            remove_node(instance, index)
        raise
    return _node_view(instance, index)


def remove_node(instance: str, index: int) -> None:
    """Kill node ``index`` and remove all of it (network namespace, cgroups, directories, its state entry).

    The swarm keeps the node as ``down`` until it is removed there (``DELETE /nodes/<id>?force=1`` on the manager).
    """
    layout = NodeLayout(instance, index)
    with _state.lock(), _teardown.sigint_deferred():
        problems = _teardown.remove_nodes(instance, [layout], time.monotonic() + 30.0, [])
        # The kernel frees the node's namespace, and with it the hub's end of its veth, asynchronously: remove that
        # end now, so that a node added next with the same index finds its name free.
        _host.ip("link", "del", f"n{index}", netns=_state.hub(instance), check=False)
        _state.forget_node(instance, index)
    if problems:
        raise _host.HostError(f"{layout.name}: removal incomplete: " + "; ".join(problems))


def stop_engine(instance: str, index: int, *, timeout: float = 30.0) -> None:
    """SIGTERM node ``index``'s dockerd and wait (bounded) until the node is gone.

    dockerd stops its containers (each with its stop signal and grace period) before it exits; then the node's
    PID namespace ends, with any process still in it.
    """
    layout = NodeLayout(instance, index)
    pid, init = _node.dockerd_pid(layout), _node.init_pid(layout)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(p is not None and _host.alive(p, None) for p in (pid, init)):
        if time.monotonic() > deadline:
            raise _host.HostError(f"dockerd of {layout.name} did not stop within {timeout} s")
        time.sleep(0.02)
    _node.reap(layout)


def start_engine(instance: str, index: int, *, timeout: float = 30.0) -> None:
    """Start node ``index``'s dockerd again with its original arguments; wait until it answers."""
    layout = NodeLayout(instance, index)
    if _node.dockerd_pid(layout) is not None:
        raise _host.HostError(f"dockerd of {layout.name} is running already")
    node = (_state.read(instance) or {}).get("nodes", {}).get(str(index), {})
    proc = _launch(instance, index, tuple(node.get("extra_args", ())))
    _node.wait_ready(layout, proc, time.monotonic() + timeout)


# ---- teardown -------------------------------------------------------------------------------------------------


def down(instance: str) -> list[str]:
    """Tear down ``instance`` completely (idempotent; works from names alone); returns what was removed."""
    with _state.lock(), _teardown.sigint_deferred():
        return _teardown.down_unlocked(instance)


def down_all() -> list[str]:
    """Tear down every instance on this host, owned by a live process or not."""
    return [removed for name in _state.instances() for removed in down(name)]


def sweep_stale() -> list[str]:
    """Tear down every instance whose owner process is gone (a crashed or killed run); returns their names."""
    with _state.lock(), _teardown.sigint_deferred():
        return _teardown.sweep_stale_unlocked()


owner_alive = _state.owner_alive
instances = _state.instances


def status(instance: str) -> dict[str, Any]:
    """What is left of ``instance``: owner, and per node whether its dockerd runs and what swarm state it reports."""
    alive = _state.owner_alive(instance)
    report: dict[str, Any] = {
        "instance": instance,
        "owner": "manual" if alive is None else ("alive" if alive else "gone"),
    }
    nodes = []
    for index in _state.node_indices(instance):
        layout = NodeLayout(instance, index)
        entry: dict[str, Any] = {
            "node": layout.name,
            "engine": layout.engine_url,
            "dockerd_pid": _node.dockerd_pid(layout),
        }
        if entry["dockerd_pid"] is not None and UnixEngine(layout.socket).ping():
            info = UnixEngine(layout.socket).request("GET", "info", timeout=5)
            entry.update(engine_id=info["ID"], swarm=info["Swarm"]["LocalNodeState"], node_id=info["Swarm"]["NodeID"])
            entry["containers"] = info["Containers"]
        nodes.append(entry)
    report["nodes"] = nodes
    return report


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster.harness", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="bring up a swarm that stays until 'down'")
    p_up.add_argument("--name", default="manual", help="instance name (1-8 lowercase letters/digits)")
    p_up.add_argument("--nodes", type=int, default=2)
    p_up.add_argument(
        "--library", action="store_true", help="nodes as the library's cluster mode needs them (--no-new-privileges)"
    )
    p_down = sub.add_parser("down", help="tear down instances (idempotent)")
    p_down.add_argument("names", nargs="*", help="instances to remove (default: 'manual')")
    p_down.add_argument("--all", action="store_true", help="every instance on this host, even a live run's")
    p_down.add_argument("--stale", action="store_true", help="only instances whose owner process is gone")
    p_status = sub.add_parser("status", help="what is up")
    p_status.add_argument("names", nargs="*")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("the harness needs root (network namespaces, mounts, dockerd)")
    if args.cmd == "up":
        extra = LIBRARY_DOCKERD_ARGS if args.library else ()
        cluster = up(args.name, nodes=args.nodes, owned=False, dockerd_args=extra)
        print(
            json.dumps(
                {"instance": cluster.instance, "timings": cluster.timings, "nodes": [vars(n) for n in cluster.nodes]},
                indent=1,
            )
        )
    elif args.cmd == "down":
        if args.stale:
            print(json.dumps({"removed": sweep_stale()}))
        else:
            removed = down_all() if args.all else [r for n in (args.names or ["manual"]) for r in down(n)]
            print(json.dumps({"removed": removed}, indent=1))
    else:
        print(json.dumps([status(n) for n in (args.names or _state.instances())], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
