"""Running a readiness probe from the supervisor until it first succeeds.

- **TCP**: ready once the port accepts a connection. The probe connects to the container's address when this host
  is on its network. Through a published port the engine's proxy accepts every connection and closes it at once
  when nothing listens inside, so there a connection counts only if it is still open (or has sent data) after
  ``PUBLISHED_GRACE`` seconds.
- **Exec**: ready once the command exits 0. Each attempt runs with stdin closed, is bounded by ``EXEC_TIMEOUT``
  (then its processes are killed) and is reported to ``ProbeActivity`` so that it never counts as activity for
  ``idle_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from typing import Protocol

from .._engine import EngineAPI
from .._engine.errors import ContainerNotRunning, ExecStartFailed, NoSuchContainer
from .._engine.values import ContainerInfo, ExecSpec
from ..exception import Error
from ..probe import Probe
from . import reach

log = logging.getLogger("sandbox_core.supervisor")

CONNECT_TIMEOUT = 2.0
PUBLISHED_GRACE = 0.1
EXEC_TIMEOUT = 30.0
#: Environment marker of a probe's processes, so that a hung attempt can be killed.
PROBE_MARK = "SANDBOX_CORE_PROBE"


class ProbeActivity(Protocol):
    """Told about probe execs, so that their engine events are not taken for the sandbox's activity."""

    def begin_probe(self, container_id: str) -> None:
        """A probe exec is about to be created in the container."""
        ...

    def end_probe(self, container_id: str, exec_id: str | None) -> None:
        """The create returned ``exec_id`` (None: it failed)."""
        ...


class SandboxGone(Exception):
    """The sandbox stopped while being probed."""


async def _tcp_once(host: str, port: int, direct: bool) -> bool:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), CONNECT_TIMEOUT)
    except (OSError, TimeoutError):
        return False
    try:
        if direct:
            return True
        try:
            data = await asyncio.wait_for(reader.read(1), PUBLISHED_GRACE)
        except TimeoutError:
            return True  # still open: something accepted behind the engine's proxy
        except OSError:
            return False
        return bool(data)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _exec_once(eng: EngineAPI, ref: str, argv: tuple[str, ...], activity: ProbeActivity) -> bool:
    marker = secrets.token_hex(8)
    exec_id: str | None = None
    activity.begin_probe(ref)
    try:
        exec_id = await eng.execs.create(ref, ExecSpec(cmd=argv, env={PROBE_MARK: marker}))
    finally:
        activity.end_probe(ref, exec_id)
    stream = await eng.execs.start(exec_id, tty=False)
    try:
        stream.close_write()
        async with asyncio.timeout(EXEC_TIMEOUT):
            while await stream.read_frame() is not None:
                pass
    except TimeoutError:
        await eng.execs.kill_marked(ref, PROBE_MARK, marker)
        return False
    except ExecStartFailed:  # the probe's command cannot start (yet): not ready
        return False
    finally:
        await stream.close()
    return await eng.execs.exit_code(exec_id) == 0


async def _tcp_target(eng: EngineAPI, owner: ContainerInfo, port: int) -> tuple[str, int, bool] | None:
    """(host, port, direct): the container's address, else its published port (not direct), else None."""
    address = await reach.container_address(eng, owner)
    if address is not None:
        return address, port, True
    found = reach.published(owner, port)
    return None if found is None else (*found, False)


async def run_until_ready(
    eng: EngineAPI, probe: Probe, ref: str, owner: ContainerInfo, activity: ProbeActivity
) -> None:
    """Run ``probe`` against container ``ref`` (whose port owner is ``owner``) every ``interval_ms`` until it first
    succeeds. Raises ``SandboxGone`` when the container stops running meanwhile."""
    interval = probe.interval_ms / 1000
    target: tuple[str, int, bool] | None = None
    if probe.tcp_port is not None:
        target = await _tcp_target(eng, owner, probe.tcp_port)
        if target is None:
            log.error(
                "readiness probe of %s: port %s is neither published nor reachable at the container's address; "
                "declare it in encrypted_ports/h2_ports/unencrypted_ports",
                ref[:12],
                probe.tcp_port,
            )
            raise SandboxGone(ref)
    while True:
        try:
            if target is not None:
                ok = await _tcp_once(*target)
            else:
                assert probe.exec_argv is not None
                ok = await _exec_once(eng, ref, probe.exec_argv, activity)
        except (ContainerNotRunning, NoSuchContainer):
            raise SandboxGone(ref) from None
        except Error as e:
            log.warning("readiness probe of %s failed to run: %s", ref[:12], e)
            ok = False
        if ok:
            return
        await asyncio.sleep(interval)  # the probe's own period, not a wait for an event
