"""One swarm node: a private dockerd in its own network, mount and UTS namespaces.

The node's dockerd shares nothing with the main engine: own socket, data root, exec root, pid file, bridge
subnet, containerd (started by this dockerd, with its own namespaces), cgroup parent, and a private
``/etc/docker`` (dockerd 20.10 keeps its engine identity in ``/etc/docker/key.json`` and has no flag to move it;
shared, every node would have one engine ID). Its iptables rules live in its own network namespace.

Each node also has its own PID namespace whose init is ``docker-init`` (tini, shipped with dockerd): it reaps the
node's orphans (containerd, shims), and when it dies the kernel kills every process of the node, containers
included, at once. So a node ends as a host would: stopping its dockerd (SIGTERM) or killing its init ends all of
it, and nothing is left for the host's init to reap.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass

from . import _host
from ._http import UnixEngine

RUN_ROOT = "/run/sbxsw"
DATA_ROOT = os.environ.get("SBXSW_DATA_ROOT", "/var/lib/sbxsw")
PREFIX = "sbxsw"
UNDERLAY = "10.213.0"  # node i is UNDERLAY.(i+1); the hub bridge is UNDERLAY.254
HUB_ADDRESS = f"{UNDERLAY}.254"

# Runs inside the node's fresh mount namespace. Entering a network namespace needs a fresh sysfs (else
# /sys/class/net shows the host's devices), and mounting one hides the cgroup hierarchies dockerd needs: they are
# moved aside first and put back on top. Then the private /etc/docker and the node's hostname.
_LAUNCH = """
set -e
mount --rbind /sys/fs/cgroup "$SBXSW_STAGE"
mount -t sysfs sysfs /sys
mount --move "$SBXSW_STAGE" /sys/fs/cgroup
mount --bind "$SBXSW_ETC" /etc/docker
hostname "$SBXSW_HOSTNAME"
exec "$@"
"""


@dataclass(frozen=True)
class NodeLayout:
    """Every name and path of node ``index`` of instance ``instance`` (derived, so teardown needs no state)."""

    instance: str
    index: int

    @property
    def name(self) -> str:
        """Netns name, hostname, cgroup parent and containerd namespace of the node."""
        return f"{PREFIX}-{self.instance}-n{self.index}"

    @property
    def run_dir(self) -> str:
        return f"{RUN_ROOT}/{self.instance}/n{self.index}"

    @property
    def data_root(self) -> str:
        return f"{DATA_ROOT}/{self.instance}/n{self.index}"

    @property
    def socket(self) -> str:
        return f"{self.run_dir}/docker.sock"

    @property
    def engine_url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def log(self) -> str:
        return f"{self.run_dir}/dockerd.log"

    @property
    def address(self) -> str:
        return f"{UNDERLAY}.{self.index + 1}"

    @property
    def cgroup_parent(self) -> str:
        return f"/{self.name}"

    def dockerd_args(self, extra: tuple[str, ...] = ()) -> list[str]:
        """dockerd's command line; ``extra`` is appended (``--bridge``/``-b`` there replaces the default ``--bip``)."""
        own_bridge = any(a in ("-b", "--bridge") or a.startswith("--bridge=") for a in extra)
        return [
            shutil.which("dockerd") or "dockerd",
            f"--host=unix://{self.socket}",
            f"--data-root={self.data_root}",
            f"--exec-root={self.run_dir}/x",
            f"--pidfile={self.run_dir}/dockerd.pid",
            *([] if own_bridge else [f"--bip=10.214.{self.index}.1/24"]),
            f"--containerd-namespace={self.name}",
            f"--containerd-plugins-namespace={self.name}-plugins",
            f"--cgroup-parent={self.cgroup_parent}",
            # Never the systemd driver (dockerd's default on cgroup v2 hosts with systemd): it would hand pids of
            # the node's PID namespace to the host's systemd. cgroupfs keeps the node's cgroups under its parent.
            "--exec-opt=native.cgroupdriver=cgroupfs",
            *extra,
        ]


def create_network(node: NodeLayout, hub: str) -> None:
    """The node's network namespace, with ``eth0`` on the hub's bridge (created inside the namespaces only)."""
    ns = node.name
    _host.ip("netns", "add", ns)
    _host.ip("link", "set", "lo", "up", netns=ns)
    _host.ip("link", "add", "eth0", "type", "veth", "peer", "name", f"n{node.index}", "netns", hub, netns=ns)
    _host.ip("addr", "add", f"{node.address}/24", "dev", "eth0", netns=ns)
    _host.ip("link", "set", "eth0", "up", netns=ns)
    _host.ip("link", "set", f"n{node.index}", "master", "br0", "up", netns=hub)


_procs: dict[NodeLayout, subprocess.Popen[bytes]] = {}  # launchers this process started, reaped in ``reap``
_procs_lock = threading.Lock()


