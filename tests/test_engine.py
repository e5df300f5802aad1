"""The engine layer: DOCKER_HOST over tcp, clean shutdown, pulls from a (local) registry, error translation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator

import aiohttp
import pytest

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._engine import errors as E
from sandbox_core._engine import get_engine
from sandbox_core._engine import labels as L
from sandbox_core._engine.docker import output
from sandbox_core._engine.docker.errors import translate
from sandbox_core._engine.docker.http import EngineAddress
from sandbox_core._engine.values import ContainerSpec, ExecSpec

from .conftest import BUSYBOX, RUN_ID, TEST_RUN_LABEL, app_name, container_id, docker_engine

pytestmark = pytest.mark.usefixtures("engine")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def tcp_to_unix_proxy(sock_path: str) -> Iterator[int]:
    """A loopback TCP listener that pipes every connection to the engine's unix socket (both directions,
    half-closes included), so a client can be pointed at the engine with DOCKER_HOST=tcp://…

    On exit every connection still open is closed from the proxy's side, so each handler ends on its own (EOF) rather
    than being cancelled: a cancelled connection handler is reported by asyncio's server as an error, and its writers
    would be collected unclosed."""
    loop = asyncio.new_event_loop()
    port_holder: list[int] = []
    ready = threading.Event()
    writers: set[asyncio.StreamWriter] = set()
    handlers: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(1 << 16):
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError):
            pass

    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        writers.add(w)
        try:
            ur, uw = await asyncio.open_unix_connection(sock_path)
            writers.add(uw)
            try:
                await asyncio.gather(pipe(r, uw), pipe(ur, w))
            finally:
                uw.close()
                writers.discard(uw)
        finally:
            w.close()
            writers.discard(w)
            handlers.discard(task)

    async def serve() -> asyncio.base_events.Server:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port_holder.append(server.sockets[0].getsockname()[1])
        ready.set()
        return server

    async def shutdown(server: asyncio.base_events.Server) -> None:
        server.close()
        for w in list(writers):
            w.close()  # both pipes of its connection see EOF or a reset and return
        if handlers:
            await asyncio.wait(list(handlers), timeout=10)
        await server.wait_closed()

    def run() -> None:
        asyncio.set_event_loop(loop)
        server = loop.run_until_complete(serve())
        loop.run_forever()
        loop.run_until_complete(shutdown(server))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    ready.wait(10)
    try:
        yield port_holder[0]
    finally:
        loop.call_soon_threadsafe(loop.stop)
        t.join(10)
    assert not t.is_alive(), "the proxy did not shut down"
    assert not handlers, f"{len(handlers)} proxy connection(s) did not end after their sockets were closed"


def test_docker_host_tcp_is_honoured(run_py) -> None:  # type: ignore[no-untyped-def]
    # The engine under test (DOCKER_HOST may name another engine than Docker's default socket, e.g. Podman's).
    with tcp_to_unix_proxy(EngineAddress.from_env().socket_path or "/var/run/docker.sock") as port:
        out = run_py(
            f"""
import asyncio, os
os.environ["DOCKER_HOST"] = "tcp://127.0.0.1:{port}"
import sandbox_core as sc
from sandbox_core._engine import get_engine
async def main():
    eng = await get_engine()
    app = await sc.App.lookup({app_name("tcp")!r}, create_if_missing=True)
    sb = await sc.Sandbox.create("sh", "-c", "exit 7", app=app, image=sc.Image.from_registry({BUSYBOX!r}))
    await sb.wait()
    print(eng.client.address.url, eng.client.address.is_local, eng.client.api_version, sb.returncode)
asyncio.run(main())
""",
            timeout=120,
        ).stdout.split()
    assert out[0] == f"tcp://127.0.0.1:{port}"
    assert out[1:] == ["False", out[2], "7"]
    assert out[2].startswith("v1.")


def test_client_closes_cleanly_with_asyncio_run(run_py) -> None:  # type: ignore[no-untyped-def]
    proc = run_py(
        f"""
