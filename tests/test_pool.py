"""``SandboxPool`` against the real engine: a claimed sandbox behaves as a cold one for every process; unclaimed
members are no sandboxes; refill; names; cold fallback; closing; members of a dead pool's process are swept."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

import sandbox_core as sc
import sandbox_core_sync as sync
from sandbox_core import exception as exc
from sandbox_core._agent.sessions import existing_slot
from sandbox_core._engine import get_engine
from sandbox_core._engine import labels as L
from sandbox_core._ids import SANDBOX_ID_RE
from sandbox_core.pool import REFILL_DELAY

from .conftest import BUSYBOX, REPO, agent_path, app_name

pytestmark = pytest.mark.usefixtures("engine")


@pytest_asyncio.fixture(loop_scope="session")
async def pool(app: sc.App) -> AsyncIterator[sc.SandboxPool]:
    """A pool of 3 busybox members, full, closed after the test."""
    p = await sc.SandboxPool.create(app=app, size=3, image=sc.Image.from_registry(BUSYBOX))
    try:
        await p.wait_ready(timeout=120)
        yield p
    finally:
        await p.close()


async def members(pool_id: str, *, running: bool = True) -> list[str]:
    """Sandbox ids of the containers carrying ``pool_id`` (claimed or not)."""
    eng = await get_engine()
    return [c.labels[L.SANDBOX_ID] for c in await eng.containers.list({L.POOL: pool_id}, all=not running)]


async def test_a_claimed_sandbox_behaves_as_a_cold_one(app: sc.App, pool: sc.SandboxPool) -> None:
    sb = await pool.claim(name="pooled-1", tags={"team": "a"}, timeout=60)
    try:
        assert SANDBOX_ID_RE.match(sb.object_id)
        p = await sb.exec("sh", "-c", "echo hi; echo err >&2; exit 3")
        assert (await p.stdout.read(), await p.stderr.read(), await p.wait()) == ("hi\n", "err\n", 3)
        await sb.filesystem.write_text("x", "/tmp/pooled")
        assert await sb.filesystem.read_text("/tmp/pooled") == "x"
        assert (await sc.Sandbox.from_id(sb.object_id)).object_id == sb.object_id
        assert (await sc.Sandbox.from_name(app.name, "pooled-1")).object_id == sb.object_id
        assert sb.object_id in [s.object_id async for s in sc.Sandbox.list(app_id=app.app_id, tags={"team": "a"})]
        assert await sb.get_tags() == {"team": "a"}
        await sb.set_tags({"team": "b"})
        assert await (await sc.Sandbox.from_id(sb.object_id)).get_tags() == {"team": "b"}
        with pytest.raises(exc.AlreadyExistsError):
            await sc.Sandbox.create(app=app, name="pooled-1", image=sc.Image.from_registry(BUSYBOX))
        assert await sb.terminate(wait=True) == 137
        with pytest.raises(exc.NotFoundError):
            await sc.Sandbox.from_name(app.name, "pooled-1")  # from_name finds running sandboxes only
    finally:
        await sb.terminate()


async def test_unclaimed_members_are_no_sandboxes(app: sc.App, pool: sc.SandboxPool) -> None:
    ids = await members(pool.pool_id)
    assert len(ids) == 3 and pool.ready == 3
    listed = {s.object_id async for s in sc.Sandbox.list(app_id=app.app_id)}
    assert not listed & set(ids)
    with pytest.raises(exc.NotFoundError, match="not found"):
        await sc.Sandbox.from_id(ids[0])
    sb = await pool.claim()
    try:
        assert sb.object_id in ids  # a member, claimed
        assert sb.object_id in {s.object_id async for s in sc.Sandbox.list(app_id=app.app_id)}
        assert (await sc.Sandbox.from_id(sb.object_id)).object_id == sb.object_id
    finally:
        await sb.terminate()


async def test_claims_are_refilled_in_the_background(pool: sc.SandboxPool) -> None:
    claimed = [await pool.claim() for _ in range(3)]
    try:
        assert pool.claimed == 3
        await pool.wait_ready(timeout=120)
        assert pool.ready == 3
        ids = set(await members(pool.pool_id))
        assert len(ids) == 6 and {s.object_id for s in claimed} < ids
    finally:
        for sb in claimed:
            await sb.terminate()


async def test_a_claims_replacement_starts_after_the_refill_delay(pool: sc.SandboxPool) -> None:
    before = set(await members(pool.pool_id))
    claimed_at = time.time()
    sb = await pool.claim()
    try:
        await pool.wait_ready(timeout=120)
        (new,) = set(await members(pool.pool_id)) - before
        eng = await get_engine()
        (item,) = await eng.containers.list({L.SANDBOX_ID: new}, all=True)
        # the engine's clock is this host's; its creation time is exact to the nanosecond
        assert (await eng.containers.inspect(item.id)).created_at >= claimed_at + REFILL_DELAY
    finally:
        await sb.terminate()


async def test_claim_deadlines_and_idle_timeout_are_the_claims(app: sc.App, pool: sc.SandboxPool) -> None:
    t0 = time.monotonic()
    short = await pool.claim(timeout=3)
    idle = await pool.claim(idle_timeout=2, timeout=120)
    try:
        with pytest.raises(exc.SandboxTimeoutError):
            await short.wait()
        assert short.returncode == 124
        await idle.wait()
        assert idle.returncode == 137  # ended for idling (as a cold sandbox)
        # the members were created before the claims, with the pool's (1 hour) lifetime: the claims' count
        assert time.monotonic() - t0 < 30
    finally:
        await short.terminate()
        await idle.terminate()


async def test_a_taken_name_leaves_the_member_in_the_pool(app: sc.App, pool: sc.SandboxPool) -> None:
    holder = await sc.Sandbox.create(app=app, name="taken", image=sc.Image.from_registry(BUSYBOX))
    try:
        with pytest.raises(exc.AlreadyExistsError, match="taken"):
            await pool.claim(name="taken")
        assert pool.ready == 3
    finally:
        await holder.terminate()
    sb = await pool.claim(name="taken")  # the holder finished: its name is free for a new sandbox
    await sb.terminate()


async def test_claim_checks_its_arguments_as_create_does(pool: sc.SandboxPool) -> None:
    with pytest.raises(exc.InvalidError, match="Invalid Sandbox name"):
        await pool.claim(name="no spaces")
    with pytest.raises(exc.InvalidError, match="tags must be a dict"):
        await pool.claim(tags={"a": 1})  # type: ignore[dict-item]
    with pytest.raises(exc.InvalidError, match="timeout must be a positive"):
        await pool.claim(timeout=0)
    with pytest.raises(exc.InvalidError, match="idle_timeout"):
        await pool.claim(idle_timeout=-1)
    assert pool.ready == 3


async def test_pool_creation_checks_its_spec(app: sc.App) -> None:
    with pytest.raises(exc.InvalidError, match="size"):
        await sc.SandboxPool.create(app=app, size=-1)
    with pytest.raises(exc.InvalidError, match="App"):
        await sc.SandboxPool.create(size=1)
    with pytest.raises(exc.InvalidError, match=r"CPU request"):
        await sc.SandboxPool.create(app=app, size=1, cpu=-1)
    with pytest.raises(exc.NotFoundError):
        await sc.SandboxPool.create(app=app, size=1, image=sc.Image.from_registry("sandbox-core/no-such-image:1"))
    with pytest.raises(exc.InvalidError, match="no public constructor"):
        sc.SandboxPool()


async def test_an_empty_pool_claims_cold_sandboxes_and_close_removes_members(app: sc.App) -> None:
    async with await sc.SandboxPool.create(app=app, size=0, image=sc.Image.from_registry(BUSYBOX)) as empty:
        sb = await empty.claim(tags={"cold": "1"})
        try:
            assert L.POOL not in (await (await get_engine()).containers.inspect(sb._link.container_id)).labels
            assert await sb.get_tags() == {"cold": "1"}
        finally:
            await sb.terminate()
    pool = await sc.SandboxPool.create(app=app, size=2, image=sc.Image.from_registry(BUSYBOX))
    await pool.wait_ready(timeout=120)
    kept = await pool.claim()
    try:
        await pool.close()
        with pytest.raises(exc.InvalidError, match="closed"):
            await pool.claim()
        assert await members(pool.pool_id, running=False) == [kept.object_id]  # only the claimed one is left
        assert await kept.poll() is None
    finally:
        await kept.terminate()


async def test_a_claim_costs_no_session_open_and_no_create(pool: sc.SandboxPool) -> None:
    sb = await pool.claim()
    try:
        if agent_path(sb):
            slot = existing_slot(sb._link.container_id)
            assert slot is not None and slot.live is not None  # the member's session, opened before the claim
        t0 = time.perf_counter()
        p = await sb.exec("true")
        assert await p.wait() == 0
        # generous: a loaded 2-vCPU machine; an exec that opened a session or created a container would not fit
        assert time.perf_counter() - t0 < (1.0 if agent_path(sb) else 5.0)
    finally:
        await sb.terminate()


def _run(code: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


async def test_another_process_sees_a_claimed_sandbox_as_a_cold_one(app: sc.App, pool: sc.SandboxPool) -> None:
    sb = await pool.claim(name="seen-elsewhere", tags={"k": "v"}, timeout=60, idle_timeout=600)
    try:
        proc = _run(
            f"""
            import asyncio, json
            import sandbox_core as sc
            async def main():
                by_name = await sc.Sandbox.from_name({app.name!r}, "seen-elsewhere")
                by_id = await sc.Sandbox.from_id({sb.object_id!r})
                listed = [s.object_id async for s in sc.Sandbox.list(app_id={app.app_id!r}, tags={{"k": "v"}})]
                p = await by_id.exec("echo", "from", "elsewhere")
                print(json.dumps([by_name.object_id, listed, await by_id.get_tags(), await p.stdout.read(),
                                  by_id._link.idle_timeout]))
                await by_id.terminate()
            asyncio.run(main())
            """
        )
        assert proc.returncode == 0, proc.stderr
        by_name, listed, tags, out, idle = json.loads(proc.stdout)
        assert by_name == sb.object_id and sb.object_id in listed
        assert tags == {"k": "v"} and out == "from elsewhere\n" and idle == 600
        await sb.wait(raise_on_termination=False)
        assert sb.returncode == 137  # terminated from the other process
    finally:
        await sb.terminate()


async def test_members_of_a_dead_pool_process_are_swept(app: sc.App) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import asyncio, sys
            import sandbox_core as sc
            async def main():
                app = await sc.App.lookup({app.name!r})
                pool = await sc.SandboxPool.create(app=app, size=2, image=sc.Image.from_registry({BUSYBOX!r}))
                await pool.wait_ready()
                claimed = await pool.claim(tags={{"survivor": "1"}})
                print(pool.pool_id, claimed.object_id, flush=True)
                await asyncio.sleep(3600)
            asyncio.run(main())
            """)],
        stdout=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        pool_id, claimed_id = (await asyncio.to_thread(proc.stdout.readline)).split()
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the pool's process dies without closing it
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    claimed = await sc.Sandbox.from_id(claimed_id)
    try:
        ids = await members(pool_id)
        assert claimed_id in ids and len(ids) >= 2
        deadline = time.monotonic() + 30
        while (left := await members(pool_id, running=False)) != [claimed_id]:  # the claimed one is a sandbox
            assert time.monotonic() < deadline, left
            await sc.sweep()  # as the supervisor's pass does (it also runs on its own)
        assert await claimed.poll() is None
    finally:
        await claimed.terminate()