def start_dockerd(node: NodeLayout, extra_args: tuple[str, ...] = ()) -> subprocess.Popen[bytes]:
    """Launch the node's dockerd in its namespaces (own session: a terminal's Ctrl-C reaches only the harness)."""
    for d in (node.run_dir, f"{node.run_dir}/etc", f"{node.run_dir}/stage", node.data_root):
        os.makedirs(d, exist_ok=True)
    os.makedirs("/etc/docker", exist_ok=True)  # the bind target; dockerd would create it on first start anyway
    # Runtime state starts empty, as after a reboot: a killed dockerd leaves pid files (dockerd's, containerd's)
    # holding pids of its gone PID namespace, which a new one would take for running processes. The caller has
    # made sure that no process of this node runs.
    with contextlib.suppress(FileNotFoundError):
        os.unlink(f"{node.run_dir}/dockerd.pid")
    shutil.rmtree(f"{node.run_dir}/x", ignore_errors=True)
    env = dict(os.environ)
    env.update(SBXSW_STAGE=f"{node.run_dir}/stage", SBXSW_ETC=f"{node.run_dir}/etc", SBXSW_HOSTNAME=node.name)
    # unshare stays outside the node's network namespace, so teardown (which kills by namespace) leaves it to
    # reap the node's init and exit by itself.
    cmd = [
        "unshare",
        "--mount",
        "--uts",
        "--pid",
        "--fork",
        "--mount-proc",
        "--propagation",
        "private",
        "nsenter",
        f"--net={_host.NETNS_DIR}/{node.name}",
        shutil.which("docker-init") or shutil.which("tini") or "docker-init",
        "--",
        "sh",
        "-c",
        _LAUNCH,
        "launch",
        *node.dockerd_args(extra_args),
    ]
    with open(node.log, "ab") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True)
    with _procs_lock:
        _procs[node] = proc
    return proc


def reap(node: NodeLayout) -> None:
    """Collect the exit of the node's launcher if this process started it (no zombie, no ResourceWarning)."""
    with _procs_lock:
        proc = _procs.pop(node, None)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)


def log_tail(node: NodeLayout, lines: int = 15) -> str:
    try:
        with open(node.log, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(node: NodeLayout, proc: subprocess.Popen[bytes] | None, deadline: float) -> None:
    """Wait until the node's engine answers; fail fast with the log's tail when its dockerd exits."""
    engine = UnixEngine(node.socket)
    while True:
        if os.path.exists(node.socket) and engine.ping(timeout=1.0):
            return
        if proc is not None and proc.poll() is not None:
            raise _host.HostError(f"dockerd of {node.name} exited ({proc.returncode}):\n{log_tail(node)}")
        if time.monotonic() > deadline:
            raise _host.HostError(f"dockerd of {node.name} did not answer in time:\n{log_tail(node)}")
        time.sleep(0.02)


def node_pids(node: NodeLayout) -> set[int]:
    """Every process of the node: in its network namespace (dockerd, containerd, shims) or its cgroup tree."""
    pids = _host.pids_in_cgroups(node.cgroup_parent)
    inode = _host.netns_inode(node.name)
    if inode is not None:
        pids |= _host.pids_in_netns(inode)
    return pids


def _pids_named(node: NodeLayout, names: tuple[str, ...]) -> list[int]:
    inode = _host.netns_inode(node.name)
    if inode is None:
        return []
    return sorted(p for p in _host.pids_in_netns(inode) if _host.comm(p) in names and _host.alive(p, None))


def dockerd_pid(node: NodeLayout) -> int | None:
    """The node's running dockerd (host pid; the pid file holds the one inside the node's PID namespace)."""
    pids = _pids_named(node, ("dockerd",))
    return pids[0] if pids else None


def init_pid(node: NodeLayout) -> int | None:
    """The init of the node's PID namespace: killing it kills every process of the node."""
    pids = _pids_named(node, ("docker-init", "tini", "tini-static"))
    return pids[0] if pids else None


def shim_sockets(node: NodeLayout) -> list[str]:
    """The host paths of the node's containerd shim sockets.

    containerd 1.6 puts every shim's socket in the host's ``/run/containerd/s``, named by
    sha256(<containerd address>/<namespace>/<container id>); a killed shim leaves its socket behind.
    """
    address = f"{node.run_dir}/x/containerd/containerd.sock"
    tasks = f"{node.run_dir}/x/containerd/daemon/io.containerd.runtime.v2.task"
    paths: list[str] = []
    for ns in (node.name, f"{node.name}-plugins"):
        with contextlib.suppress(FileNotFoundError):
            for cid in os.listdir(f"{tasks}/{ns}"):
                digest = hashlib.sha256(f"{address}/{ns}/{cid}".encode()).hexdigest()
                paths.append(f"/run/containerd/s/{digest}")
    return paths


def kill_node(node: NodeLayout, deadline: float) -> set[int]:
    """SIGKILL every process of the node until none is left (or the deadline passes); returns survivors.

    The node's init goes first: the kernel then kills the rest of its PID namespace; the loop catches anything
    outside it (a node started by another version of the harness).
    """
    sockets = shim_sockets(node)
    pid = init_pid(node)
    if pid is not None:
        _host.kill_all([pid])
    while True:
        pids = {p for p in node_pids(node) if _host.alive(p, None)}
        if not pids or time.monotonic() > deadline:
            break
        _host.kill_all(pids)
        time.sleep(0.02)
    for path in sockets:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    return pids
