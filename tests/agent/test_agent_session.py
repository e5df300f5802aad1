"""The session as a whole: over a real engine exec stream, its end, protocol errors, delivery, the Go suite."""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import subprocess
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from sandbox_core._agent import binary as agent_bin
from sandbox_core._agent import volume as agent_volume_mod
from sandbox_core._agent.client import Agent
from sandbox_core._agent.protocol import VERSION, AgentLostError, Hello
from sandbox_core._agent.transport import open_agent_stream
from sandbox_core._agent.volume import ensure_agent_volume
from sandbox_core._engine import EngineAPI, get_engine
from tests.conftest import BUSYBOX, REPO, RUN_ID, TEST_RUN_LABEL

from .conftest import run, spawn_agent


async def test_over_an_engine_exec_stream(container: Callable[..., str]) -> None:
    cid = container()
    agent = await Agent.connect(await open_agent_stream(await get_engine(), cid))
    try:
        assert (await run(agent, "echo", "hi"))[1] == b"hi\n"
        p = await agent.exec(["head", "-c", "5000000", "/dev/zero"])
        async with p:
            assert len(await p.stdout.read_all()) == 5_000_000 and await p.wait() == 0
    finally:
        await agent.close()


async def test_closing_the_session_ends_the_agent_but_not_running_execs(
    container: Callable[..., str], connect: Callable[..., asyncio.Future[Agent]]
) -> None:
    cid = container()
    first = await connect(cid)
    p = await first.exec(["sleep", "1234"])
    agent_pid = (await first.info())["pid"]
    await first.close()
    second = await connect(cid)
    _, out, _ = await run(second, "ps", "-o", "pid,args")
    pids = {line.split(None, 1)[0]: line for line in out.decode().splitlines()[1:]}
    assert str(agent_pid) not in pids
    assert any("sleep 1234" in line for line in pids.values())
    del p


async def test_a_protocol_violation_gets_goaway_and_the_agent_exits(container: Callable[..., str]) -> None:
    proc = await spawn_agent(container())
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(Hello(VERSION, 65536, 65536, 8).encode() + struct.pack(">BBBBII", 2, 0, 0, 0, 99, 1) + b"x")
    await proc.stdin.drain()
    data = await asyncio.wait_for(proc.stdout.read(), 10)  # to EOF
    assert data[32] == 8 and b"never opened" in data  # HELLO, then GOAWAY with the reason
    assert await proc.wait() == 2


async def test_a_client_that_is_not_an_agent_is_refused(container: Callable[..., str]) -> None:
    proc = await spawn_agent(container())
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\0" * 8)
    await proc.stdin.drain()
    assert await asyncio.wait_for(proc.wait(), 10) == 2


async def test_sessions_fail_cleanly_when_the_agent_dies(
    container: Callable[..., str], connect: Callable[..., asyncio.Future[Agent]]
) -> None:
    cid = container()
    agent = await connect(cid)
    p = await agent.exec(["sleep", "100"])
    pid = (await agent.info())["pid"]
    subprocess.run(["docker", "exec", cid, "kill", "-9", str(pid)], check=True)
    with pytest.raises(AgentLostError):
        await asyncio.wait_for(p.wait(), 10)
    with pytest.raises(AgentLostError):
        await agent.exec(["true"])


async def test_the_binary_volume_is_filled_once_under_concurrency(
    engine: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    eng = await get_engine()
    binary = agent_bin.agent_binary(await eng.architecture())
    prefix = f"sandbox-core-agent-test-{uuid.uuid4().hex[:8]}"
    labels = {TEST_RUN_LABEL: RUN_ID}
    fills: list[str] = []
    put_file = agent_volume_mod.put_file

    async def counting(eng: EngineAPI, volume: str, *args: Any, **kw: Any) -> None:
        fills.append(volume)
        await put_file(eng, volume, *args, **kw)

    monkeypatch.setattr(agent_volume_mod, "put_file", counting)
    try:
        names = await asyncio.gather(
            *(
                ensure_agent_volume(eng, binary, helper_image=BUSYBOX, prefix=prefix, extra_labels=labels)
                for _ in range(5)
            )
        )
        assert len(set(names)) == 1 and len(fills) == 1
        out = subprocess.run(
            ["docker", "run", "--rm", "--label", f"{TEST_RUN_LABEL}={RUN_ID}", "--read-only", "--user", "1000",
             "--mount", f"type=volume,source={names[0]},target=/a,readonly", BUSYBOX, "/a/sandbox-agent", "version"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert out.stdout.startswith("sandbox-agent ")
    finally:
        for v in (f"{prefix}-{binary.sha256[:24]}", f"{prefix}-{binary.sha256[:24]}.ready"):
            subprocess.run(["docker", "volume", "rm", "-f", v], capture_output=True)


@pytest.mark.skipif(shutil.which("go") is None, reason="Go is not installed (apt-get install -y golang-go)")
def test_go_unit_tests_and_a_short_fuzz_run() -> None:
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOPROXY": "off"}
    cwd = os.path.join(REPO, "agent")
    subprocess.run(["go", "vet", "./..."], cwd=cwd, env=env, check=True)
    subprocess.run(["go", "test", "./..."], cwd=cwd, env=env, check=True, capture_output=True)
    for target in ("FuzzDecode", "FuzzSession"):
        pkg = "./internal/proto/" if target == "FuzzDecode" else "./internal/mux/"
        subprocess.run(
            ["go", "test", "-run", "^$", "-fuzz", f"^{target}$", "-fuzztime", "3s", pkg],
            cwd=cwd, env=env, check=True, capture_output=True,
        )  # fmt: skip
