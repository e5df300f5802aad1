"""The swarm backend's pure parts, no engine: the service spec, node pools, refusals, config names, the swarm JSON it
reads, task states, and its configuration. (Its behaviour on a real swarm: tests/cluster/test_backend.py.)"""

from __future__ import annotations

import re

import attrs
import pytest

from sandbox_core import exception as exc
from sandbox_core._engine import labels as L
from sandbox_core._engine.swarm import configs, homes, parse, spec
from sandbox_core._engine.swarm.config import SwarmConfig, cluster_mode
from sandbox_core._engine.swarm.model import NodeView, TaskView
from sandbox_core._engine.swarm.nodes import lost_reason, shutdown_reason
from sandbox_core._engine.values import ContainerSpec, Mount, PortBinding

LABELS = L.owned(L.KIND_SANDBOX, **{L.SANDBOX_ID: "sb-x"})
BASE = ContainerSpec(image="sha256:" + "a" * 64, labels=LABELS)


def _body(s: ContainerSpec) -> dict:  # type: ignore[type-arg]
    return spec.service_spec(s, "sbx-1", spec.pool_of(s))


def test_a_sandbox_is_one_replica_never_restarted_killed_at_once_labelled_twice() -> None:
    s = attrs.evolve(
        BASE,
        cmd=("sleep", "1"),
        env={"A": "1"},
        workdir="/w",
        tty=True,
        cap_drop=("NET_RAW", "MKNOD"),
        pids_limit=99,
        nano_cpus=1_500_000_000,
        cpu_shares=512,
        memory_bytes=128 << 20,
        memory_reservation_bytes=64 << 20,
        dns=("1.1.1.1",),
        mounts=(Mount("volume", "v", "/data", read_only=True),),
        tmpfs={"/run": "size=1m,mode=0700"},
    )
    body = _body(s)
    task = body["TaskTemplate"]
    c = task["ContainerSpec"]
    assert body["Name"] == "sbx-1" and body["Mode"] == {"Replicated": {"Replicas": 1}}
    assert task["RestartPolicy"]["Condition"] == "none"
    assert body["Labels"] == c["Labels"] == LABELS
    assert (c["StopSignal"], c["StopGracePeriod"], c["Init"], c["OpenStdin"], c["TTY"]) == (
        "SIGKILL",
        0,
        True,
        True,
        True,
    )
    assert c["Image"] == BASE.image and "Command" not in c and c["Args"] == ["sleep", "1"]
    assert c["Env"] == ["A=1"] and c["Dir"] == "/w" and c["CapabilityDrop"] == ["NET_RAW", "MKNOD"]
    assert c["DNSConfig"] == {"Nameservers": ["1.1.1.1"]}
    assert c["Mounts"] == [
        {"Type": "volume", "Source": "v", "Target": "/data", "ReadOnly": True},
        {"Type": "tmpfs", "Target": "/run", "TmpfsOptions": {"SizeBytes": 1 << 20, "Mode": 0o700}},
    ]
    # Limits are limits; requests become reservations, which steer placement (half a CPU, 64 MiB here).
    assert task["Resources"] == {
        "Limits": {"NanoCPUs": 1_500_000_000, "MemoryBytes": 128 << 20, "Pids": 99},
        "Reservations": {"NanoCPUs": 500_000_000, "MemoryBytes": 64 << 20},
    }
    assert task["LogDriver"] == {"Name": "json-file", "Options": {"max-size": "64m", "max-file": "2"}}


def test_nofile_and_shm_caps_are_ulimits_and_a_sized_tmpfs_at_dev_shm() -> None:
    c = _body(attrs.evolve(BASE, nofile_limit=1234, shm_size_bytes=8 << 20))["TaskTemplate"]["ContainerSpec"]
    assert c["Ulimits"] == [{"Name": "nofile", "Soft": 1234, "Hard": 1234}]
    assert c["Mounts"] == [
        {"Type": "tmpfs", "Target": "/dev/shm", "TmpfsOptions": {"SizeBytes": 8 << 20, "Mode": 0o1777}}
    ]
    plain = _body(BASE)["TaskTemplate"]["ContainerSpec"]
    assert "Ulimits" not in plain and plain["Mounts"] == []  # the node's defaults
    # A /dev/shm the caller mounts wins over the size cap (the engine would refuse two mounts at one target).
    own = _body(attrs.evolve(BASE, shm_size_bytes=1 << 20, tmpfs={"/dev/shm": "size=2m"}))
    assert [m["Target"] for m in own["TaskTemplate"]["ContainerSpec"]["Mounts"]] == ["/dev/shm"]


