"""Node-level settings a service spec cannot carry: network none, no-new-privileges, the runtime (gVisor).

Swarm 1.41 services have no runtime, no ``--network none`` and no no-new-privileges; each of these is a dockerd
setting of the node, so the backend would keep node pools (labelled nodes) and place sandboxes by constraint.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import pytest

from ._node import RUN_ROOT
from ._swarm import Swarm, exec_output, extra_node

pytestmark = pytest.mark.timeout(180)
PROBE = ["sh", "-c", "sleep 600"]
INSPECT = "echo $(ls /sys/class/net); ip route | grep -c default; grep NoNewPrivs /proc/1/status || echo NoNewPrivs: ?"


async def _probe(swarm: Swarm, suffix: str, node: int, **task_template: Any) -> tuple[str, dict[str, str]]:
    """Run a sandbox on node ``node``; (its interfaces and routes, /proc/1/status's NoNewPrivs, its runtime)."""
    sid = await swarm.create(swarm.spec(suffix, PROBE, node=node, **task_template))
    task = await swarm.wait_task(sid, ["running"])
    engine, cid = await swarm.container_of(task)
    out, code = await exec_output(engine, cid, ["sh", "-c", INSPECT])
    assert code == 0, out
    nets, routes, nnp = out.decode().splitlines()[:3]
    runtime = (await engine.containers.get(cid))._container["HostConfig"]["Runtime"]
    return sid, {"nets": nets, "default_routes": routes, "no_new_privs": nnp.split()[-1], "runtime": runtime}


async def test_a_bridge_none_node_gives_network_none_and_no_new_privileges(swarm: Swarm) -> None:
    async with extra_node(swarm, ("--bridge=none", "--no-new-privileges")) as node:
        _, blocked = await _probe(swarm, "blocked", node.index)
        assert blocked["nets"] == "lo" and blocked["default_routes"] == "0", "no network at all, as NetworkMode none"
        assert blocked["no_new_privs"] == "1", "dockerd --no-new-privileges reaches swarm tasks"
        body = {"Name": swarm.name("open"), "Driver": "bridge", "Scope": "swarm", "Labels": swarm.labels()}
        await swarm.manager._query_json("networks/create", method="POST", data=json.dumps(body))
        _, opened = await _probe(swarm, "opened", node.index, Networks=[{"Target": swarm.name("open")}])
        assert opened["nets"] == "eth0 lo" and opened["default_routes"] == "1", "a swarm-scoped bridge gives network"
    _, default = await _probe(swarm, "default", 1)
    assert default["nets"] == "eth0 lo" and default["no_new_privs"] == "0", "an ordinary node: bridge, and NNP off"


async def test_a_node_with_runsc_as_default_runtime_runs_gvisor(swarm: Swarm) -> None:
    runsc = shutil.which("runsc")
    if runsc is None:
        pytest.skip("runsc (gVisor) is not installed")
    # gVisor's own network stack does not start here (see scripts/ensure-engine.sh): the host's stack serves it.
    wrapper = f"{RUN_ROOT}/{swarm.cluster.instance}/runsc-host-network"  # removed with the instance
    with open(wrapper, "w") as f:
        f.write(f'#!/bin/sh\nexec {runsc} --network=host "$@"\n')
    os.chmod(wrapper, 0o755)
    args = ("--add-runtime", f"runsc={wrapper}", "--default-runtime", "runsc")
    async with extra_node(swarm, args) as node:
        sid, probe = await _probe(swarm, "gvisor", node.index)
        assert probe["runtime"] == "runsc"
        task = (await swarm.tasks(sid))[0]
        engine, cid = await swarm.container_of(task)
        out, _ = await exec_output(engine, cid, ["dmesg"])
        assert b"gVisor" in out
        assert probe["no_new_privs"] == "?", "gVisor's /proc has no NoNewPrivs line"
