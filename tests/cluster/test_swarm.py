"""What the cluster backend can rely on, pinned against a real 2-node swarm with raw aiodocker (SWARM-NOTES.md).

A sandbox is a service: one replica, restart condition none, SIGKILL with no grace; its task's container is
reached through the engine named by its node's ``sandbox-core.engine`` label. Faults (drain, a node's engine
stopped or killed mid-exec, a partition, a manager restart) and a burst of 50 are in test_swarm_faults.py.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import tarfile
from typing import Any

import aiodocker
import pytest

from . import harness
from ._swarm import BUSYBOX, Swarm, exec_output, half_close, poll

pytestmark = pytest.mark.timeout(120)


async def test_service_spec_reaches_the_container(swarm: Swarm) -> None:
    spec = swarm.spec(
        "spec",
        ["sh", "-c"],
        container={
            "Args": ["echo ready; sleep 600"],
            "Env": ["A=1", "B=two words"],
            "Dir": "/tmp",
            "TTY": True,
            "CapabilityDrop": ["CAP_NET_RAW", "CAP_MKNOD", "CAP_AUDIT_WRITE"],
            "Labels": swarm.labels(**{"sandbox-core.sandbox-id": "sb-1"}),
        },
        Resources={
            "Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 256 << 20, "Pids": 64},
            "Reservations": {"NanoCPUs": 250_000_000, "MemoryBytes": 64 << 20},
        },
        LogDriver={"Name": "json-file", "Options": {"max-size": "64m", "max-file": "2"}},
    )
    spec["Labels"]["sandbox-core.service-level"] = "yes"
    sid = await swarm.create(spec)
    task = await swarm.wait_task(sid, ["running"])
    engine, cid = await swarm.container_of(task)
    c = (await engine.containers.get(cid))._container
    cfg, host = c["Config"], c["HostConfig"]
    assert c["Name"] == f"/{swarm.name('spec')}.1.{task['ID']}"
    assert cfg["Labels"]["sandbox-core.sandbox-id"] == "sb-1"
    assert "sandbox-core.service-level" not in cfg["Labels"], "service labels stay on the service"
    assert (
        cfg["Labels"]["com.docker.swarm.service.id"] == sid and cfg["Labels"]["com.docker.swarm.task.id"] == task["ID"]
    )
    assert cfg["Entrypoint"] == ["sh", "-c"] and cfg["Cmd"] == ["echo ready; sleep 600"], "Command→Entrypoint, Args→Cmd"
    assert {"A=1", "B=two words"} <= set(cfg["Env"]) and cfg["WorkingDir"] == "/tmp"
    assert cfg["Tty"] is True and cfg["OpenStdin"] is True
    assert cfg["StdinOnce"] is False, "swarm never sets StdinOnce: no stdin EOF for PID 1"
    assert cfg["StopSignal"] == "SIGKILL"
    assert host["Init"] is True and host["CapDrop"] == ["CAP_NET_RAW", "CAP_MKNOD", "CAP_AUDIT_WRITE"]
    assert (host["NanoCpus"], host["Memory"], host["PidsLimit"]) == (500_000_000, 256 << 20, 64)
    assert (host["CpuShares"], host["MemoryReservation"]) == (0, 0), "reservations only steer placement"
    assert not host["SecurityOpt"], "a 1.41 service spec cannot ask for no-new-privileges"
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "2", "max-size": "64m"}}
    assert host["NetworkMode"] == "default" and list(c["NetworkSettings"]["Networks"]) == ["bridge"]


async def test_only_the_tasks_node_engine_serves_its_container(swarm: Swarm) -> None:
    cmd = ["sh", "-c", "echo out; echo err >&2; read line; echo got:$line; exit 3"]
    sid = await swarm.create(swarm.spec("route", cmd, node=1))
    task = await swarm.wait_task(sid, ["running"])
    assert await swarm.node_index(task["NodeID"]) == 1
    engine, cid = await swarm.container_of(task)
    for path, method in ((f"containers/{cid}/json", "GET"), (f"containers/{cid}/exec", "POST")):
        with pytest.raises(aiodocker.DockerError) as err:
            await swarm.manager._query_json(path, method=method, data=json.dumps({"Cmd": ["true"]}))
        assert err.value.status == 404, "the manager never proxies container calls"
    out, code = await exec_output(engine, cid, ["sh", "-c", "echo exec-ok; exit 4"])
    assert (out, code) == (b"exec-ok\n", 4)
    container = engine.containers.container(cid)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        info = tarfile.TarInfo("f.txt")
        info.size = 5
        tf.addfile(info, io.BytesIO(b"hello"))
    await container.put_archive("/tmp", buf.getvalue())  # type: ignore[no-untyped-call]
    got = await container.get_archive("/tmp/f.txt")
    member = got.extractfile("f.txt")
    assert member is not None and member.read() == b"hello"
    async with container.attach(stdin=True, stdout=True, stderr=True, logs=True) as stream:
        await stream.write_in(b"abc\n")
        received = b""
        while (msg := await stream.read_out()) is not None:
            received += msg.data
    assert b"got:abc" in received
    done = await swarm.wait_task(sid, ["failed"], timeout=10)
    assert done["Status"]["ContainerStatus"]["ExitCode"] == 3
    assert done["Status"]["Err"] == "task: non-zero exit (3)"
    async with swarm.manager._query(f"services/{sid}/logs", params={"stdout": "1", "stderr": "1"}) as resp:
        logs = await resp.read()
    assert b"out\n" in logs and b"err\n" in logs, "service logs come through the manager (multiplexed)"


async def test_exit_kill_and_removal_states(swarm: Swarm) -> None:
    ok = await swarm.create(swarm.spec("zero", ["true"]))
    done = await swarm.wait_task(ok, ["complete"])
    assert done["Status"]["ContainerStatus"]["ExitCode"] == 0 and done["Status"].get("Err") is None
    killed = await swarm.create(swarm.spec("kill", ["sleep", "600"]))
    task = await swarm.wait_task(killed, ["running"])
    engine, cid = await swarm.container_of(task)
    await engine.containers.container(cid).kill(signal="KILL")
    done = await swarm.wait_task(killed, ["failed"], timeout=10)
    assert done["Status"]["ContainerStatus"]["ExitCode"] == 137
    await asyncio.sleep(0.5)
    assert len(await swarm.tasks(killed)) == 1, "restart condition none: no replacement task"
    assert (await engine.containers.get(cid))._container["State"]["Status"] == "exited", "kept until removal"
    running = await swarm.create(swarm.spec("rm", ["sleep", "600"]))
    task = await swarm.wait_task(running, ["running"])
    engine, cid = await swarm.container_of(task)
    await swarm.manager.services.delete(running)

    async def container_gone() -> bool | None:
        try:
            await engine.containers.get(cid)
        except aiodocker.DockerError as e:
            return True if e.status == 404 else None
        return None

    await poll(container_gone, 15, lambda: "the removed service's container is still there", 0.05)
    with pytest.raises(aiodocker.DockerError) as err:
        await swarm.manager._query_json("tasks", params={"filters": json.dumps({"service": [running]})})
    assert err.value.status == 404, "the task filter by service fails once the service is gone"


async def test_stdin_half_close_does_not_reach_pid_1(swarm: Swarm) -> None:
    sid = await swarm.create(swarm.spec("eof", ["sh", "-c", "cat; echo eof-seen; sleep 600"]))
    task = await swarm.wait_task(sid, ["running"])
    engine, cid = await swarm.container_of(task)
    container = engine.containers.container(cid)
    stream = container.attach(stdin=True, stdout=False, stderr=False)
    await stream._init()
    await stream.write_in(b"line\n")
    half_close(stream)
    await poll(lambda: _logs_contain(container, "line"), 10, lambda: "stdin reached cat", 0.05)
    await stream.close()
    await asyncio.sleep(1.0)
    assert "eof-seen" not in "".join(await container.log(stdout=True)), "StdinOnce is false: cat never sees EOF"


async def _logs_contain(container: Any, text: str) -> bool | None:
    return True if text in "".join(await container.log(stdout=True, stderr=True)) else None


def _pull_attempts(node: harness.Node) -> int:
    with open(f"{node.socket.rsplit('/', 1)[0]}/dockerd.log", errors="replace") as f:
        return f.read().count("pulling image failed")


async def test_an_image_id_reference_skips_the_pull(swarm: Swarm) -> None:
    node = swarm.cluster.nodes[1]
    image_id = (await swarm.manager.images.inspect(BUSYBOX))["Id"]
    for suffix, image, pulls in (("by-name", BUSYBOX, 1), ("by-id", image_id, 0)):
        before = _pull_attempts(node)
        sid = await swarm.create(swarm.spec(suffix, ["true"], image=image, node=1))
        await swarm.wait_task(sid, ["complete"])
        assert _pull_attempts(node) - before == pulls, suffix
    sid = await swarm.create(swarm.spec("missing", ["true"], image="sha256:" + "0" * 64, node=1))
    task = await swarm.wait_task(sid, ["rejected"], timeout=10)
    assert "No such image" in task["Status"]["Err"]


async def test_networks_a_service_may_use(swarm: Swarm) -> None:
    with pytest.raises(aiodocker.DockerError) as err:
        await swarm.create(swarm.spec("none", ["true"], Networks=[{"Target": "none"}]))
    assert err.value.status == 404 and "network none not found" in err.value.message
    body = {"Name": swarm.name("int"), "Driver": "overlay", "Internal": True, "Labels": swarm.labels()}
    await swarm.manager._query_json("networks/create", method="POST", data=json.dumps(body))
    probe = "echo nets:$(ls /sys/class/net | tr '\\n' ' '); echo routes:$(ip route | grep -c default); sleep 600"
    sid = await swarm.create(swarm.spec("on-int", ["sh", "-c", probe], Networks=[{"Target": swarm.name("int")}]))
    task = await swarm.wait_task(sid, ["running"])
    engine, cid = await swarm.container_of(task)
    container = engine.containers.container(cid)
    await poll(lambda: _logs_contain(container, "routes:"), 10, lambda: "probe output", 0.05)
    out = "".join(await container.log(stdout=True))
    assert "nets:eth0 lo" in out and "routes:0" in out, "an internal overlay has an interface but no default route"


async def test_service_labels_are_mutable_by_compare_and_swap(swarm: Swarm) -> None:
    sid = await swarm.create(swarm.spec("tags", ["sleep", "600"]))
    first = await swarm.wait_task(sid, ["running"])
    old = await swarm.manager.services.inspect(sid)

    async def add(key: str) -> int:
        retries = 0
        while True:
            svc = await swarm.manager.services.inspect(sid)
            spec = svc["Spec"]
            spec["Labels"][key] = "v"
            try:
                await _update_service(swarm, sid, svc["Version"]["Index"], spec)
                return retries
            except aiodocker.DockerError as e:
                if e.status != 500 or "update out of sequence" not in e.message:
                    raise
                retries += 1

    await asyncio.gather(*(add(f"sandbox-core.tag.k{i}") for i in range(8)))
    labels = (await swarm.manager.services.inspect(sid))["Spec"]["Labels"]
    assert all(f"sandbox-core.tag.k{i}" in labels for i in range(8)), "every writer landed exactly once"
    with pytest.raises(aiodocker.DockerError) as err:
        await _update_service(swarm, sid, old["Version"]["Index"], old["Spec"])
    assert err.value.status == 500 and "out of sequence" in err.value.message, "a stale version is refused"
    found = await swarm.manager.services.list(filters={"label": "sandbox-core.tag.k3=v"})
    assert [s["ID"] for s in found] == [sid]
    tasks = await swarm.tasks(sid)
    assert [t["ID"] for t in tasks] == [first["ID"]], "a label change does not touch the task"


async def _update_service(swarm: Swarm, sid: str, version: int, spec: dict[str, Any]) -> None:
    await swarm.manager._query_json(
        f"services/{sid}/update", method="POST", params={"version": str(version)}, data=json.dumps(spec)
    )


async def test_service_names_are_unique_and_dns_labels(swarm: Swarm) -> None:
    sid = await swarm.create(swarm.spec("name", ["true"]))
    await swarm.wait_task(sid, ["complete"])
    with pytest.raises(aiodocker.DockerError) as err:
        await swarm.create(swarm.spec("name", ["true"]))
    assert err.value.status == 409, "a finished service still holds its name"
    assert (await swarm.manager.services.inspect(swarm.name("name")))["ID"] == sid, "inspect by exact name"
    prefix_hits = await swarm.manager.services.list(filters={"name": swarm.name("na")})
    assert [s["ID"] for s in prefix_hits] == [sid], "the name filter matches prefixes, not exact names"
    for bad, why in (("x" * (64 - len(swarm.prefix)), "63 characters"), ("dot.ted", "DNS name component")):
        with pytest.raises(aiodocker.DockerError) as err:
            await swarm.create(swarm.spec(bad, ["true"]))
        assert err.value.status == 400 and why in err.value.message


async def test_configs_are_a_first_writer_wins_record_store(swarm: Swarm) -> None:
    name = f"{swarm.prefix}.end.sb_1"  # configs allow [a-zA-Z0-9-_.], 64 characters

    async def create(data: bytes, labels: dict[str, str]) -> str | int:
        body = {"Name": name, "Labels": labels, "Data": base64.b64encode(data).decode()}
        try:
            payload = io.BytesIO(json.dumps(body).encode())  # aiohttp warns about large raw bodies
            async with swarm.manager._query("configs/create", method="POST", data=payload) as resp:
                return str((await resp.json())["ID"])
        except aiodocker.DockerError as e:
            return e.status

    results = await asyncio.gather(*(create(b"writer %d" % i, swarm.labels(record="end")) for i in range(8)))
    winners = [r for r in results if isinstance(r, str)]
    assert len(winners) == 1 and sorted(set(results) - set(winners)) == [409]
    listed = await swarm.manager._query_json(
        "configs", params={"filters": json.dumps({"label": [f"sandbox-core.test={swarm.prefix}", "record=end"]})}
    )
    assert [c["ID"] for c in listed] == winners
    doc = await swarm.manager._query_json(f"configs/{name}")
    data = base64.b64decode(doc["Spec"]["Data"])
    assert data == b"writer %d" % results.index(winners[0])
    doc["Spec"]["Data"] = base64.b64encode(b"changed").decode()
    with pytest.raises(aiodocker.DockerError) as err:
        await swarm.manager._query_json(
            f"configs/{winners[0]}/update",
            method="POST",
            params={"version": str(doc["Version"]["Index"])},
            data=json.dumps(doc["Spec"]),
        )
    assert err.value.status == 400 and "only updates to Labels are allowed" in err.value.message
    with pytest.raises(aiodocker.DockerError) as err:
        await (await swarm.engine_for(swarm.cluster.nodes[1].node_id))._query_json("configs")
    assert err.value.status == 503, "only managers hold cluster state"
    assert await create(b"x" * 1024000, {}) == 400, "a config holds less than 1000 KiB"
    async with swarm.manager._query(f"configs/{winners[0]}", method="DELETE"):
        pass
    assert isinstance(await create(b"again", swarm.labels()), str), "a removed name is free again"
