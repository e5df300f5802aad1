"""Sandbox lifecycle against the real engine: create, lookup from other processes, tags, names, exit codes,
deadlines enforced without a client, hardening defaults, sweep."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
import warnings

import pytest

import sandbox_core as sc
from sandbox_core import _lifecycle
from sandbox_core import exception as exc
from sandbox_core._engine import get_engine
from sandbox_core._engine import labels as L
from sandbox_core._engine.values import ContainerSpec, parse_engine_time
from sandbox_core._ids import SANDBOX_ID_RE, new_id
from sandbox_core.image import resolve_image

from .conftest import BUSYBOX, REPO, app_name, docker_inspect

pytestmark = pytest.mark.usefixtures("engine")


async def inspect(sb: sc.Sandbox) -> dict:
    return docker_inspect(sb)


async def lifetime(sb: sc.Sandbox) -> float:
    """Seconds from the container's creation to its end, by the engine's own timestamps."""
    info = await inspect(sb)
    return parse_engine_time(info["State"]["FinishedAt"]) - parse_engine_time(info["Created"])  # type: ignore[operator]


async def lifetime_from_request(sb: sc.Sandbox, timeout: float) -> float:
    """Seconds from the create request (its deadline label minus ``timeout``: the clock starts when the client
    asks, a little before the engine's ``Created``) to the container's end."""
    info = await inspect(sb)
    requested = float(info["Config"]["Labels"][L.DEADLINE]) - timeout
    return parse_engine_time(info["State"]["FinishedAt"]) - requested  # type: ignore[operator]


async def run_to_end(app: sc.App, script: str, **kw: object) -> int:
    """Run ``sh -c script`` as a sandbox entrypoint; returns its returncode."""
    sb = await sc.Sandbox.create("sh", "-c", script, app=app, image=sc.Image.from_registry(BUSYBOX), **kw)
    try:
        await sb.wait()
    finally:
        await sb.terminate()
    assert sb.returncode is not None
    return sb.returncode


# ------------------------------------------------------------------------------------------ create & exit codes


async def test_create_returns_running_sandbox_with_modal_shaped_id(own_sandbox: sc.Sandbox) -> None:
    assert SANDBOX_ID_RE.match(own_sandbox.object_id)
    assert await own_sandbox.poll() is None
    assert own_sandbox.returncode is None
    info = await inspect(own_sandbox)
    assert info["State"]["Running"]
    assert info["Config"]["Cmd"] == ["sleep", "172800"]  # no command: stays alive like Modal's default


async def test_exit_code_is_reported_as_is(app: sc.App) -> None:
    assert await run_to_end(app, "exit 0") == 0
    assert await run_to_end(app, "exit 3") == 3


async def test_terminate_gives_137_and_wait_raises_only_when_asked(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create(app=app, image=image)
    assert await sb.terminate() is None
    await sb.wait(raise_on_termination=False)
    assert sb.returncode == 137
    with pytest.raises(exc.SandboxTerminatedError):
        await sb.wait()
    assert await sb.poll() == 137


async def test_terminate_wait_returns_137_and_is_noop_on_finished(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create(app=app, image=image)
    assert await sb.terminate(wait=True) == 137
    assert await sb.terminate(wait=True) == 137
    finished = await sc.Sandbox.create("sh", "-c", "exit 5", app=app, image=image)
    await finished.wait()
    assert await finished.terminate(wait=True) == 5  # no-op: the natural exit code stays


async def test_lifetime_timeout_gives_124_and_wait_always_raises(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create(app=app, image=image, timeout=2)
    with pytest.raises(exc.SandboxTimeoutError):
        await sb.wait(raise_on_termination=False)
    assert sb.returncode == 124
    assert await sb.poll() == 124
    lived = await lifetime_from_request(sb, 2)
    assert 2 <= lived < 2 + 5, lived


async def test_idle_timeout_ends_an_idle_sandbox(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create(app=app, image=image, idle_timeout=2, timeout=120)
    await sb.wait()  # idle timeout does not raise (Modal maps IDLE_TIMEOUT to the exit code as is)
    assert sb.returncode == 137
    lived = await lifetime(sb)
    assert 2 <= lived < 2 + 5, lived


async def test_a_running_exec_keeps_an_idle_timeout_sandbox_alive(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create(app=app, image=image, idle_timeout=2, timeout=120)
    try:
        p = await sb.exec("sleep", "4")
        assert await p.wait() == 0  # the exec outlived idle_timeout; the sandbox is still there to report it
        assert await sb.poll() is None
        await sb.wait()  # idle from the exec's end on
        idle = await lifetime(sb)
        assert 4 + 2 <= idle < 4 + 2 + 5, idle
    finally:
        await sb.terminate()


@pytest.mark.podman_differs(
    "each stdin activity mark is an exec there whose events can be held up to 2 s while an earlier exec's end is "
    "settled (2): more than this test's 1.5 s margin when other sandboxes run execs"
)
async def test_stdin_writes_keep_an_idle_timeout_sandbox_alive(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create("cat", app=app, image=image, idle_timeout=2, timeout=120)
    try:
        for i in range(10):  # 5 s of input, one line every 0.5 s: never 2 s without activity
            sb.stdin.write(f"{i}\n")
            await sb.stdin.drain()
            await asyncio.sleep(0.5)
        assert await sb.poll() is None
        await sb.wait()  # idle from the last write on
        assert sb.returncode == 137
        assert [line async for line in sb.stdout] == [f"{i}\n" for i in range(10)]
    finally:
        await sb.terminate()


@pytest.mark.single_engine  # counts the engine's own exec records of the container (a swarm node's exec ids)
async def test_stdin_activity_marks_are_rate_limited_and_cover_the_last_write(app: sc.App, image: sc.Image) -> None:
    # Each mark is an unstarted exec that the engine keeps until the container is gone (it shows in ExecIDs).
    sb = await sc.Sandbox.create("cat", app=app, image=image, idle_timeout=10, timeout=120)  # one mark per 1 s
    try:
        for i in range(20):
            sb.stdin.write(f"{i}\n")
            await sb.stdin.drain()
        sink = sb.stdin._sink
        trailing = sink._trailing_mark  # type: ignore[attr-defined]
        assert trailing is not None  # writes after the first mark are covered by one mark at the interval's end
        await trailing
        # Marks are never started; the supervisors' agent monitor sessions (one per installation of the package
        # that serves this engine) are the only other execs, and they run.
        eng = await get_engine()
        infos = [await eng.execs.inspect(e) for e in (await inspect(sb))["ExecIDs"] or []]
        assert len([i for i in infos if not i.running and i.pid == 0]) == 2
    finally:
        await sb.terminate()


async def test_timeout_is_enforced_after_the_creating_process_is_sigkilled(app: sc.App) -> None:
    code = f"""
import asyncio, sys, time
import sandbox_core as sc
async def main():
    app = await sc.App.lookup({app_name()!r}, create_if_missing=True)
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry({BUSYBOX!r}), timeout=4)
    print(sb.object_id, flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout is not None
        sandbox_id = proc.stdout.readline().strip()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    sb = await sc.Sandbox.from_id(sandbox_id)
    with pytest.raises(exc.SandboxTimeoutError):
        await sb.wait()
    assert sb.returncode == 124
    lived = await lifetime(sb)
    assert lived < 4 + 5, lived


async def test_entrypoint_gets_env_and_secrets_with_env_winning(app: sc.App) -> None:
    script = '[ "$A" = from-env ] && [ "$B" = secret ] && [ -z "${C+set}" ]'
    rc = await run_to_end(
        app,
        script,
        secrets=[sc.Secret.from_dict({"A": "secret", "B": "secret"})],
        env={"A": "from-env", "C": None},
    )
    assert rc == 0


async def test_workdir_is_applied(app: sc.App) -> None:
    assert await run_to_end(app, '[ "$(pwd)" = /tmp ]', workdir="/tmp") == 0


# ------------------------------------------------------------------------------------------------- hardening


@pytest.mark.single_engine
async def test_hardening_defaults(own_sandbox: sc.Sandbox) -> None:
    host = (await inspect(own_sandbox))["HostConfig"]
    assert host["Init"] is True
    assert set(host["CapDrop"]) == {"NET_RAW", "MKNOD", "AUDIT_WRITE"}
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["PidsLimit"] == 4096
    # nothing is mounted but, read-only, the volume that holds the in-sandbox agent (when it has one)
    mounts = (await inspect(own_sandbox))["Mounts"]
    # (Podman lists a volume mount under Binds as well: only that one may be there)
    binds = [b.split(":")[1] for b in host.get("Binds") or ()]
    assert all(b == "/.sandbox-core-agent" for b in binds), binds
    assert all(m["Destination"] == "/.sandbox-core-agent" for m in mounts), mounts
    assert all(not m["RW"] for m in mounts)


async def test_capabilities_and_no_new_privileges_inside(app: sc.App) -> None:
    script = (
        'grep -Eq "^NoNewPrivs:[[:space:]]+1" /proc/self/status || exit 10; '
        "eff=$(grep CapEff /proc/self/status | cut -f2); "
        "[ $(( 0x$eff & (1 << 13) )) -eq 0 ] || exit 11; "  # NET_RAW
        "[ $(( 0x$eff & (1 << 27) )) -eq 0 ] || exit 12; "  # MKNOD
        "[ $(( 0x$eff & (1 << 29) )) -eq 0 ] || exit 13; "  # AUDIT_WRITE
        "[ $(( 0x$eff & (1 << 0) )) -ne 0 ] || exit 14; "  # CHOWN kept: the engine's default set minus three
        "mknod /tmp/null c 1 3 2>/dev/null && exit 15; "
        "[ ! -e /var/run/docker.sock ] && [ ! -e /run/docker.sock ] || exit 16"
    )
    assert await run_to_end(app, script) == 0


async def test_pids_limit_is_configurable_and_enforced(app: sc.App) -> None:
    # The limit is in the cgroup (exit 9 otherwise), and 40 background processes cannot start under 20:
    # the shell fails to fork (non-zero exit), while the default limit of 4096 lets the same loop through.
    forks = "i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done; exit 0"

    def script(limit: int) -> str:
        pids_max = "$(cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max)"
        return f'[ "{pids_max}" = {limit} ] || exit 9; {forks}'

    assert await run_to_end(app, script(20), pids_limit=20) not in (0, 9)
    assert await run_to_end(app, script(4096)) == 0
    with pytest.raises(exc.InvalidError, match="pids_limit"):
        await sc.Sandbox.create(app=app, pids_limit=0)


async def test_pid1_reaps_orphaned_zombies(app: sc.App) -> None:
    script = "for i in 1 2 3 4 5; do sh -c \"sleep 0.1 &\"; done; sleep 1; exit $(ps -o stat | grep -c '^Z')"
    assert await run_to_end(app, script) == 0


async def test_block_network_leaves_only_loopback(app: sc.App) -> None:
    only_lo = '[ "$(ls /sys/class/net)" = lo ]'
    assert await run_to_end(app, only_lo, block_network=True) == 0
    assert await run_to_end(app, only_lo) != 0  # control: the default has a network interface


@pytest.mark.single_engine
async def test_cpu_and_memory_map_to_request_and_limit(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create(app=app, image=image, cpu=(0.5, 1.5), memory=(64, 128))
    try:
        host = (await inspect(sb))["HostConfig"]
        assert host["CpuShares"] == 512 and host["NanoCpus"] == 1_500_000_000
        assert host["MemoryReservation"] == 64 << 20 and host["Memory"] == host["MemorySwap"] == 128 << 20
    finally:
        await sb.terminate()
    sb = await sc.Sandbox.create(app=app, image=image, cpu=2, memory=32)
    try:
        host = (await inspect(sb))["HostConfig"]
        assert host["CpuShares"] == 2048 and not host["NanoCpus"]
        # A request alone is a reservation under the default hard cap (Limits.memory_mib), without swap.
        assert host["MemoryReservation"] == 32 << 20 and host["Memory"] == host["MemorySwap"] == 4096 << 20
    finally:
        await sb.terminate()
    rc = await run_to_end(
        app,
        "[ $(cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max) "
        f"= {96 << 20} ]",
        memory=(32, 96),
    )
    assert rc == 0


# ------------------------------------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (("echo", 1), {}, exc.InvalidError, "All entrypoint arguments must be strings"),
        (("x" * 65537,), {}, exc.InvalidError, "Total length of CMD arguments cannot exceed 65536 bytes"),
        ((), {"name": "bad name!"}, exc.InvalidError, "Invalid Sandbox name: 'bad name!'"),
        ((), {"name": "ap-" + "a" * 22}, exc.InvalidError, "Invalid Sandbox name"),
        ((), {"name": "x" * 65}, exc.InvalidError, "Invalid Sandbox name"),
        ((), {"block_network": True, "encrypted_ports": [80]}, exc.InvalidError, "Cannot specify open ports"),
        ((), {"gpu": ["a10g"]}, exc.InvalidError, "do not support configuring a list of GPUs"),
        ((), {"gpu": "T4"}, exc.InvalidError, "GPUs are not available"),
        ((), {"workdir": "tmp"}, exc.InvalidError, "workdir must be an absolute path, got: tmp"),
        ((), {"cloud": "aws"}, exc.InvalidError, "`cloud` is not supported"),
        ((), {"region": "us-east"}, exc.InvalidError, "`region` is not supported"),
        ((), {"volumes": {"/data": object()}}, exc.InvalidError, "mounted at '/data' is not usable as a volume."),
        (
            (),
            {"network_file_systems": {"/n": object()}},
            exc.InvalidError,
            "mounted at '/n' is not useable as a network file system.",
        ),
        ((), {"env": {"A": 1}}, exc.InvalidError, "the env_dict argument to Secret has to be a dict"),
        ((), {"env": {"1A": "x"}}, exc.InvalidError, "Secret key name '1A' is invalid"),
        ((), {"env": {"": "x"}}, exc.InvalidError, "Secret key name cannot be empty"),
        ((), {"cpu": 0}, exc.InvalidError, "CPU request must be a positive number"),
        ((), {"cpu": (1, 0)}, exc.InvalidError, "CPU limit must be a positive number"),
        ((), {"cpu": (2, 1)}, exc.InvalidError, "Cannot specify a CPU limit lower than request"),
        ((), {"memory": (256, 128)}, exc.InvalidError, "Cannot specify a memory limit lower than request"),
        ((), {"outbound_cidr_allowlist": ["10.0.0.0/33"]}, exc.InvalidError, "`outbound_cidr_allowlist`: '10.0"),
        (
            (),
            {"block_network": True, "inbound_cidr_allowlist": []},
            exc.InvalidError,
            "`inbound_cidr_allowlist` cannot be used when `block_network` is enabled",
        ),
        ((), {"unencrypted_ports": [0]}, exc.InvalidError, "`unencrypted_ports` must hold port numbers in [1, 65535]"),
        ((), {"custom_domain": "x.dev"}, exc.InvalidError, "`custom_domain` is not supported"),
        ((), {"proxy": object()}, exc.InvalidError, "`proxy` is not supported"),
        ((), {"include_oidc_identity_token": True}, exc.InvalidError, "`include_oidc_identity_token`"),
        ((), {"readiness_probe": object()}, exc.InvalidError, "readiness_probe must be a Probe"),
        ((), {"experimental_options": {"enable_docker": True}}, exc.InvalidError, "experimental_options"),
        ((), {"timeout": 0}, exc.InvalidError, "timeout must be a positive number"),
        ((), {"idle_timeout": -1}, exc.InvalidError, "idle_timeout must be a positive number"),
        ((), {"tags": {"a": 1}}, exc.InvalidError, "tags must be a dict[str, str]"),
    ],
)
async def test_create_validation(app: sc.App, args: tuple, kwargs: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=__import__("re").escape(message)):
        await sc.Sandbox.create(*args, app=app, **kwargs)


