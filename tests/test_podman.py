"""The Podman dialect's own translations (docs/podman.md, section 9): a sandbox's limits beside Podman's defaults,
the runtime a container really runs under, and a runtime Podman's compatible API cannot honour refused. The pure
parts run everywhere; the rest only against Podman (``DOCKER_HOST`` at its service)."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from typing import Any, cast

import pytest

import sandbox_core as sc
from sandbox_core._engine import labels as L
from sandbox_core._engine.api import STDERR, STDOUT
from sandbox_core._engine.docker import parse, startfail
from sandbox_core._engine.docker.archive import stat_fields
from sandbox_core._engine.docker.errors import engine_error
from sandbox_core._engine.docker.hijack import HijackedStream
from sandbox_core._engine.docker.http import DockerClient
from sandbox_core._engine.docker.podman import logs, rlimits
from sandbox_core._engine.docker.podman.images import PodmanImages, commit_changes
from sandbox_core._engine.docker.startfail import ScreenedExecStream
from sandbox_core._engine.errors import ExecStartFailed, NoSuchContainer, VolumeInUse
from sandbox_core._engine.values import ContainerSpec, ExecInfo, ImageConfig
from sandbox_core.exception import InvalidError, ServiceError

from .conftest import BUSYBOX, container_id, docker_engine, docker_inspect

# -------------------------------------------------------------------------------------------------- pure logic


def test_inspected_limits_become_create_entries() -> None:
    raw: list[dict[str, Any]] = [
        {"Name": "RLIMIT_NOFILE", "Soft": 20, "Hard": 30},
        {"Name": "nproc", "Hard": 7},
        {"Name": ""},
    ]
    assert rlimits.ulimit_entries(raw) == (
        {"Name": "nofile", "Soft": 20, "Hard": 30},
        {"Name": "nproc", "Soft": 0, "Hard": 7},
    )
    assert rlimits.ulimit_entries(None) == ()


def test_defaults_fill_in_only_the_limits_a_create_does_not_name() -> None:
    body = {"HostConfig": {"Ulimits": [{"Name": "nofile", "Soft": 64, "Hard": 64}]}}
    defaults = ({"Name": "nofile", "Soft": 9, "Hard": 9}, {"Name": "nproc", "Soft": 5, "Hard": 6})
    out = rlimits.with_defaults(body, defaults)
    assert out["HostConfig"]["Ulimits"] == [
        {"Name": "nofile", "Soft": 64, "Hard": 64},  # the sandbox's own cap wins
        {"Name": "nproc", "Soft": 5, "Hard": 6},
    ]


class _Follow:
    """Stands in for a ``LogStream``: records ``end_follow`` and ``close``."""

    def __init__(self) -> None:
        self.ended: float | None = None
        self.closed = False

    def end_follow(self) -> None:
        self.ended = asyncio.get_running_loop().time()

    async def read_frame(self) -> tuple[int, bytes] | None:
        return None

    async def close(self) -> None:
        self.closed = True


async def test_a_follow_is_ended_a_grace_after_its_container_stopped() -> None:
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    stopped_at: list[float] = []

    async def wait() -> int:
        await stopped.wait()
        stopped_at.append(loop.time())
        return 0

    follow = _Follow()
    source = logs.StopBoundLogs(follow, wait, "c" * 64)  # type: ignore[arg-type]
    await asyncio.sleep(logs.STOP_GRACE * 2)
    assert follow.ended is None  # still running: the follow is left alone
    stopped.set()
    await asyncio.wait_for(source._watcher, 5)
    assert follow.ended is not None and follow.ended - stopped_at[0] >= logs.STOP_GRACE * 0.9
    await source.close()
    assert follow.closed


@pytest.mark.parametrize("answer", [-1, ConnectionError("gone")])
async def test_a_follow_is_left_alone_when_the_container_never_ran_or_the_wait_fails(
    answer: int | Exception,
) -> None:
    async def wait() -> int:
        if isinstance(answer, Exception):
            raise answer
        return answer

    follow = _Follow()
    source = logs.StopBoundLogs(follow, wait, "c" * 64)  # type: ignore[arg-type]
    await asyncio.wait_for(source._watcher, 5)
    await asyncio.sleep(logs.STOP_GRACE * 2)
    assert follow.ended is None
    await source.close()
    assert follow.closed


async def test_closing_a_follow_stops_its_watcher() -> None:
    async def wait() -> int:
        await asyncio.Event().wait()
        return 0

    follow = _Follow()
    source = logs.StopBoundLogs(follow, wait, "c" * 64)  # type: ignore[arg-type]
    await source.close()
    assert source._watcher.cancelled() and follow.closed and follow.ended is None


class _VanishingImages:
    """Stands in for a ``DockerClient``: its image lists fail as Podman's do while an image is removed, ``fails``
    times, then list one image."""

    def __init__(self, fails: int) -> None:
        self.fails = fails
        self.requests = 0

    async def request_json(self, method: str, path: str, what: str, **_: Any) -> Any:
        assert (method, path) == ("GET", "images/json")
        self.requests += 1
        if self.requests <= self.fails:
            raise ServiceError(f'{what}: reading image "9b8e": locating image with ID "9b8e": image not known')
        return [{"Id": "sha256:1", "RepoTags": ["localhost/x:1"], "Labels": {L.OWNER: L.OWNER_VALUE}}]


@pytest.mark.parametrize("fails", [1, 4])
async def test_an_image_list_is_made_again_when_an_image_vanished_meanwhile(fails: int) -> None:
    client = _VanishingImages(fails)
    listed = await PodmanImages(cast(DockerClient, client)).list({})
    assert [(i.id, i.repo_tags) for i in listed] == [("sha256:1", ("x:1",))]
    assert client.requests == fails + 1


async def test_an_image_list_that_keeps_failing_raises() -> None:
    client = _VanishingImages(99)
    with pytest.raises(ServiceError, match="image not known"):
        await PodmanImages(cast(DockerClient, client)).list({})
    assert client.requests == 5  # bounded


def test_a_container_removed_meanwhile_is_no_such_container() -> None:
    message = "container 0e89472cb9fd does not exist in database: no such container"
    error = engine_error(500, message, "inspect container 0e89472cb9fd")
    assert isinstance(error, NoSuchContainer) and error.engine_status == 404


def test_a_volume_podman_says_is_being_used_is_in_use() -> None:
    message = "volume v is being used by the following container(s): 2fa27675, 3fe3ff86: volume is being used"
    error = engine_error(409, message, "remove volume v")
    assert isinstance(error, VolumeInUse) and error.engine_status == 409


def test_a_path_stat_in_podmans_url_safe_base64_is_read() -> None:
    fields = {"name": "ünï?>~", "mode": 420, "linkTarget": "/volume/ünï?>~"}
    raw = json.dumps(fields, ensure_ascii=False).encode()
    podman, docker = base64.urlsafe_b64encode(raw).decode(), base64.b64encode(raw).decode()
    assert podman != docker  # the name's bytes need the characters in which the alphabets differ
    assert stat_fields(podman) == stat_fields(docker) == fields


def test_a_commit_config_becomes_dockerfile_instructions() -> None:
    config = ImageConfig({"k": "v w"}, ("sh", "-c", 'echo "hi"'), None, {"SECRET": "", "P": "/bin"}, "/w", "1000")
    assert commit_changes(config) == [
        'LABEL "k"="v w"',
        'ENV "SECRET"=""',
        'ENV "P"="/bin"',
        'CMD ["sh", "-c", "echo \\"hi\\""]',
        "WORKDIR /w",
        "USER 1000",
    ]
    assert 'ENV "PATH"=' in commit_changes(ImageConfig({}))[0]  # Docker's default when there is no environment
    with pytest.raises(InvalidError, match="cannot carry"):
        commit_changes(ImageConfig({"k": 'a "quoted" value'}))
    with pytest.raises(InvalidError, match="cannot keep an image's SHELL"):  # Podman 4.3 refuses a SHELL change
        commit_changes(ImageConfig({}, shell=("/bin/bash", "-c")))


def test_a_volume_event_names_its_volume_as_on_docker() -> None:
    raw = {  # Podman 4.3's line for `volume create v1`
        "Type": "volume",
        "Action": "create",
        "Actor": {"ID": "", "Attributes": {"containerExitCode": "0", "image": "", "name": "v1", "podId": ""}},
        "time": 1796172961,
        "timeNano": 1796172961975603961,
    }
    assert parse.event(raw).actor_id == "v1"


PODMAN_NOT_FOUND = (
    b'Error: runc: exec failed: unable to start container process: exec: "node": executable file not found in '
    b"$PATH: OCI runtime attempted to invoke a command that was not found\n"
)
PODMAN_RESET = b"Error: read unixpacket @->/proc/self/fd/16/attach: read: connection reset by peer\n"


class _Frames:
    """Stands in for a ``HijackedStream``: hands out ``frames``."""

    def __init__(self, frames: list[tuple[int, bytes]]) -> None:
        self.frames = frames
        self.tty = False

    async def read_frame(self) -> tuple[int, bytes] | None:
        return self.frames.pop(0) if self.frames else None


def _podman_screen(frames: list[tuple[int, bytes]], info: ExecInfo) -> ScreenedExecStream:
    async def inspect() -> ExecInfo:
        return info

    return ScreenedExecStream(cast(HijackedStream, _Frames(frames)), inspect, startfail.PODMAN)


async def test_podmans_start_failure_is_recognised() -> None:
    frames = [(STDERR, PODMAN_NOT_FOUND), (STDERR, PODMAN_RESET)]
    stream = _podman_screen(frames, ExecInfo(running=False, exit_code=127, pid=0))  # Podman keeps no pid
    with pytest.raises(ExecStartFailed) as e:
        await stream.read_frame()
    assert (e.value.reason, e.value.detail) == ("not_found", 'exec: "node": executable file not found in $PATH')
    denied = b'Error: runc: exec failed: unable to start container process: exec: "/etc/passwd": permission denied'
    assert startfail.classify(denied + b": OCI permission denied\n") == (
        "not_executable",
        'exec: "/etc/passwd": permission denied',
    )


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([(STDERR, PODMAN_NOT_FOUND), (STDERR, PODMAN_RESET), (STDOUT, b"more\n")], 127),  # the program went on
        ([(STDERR, PODMAN_NOT_FOUND)], 1),  # a program that printed the text and failed otherwise
        ([(STDOUT, PODMAN_NOT_FOUND)], 127),  # Podman's text comes on stderr
    ],
)
async def test_podmans_text_from_a_program_is_its_output(frames: list[tuple[int, bytes]], code: int) -> None:
    stream = _podman_screen(list(frames), ExecInfo(running=False, exit_code=code, pid=0))
    assert [await stream.read_frame() for _ in range(len(frames) + 1)] == [*frames, None]


# -------------------------------------------------------------------------------------------------- on Podman


@pytest.fixture
async def podman(engine: None) -> None:
    if (await docker_engine()).dialect != "podman":
        pytest.skip("the Podman dialect's behaviour: DOCKER_HOST names no Podman service")


@pytest.mark.usefixtures("podman")
async def test_a_capped_sandbox_keeps_podmans_other_limits(app: sc.App) -> None:
    client = (await docker_engine()).client
    defaults = {u["Name"]: u for u in await rlimits.default_ulimits(client, BUSYBOX)}
    assert "nproc" in defaults  # what a container that names no limit gets (containers.conf or Podman's own)
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), limits=sc.Limits(nofile=321))
    try:
        p = await sb.exec("sh", "-c", "ulimit -n; ulimit -Hn; ulimit -u")
        out = await p.stdout.read()
        assert await p.wait() == 0
        assert out.split() == ["321", "321", str(defaults["nproc"]["Soft"])]
        ulimits = {u["Name"]: u for u in docker_inspect(sb)["HostConfig"]["Ulimits"]}
        assert ulimits["RLIMIT_NOFILE"]["Hard"] == 321
    finally:
        await sb.terminate()
    eng = await docker_engine()
    assert await eng.containers.list({L.KIND: rlimits.KIND_PROBE}, all=True) == []  # the reading container went


@pytest.mark.usefixtures("podman")
async def test_the_runtime_is_the_one_the_container_runs_under(own_sandbox: sc.Sandbox) -> None:
    eng = await docker_engine()
    info = await eng.containers.inspect(container_id(own_sandbox))
    assert docker_inspect(own_sandbox)["HostConfig"]["Runtime"] == "oci"  # what Podman's compatible API says
    assert info.runtime == (await eng.info()).runtimes[0] != "oci"


@pytest.mark.usefixtures("podman")
async def test_a_runtime_podman_cannot_pick_is_refused_not_ignored(app: sc.App) -> None:
    eng = await docker_engine()
    offered = (await eng.info()).runtimes
    assert len(offered) == 1  # only the service's default: its compatible create ignores the runtime asked for
    if offered[0] == "runsc":
        pytest.skip("this Podman service runs gVisor by default")
    before = await eng.containers.list({L.APP_ID: app.app_id}, all=True)
    with pytest.raises(InvalidError, match="offers"):
        await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), runtime="gvisor")
    assert await eng.containers.list({L.APP_ID: app.app_id}, all=True) == before  # nothing was created


@pytest.mark.usefixtures("podman")
async def test_exec_events_name_the_exec_and_its_command(own_sandbox: sc.Sandbox) -> None:
    eng = await docker_engine()
    ref = container_id(own_sandbox)
    seen: list[tuple[str, str, str]] = []

    async def watch() -> None:
        async for ev in eng.events.follow(types=("container",), labels={}, since=start):
            if ev.actor_id == ref and ev.action in ("exec_start", "exec_die"):
                seen.append((ev.action, ev.attributes.get("execID", ""), ev.detail))
                if ev.action == "exec_die" and any(d.startswith("sleep 0.3") for _, _, d in seen):
                    return

    start = time.time()
    watcher = asyncio.create_task(watch())
    # An engine exec (the sandbox's own execs may go through its agent session instead)
    docker = await asyncio.create_subprocess_exec("docker", "exec", ref, "sleep", "0.3")
    assert await docker.wait() == 0
    await asyncio.wait_for(watcher, 30)
    starts = {i: d for a, i, d in seen if a == "exec_start"}
    ours = [i for i, d in starts.items() if d == "sleep 0.3"]
    assert len(ours) == 1 and ours[0]  # one start, with an id
    assert ("exec_die", ours[0], "") in seen  # and its end, under the same id


_RENAMER = """
import asyncio, sys, time
from sandbox_core._engine import get_engine
from sandbox_core._engine.errors import NameConflict
async def main(t0, refs, name):
    eng = await get_engine()
    for i, ref in enumerate(refs):
        await asyncio.sleep(max(0.0, t0 + 0.4 * i - time.time()))  # every process starts round i together
        try:
            await eng.containers.rename(ref, f"{name}-{i}")
            print(i, "won", flush=True)
        except NameConflict:
            print(i, "lost", flush=True)
