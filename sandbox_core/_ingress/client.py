"""The client side of ingress, behind ``Sandbox.tunnels``, ``Sandbox.create_connect_token`` and
``Sandbox.wait_until_ready``: it asks the supervisor that serves the sandbox through records (``records.py``) and
waits for their creation by following it, never by polling."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .. import _lifecycle
from .. import exception as exc
from .._connect import SandboxConnectCredentials
from .._engine import EngineAPI, get_engine
from .._engine import labels as L
from .._engine.errors import NoSuchContainer
from .._engine.token_proxy import check_header_value, new_token
from .._engine.values import ContainerInfo
from .._link import SandboxLink
from .._tunnel import Tunnel
from . import reach
from . import records as R
from .create import require_supervisor
from .spec import ports_from_labels, probe_from_labels

T = TypeVar("T")

#: How long ``create_connect_token`` waits for a supervisor to serve a sandbox it asked for.
SERVE_TIMEOUT = 30.0
#: Longest ``user_metadata``: it travels as one HTTP header, and servers commonly refuse headers past 8 KiB.
MAX_METADATA = 8192
FINISHED = "Sandbox already finished"


class _Ended(Exception):
    """The sandbox stopped running while we waited."""


async def _await(eng: EngineAPI, prefix: str, look: Callable[[], Awaitable[T | None]], ref: str, timeout: float) -> T:
    """``look()``'s first non-None result, looking again whenever a record whose name starts with ``prefix`` is
    created. Raises ``_Ended`` when container ``ref`` stops running first, the builtin ``TimeoutError`` after
    ``timeout`` seconds."""
    since = time.time()
    found = await look()
    if found is not None:
        return found
    arrived = asyncio.Event()

    async def watch() -> None:
        async with contextlib.aclosing(eng.records.follow(prefix, since=since)) as created:
            async for _ in created:
                arrived.set()

    async def stopped() -> None:
        with contextlib.suppress(NoSuchContainer):
            await eng.containers.wait(ref)

    watcher, ended = asyncio.create_task(watch()), asyncio.create_task(stopped())
    try:
        async with asyncio.timeout(timeout):
            while True:
                waiter = asyncio.create_task(arrived.wait())
                try:
                    done, _ = await asyncio.wait({waiter, ended, watcher}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
                arrived.clear()
                found = await look()
                if found is not None:
                    return found
                if ended in done:
                    raise _Ended()
                if watcher in done:
                    watcher.result()  # the follow failed: raise its error
    finally:
        for task in (watcher, ended):
            task.cancel()
        await asyncio.gather(watcher, ended, return_exceptions=True)


async def _live_claim(eng: EngineAPI, sandbox_id: str) -> R.Claim | None:
    """The sandbox's current claim, when its claimant is alive."""
    claims = R.latest_claims(await eng.records.find({L.RECORD_TYPE: R.CLAIM, L.SANDBOX_ID: sandbox_id}))
    claim = claims.get(sandbox_id)
    return claim if claim is not None and claim.owner.alive() else None


async def _await_claim(eng: EngineAPI, link: SandboxLink, timeout: float) -> R.Claim:
    _lifecycle.ensure_supervisor(eng)  # cheap when one runs; replaces one that died
    return await _await(
        eng, R.claim_prefix(link.sandbox_id), lambda: _live_claim(eng, link.sandbox_id), link.ref, timeout
    )


async def _inspect(eng: EngineAPI, link: SandboxLink) -> ContainerInfo:
    try:
        return await eng.containers.inspect(link.ref)
    except NoSuchContainer:
        raise exc.NotFoundError(f"Sandbox {link.sandbox_id} no longer exists") from None