async def test_the_supervisor_removes_a_dead_pools_members_on_its_own(app: sc.App) -> None:
    code = f"""
        import asyncio, os
        import sandbox_core as sc
        async def main():
            app = await sc.App.lookup({app.name!r})
            pool = await sc.SandboxPool.create(app=app, size=1, image=sc.Image.from_registry({BUSYBOX!r}))
            print(pool.pool_id, flush=True)
            os._exit(0)  # dies without closing the pool
        asyncio.run(main())
        """
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    pool_id = proc.stdout.split()[0]
    deadline = time.monotonic() + 60
    while await members(pool_id, running=False):
        assert time.monotonic() < deadline, "the supervisor left the dead pool's member"
        await asyncio.sleep(0.5)


async def test_pool_members_carry_the_pool_labels(pool: sc.SandboxPool) -> None:
    eng = await get_engine()
    (item,) = await eng.containers.list({L.POOL: pool.pool_id, L.SANDBOX_ID: (await members(pool.pool_id))[0]},
                                        all=False)  # fmt: skip
    assert item.labels[L.OWNER] == L.OWNER_VALUE and item.labels[L.KIND] == L.KIND_SANDBOX
    host, pid, _ = item.labels[L.POOL_OWNER].split(":")
    assert (host, int(pid)) == (os.uname().nodename, os.getpid())


async def test_blocking_facade_pool(app: sc.App) -> None:
    def blocking() -> tuple[str, str]:
        blocking_app = sync.App.lookup(app_name("pool-sync"), create_if_missing=True)
        with sync.SandboxPool.create(app=blocking_app, size=1, image=sync.Image.from_registry(BUSYBOX)) as pool:
            sb = pool.claim(tags={"sync": "1"})
            p = sb.exec("echo", "sync")
            out = p.stdout.read()
            tags = json.dumps(sb.get_tags())
            sb.terminate()
        return out, tags

    out, tags = await asyncio.to_thread(blocking)
    assert out == "sync\n" and json.loads(tags) == {"sync": "1"}