asyncio.run(main(float(sys.argv[1]), sys.argv[3:], sys.argv[2]))
"""


@pytest.mark.usefixtures("podman")
async def test_concurrent_renames_to_one_name_from_several_processes_have_one_winner(app: sc.App) -> None:
    """The holder pool's claim: every claimant renames a holder to the same name and exactly one may win, also
    across processes (Podman renames to the current name without complaint; ``hostlock`` makes check + rename one
    step on this host)."""
    eng = await docker_engine()
    labels = {L.OWNER: L.OWNER_VALUE, L.APP_ID: app.app_id}
    refs = [await eng.containers.create(ContainerSpec(image=BUSYBOX, labels=labels, cmd=("true",))) for _ in range(8)]
    name = f"sandbox-core-test-claim-{time.time_ns()}"
    try:
        t0 = time.time() + 4  # time for the processes to import and connect
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", _RENAMER, str(t0), name, *refs, stdout=asyncio.subprocess.PIPE
            )
            for _ in range(3)
        ]
        outputs = [(await asyncio.wait_for(p.communicate(), 60))[0].decode().split("\n") for p in procs]
        assert all(p.returncode == 0 for p in procs)
        wins = [sum(f"{i} won" in lines for lines in outputs) for i in range(len(refs))]
        assert wins == [1] * len(refs), f"winners per round: {wins}"
    finally:
        for ref in refs:
            await eng.containers.remove(ref)
