"""Test-only pause points: ``SANDBOX_CORE_TEST_PAUSE_AT=<step>`` makes the process stop at that step of create
(announcing ``paused at <step>`` on stderr) until it is killed, so that tests can SIGKILL a client at an exact step.
Unset (always, outside tests) a pause point costs one environment lookup."""

from __future__ import annotations

import asyncio
import os
import sys

PAUSE_ENV = "SANDBOX_CORE_TEST_PAUSE_AT"


async def pause_point(step: str) -> None:
    """Block forever at ``step`` when ``SANDBOX_CORE_TEST_PAUSE_AT`` names it; else return at once."""
    if os.environ.get(PAUSE_ENV) != step:
        return
    sys.stderr.write(f"paused at {step}\n")
    sys.stderr.flush()
    await asyncio.Event().wait()