async def test_validation_order_matches_modal(app: sc.App) -> None:
    # argv is checked before the name, the name before ports, workdir before the missing app.
    with pytest.raises(exc.InvalidError, match="entrypoint arguments"):
        await sc.Sandbox.create("a", 1, name="bad name", app=app)  # type: ignore[arg-type]
    with pytest.raises(exc.InvalidError, match="Invalid Sandbox name"):
        await sc.Sandbox.create(name="bad name", block_network=True, encrypted_ports=[1], app=app)
    with pytest.raises(exc.InvalidError, match="workdir must be an absolute path"):
        await sc.Sandbox.create(workdir="rel")
    with pytest.raises(exc.InvalidError, match="Sandboxes require an App"):
        await sc.Sandbox.create()


async def test_deprecated_create_parameters_warn(app: sc.App) -> None:
    # Modal refuses the conflict before it warns about the old name.
    with warnings.catch_warnings():
        warnings.simplefilter("error", exc.DeprecationError)
        with pytest.raises(exc.InvalidError, match="Cannot specify both"):
            await sc.Sandbox.create(app=app, cidr_allowlist=["0.0.0.0/0"], outbound_cidr_allowlist=["0.0.0.0/0"])


def test_direct_construction_is_refused() -> None:
    for cls in (sc.Sandbox, sc.Image, sc.Secret, sc.Client):  # App has one: App(name), as in Modal
        with pytest.raises(exc.InvalidError, match=f"Class {cls.__name__} has no constructor"):
            cls()


