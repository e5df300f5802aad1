"""Shared fixtures: a real engine (opt-in: ``engine``), per-run apps, and a session-end check that nothing was left
behind.

Every app a test creates must be named with ``app_name(...)`` (prefix ``pytest-<run id>``) so that the
session-end check can find what this run made, even while other runs use the same engine:
1. no sandbox of this run may still be *running* (a test that forgot to terminate fails the session);
2. the run's sandboxes, records and apps are then swept, and nothing labelled for this run may remain —
   containers, volumes, or images labelled ``sandbox-core.test-run=<run id>``.

With ``SANDBOX_CORE_TEST_CLUSTER=swarm`` (``nox -s swarm``) the ``engine`` fixture brings up a 2-node swarm and
points the library at it (``tests/cluster/mode.py``), the check looks in the cluster, and tests marked
``single_engine`` (they look at how one Docker engine implements something) are skipped.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import subprocess
import sys
import textwrap
import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio

import sandbox_core as sc
from sandbox_core._agent.sessions import agent_enabled
from sandbox_core._engine import close_engine, get_engine
from sandbox_core._engine import labels as L
from sandbox_core._engine.docker.engine import DockerEngine
from sandbox_core._imagebuild import builder
from sandbox_core._volumes import owner as volume_owner
from sandbox_core._volumes import store as volume_store
from tests.cluster import mode as cluster_mode

RUN_ID = os.environ.get("SANDBOX_CORE_TEST_RUN") or uuid.uuid4().hex[:10]
os.environ["SANDBOX_CORE_TEST_RUN"] = RUN_ID
APP_PREFIX = f"pytest-{RUN_ID}"
TEST_RUN_LABEL = "sandbox-core.test-run"
# Every image the library builds or snapshots in this run carries the run's label (part of a built image's identity,
# so runs never share or remove each other's images); the run's step images are removed at the session end.
os.environ["SANDBOX_CORE_IMAGE_LABELS"] = f"{TEST_RUN_LABEL}={RUN_ID}"
BUSYBOX = "sandbox-core/busybox:1"
BUSYBOX_USER = "sandbox-core/busybox-user:1"
NOSHELL = "sandbox-core/noshell:1"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def app_name(suffix: str = "main") -> str:
    """An app name owned by this test run."""
    return f"{APP_PREFIX}-{suffix}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "single_engine: looks at how one Docker engine implements a feature; skipped in cluster mode"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if cluster_mode.ENABLED:
        skip = pytest.mark.skip(reason="checks the single engine's implementation (cluster mode: tests/cluster)")
        for item in items:
            if item.get_closest_marker("single_engine") is not None:
                item.add_marker(skip)
    _skip_where_podman_differs(items)


def _docker_json(*args: str) -> list[dict[str, Any]]:
    """``docker <args>`` as JSON items. Podman fails a whole image list when one of its images is removed meanwhile
    (``image not known``; docs/podman.md 5): such a list is made again."""
    for _ in range(4):
        out = subprocess.run(["docker", *args, "--format", "{{json .}}"], capture_output=True, text=True)
        if out.returncode == 0 or "image not known" not in out.stderr:
            break
    out.check_returncode()
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def _engine_is_podman() -> bool:
    """True when ``DOCKER_HOST`` names Podman's Docker-compatible service (its version lists a Podman component)."""
    try:
        out = subprocess.run(
            ["docker", "version", "--format", "{{json .Server.Components}}"], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "Podman Engine" in out


def _skip_where_podman_differs(items: list[pytest.Item]) -> None:
    """On Podman, skip the tests marked ``podman_differs(reason)``, each with the difference its marker names."""
    marked = [item for item in items if item.get_closest_marker("podman_differs") is not None]
    if not marked or not _engine_is_podman():
        return
    for item in marked:
        marker = item.get_closest_marker("podman_differs")
        assert marker is not None and marker.args, f"{item.nodeid}: podman_differs needs the difference as reason"
        item.add_marker(pytest.mark.skip(reason=f"Podman differs: {marker.args[0]} (docs/podman.md)"))


def _engine_answers() -> bool:
    try:
        return subprocess.run(["docker", "version"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


async def docker_engine() -> DockerEngine:
    """The running loop's engine, which these tests know to be the Docker implementation."""
    eng = await get_engine()
    assert isinstance(eng, DockerEngine)
    return eng


def agent_path(sb: sc.Sandbox) -> bool:
    """True when ``sb`` is served through its in-sandbox agent in this process (it was created with the agent and
    the agent is not disabled; every image of the suite can run it), False when through the engine's exec API."""
    return sb._link.agent and agent_enabled()


def container_id(sb: sc.Sandbox) -> str:
    """The engine id of ``sb``'s container, found by its sandbox-id label (as any client could); in cluster mode,
    its id on the engine of the node that runs it."""
    if cluster_mode.ENABLED:
        return cluster_mode.locate(sb.object_id)[1]
    out = subprocess.run(
        ["docker", "ps", "-aq", "--no-trunc", "--filter", f"label={L.SANDBOX_ID}={sb.object_id}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(out) == 1, out
    return out[0]


async def engine_ref(sb: sc.Sandbox) -> str:
    """``sb``'s container ref on the library's engine (whichever it is), found by its sandbox-id label as any
    client could."""
    found = await (await get_engine()).containers.list({L.SANDBOX_ID: sb.object_id}, all=True)
    assert len(found) == 1, found
    return found[0].id


def docker_inspect(sb: sc.Sandbox) -> dict[str, Any]:
    """The engine's own description of ``sb``'s container (``docker inspect``), independent of our parsing."""
    host = ["-H", cluster_mode.locate(sb.object_id)[0].engine_url] if cluster_mode.ENABLED else []
    cmd = ["docker", *host, "inspect", container_id(sb)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    info: dict[str, Any] = json.loads(out)[0]
    return info


def _volume_labels(name: str) -> dict[str, str] | None:
    """A volume's labels, or None when it vanished meanwhile (another run's sweep may remove it)."""
    proc = subprocess.run(["docker", "volume", "inspect", name], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)[0].get("Labels") or {}


def _run_app_ids() -> dict[str, str]:
    """app id -> app name, for every app of this run (from the app registry records)."""
    vols = _docker_json("volume", "ls", "--filter", f"label={L.RECORD_TYPE}=app")
    ids: dict[str, str] = {}
    for v in vols:
        lbl = _volume_labels(v["Name"]) or {}
        if lbl.get(L.APP_NAME, "").startswith(APP_PREFIX):
            ids[lbl[L.APP_ID]] = lbl[L.APP_NAME]
    return ids


def _ours(labels: dict[str, str], app_ids: set[str]) -> bool:
    """Made by this run: an object of one of its apps, labelled with its run id, a volume (or a volume's name claim)
    named with its prefix, or an ephemeral volume or volume helper of this process."""
    return (
        labels.get(L.APP_ID) in app_ids
        or labels.get(TEST_RUN_LABEL) == RUN_ID
        or labels.get(volume_store.VOLUME_NAME, "").startswith(APP_PREFIX)
        or labels.get(volume_store.OWNER_PROCESS) == volume_owner.this_process()
    )


def _leftovers(app_ids: set[str], running_only: bool) -> list[str]:
    found: list[str] = []
    args = ["ps"] if running_only else ["ps", "-a"]
    for c in _docker_json(*args, "--filter", f"label={L.OWNER}={L.OWNER_VALUE}", "--no-trunc"):
        labels = dict(kv.split("=", 1) for kv in c.get("Labels", "").split(",") if "=" in kv)
        if _ours(labels, app_ids):
            found.append(f"container {c['Names']} ({c['State']})")
    if not running_only:
        for v in _docker_json("volume", "ls", "--filter", f"label={L.OWNER}={L.OWNER_VALUE}"):
            lbl = _volume_labels(v["Name"]) or {}
            if _ours(lbl, app_ids):
                found.append(f"volume {v['Name']}")
        for img in _docker_json("images", "--filter", f"label={TEST_RUN_LABEL}={RUN_ID}"):
            found.append(f"image {img['Repository']}:{img['Tag']} ({img['ID']})")
        for img in _docker_json("images", "--filter", f"label={L.KIND}={L.KIND_SNAPSHOT}"):
            if _image_labels(img["ID"]).get(L.APP_ID) in app_ids:
                found.append(f"snapshot image {img['Repository']}:{img['Tag']} ({img['ID']})")
    return found


def _image_labels(image_id: str) -> dict[str, str]:
    proc = subprocess.run(["docker", "image", "inspect", image_id], capture_output=True, text=True)
    if proc.returncode != 0:
        return {}
    return json.loads(proc.stdout)[0].get("Config", {}).get("Labels") or {}


def _cluster_leftovers(app_ids: set[str], running_only: bool) -> list[str]:
    return cluster_mode.leftovers(app_ids, RUN_ID, running_only=running_only)


@pytest.fixture(scope="session")
def engine() -> Iterator[None]:
    """A Docker engine with the project's images; at the end of the session, the check that the run left nothing
    behind. Every test that reaches the engine asks for it (``app`` and the sandbox fixtures do; modules say
    ``pytest.mark.usefixtures("engine")``), so tests that need no engine run, and pass, without Docker."""
    if not _engine_answers():
        pytest.exit("no Docker engine answers: run scripts/ensure-engine.sh (the README's test command does)", 2)
    for image in (BUSYBOX, BUSYBOX_USER, NOSHELL):
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode != 0:
            pytest.exit(f"image {image} is missing: run scripts/build-images.sh", 2)
    if not cluster_mode.ENABLED:
        yield
        _check_nothing_left_behind()
        return
    try:
        cluster_mode.start()
    except RuntimeError as e:
        pytest.exit(str(e), 2)
    try:
        yield
        _check_nothing_left_behind()
    finally:
        cluster_mode.stop()


def _check_nothing_left_behind() -> None:
    app_ids = cluster_mode.run_app_ids(APP_PREFIX) if cluster_mode.ENABLED else _run_app_ids()
    leftovers = _cluster_leftovers if cluster_mode.ENABLED else _leftovers
    running = leftovers(set(app_ids), running_only=True)

    async def sweep_all() -> None:
        for app_id in app_ids:
            await sc.sweep(app_id=app_id, everything=True)
        # what builds leave by design (content-addressed step images, reused until collected), labelled for the run
        await builder.remove_images(await get_engine(), {TEST_RUN_LABEL: RUN_ID, L.KIND: L.KIND_IMAGE})
        await close_engine()

    asyncio.run(sweep_all())
    remaining = leftovers(set(app_ids), running_only=False)
    if running or remaining:
        pytest.fail(
            "the test run left objects behind:\n  still running at session end: "
            + (", ".join(running) or "none")
            + "\n  still present after sweeping: "
            + (", ".join(remaining) or "none")
        )


@pytest.fixture(scope="session", autouse=True)
def _no_unclosed_resources() -> Iterator[None]:
    """Fail the session on 'Unclosed client session/connector' reports, which asyncio only logs."""
    reports: list[str] = []
    yield
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    reports.extend(str(w.message) for w in caught if issubclass(w.category, ResourceWarning))
    if reports:
        pytest.fail("unclosed resources: " + "; ".join(reports))


@pytest_asyncio.fixture(scope="session", loop_scope="session", autouse=True)
async def _loop_exception_guard() -> AsyncIterator[None]:
    """Fail the session when the event loop's exception handler saw 'Unclosed …' or unretrieved errors."""
    loop = asyncio.get_running_loop()
    seen: list[str] = []
    previous = loop.get_exception_handler()

    def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        seen.append(str(context.get("message")))
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)

    loop.set_exception_handler(handler)
    yield
    loop.set_exception_handler(previous)
    bad = [m for m in seen if "Unclosed" in m or "never retrieved" in m]
    if bad:
        pytest.fail("event loop reported: " + "; ".join(bad))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def app(engine: None) -> sc.App:
    """The run's default app."""
    return await sc.App.lookup(app_name(), create_if_missing=True)


@pytest.fixture
def image() -> sc.Image:
    """The project's busybox image."""
    return sc.Image.from_registry(BUSYBOX)


@pytest_asyncio.fixture(loop_scope="session")
async def own_sandbox(app: sc.App, image: sc.Image) -> AsyncIterator[sc.Sandbox]:
    """A running busybox sandbox of the test's own (it may change its state, detach it…), terminated after it."""
    sb = await sc.Sandbox.create(app=app, image=image, timeout=300)
    try:
        yield sb
    finally:
        # from_id: the test may have detached its handle
        await (await sc.Sandbox.from_id(sb.object_id)).terminate()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def shared_sandbox(app: sc.App) -> AsyncIterator[sc.Sandbox]:
    """One root busybox sandbox shared by the tests of a module (they use distinct paths, and leave it running)."""
    s = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), timeout=600)
    try:
        yield s
    finally:
        await s.terminate()


@pytest.fixture
def run_py() -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run a Python snippet in a second process (same interpreter, same run id); returns the completed process."""

    def run(code: str, *, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=REPO,
            env=dict(os.environ),
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"subprocess failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run