def test_volume_mounts_and_the_helper_kind_are_recognised() -> None:
    mounts = (Mount("volume", "b", "/b"), Mount("bind", "/h", "/h"), Mount("volume", "a", "/a"))
    assert homes.volumes_of(attrs.evolve(BASE, mounts=mounts)) == ["a", "b"]
    sub = Mount("bind", "/var/lib/docker/volumes/c/_data/users/x", "/x")  # a sub_path mount of volume c
    assert homes.volumes_of(attrs.evolve(BASE, mounts=(*mounts, sub))) == ["a", "b", "c"]
    assert not homes.is_helper(BASE)
    assert homes.is_helper(attrs.evolve(BASE, labels=L.owned("volume-helper")))


def test_an_entrypoint_is_the_services_command() -> None:
    c = _body(attrs.evolve(BASE, entrypoint=("/bin/x",), cmd=("a",)))["TaskTemplate"]["ContainerSpec"]
    assert (c["Command"], c["Args"]) == (["/bin/x"], ["a"])


@pytest.mark.parametrize(
    ("changes", "constraints"),
    [
        ({}, ["node.labels.sandbox-core.network!=none", "node.labels.sandbox-core.runtime!=runsc"]),
        (
            {"network_disabled": True},
            ["node.labels.sandbox-core.network==none", "node.labels.sandbox-core.runtime!=runsc"],
        ),
        ({"runtime": "runsc"}, ["node.labels.sandbox-core.network!=none", "node.labels.sandbox-core.runtime==runsc"]),
    ],
)
def test_node_pools_are_placement_constraints(changes: dict, constraints: list[str]) -> None:  # type: ignore[type-arg]
    s = attrs.evolve(BASE, **changes)
    nnp = "engine.labels.sandbox-core.no-new-privileges==true"
    assert _body(s)["TaskTemplate"]["Placement"]["Constraints"] == [*constraints, nnp]
    assert nnp not in _body(attrs.evolve(s, no_new_privileges=False))["TaskTemplate"]["Placement"]["Constraints"]


def test_a_pool_admits_the_nodes_its_constraints_select() -> None:
    plain: dict[str, str] = {}
    blocked, gvisor = {spec.NETWORK_POOL_LABEL: "none"}, {spec.RUNTIME_POOL_LABEL: "runsc"}
    default = spec.pool_of(BASE)
    assert default.admits(plain) and not default.admits(blocked) and not default.admits(gvisor)
    assert spec.pool_of(attrs.evolve(BASE, network_disabled=True)).admits(blocked)
    assert not spec.pool_of(attrs.evolve(BASE, network_disabled=True)).admits(plain)
    assert spec.pool_of(attrs.evolve(BASE, runtime="runsc")).admits(gvisor)
    for labels in (plain, blocked, gvisor):
        assert spec.pool_of_node(labels, True).admits(labels)
    pinned = attrs.evolve(default, node_id="n1")
    assert pinned.constraints == [*default.constraints, "node.id==n1"]


@pytest.mark.parametrize(
    ("changes", "what"),
    [
        ({"network_mode": "container:abc"}, "another container's network namespace"),
        ({"network_mode": "mynet"}, "the network 'mynet'"),
        ({"ports": (PortBinding(80),)}, "publishing ports"),
        ({"memory_bytes": 1, "memory_swap_bytes": 2}, "a swap limit"),
        ({"tmpfs": {"/t": "noexec"}}, "the tmpfs option 'noexec'"),
    ],
)
def test_what_a_service_cannot_do_is_refused(changes: dict, what: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(exc.InvalidError, match=re.escape(what) + ".*not available on a swarm cluster: "):
        spec.check(attrs.evolve(BASE, **changes))


def test_only_gvisor_pools_exist() -> None:
    with pytest.raises(exc.InvalidError, match=r"the runtime 'kata' is not available.*only gVisor"):
        spec.pool_of(attrs.evolve(BASE, runtime="kata"))


def test_config_names_fit_swarm_and_are_one_per_key() -> None:
    assert configs.name_for("sandbox-core", "end.sb-abc") == "sandbox-core.end.sb-abc"
    tags = "tags.sb-" + "x" * 22 + "." + "0" * 20
    assert configs.name_for("sandbox-core", tags) == "sandbox-core." + tags  # 64 characters: fits
    long = "app." + "n" * 64
    hashed = configs.name_for("sandbox-core", long)
    assert len(hashed) <= 64 and hashed.startswith("sandbox-core-h-")
    assert hashed == configs.name_for("sandbox-core", long) != configs.name_for("sandbox-core", long + "1")
    assert configs.name_for("p", "ends-with.") != "p.ends-with."  # swarm wants an alphanumeric last character
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}[a-zA-Z0-9]", configs.name_for("p", "ünïcode"))


def _task(state: str, **kw: object) -> TaskView:
    defaults = dict(
        id="t", service_id="s", node_id="n", state=state, desired_state="running", message="", error="",
        container_id="c", exit_code=0, pid=7, created_at=1.0, updated_at=2.0,
    )  # fmt: skip
    return TaskView(**{**defaults, **kw})  # type: ignore[arg-type]