def test_exception_tree_matches_modal() -> None:
    assert issubclass(exc.ConflictError, exc.InvalidError)
    assert issubclass(exc.SandboxTimeoutError, exc.TimeoutError)
    assert issubclass(exc.ExecTimeoutError, exc.TimeoutError)
    assert not issubclass(exc.TimeoutError, TimeoutError)
    assert issubclass(exc.SandboxFilesystemNotFoundError, exc.SandboxFilesystemError)
    assert not issubclass(exc.SandboxFilesystemNotFoundError, OSError)
    assert issubclass(exc.DeprecationError, UserWarning)
    for name in ("NotFoundError", "AlreadyExistsError", "ClientClosed", "SandboxTerminatedError"):
        assert issubclass(getattr(exc, name), exc.Error)


# ----------------------------------------------------------------------------------- apps, images, secrets


async def test_app_lookup(run_py) -> None:  # type: ignore[no-untyped-def]
    name = app_name("lookup")
    with pytest.raises(exc.NotFoundError):
        await sc.App.lookup(name)
    app = await sc.App.lookup(name, create_if_missing=True)
    assert app.app_id.startswith("ap-") and len(app.app_id) == 25
    other = run_py(
        f"import asyncio, sandbox_core as sc; print(asyncio.run(sc.App.lookup({name!r})).app_id)"
    ).stdout.strip()
    assert other == app.app_id
    with pytest.raises(exc.InvalidError, match="Invalid App name"):
        await sc.App.lookup("no spaces allowed")


