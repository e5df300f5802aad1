"""The agent backend follows the exec start-failure contract (``sandbox_core._execfail``) exactly as the engine
backend does: the same failures, return codes and lines for the same commands."""

from __future__ import annotations

import pytest

from sandbox_core._agent.client import Agent
from sandbox_core._agent.protocol import AgentOpError
from sandbox_core._execfail import from_agent_error

pytestmark = pytest.mark.usefixtures("engine")

# (argv, workdir) -> what the engine backend reports (tests/dropin/test_exec_start_failure.py checks that side)
CASES = [
    (("node", "-v"), None, 127, "node: command not found"),
    (("/no/such/binary",), None, 127, "/no/such/binary: No such file or directory"),
    (("/etc/passwd",), None, 126, "/etc/passwd: Permission denied"),
    (("ls",), "/nope", 126, "cannot change to working directory /nope: No such file or directory"),
    (("ls",), "/etc/passwd", 126, "cannot change to working directory /etc/passwd: Not a directory"),
]


@pytest.mark.parametrize(("argv", "workdir", "code", "line"), CASES)
async def test_the_agents_start_failures_read_as_the_engines(
    agent: Agent, argv: tuple[str, ...], workdir: str | None, code: int, line: str
) -> None:
    with pytest.raises(AgentOpError) as e:
        await agent.exec(list(argv), workdir=workdir)
    failure = from_agent_error(e.value.kind, e.value.message, argv, workdir)
    assert failure is not None, (e.value.kind, e.value.message)
    assert (failure.returncode, failure.message) == (code, line), (e.value.kind, e.value.message)