def test_task_states_map_onto_container_states() -> None:
    assert parse.task_state(None, None).status == "created"
    assert parse.task_state(_task("pending"), None).status == "created"
    running = parse.task_state(_task("running"), None)
    assert running.running and running.pid == 7
    assert parse.task_state(_task("failed", exit_code=3), None).exit_code == 3
    assert parse.task_state(_task("rejected", exit_code=None), None).exit_code == -1
    lost = parse.task_state(_task("running"), "the node is down")
    assert (lost.status, lost.running, lost.exit_code, lost.lost_reason) == ("exited", False, 137, "the node is down")
    assert not lost.is_live


def test_a_node_down_or_gone_ends_its_tasks_and_a_drain_says_so() -> None:
    node = NodeView("n", "host1", "ready", "active", {})
    assert lost_reason(node, "n") is None
    assert "host1" in (lost_reason(attrs.evolve(node, state="down"), "n") or "")
    assert "left the cluster" in (lost_reason(None, "nodeid123") or "")
    assert (
        shutdown_reason(attrs.evolve(node, availability="drain"), "n") == "the swarm node host1 that ran it was drained"
    )


def test_nodes_tasks_and_services_are_read_from_the_managers_json() -> None:
    node = parse.node_view(
        {
            "ID": "n1",
            "Spec": {"Labels": {"sandbox-core.engine": "tcp://h:2376"}, "Availability": "pause"},
            "Description": {"Hostname": "h", "Engine": {"Labels": {"sandbox-core.no-new-privileges": "true"}}},
            "Status": {"State": "ready"},
        }
    )
    assert (node.engine_url, node.availability, node.schedulable) == ("tcp://h:2376", "pause", False)
    assert node.engine_labels == {"sandbox-core.no-new-privileges": "true"}
    task = parse.task_view(
        {
            "ID": "t1",
            "ServiceID": "s1",
            "NodeID": "n1",
            "CreatedAt": "2026-01-01T00:00:00.5Z",
            "Status": {
                "State": "failed",
                "Err": "task: non-zero exit (3)",
                "ContainerStatus": {"ContainerID": "c1", "ExitCode": 3},
            },
            "DesiredState": "shutdown",
        }
    )
    assert (task.final, task.exit_code, task.container_id, task.created_at) == (True, 3, "c1", 1767225600.5)
    svc = parse.service_view(
        {
            "ID": "s1",
            "Spec": {
                "Name": "sbx-1",
                "Labels": {"a": "b"},
                "TaskTemplate": {"ContainerSpec": {"Image": "i", "Args": ["x"], "Env": ["K=V"]}},
            },
        }
    )
    assert (svc.name, svc.args, svc.command, svc.env) == ("sbx-1", ("x",), None, {"K": "V"})
    record = parse.record(
        {"Spec": {"Name": "sandbox-core-h-1", "Labels": {parse.RECORD_NAME_LABEL: "app.x", "k": "v"}}}
    )
    assert (record.name, dict(record.labels)) == ("app.x", {"k": "v"})


def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("SANDBOX_CORE_CLUSTER", "k8s")
    with pytest.raises(exc.InvalidError, match="SANDBOX_CORE_CLUSTER must be empty"):
        cluster_mode()
    monkeypatch.setenv("SANDBOX_CORE_CLUSTER", "Swarm")
    assert cluster_mode() == "swarm"
    monkeypatch.setenv("SANDBOX_CORE_SWARM_MANAGER", "ftp://x")
    with pytest.raises(exc.InvalidError, match="SANDBOX_CORE_SWARM_MANAGER must start with unix:// or tcp://"):
        SwarmConfig.from_env()
    monkeypatch.setenv("SANDBOX_CORE_SWARM_MANAGER", "tcp://10.0.0.1:2376")
    monkeypatch.setenv("SANDBOX_CORE_SWARM_CERT_PATH", str(tmp_path))
    with pytest.raises(exc.InvalidError, match=r"no ca\.pem"):
        SwarmConfig.from_env()
    monkeypatch.delenv("SANDBOX_CORE_SWARM_CERT_PATH")
    monkeypatch.setenv("SANDBOX_CORE_SWARM_PLACEMENT_TIMEOUT", "0")
    with pytest.raises(exc.InvalidError, match="PLACEMENT_TIMEOUT must be a positive number"):
        SwarmConfig.from_env()
    monkeypatch.delenv("SANDBOX_CORE_SWARM_PLACEMENT_TIMEOUT")
    config = SwarmConfig.from_env()
    node = config.address("unix:///run/n1/docker.sock", "label")
    assert node.socket_path == "/run/n1/docker.sock" and not node.is_local  # a node's pids are not this host's
    assert config.child_environment() == {
        "SANDBOX_CORE_CLUSTER": "swarm",
        "SANDBOX_CORE_SWARM_MANAGER": "tcp://10.0.0.1:2376",
    }