async def test_image_missing_and_unpullable_is_not_found(app: sc.App) -> None:
    with pytest.raises(exc.NotFoundError, match="not present on the local engine and could not be pulled"):
        await sc.Sandbox.create(app=app, image=sc.Image.from_registry("127.0.0.1:9/sandbox-core/none:1"))


async def test_image_from_id_round_trips(app: sc.App, own_sandbox: sc.Sandbox) -> None:
    image = sc.Image.from_registry(BUSYBOX)
    with pytest.raises(AttributeError):
        _ = image.object_id
    sb = await sc.Sandbox.create(app=app, image=image)
    try:
        again = await sc.Sandbox.create(app=app, image=sc.Image.from_id(image.object_id))
        await again.terminate()
    finally:
        await sb.terminate()
    with pytest.raises(exc.InvalidError, match="im-<64 hex digits>"):
        sc.Image.from_id("sha256:abc")


def test_secret_from_dict_validation() -> None:
    assert sc.Secret.from_dict({"A": "1", "B": None}).env == {"A": "1"}
    with pytest.raises(exc.InvalidError, match="env_dict"):
        sc.Secret.from_dict({"A": 1})  # type: ignore[dict-item]


# ------------------------------------------------------------------------------ lookup from another process


async def test_from_id_from_name_and_list_work_from_a_second_process(app: sc.App, image: sc.Image, run_py) -> None:  # type: ignore[no-untyped-def]
    sb = await sc.Sandbox.create(app=app, image=image, name="findme", tags={"team": "a", "env": "x"})
    try:
        out = run_py(
            f"""
import asyncio, json, sandbox_core as sc
async def main():
    a = await sc.Sandbox.from_id({sb.object_id!r})
    b = await sc.Sandbox.from_name({app.name!r}, "findme")
    listed = [s.object_id async for s in sc.Sandbox.list(app_id={app.app_id!r}, tags={{"team": "a"}})]
    print(json.dumps([a.object_id, a.returncode, b.object_id, listed]))
asyncio.run(main())
"""
        ).stdout
        a_id, a_rc, b_id, listed = json.loads(out)
        assert a_id == b_id == sb.object_id and a_rc is None and listed == [sb.object_id]
    finally:
        await sb.terminate()
    out = run_py(
        f"""
import asyncio, json, sandbox_core as sc
async def main():
    a = await sc.Sandbox.from_id({sb.object_id!r})
    listed = [s.object_id async for s in sc.Sandbox.list(app_id={app.app_id!r})]
    try:
        await sc.Sandbox.from_name({app.name!r}, "findme")
        found = True
    except sc.exception.NotFoundError:
        found = False
    print(json.dumps([a.returncode, found, {sb.object_id!r} in listed]))
asyncio.run(main())
"""
    ).stdout
    assert json.loads(out) == [137, False, False]  # finished: inspectable by id, gone from name and list