import asyncio, gc, warnings
warnings.simplefilter("error", ResourceWarning)
import sandbox_core as sc
async def main():
    app = await sc.App.lookup({app_name()!r}, create_if_missing=True)
    return app.app_id
print(asyncio.run(main()))
print(asyncio.run(main()))   # a second loop gets its own client
gc.collect()
""",
        check=True,
    )
    ids = proc.stdout.split()
    assert len(ids) == 2
    assert ids[0] == ids[1]
    assert "Unclosed" not in proc.stderr
    assert "ResourceWarning" not in proc.stderr


async def test_api_version_is_pinned() -> None:
    eng = await docker_engine()
    assert eng.client.api_version.startswith("v1.")
    assert eng.client.docker.api_version == eng.client.api_version  # every URL carries it


async def test_engine_errors_are_translated() -> None:
    client = (await docker_engine()).client
    with pytest.raises(exc.NotFoundError) as info:
        await client.request_json("GET", "containers/does-not-exist/json", "inspect")
    assert info.value.engine_status == 404
    with pytest.raises(exc.InvalidError) as bad:
        await client.request_json("POST", "containers/create", "create", body={"Image": ""})
    assert bad.value.engine_status == 400
    assert type(bad.value).__module__ == "sandbox_core.exception"


async def test_requests_have_a_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    client = (await docker_engine()).client
    # A wait on a running container never answers by itself: the deadline turns it into TimeoutError.
    app = await sc.App.lookup(app_name(), create_if_missing=True)
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX))
    monkeypatch.setattr(client, "request_timeout", 0.5)  # after the create, which a loaded machine may slow
    try:
        t0 = time.monotonic()
        with pytest.raises(exc.TimeoutError, match="did not answer in time"):
            await client.request_json("POST", f"containers/{container_id(sb)}/wait", "wait")
        assert time.monotonic() - t0 < 10
    finally:
        monkeypatch.undo()
        await sb.terminate()


@pytest.fixture(scope="module")
def local_registry() -> Iterator[str]:
    """Debian's docker-registry on a free loopback port (the engine treats 127.0.0.0/8 as insecure-allowed)."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.skip("docker-registry is not installed (scripts/dev installs it)")
    port = _free_port()
    storage = tempfile.mkdtemp(prefix="sandbox-core-registry-")
    config = os.path.join(storage, "config.yml")
    with open(config, "w") as f:
        f.write(
            "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: " + storage + "/data\n"
            f"http:\n  addr: 127.0.0.1:{port}\nlog:\n  level: error\n"
        )
    proc = subprocess.Popen([binary, "serve", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("the local registry did not start")
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(storage, ignore_errors=True)


async def test_from_registry_pulls_only_when_missing(local_registry: str) -> None:
    ref = f"{local_registry}/sandbox-core-test/busybox:{RUN_ID}"
    subprocess.run(["docker", "tag", BUSYBOX, ref], check=True)
    subprocess.run(["docker", "push", ref], check=True, capture_output=True)
    subprocess.run(["docker", "rmi", ref], check=True, capture_output=True)
    assert subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode != 0
    app = await sc.App.lookup(app_name(), create_if_missing=True)
    try:
        sb = await sc.Sandbox.create("sh", "-c", "exit 4", app=app, image=sc.Image.from_registry(ref))
        await sb.wait()
        assert sb.returncode == 4
        assert subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0
    finally:
        subprocess.run(["docker", "rmi", ref], capture_output=True)
    with pytest.raises(exc.NotFoundError, match="could not be pulled"):
        await sc.Sandbox.create(app=app, image=sc.Image.from_registry(f"{local_registry}/nothing/here:1"))


# ----------------------------------------------------------------------------------------- the typed interface


async def test_engine_errors_say_what_went_wrong(own_sandbox: sc.Sandbox) -> None:
    eng = await get_engine()
    with pytest.raises(E.NoSuchContainer) as missing:
        await eng.containers.inspect("sandbox-core-no-such-container")
    assert missing.value.engine_status == 404 and isinstance(missing.value, exc.NotFoundError)
    ref = container_id(own_sandbox)
    await own_sandbox.terminate(wait=True)
    with pytest.raises(E.ContainerNotRunning) as stopped:
        await eng.execs.create(ref, ExecSpec(cmd=("true",)))
    assert isinstance(stopped.value, exc.ConflictError)
    info = await eng.containers.inspect(ref)
    assert (info.state.running, info.state.status, info.state.exit_code) == (False, "exited", 137)
    assert info.state.finished_at is not None and info.state.started_at is not None
    assert info.state.finished_at >= info.state.started_at >= info.created_at > 0


async def test_events_are_typed_and_replayed_from_since(own_sandbox: sc.Sandbox) -> None:
    eng = await get_engine()
    ref = container_id(own_sandbox)
    before = time.time()
    await eng.execs.note_activity(ref)
    # Started after the event happened: following from ``since`` replays it.
    events = eng.events.follow(types=("container",), labels={L.SANDBOX_ID: own_sandbox.object_id}, since=before - 1)
    try:
        async with asyncio.timeout(30):
            async for event in events:
                if event.action in ("exec_create", "exec_start"):  # Podman has no exec_create (docs/podman.md §2)
                    break
    finally:
        await events.aclose()  # type: ignore[attr-defined]
    assert event.type == "container" and event.actor_id == ref
    assert before - 1 <= event.time <= time.time()
    assert event.attributes.get(L.SANDBOX_ID) == own_sandbox.object_id


def _labelled(kind: str, name: str) -> None:
    subprocess.run(
        [
            "docker",
            kind,
            "create",
            "--label",
            f"{L.OWNER}={L.OWNER_VALUE}",
            "--label",
            f"{TEST_RUN_LABEL}={RUN_ID}",
            name,
        ],
        check=True,
        capture_output=True,
    )


async def test_volumes_and_networks_are_listed_by_label_and_removed(app: sc.App) -> None:
    eng = await get_engine()
    name = f"sandbox-core-test-{RUN_ID}-{os.getpid()}"
    _labelled("volume", name)
    _labelled("network", name)
    try:
        volumes = await eng.volumes.list({TEST_RUN_LABEL: RUN_ID})
        assert [v.name for v in volumes if v.name == name] == [name]
        assert (await eng.volumes.inspect(name)) == next(v for v in volumes if v.name == name)
        networks = await eng.networks.list({TEST_RUN_LABEL: RUN_ID})
        assert [n.name for n in networks if n.name == name] == [name]
        inspected = await eng.networks.inspect(name)
        assert inspected is not None and inspected.pools and "/" in inspected.pools[0].subnet
    finally:
        assert await eng.volumes.remove(name) is True
        assert await eng.networks.remove(name) is True
    assert await eng.volumes.remove(name) is False
    assert await eng.networks.remove(name) is False
    assert await eng.volumes.inspect(name) is None


async def test_volume_create_is_first_writer_wins(app: sc.App) -> None:
    eng = await get_engine()
    name = f"sandbox-core-test-{RUN_ID}-{os.getpid()}-fww"
    labels = {TEST_RUN_LABEL: RUN_ID}
    try:
        first, second = await asyncio.gather(
            eng.volumes.create(name, {**labels, "writer": "a"}), eng.volumes.create(name, {**labels, "writer": "b"})
        )
        assert first.labels["writer"] == second.labels["writer"]
        assert (await eng.volumes.inspect(name)) == first
        opts = await eng.volumes.create(name + "-tmp", labels, options={"type": "tmpfs", "device": "tmpfs"})
        assert opts.options == {"type": "tmpfs", "device": "tmpfs"}
    finally:
        await eng.volumes.remove(name)
        await eng.volumes.remove(name + "-tmp")


async def test_engine_info_names_the_architecture_and_runtimes() -> None:
    info = await (await get_engine()).info()
    assert info.architecture == os.uname().machine and "runc" in info.runtimes


async def test_images_are_tagged_listed_by_label_and_removed() -> None:
    eng = await get_engine()
    repo = f"sandbox-core-test-{RUN_ID}/tagged"
    busybox = await eng.images.inspect(BUSYBOX)
    assert busybox is not None and BUSYBOX in busybox.repo_tags
    await eng.images.tag(BUSYBOX, repo, "1")
    try:
        tagged = await eng.images.inspect(f"{repo}:1")
        assert tagged is not None and tagged.id == busybox.id
        listed = await eng.images.list({L.KIND: None})
        assert any(i.id == busybox.id and f"{repo}:1" in i.repo_tags for i in listed)
    finally:
        assert await eng.images.remove(f"{repo}:1") is True
    assert await eng.images.remove(f"{repo}:1") is False
    assert await eng.images.inspect(BUSYBOX) is not None


async def test_a_joined_container_shares_the_namespace_and_both_outputs_are_followed(app: sc.App) -> None:
    eng = await get_engine()
    labels = {L.OWNER: L.OWNER_VALUE, TEST_RUN_LABEL: RUN_ID}
    script = "echo out; echo err >&2; sleep 60"
    first = await eng.containers.create(ContainerSpec(image=BUSYBOX, labels=labels, cmd=("sh", "-c", script)))
    try:
        await eng.containers.start(first)
        joined_spec = ContainerSpec(
            image=BUSYBOX, labels=labels, cmd=("sleep", "60"), network_mode=f"container:{first}"
        )
        joined = await eng.containers.create(joined_spec)
        try:
            await eng.containers.start(joined)
            info = await eng.containers.inspect(joined)
            assert info.network_mode == f"container:{first}" and info.networks == ()
            assert (await eng.containers.inspect(first)).endpoint("bridge") is not None
            source = await eng.containers.follow_output(first, fd=None, tty=False)
            seen: list[tuple[int, bytes]] = []
            try:
                while len(seen) < 2 and (frame := await source.read_frame()) is not None:
                    seen.append(frame)
            finally:
                await source.close()
            assert sorted(seen) == [(1, b"out\n"), (2, b"err\n")]
        finally:
            await eng.containers.remove(joined)
    finally:
        await eng.containers.remove(first)


async def test_a_follow_ended_mid_stream_delivers_the_rest_once_and_in_order(app: sc.App) -> None:
    """``LogStream.end_follow`` after the container stopped (what the Podman dialect does to a follow Podman keeps
    open): frames the follow did not deliver come from the catch-up, none twice, the final partial line included."""
    eng = await get_engine()
    labels = {L.OWNER: L.OWNER_VALUE, TEST_RUN_LABEL: RUN_ID}
    script = "i=0; while [ $i -lt 3000 ]; do echo line$i; echo err$i >&2; i=$((i+1)); done; printf tail"
    cid = await eng.containers.create(ContainerSpec(image=BUSYBOX, labels=labels, cmd=("sh", "-c", script)))
    try:
        await eng.containers.start(cid)
        assert await eng.containers.wait(cid) == 0
        for fd, expected in ((1, "".join(f"line{i}\n" for i in range(3000)) + "tail"), (2, None)):
            stream = await output.follow_logs(eng.client, cid, fd=fd, tty=False)  # type: ignore[attr-defined]
            try:
                first = await stream.read_frame()
                assert first is not None
                stream.end_follow()
                got = [first]
                while (frame := await asyncio.wait_for(stream.read_frame(), 30)) is not None:
                    got.append(frame)
            finally:
                await stream.close()
            assert {f for f, _ in got} == {fd}
            text = b"".join(data for _, data in got).decode()
            assert text == (expected if expected is not None else "".join(f"err{i}\n" for i in range(3000)))
    finally:
        await eng.containers.remove(cid)


def test_an_answer_cut_short_is_a_lost_connection() -> None:
    """The engine stopping (or killed) in the middle of an answer — a pending wait, say — is a ConnectionError."""
    error = translate(aiohttp.ClientPayloadError("Response payload is not completed"), "wait for container abc")
    assert type(error) is exc.ConnectionError
    assert str(error) == (
        "wait for container abc: lost the connection to the Docker engine in the middle of its answer"
    )
