"""The swarm harness itself: a real multi-node swarm next to the main engine, and nothing left after it.

Each check here could fail: separate engines (ids, roots, namespaces), labels that route to node engines, images
on every node, a bounded bring-up, a teardown that removes everything (also of a crashed or interrupted run)
and leaves the host's network and the main engine as they were.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import pytest

from tests.conftest import REPO

from . import _host, _node, harness
from ._http import UnixEngine
from ._swarm import MEASURED

OUR_SUBNETS = ("10.213.", "10.214.", "10.215.")
BRING_UP_BOUND = 30.0  # seconds; measured ≈ 1.5 s here, the slack is for slow CI machines


def _main_engine() -> UnixEngine:
    return UnixEngine(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://"))


def _traces(instance: str) -> list[str]:
    """Anything of ``instance`` still on the host: namespaces, directories, cgroups, processes, mounts."""
    found = [f"netns {ns}" for ns in _host.netns_list(f"{_node.PREFIX}-{instance}-")]
    for root in (f"{_node.RUN_ROOT}/{instance}", f"{_node.DATA_ROOT}/{instance}"):
        if os.path.exists(root):
            found.append(f"dir {root}")
        found += [f"mount {m}" for m in _host.mounts_under(root)]
    for i in range(4):
        found += [f"cgroup {d}" for d in _host.cgroup_dirs(f"/{_node.PREFIX}-{instance}-n{i}")]
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if f"/sbxsw/{instance}/".encode() in f.read():
                        found.append(f"process {pid}")
            except OSError:
                pass
    return found


def _wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def _child(code: str) -> subprocess.Popen[str]:
    """A Python child running ``code`` with the harness importable (a separate owner process)."""
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_bring_up_is_bounded_and_measured(swarm_cluster: harness.Cluster) -> None:
    t = swarm_cluster.timings
    MEASURED["bring-up phases (s)"] = t
    assert {"netns", "dockerd", "images", "swarm", "total"} <= set(t)
    assert 0 < t["total"] < BRING_UP_BOUND, t
    assert t["image_bytes"] > 0


@pytest.mark.podman_differs("the swarm nodes are private dockerds, compared with the engine under test as Docker")
def test_nodes_are_separate_engines_in_one_swarm(swarm_cluster: harness.Cluster) -> None:
    infos = [node.engine().request("GET", "info") for node in swarm_cluster.nodes]
    assert len(infos) >= 2
    assert len({i["ID"] for i in infos}) == len(infos), "engine ids must differ (private /etc/docker)"
    assert len({i["Name"] for i in infos}) == len(infos), "each node has its own hostname"
    assert len({i["DockerRootDir"] for i in infos}) == len(infos)
    main = _main_engine().request("GET", "info")
    for node, info in zip(swarm_cluster.nodes, infos, strict=True):
        assert info["Swarm"]["LocalNodeState"] == "active"
        assert info["Swarm"]["NodeID"] == node.node_id
        assert info["Swarm"]["ControlAvailable"] is (node.role == "manager")
        assert info["ID"] != main["ID"] and info["DockerRootDir"] != main["DockerRootDir"]
        assert info["CgroupDriver"] == "cgroupfs" and info["CgroupVersion"] == main["CgroupVersion"]
        assert info["ServerVersion"] == main["ServerVersion"], "the same dockerd binary as the main engine"
    nodes = swarm_cluster.manager.engine().request("GET", "nodes")
    assert sorted(n["Spec"]["Role"] for n in nodes) == ["manager"] + ["worker"] * (len(infos) - 1)
    assert all(n["Status"]["State"] == "ready" for n in nodes)


def test_node_labels_route_to_each_nodes_engine(swarm_cluster: harness.Cluster) -> None:
    for node in swarm_cluster.manager.engine().request("GET", "nodes"):
        url = node["Spec"]["Labels"][harness.ENGINE_LABEL]
        assert url.startswith("unix://")
        info = UnixEngine(url.removeprefix("unix://")).request("GET", "info")
        assert info["Swarm"]["NodeID"] == node["ID"]
        assert node["Spec"]["Labels"][harness.NODE_LABEL] == f"n{swarm_cluster.nodes_by_id()[node['ID']].index}"


def test_project_images_are_on_every_node_with_the_same_ids(swarm_cluster: harness.Cluster) -> None:
    main = _main_engine()
    for image in harness.DEFAULT_IMAGES:
        want = main.request("GET", f"images/{image}/json")["Id"]
        for node in swarm_cluster.nodes:
            assert node.engine().request("GET", f"images/{image}/json")["Id"] == want, (image, node.name)


def test_node_networking_stays_inside_the_node_namespaces(swarm_cluster: harness.Cluster) -> None:
    host_rules = _host.run(["iptables-save"]).stdout
    host_routes = _host.run(["ip", "route", "show", "table", "all"]).stdout
    host_links = _host.run(["ip", "-o", "link"]).stdout
    for subnet in OUR_SUBNETS:
        assert subnet not in host_rules and subnet not in host_routes
    assert "sbxsw" not in host_links and "docker_gwbridge" not in host_links
    for node in swarm_cluster.nodes:
        rules = _host.run(["ip", "netns", "exec", node.name, "iptables-save"]).stdout
        assert "-N DOCKER" in rules or ":DOCKER " in rules, f"{node.name}'s dockerd keeps its rules in its netns"


@pytest.mark.usefixtures("swarm_host")
def test_teardown_removes_everything_and_is_idempotent() -> None:
    instance = f"d{uuid.uuid4().hex[:6]}"
    cluster = harness.up(instance, nodes=2)
    try:
        mgr = cluster.manager.engine()
        spec = {
            "Name": "leftover",
            "Mode": {"Replicated": {"Replicas": 2}},
            "TaskTemplate": {"ContainerSpec": {"Image": harness.DEFAULT_IMAGES[0], "Command": ["sleep", "600"]}},
        }
        mgr.request("POST", "services/create", body=spec)
        _wait_for(
            lambda: sum(len(n.engine().request("GET", "containers/json")) for n in cluster.nodes) == 2,
            30,
            "a task running on each node",
        )
        assert _traces(instance)
        sockets = [p for n in cluster.nodes for p in _node.shim_sockets(cluster.layout(n.index))]
        assert len(sockets) == 2 and all(os.path.exists(p) for p in sockets)
    finally:
        removed = cluster.down()
    assert any(r.startswith("netns") for r in removed) and any(r.startswith("dir") for r in removed)
    assert _traces(instance) == []
    assert not any(os.path.exists(p) for p in sockets), "killed shims leave sockets in /run/containerd/s"
    assert harness.down(instance) == []
    assert _main_engine().ping()


def test_a_crashed_runs_instance_is_swept_and_a_live_one_kept(swarm_cluster: harness.Cluster) -> None:
    instance = f"c{uuid.uuid4().hex[:6]}"
    child = _child(f"from tests.cluster import harness; harness.up({instance!r}, nodes=1); print('up', flush=True)")
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0 and "up" in out, err
    assert harness.owner_alive(instance) is False  # its owner exited without tearing down: a crash
    assert _traces(instance)
    swept = harness.sweep_stale()
    assert instance in swept
    assert swarm_cluster.instance not in swept and harness.owner_alive(swarm_cluster.instance) is True
    assert _traces(instance) == []
    assert swarm_cluster.manager.engine().ping()


@pytest.mark.usefixtures("swarm_host")
def test_ctrl_c_during_bring_up_leaves_nothing() -> None:
    instance = f"i{uuid.uuid4().hex[:6]}"
    child = _child(f"from tests.cluster import harness; harness.up({instance!r}, nodes=2)")
    try:
        _wait_for(lambda: bool(_host.netns_list(f"{_node.PREFIX}-{instance}-n")), 60, "bring-up started")
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert "KeyboardInterrupt" in err
    assert _traces(instance) == []


@pytest.mark.usefixtures("swarm_host")
def test_command_line_up_status_down() -> None:
    instance = f"m{uuid.uuid4().hex[:6]}"
    cli = [sys.executable, "-m", "tests.cluster.harness"]
    try:
        up = subprocess.run(
            [*cli, "up", "--name", instance, "--nodes", "2"], cwd=REPO, capture_output=True, timeout=120
        )
        assert up.returncode == 0, up.stderr
        shown = json.loads(up.stdout)
        assert [n["role"] for n in shown["nodes"]] == ["manager", "worker"]
        assert harness.owner_alive(instance) is None, "a manual instance has no owner and survives sweeps"
        status = subprocess.run([*cli, "status", instance], cwd=REPO, capture_output=True, timeout=60, check=True)
        nodes = json.loads(status.stdout)[0]["nodes"]
        assert [n["swarm"] for n in nodes] == ["active", "active"]
    finally:
        down = subprocess.run([*cli, "down", instance], cwd=REPO, capture_output=True, timeout=120)
    assert down.returncode == 0, down.stderr
    assert _traces(instance) == []


def test_the_main_engine_still_runs_containers(swarm_cluster: harness.Cluster) -> None:
    main = _main_engine()
    body = {
        "Image": harness.DEFAULT_IMAGES[0],
        "Cmd": ["true"],
        "Labels": {"sandbox-core.owner": "sandbox-core", "sandbox-core.test-run": os.environ["SANDBOX_CORE_TEST_RUN"]},
        "HostConfig": {"NetworkMode": "none"},
    }
    cid = main.request("POST", "containers/create", body=body)["Id"]
    try:
        main.request("POST", f"containers/{cid}/start")
        assert main.request("POST", f"containers/{cid}/wait", timeout=60)["StatusCode"] == 0
    finally:
        main.request("DELETE", f"containers/{cid}", params=[("force", "1")])