async def test_unknown_ids(app: sc.App) -> None:
    with pytest.raises(exc.NotFoundError):
        await sc.Sandbox.from_id("sb-" + "Z" * 22)
    with pytest.raises(exc.InvalidError, match="does not start with sb"):
        await sc.Sandbox.from_id("ap-" + "Z" * 22)
    with pytest.raises(exc.NotFoundError):
        await sc.Sandbox.from_name(app.name, "nobody-has-this-name")


async def test_list_filters_by_app_and_tags(app: sc.App, image: sc.Image) -> None:
    other = await sc.App.lookup(app_name("other"), create_if_missing=True)
    a = await sc.Sandbox.create(app=app, image=image, tags={"k": "1", "x": "y"})
    b = await sc.Sandbox.create(app=other, image=image, tags={"k": "1"})
    try:
        ids = {s.object_id async for s in sc.Sandbox.list(tags={"k": "1"})}
        assert {a.object_id, b.object_id} <= ids
        assert [s.object_id async for s in sc.Sandbox.list(app_id=other.app_id)] == [b.object_id]
        assert [s.object_id async for s in sc.Sandbox.list(app_id=app.app_id, tags={"k": "1", "x": "y"})] == [
            a.object_id
        ]
        assert [s async for s in sc.Sandbox.list(app_id=app.app_id, tags={"k": "2"})] == []
    finally:
        await a.terminate()
        await b.terminate()


