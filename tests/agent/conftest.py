"""Fixtures for the agent's engine tests: the built binary, its volume, labelled containers, agent sessions.

Containers are started with ``docker run`` (labelled for this run, removed after the test) with the agent volume
mounted read-only, exactly as sandboxes get it; sessions run ``docker exec -i <container> <agent> serve`` as an
asyncio subprocess, whose pipes are the transport.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator

import pytest
import pytest_asyncio

from sandbox_core._agent import binary as agent_bin
from sandbox_core._agent.client import DEFAULT_HELLO, Agent
from sandbox_core._agent.protocol import Hello
from sandbox_core._agent.volume import AGENT_PATH, MOUNT_DIR, ensure_agent_volume
from sandbox_core._engine import get_engine
from tests.conftest import BUSYBOX, REPO, RUN_ID, TEST_RUN_LABEL

LABELS = ["--label", "sandbox-core.owner=sandbox-core", "--label", f"{TEST_RUN_LABEL}={RUN_ID}"]


class DockerExecTransport:
    """``AgentTransport`` over ``docker exec -i``'s pipes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def read(self) -> bytes | None:
        assert self.proc.stdout is not None
        return (await self.proc.stdout.read(1 << 18)) or None

    async def write(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        if self.proc.stdin.is_closing():
            raise BrokenPipeError("closed")
        self.proc.stdin.write(data)
        await self.proc.stdin.drain()

    def push(self, on_data: Callable[[bytes], None], on_end: Callable[[BaseException | None], None]) -> bool:
        return False  # read() only: the client's pull path

    def close_write(self) -> None:
        assert self.proc.stdin is not None
        if not self.proc.stdin.is_closing():
            self.proc.stdin.close()

    async def close(self) -> None:
        self.close_write()
        try:
            async with asyncio.timeout(10):
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def spawn_agent(cid: str, *args: str) -> asyncio.subprocess.Process:
    """``docker exec -i [args] cid AGENT serve`` with piped stdio."""
    return await asyncio.create_subprocess_exec(
        "docker", "exec", "-i", *args, cid, AGENT_PATH, "serve",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


@pytest.fixture(scope="session")
def built_agent() -> str:
    """The agent binary for this machine's engine, built from agent/ when missing."""
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    path = os.path.join(agent_bin.BIN_DIR, f"sandbox-agent-linux-{arch}")
    if not os.path.exists(path):
        if shutil.which("go") is None:
            pytest.fail("the agent binary is missing and Go is not installed: apt-get install -y golang-go")
        subprocess.run(
            [os.path.join(REPO, "scripts", "build-agent.sh")], check=True, env={**os.environ, "ARCHES": arch}
        )
    return path


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def agent_volume(engine: None, built_agent: str) -> str:
    """The shared, read-only-mountable volume holding the agent (kept across runs like an image)."""
    eng = await get_engine()
    b = agent_bin.agent_binary(await eng.architecture())
    return await ensure_agent_volume(eng, b, helper_image=BUSYBOX)


@pytest.fixture
def container(agent_volume: str) -> Iterator[Callable[..., str]]:
    """Factory: ``container(image=BUSYBOX, *docker_run_args)`` -> id of a running, labelled container with the
    agent mounted; every one is removed after the test."""
    made: list[str] = []

    def make(image: str = BUSYBOX, *args: str, cmd: tuple[str, ...] = ("sleep", "3600")) -> str:
        mount = f"type=volume,source={agent_volume},target={MOUNT_DIR},readonly,volume-nocopy"
        out = subprocess.run(
            ["docker", "run", "-d", *LABELS, "--mount", mount, *args, image, *cmd],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        made.append(out.stdout.strip())
        return made[-1]

    yield make
    if made:
        subprocess.run(["docker", "rm", "-f", *made], capture_output=True)


@pytest_asyncio.fixture(loop_scope="session")
async def connect() -> AsyncIterator[Callable[..., asyncio.Future[Agent]]]:
    """Factory: ``await connect(cid, *docker_exec_args)`` -> a connected ``Agent``; all closed after the test."""
    agents: list[Agent] = []

    async def make(cid: str, *args: str, hello: Hello = DEFAULT_HELLO) -> Agent:
        agent = await Agent.connect(DockerExecTransport(await spawn_agent(cid, *args)), local=hello)
        agents.append(agent)
        return agent

    yield make  # type: ignore[misc]
    for a in agents:
        with contextlib.suppress(Exception):
            await a.close()


@pytest_asyncio.fixture(loop_scope="session")
async def agent(container: Callable[..., str], connect: Callable[..., asyncio.Future[Agent]]) -> Agent:
    """An agent session in a fresh root busybox container."""
    return await connect(container())


async def run(agent: Agent, *argv: str, stdin: bytes | None = None, **kw: object) -> tuple[int, bytes, bytes]:
    """Run ``argv`` to completion: (exit code, stdout, stderr)."""
    p = await agent.exec(list(argv), **kw)  # type: ignore[arg-type]
    async with p:
        if stdin is not None:
            await p.write_stdin(stdin)
        p.close_stdin()
        out, err = await asyncio.gather(p.stdout.read_all(), p.stderr.read_all())
        return await p.wait(), out, err