async def tunnels(link: SandboxLink, timeout: float) -> dict[int, Tunnel]:
    """See ``Sandbox.tunnels``."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise exc.InvalidError(f"timeout must be a number of seconds, got {timeout!r}")
    eng = await get_engine()
    info = await _inspect(eng, link)
    if not ports_from_labels(info.labels):
        return {}
    require_supervisor("Tunnels")
    if not info.state.running:
        raise exc.SandboxTimeoutError(f"Sandbox {link.sandbox_id} has finished: its tunnels are closed")
    try:
        claim = await _await_claim(eng, link, max(0.0, timeout))
    except (TimeoutError, _Ended):
        raise exc.SandboxTimeoutError(
            f"the tunnels of sandbox {link.sandbox_id} were not available within {timeout} s (the supervisor "
            f"serves them; its log is {_lifecycle.supervisor_log_path()})"
        ) from None
    return dict(claim.tunnels)


def check_token_arguments(user_metadata: Any, port: Any) -> str | None:
    """Modal's checks of ``create_connect_token``'s arguments, in its order; returns the metadata as sent."""
    if user_metadata is not None and isinstance(user_metadata, dict):
        try:
            user_metadata = json.dumps(user_metadata)
        except Exception as e:  # as Modal: whatever json.dumps raises (TypeError, ValueError, RecursionError)
            raise exc.InvalidError(f"Failed to serialize user_metadata: {e}") from None
    if not isinstance(port, int) or not (1 <= port <= 65535):
        raise exc.InvalidError("port must be between 1 and 65535")
    if user_metadata is not None and not isinstance(user_metadata, str):
        raise exc.InvalidError(f"user_metadata must be a str, a dict or None, got {type(user_metadata).__name__}")
    if user_metadata is not None and len(user_metadata.encode()) > MAX_METADATA:
        raise exc.InvalidError(f"user_metadata is sent as a header and may be at most {MAX_METADATA} bytes")
    return check_header_value(user_metadata)


async def create_connect_token(link: SandboxLink, user_metadata: str | None, port: int) -> SandboxConnectCredentials:
    """See ``Sandbox.create_connect_token`` (arguments already checked by ``check_token_arguments``)."""
    ref = link.ref  # ClientClosed on a detached handle
    require_supervisor("Connect tokens")
    eng = await get_engine()
    info = await _inspect(eng, link)
    if not info.state.running:
        raise exc.ConflictError(FINISHED)
    if info.network_mode == "none":
        raise exc.InvalidError("connect tokens need a network: this sandbox was created with `block_network=True`")
    owner = await reach.owner_info(eng, info.labels, ref)
    if owner is None or await reach.upstream(eng, owner, port) is None:
        raise exc.InvalidError(
            f"port {port} cannot be reached from this host: the engine's containers are not on a network of this "
            "host, so only ports declared at creation (encrypted_ports, h2_ports, unencrypted_ports) can be"
        )
    token, digest = new_token()
    record = R.TokenRecord(digest, link.sandbox_id, port, user_metadata)
    await eng.records.put(R.token_name(digest), record.labels(link.app_id))
    if await _live_claim(eng, link.sandbox_id) is None:
        await eng.records.put(R.request_name(link.sandbox_id), R.base_labels(R.REQUEST, link.sandbox_id, link.app_id))
    try:
        claim = await _await_claim(eng, link, SERVE_TIMEOUT)
    except _Ended:
        raise exc.ConflictError(FINISHED) from None
    except TimeoutError:
        raise exc.TimeoutError(
            f"no supervisor served sandbox {link.sandbox_id} within {SERVE_TIMEOUT:.0f} s (its log is "
            f"{_lifecycle.supervisor_log_path()})"
        ) from None
    return SandboxConnectCredentials(claim.proxy_url, token)


async def _ready(eng: EngineAPI, sandbox_id: str) -> float | None:
    return R.ready_at(await eng.records.get(R.ready_name(sandbox_id)))


async def wait_until_ready(link: SandboxLink, timeout: Any) -> None:
    """See ``Sandbox.wait_until_ready``."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise exc.InvalidError(f"`timeout` must be a number of seconds, got {timeout!r}")
    if timeout <= 0:
        raise exc.InvalidError(f"`timeout` must be positive, got: {timeout}")
    ref = link.ref  # ClientClosed on a detached handle
    eng = await get_engine()
    info = await _inspect(eng, link)
    if not info.state.running:
        raise exc.ConflictError(FINISHED)
    if probe_from_labels(info.labels) is None:
        raise exc.ConflictError("Sandbox does not have a readiness probe configured")
    require_supervisor("Readiness probes")
    _lifecycle.ensure_supervisor(eng)
    try:
        await _await(eng, R.ready_name(link.sandbox_id), lambda: _ready(eng, link.sandbox_id), ref, timeout)
    except _Ended:
        raise exc.ConflictError(FINISHED) from None
    except TimeoutError:
        raise exc.TimeoutError("Timeout expired") from None