async def test_set_tags_is_seen_by_another_process_and_replaces(own_sandbox: sc.Sandbox, app: sc.App, run_py) -> None:  # type: ignore[no-untyped-def]
    await own_sandbox.set_tags({"stage": "two"})
    out = run_py(
        f"""
import asyncio, json, sandbox_core as sc
async def main():
    sb = await sc.Sandbox.from_id({own_sandbox.object_id!r})
    listed = [s.object_id async for s in sc.Sandbox.list(app_id={app.app_id!r}, tags={{"stage": "two"}})]
    print(json.dumps([await sb.get_tags(), listed]))
    await sb.set_tags({{"stage": "three", "by": "child"}})
asyncio.run(main())
"""
    ).stdout
    tags, listed = json.loads(out)
    assert tags == {"stage": "two"} and listed == [own_sandbox.object_id]
    assert await own_sandbox.get_tags() == {"stage": "three", "by": "child"}
    await own_sandbox.set_tags({})
    assert await own_sandbox.get_tags() == {}
    with pytest.raises(exc.InvalidError, match="tags must be a dict"):
        await own_sandbox.set_tags({"a": 1})  # type: ignore[dict-item]


async def test_code_inside_the_sandbox_cannot_change_tags(app: sc.App) -> None:
    # Tags live in engine records the sandbox cannot reach: no docker socket, no engine API inside.
    sb = await sc.Sandbox.create(
        "sh", "-c", "ls /var/run/docker.sock /run/docker.sock 2>/dev/null; exit 0", app=app, tags={"t": "1"}
    )
    try:
        await sb.wait()
        assert await sb.get_tags() == {"t": "1"}
    finally:
        await sb.terminate()


# --------------------------------------------------------------------------------------------------- names


async def test_names_are_unique_among_running_sandboxes_and_freed_when_finished(app: sc.App, image: sc.Image) -> None:
    first = await sc.Sandbox.create(app=app, image=image, name="uniq")
    try:
        with pytest.raises(exc.AlreadyExistsError, match="uniq"):
            await sc.Sandbox.create(app=app, image=image, name="uniq")
        other_app = await sc.App.lookup(app_name("names"), create_if_missing=True)
        elsewhere = await sc.Sandbox.create(app=other_app, image=image, name="uniq")  # other app: allowed
        await elsewhere.terminate()
    finally:
        await first.terminate(wait=True)
    second = await sc.Sandbox.create(app=app, image=image, name="uniq")
    try:
        assert (await sc.Sandbox.from_name(app.name, "uniq")).object_id == second.object_id
        assert (await sc.Sandbox.from_id(first.object_id)).returncode == 137  # the finished one is still there
    finally:
        await second.terminate()


# -------------------------------------------------------------------------------------------------- detach


async def test_detach_leaves_only_wait_and_returncode(app: sc.App, image: sc.Image) -> None:
    sb = await sc.Sandbox.create(app=app, image=image)
    await sb.detach()
    await sb.detach()  # idempotent
    for call in (sb.poll(), sb.get_tags(), sb.set_tags({}), sb.terminate()):
        with pytest.raises(exc.ClientClosed, match="detached sandbox"):
            await call
    with pytest.raises(exc.ClientClosed):
        _ = sb.stdout
    with pytest.raises(exc.ClientClosed):
        _ = sb.filesystem
    other = await sc.Sandbox.from_id(sb.object_id)
    await other.terminate()
    await sb.wait(raise_on_termination=False)  # still works after detach
    assert sb.returncode == 137


# ----------------------------------------------------------------------------------------- sweep & retention


async def test_sweep_removes_finished_sandboxes_after_retention(app: sc.App, image: sc.Image, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SANDBOX_CORE_RETENTION", "0")
    sb = await sc.Sandbox.create(app=app, image=image, tags={"gone": "soon"})
    await sb.set_tags({"gone": "now"})
    assert await sb.terminate(wait=True) == 137
    await sc.sweep(app_id=app.app_id)
    with pytest.raises(exc.NotFoundError):
        await sc.Sandbox.from_id(sb.object_id)
    eng = await get_engine()
    assert await eng.records.find({L.SANDBOX_ID: sb.object_id}) == []


async def test_sweep_everything_clears_an_app(image: sc.Image) -> None:
    app = await sc.App.lookup(app_name("sweep"), create_if_missing=True)
    running = await sc.Sandbox.create(app=app, image=image)
    res = await sc.sweep(app_id=app.app_id, everything=True)
    assert res.removed == 1
    with pytest.raises(exc.NotFoundError):
        await sc.Sandbox.from_id(running.object_id)
    with pytest.raises(exc.NotFoundError):
        await sc.App.lookup(app.name)


@pytest.mark.single_engine  # the refusal is injected into the Docker engine's containers
async def test_one_refused_removal_does_not_stop_the_pass(image: sc.Image, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine refuses to remove one sandbox's container (a removal already in progress, a busy mount): the
    pass still removes the others, names the one it failed on and comes back for it; ``sweep()`` raises the
    refusal once it has done the rest, keeps the app's registry entry, and succeeds when called again."""
    from sandbox_core._engine.docker.containers import DockerContainers

    app = await sc.App.lookup(app_name(f"refused-{new_id('x')[3:11]}"), create_if_missing=True)
    stuck, *others = [await sc.Sandbox.create(app=app, image=image) for _ in range(3)]
    stuck_cid = docker_inspect(stuck)["Id"]
    real_remove = DockerContainers.remove

    async def refusing(self: DockerContainers, ref: str) -> bool:
        if ref == stuck_cid:
            raise exc.ConflictError(f"removal of container {ref} is already in progress")
        return await real_remove(self, ref)

    monkeypatch.setattr(DockerContainers, "remove", refusing)
    eng = await get_engine()
    now = time.time()
    result = await _lifecycle.enforce(eng, now, app_id=app.app_id, everything=True)
    assert [(what, type(e)) for what, e in result.failures] == [(f"sandbox {stuck.object_id}", exc.ConflictError)]
    assert result.swept.removed == 2 and result.next_wake == pytest.approx(now + _lifecycle.RETRY_FAILED)
    for sb in others:
        with pytest.raises(exc.NotFoundError):
            await sc.Sandbox.from_id(sb.object_id)
    assert (await sc.Sandbox.from_id(stuck.object_id)).returncode == 137  # ended; its removal was refused

    with pytest.raises(exc.ConflictError, match="already in progress") as raised:
        await sc.sweep(app_id=app.app_id, everything=True)
    assert any(stuck.object_id in note and "did everything else" in note for note in raised.value.__notes__)
    assert (await sc.App.lookup(app.name)).app_id == app.app_id

    monkeypatch.setattr(DockerContainers, "remove", real_remove)
    assert (await sc.sweep(app_id=app.app_id, everything=True)).removed == 1
    with pytest.raises(exc.NotFoundError):
        await sc.Sandbox.from_id(stuck.object_id)
    with pytest.raises(exc.NotFoundError):
        await sc.App.lookup(app.name)


@pytest.mark.single_engine  # a swarm has no created-but-not-started state: its create starts the task
async def test_enforce_wakes_at_the_deadline_of_a_sandbox_still_being_started(image: sc.Image) -> None:
    """A sandbox listed between create and start must still bring the supervisor back by its deadline, even when
    the start event is never seen (CI once lost it and the sandbox outlived its timeout by 6 s). Its own app: the
    pass's next wake is the earliest of everything the app holds."""
    app = await sc.App.lookup(app_name(f"wake-{new_id('x')[3:11]}"), create_if_missing=True)
    eng = await get_engine()
    deadline = time.time() + 4
    sid = new_id("sb")
    labels = L.owned(L.KIND_SANDBOX, **{L.SANDBOX_ID: sid, L.APP_ID: app.app_id, L.DEADLINE: f"{deadline:.3f}"})
    image_id = (await resolve_image(image, eng)).info.id
    cid = await eng.containers.create(ContainerSpec(image=image_id, labels=labels), f"sandbox-core.{sid}")
    try:
        result = await _lifecycle.enforce(eng, time.time(), app_id=app.app_id)
        assert result.next_wake == pytest.approx(deadline, abs=1e-3)
        assert (await eng.containers.inspect(cid)).state.status == "created"
    finally:
        await eng.containers.remove(cid)


# ------------------------------------------------------------------------------------------- engine errors


@pytest.mark.single_engine
def test_unreachable_engine_raises_connection_error(run_py) -> None:  # type: ignore[no-untyped-def]
    out = run_py(
        """
import asyncio, os, sandbox_core as sc

os.environ["DOCKER_HOST"] = "unix:///nonexistent/docker.sock"
try:
    asyncio.run(sc.App.lookup("x"))
except sc.exception.ConnectionError as e:
    print("ConnectionError", "/nonexistent/docker.sock" in str(e))
"""
    ).stdout
    assert out.split() == ["ConnectionError", "True"]


async def test_many_concurrent_waits_do_not_exhaust_the_pool(app: sc.App, image: sc.Image) -> None:
    # Each wait is a long poll holding a connection; 110 of them exceed aiohttp's default pool of 100.
    sbs = [await sc.Sandbox.create(app=app, image=image) for _ in range(2)]
    try:
        import asyncio

        waits = [asyncio.ensure_future(sbs[i % 2].wait(raise_on_termination=False)) for i in range(110)]
        await asyncio.sleep(0)
        assert (await sc.Sandbox.from_id(sbs[0].object_id)).returncode is None  # the pool still serves calls
        for sb in sbs:
            await sb.terminate()
        await asyncio.wait_for(asyncio.gather(*waits), 60)
    finally:
        for sb in sbs:
            await sb.terminate()


async def test_cancelled_create_leaves_no_container(image: sc.Image) -> None:
    import asyncio

    app = await sc.App.lookup(app_name("cancel"), create_if_missing=True)
    eng = await get_engine()
    cancelled = 0
    for delay in (0.0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.25):
        try:
            sb = await asyncio.wait_for(sc.Sandbox.create(app=app, image=image), delay)
        except TimeoutError:
            cancelled += 1
        else:
            await sb.terminate(wait=True)
            await sc.sweep(app_id=app.app_id, everything=True)
            app = await sc.App.lookup(app_name("cancel"), create_if_missing=True)
        left = await eng.containers.list({L.APP_ID: app.app_id}, all=True)
        assert left == [], (delay, left)
    assert cancelled >= 3  # the early delays really did interrupt create midway


async def test_pty_sandbox_window_size_comes_from_pty_info(app: sc.App, image: sc.Image) -> None:
    from types import SimpleNamespace

    with pytest.warns(exc.DeprecationError, match="pty_info"):
        sb = await sc.Sandbox.create(app=app, image=image, pty_info=SimpleNamespace(winsz_rows=33, winsz_cols=101))
    try:
        p = await sb.exec("stty", "-F", "/dev/console", "size")
        assert (await p.stdout.read()).split() == ["33", "101"]
        assert await p.wait() == 0
    finally:
        await sb.terminate()
