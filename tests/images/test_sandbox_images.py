"""The public ``Image`` API through ``Sandbox.create``, on the real engine: the default Python image, what every
builder method changes in a sandbox, content addressing (same id, no second build; a changed file rebuilds),
build-once for concurrent creates, typed failures, ids and names. Fast images (busybox) unless the test is about
the Python image."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

import sandbox_core as sc
from sandbox_core import exception as exc

from ..conftest import BUSYBOX, NOSHELL, app_name, docker_inspect
from .conftest import docker

pytestmark = pytest.mark.usefixtures("engine")


def bb() -> sc.Image:
    return sc.Image.from_registry(BUSYBOX)


def marker() -> str:
    """A step no other test builds: its image is made by this test."""
    return f"echo {uuid.uuid4().hex} > /.marker"


async def run(sb: sc.Sandbox, script: str) -> str:
    p = await sb.exec("sh", "-c", script)
    out = await p.stdout.read()
    assert await p.wait() == 0, (script, out, await p.stderr.read())
    return out


@contextlib.asynccontextmanager
async def sandbox(app: sc.App, image: sc.Image | None, *args: str, **kw: object) -> AsyncIterator[sc.Sandbox]:
    sb = await sc.Sandbox.create(*args, app=app, image=image, timeout=300, **kw)  # type: ignore[arg-type]
    try:
        yield sb
    finally:
        await sb.terminate()


@contextlib.contextmanager
def build_log(capsys: pytest.CaptureFixture[str]) -> Iterator[list[str]]:
    """The build output shown under ``enable_output()`` while the block runs (lines)."""
    lines: list[str] = []
    capsys.readouterr()
    with sc.enable_output():
        yield lines
    lines += capsys.readouterr().err.splitlines()


def builds(lines: list[str]) -> int:
    """How many step images were really built (the builder's own line for each)."""
    return sum(1 for line in lines if line.startswith("building step"))


async def test_the_default_image_runs_python(app: sc.App) -> None:
    async with sandbox(app, None) as sb:
        p = await sb.exec("python3", "-c", "print(1+1)")
        assert await p.stdout.read() == "2\n"
        assert await p.wait() == 0
        cmd = docker_inspect(sb)["Config"]["Cmd"]
    assert cmd == ["sleep", "172800"]


async def test_every_builder_method_changes_what_a_sandbox_sees(
    app: sc.App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "ctx.txt").write_text("from the context\n")
    (tmp_path / "copied.txt").write_text("copied\n")
    (tmp_path / "mounted.txt").write_text("mounted\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "keep.txt").write_text("kept\n")
    (tmp_path / "dir" / "skip.log").write_text("ignored\n")
    pkg = f"sc_img_pkg_{uuid.uuid4().hex[:8]}"
    (tmp_path / "py" / pkg).mkdir(parents=True)
    (tmp_path / "py" / pkg / "__init__.py").write_text("VALUE = 42\n")
    (tmp_path / "py" / pkg / "data.json").write_text("{}")
    monkeypatch.syspath_prepend(str(tmp_path / "py"))
    image = (
        bb()
        .run_commands(marker(), "mkdir -p /work && echo ran > /work/ran")
        .env({"GREETING": "hello world"})
        .workdir("/work")
        .shell(["/bin/sh", "-c", 'echo custom-shell > /via-shell; sh -c "$0"'])
        .run_commands("true")
        .dockerfile_commands("COPY ctx.txt /ctx.txt", context_dir=tmp_path / "ctx")
        .add_local_file(tmp_path / "copied.txt", "/files/", copy=True)
        .add_local_dir(tmp_path / "dir", "/copied-dir", copy=True, ignore=["*.log"])
        .cmd(["sh", "-c", "echo from-cmd; sleep 300"])
        .add_local_python_source(pkg)
        .add_local_file(tmp_path / "mounted.txt", "/mounted/m.txt")
        .add_local_dir(tmp_path / "dir", "/mounted-dir")
    )
    async with sandbox(app, image) as sb:
        out = await run(
            sb,
            'echo "$GREETING"; pwd; cat ran /via-shell /ctx.txt /files/copied.txt /copied-dir/keep.txt; '
            "ls /copied-dir; cat /mounted/m.txt /mounted-dir/skip.log; "
            f"ls /root/{pkg}; cat /root/{pkg}/__init__.py",
        )
        assert out.splitlines() == [
            "hello world",
            "/work",
            "ran",
            "custom-shell",
            "from the context",
            "copied",
            "kept",
            "keep.txt",
            "mounted",
            "ignored",
            "__init__.py",
            "VALUE = 42",
        ]
        assert await sb.stdout.readline() == "from-cmd\n"  # the image's CMD, run without a command


async def test_entrypoint_runs_the_sandbox_command(app: sc.App) -> None:
    image = bb().run_commands(marker()).entrypoint(["sh", "-c"])
    async with sandbox(app, image, "echo via-entrypoint; sleep 300") as sb:
        assert await sb.stdout.readline() == "via-entrypoint\n"


async def test_the_same_definition_is_built_once_and_keeps_its_id(
    app: sc.App, capsys: pytest.CaptureFixture[str]
) -> None:
    step = marker()
    with build_log(capsys) as first:
        one = await bb().run_commands(step).env({"A": "1"}).build(app)
    with build_log(capsys) as again:
        two = await bb().run_commands(step).env({"A": "1"}).build(app)
    assert builds(first) == 2 and builds(again) == 0
    assert one.is_hydrated and two.object_id == one.object_id
    assert one.object_id.startswith("im-") and len(one.object_id) == 67
    with pytest.raises(exc.InvalidError, match="expects an App"):
        await bb().build(None)  # type: ignore[arg-type]


async def test_a_changed_copied_file_rebuilds(app: sc.App, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "data.txt"
    f.write_text("one\n")

    def image() -> sc.Image:
        return bb().run_commands(marker_step).add_local_file(f, "/data.txt", copy=True).run_commands("cat /data.txt")

    marker_step = marker()
    first = await image().build(app)
    f.write_text("two\n")
    with build_log(capsys) as log:
        second = image()
        async with sandbox(app, second) as sb:
            assert await run(sb, "cat /data.txt") == "two\n"
    assert second.object_id != first.object_id
    assert builds(log) == 2  # the copy and the step after it; the first step is reused


async def test_a_failing_step_raises_a_typed_error_naming_it(app: sc.App) -> None:
    image = bb().run_commands(marker()).run_commands("echo the-failing-step-said-this; exit 7")
    with pytest.raises(exc.ImageBuildError) as info:
        async with sandbox(app, image):
            pass
    text = str(info.value)
    assert "step 2 of 2, run_commands('echo the-failing-step-said-this; exit 7')" in text
    assert "returned a non-zero code: 7" in text
    assert "the-failing-step-said-this" in text.split("--- last lines of the build log ---")[1]


async def test_five_concurrent_creates_of_one_unbuilt_image_build_it_once(
    app: sc.App, capsys: pytest.CaptureFixture[str]
) -> None:
    step = marker()
    with build_log(capsys) as log:
        sandboxes = await asyncio.gather(
            *(sc.Sandbox.create(app=app, image=bb().run_commands(step), timeout=120) for _ in range(5))
        )
    try:
        assert builds(log) == 1
        assert sum("started by another caller" in line for line in log) == 4
        outs = await asyncio.gather(*(run(sb, "cat /.marker") for sb in sandboxes))
        assert len(set(outs)) == 1
    finally:
        await asyncio.gather(*(sb.terminate() for sb in sandboxes))


async def test_force_build_rebuilds_the_step_every_time(app: sc.App, capsys: pytest.CaptureFixture[str]) -> None:
    step = marker()
    await bb().run_commands(step).build(app)
    with build_log(capsys) as log:
        await bb().run_commands(step, force_build=True).build(app)
    assert builds(log) == 1


async def test_mount_layers_keep_the_base_id_and_reach_the_sandbox(app: sc.App, tmp_path: Path) -> None:
    (tmp_path / "tool.sh").write_text("#!/bin/sh\necho tool-ran\n")
    (tmp_path / "tool.sh").chmod(0o755)
    base = await bb().run_commands(marker()).build(app)
    with_mount = base.add_local_file(tmp_path / "tool.sh", "/usr/local/bin/tool")
    async with sandbox(app, with_mount) as sb:
        assert await run(sb, "/usr/local/bin/tool") == "tool-ran\n"
    assert with_mount.object_id == base.object_id


async def test_from_id_and_published_names_round_trip(app: sc.App) -> None:
    built = await bb().run_commands(marker()).build(app)
    name = f"sc-test-{uuid.uuid4().hex[:8]}"
    await built.publish(f"{name}:v1")
    await built.publish(name.upper())  # names are case-sensitive; an engine tag is lower-case only
    try:
        by_name = await sc.Image.from_name(f"{name}:v1").hydrate()
        assert by_name.object_id == built.object_id
        assert (await sc.Image.from_name(name.upper()).hydrate()).object_id == built.object_id
        with pytest.raises(exc.NotFoundError, match=f"Image '{name}:latest' not found"):
            await sc.Image.from_name(name).hydrate()
        async with sandbox(app, sc.Image.from_id(built.object_id)) as sb:
            assert (await run(sb, "cat /.marker")).strip()
        async with sandbox(app, sc.Image.from_name(f"{name}:v1").run_commands("echo on-top > /top")) as sb:
            assert await run(sb, "cat /top") == "on-top\n"
    finally:
        for tag in docker("images", "--format", "{{.Repository}}:{{.Tag}}").split():
            if tag.startswith("sandbox-core/published/") and (name in tag or name.upper().encode().hex() in tag):
                docker("rmi", tag)
    with pytest.raises(exc.NotFoundError):
        await sc.Image.from_id("im-" + "0" * 64).hydrate()


async def test_from_dockerfile_with_a_local_context(app: sc.App, tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.txt").write_text("from the dockerfile context\n")
    (tmp_path / "app" / "secret.key").write_text("never sent\n")
    (tmp_path / "unrelated.bin").write_bytes(b"\0" * 1000)
    (tmp_path / ".dockerignore").write_text("**/*.key\n")
    (tmp_path / "Dockerfile").write_text(
        f'FROM {BUSYBOX}\nCOPY app /app\nRUN {marker()} && ls /app > /listing\nCMD ["sleep", "300"]\n'
    )
    image = sc.Image.from_dockerfile(tmp_path / "Dockerfile", context_dir=tmp_path)
    async with sandbox(app, image) as sb:
        assert await run(sb, "cat /listing /app/main.txt") == "main.txt\nfrom the dockerfile context\n"


async def test_from_scratch_cannot_run_a_sandbox(app: sc.App) -> None:
    with pytest.raises(exc.InvalidError, match="no filesystem to run a sandbox in"):
        await sc.Sandbox.create(app=app, image=sc.Image.from_scratch())


async def test_a_removed_image_is_resolved_again(app: sc.App) -> None:
    image = await bb().run_commands(marker()).build(app)
    first_id = image.object_id
    docker("rmi", *(t for t in docker("image", "inspect", first_id[3:], "--format", '{{join .RepoTags " "}}').split()))
    async with sandbox(app, image) as sb:  # built again under the same address
        assert (await run(sb, "cat /.marker")).strip()
    assert image.object_id.startswith("im-")


@pytest_asyncio.fixture(loop_scope="session")
async def image_app() -> AsyncIterator[sc.App]:
    app = await sc.App.lookup(app_name("images-" + uuid.uuid4().hex[:6]), create_if_missing=True)
    yield app
    await sc.sweep(app_id=app.app_id, everything=True)


async def test_verbose_shows_the_build_log_without_enable_output(
    image_app: sc.App, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    sb = await sc.Sandbox.create(app=image_app, image=bb().run_commands(marker()), verbose=True, timeout=60)
    await sb.terminate()
    err = capsys.readouterr().err
    assert "building step 1 of 1" in err and "Step 1/" in err


def test_the_blocking_facade_builds_and_runs(sync_app_name: str) -> None:
    import sandbox_core_sync as scs

    app = scs.App.lookup(sync_app_name, create_if_missing=True)
    image = scs.Image.from_registry(BUSYBOX).run_commands(marker())
    assert image.build(app) is image and image.is_hydrated
    sb = scs.Sandbox.create(app=app, image=image, timeout=60)
    try:
        p = sb.exec("cat", "/.marker")
        assert p.stdout.read().strip()
        snap = sb.snapshot_filesystem(ttl=600)
        assert isinstance(snap, scs.Image) and snap.is_hydrated
    finally:
        sb.terminate()
    scs.sweep(app_id=app.app_id, everything=True)


@pytest.fixture
def sync_app_name() -> str:
    return app_name("images-sync-" + uuid.uuid4().hex[:6])


async def test_an_image_without_a_shell_is_refused_for_mounts(app: sc.App) -> None:
    async with sandbox(app, sc.Image.from_registry(NOSHELL)) as sb:
        with pytest.raises(exc.InvalidError, match="needs /bin/sh"):
            await sb.mount_image("/mnt/x", sc.Image.from_scratch())


def make_wheel(directory: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel of package ``name`` (no index needed to install it)."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [
        f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).decode().rstrip('=')},{len(d)}"
        for p, d in files.items()
    ]
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for p, d in files.items():
            z.writestr(p, d)
        z.writestr(f"{dist}/RECORD", "\n".join([*record, f"{dist}/RECORD,,"]) + "\n")
    return path


async def test_pip_install_and_requirements_on_the_python_image_from_local_wheels(app: sc.App, tmp_path: Path) -> None:
    salt = uuid.uuid4().hex[:8]
    one, two = f"scwheel_a{salt}", f"scwheel_b{salt}"
    (tmp_path / "wheels").mkdir()
    make_wheel(tmp_path / "wheels", one, "1.0")
    make_wheel(tmp_path / "wheels", two, "2.0")
    (tmp_path / "requirements.txt").write_text(f"{two}==2.0\n")
    offline = {"find_links": "/wheels", "extra_options": "--no-index --disable-pip-version-check"}
    image = (
        sc.Image.debian_slim()
        .add_local_dir(tmp_path / "wheels", "/wheels", copy=True)
        .pip_install(one, **offline)  # type: ignore[arg-type]
        .pip_install_from_requirements(str(tmp_path / "requirements.txt"), **offline)  # type: ignore[arg-type]
    )
    async with sandbox(app, image) as sb:
        p = await sb.exec("python", "-c", f"import {one}, {two}; print({one}.VERSION, {two}.VERSION)")
        assert await p.stdout.read() == "1.0 2.0\n"


async def test_show_progress_false_keeps_the_log_and_drops_the_status_lines(
    app: sc.App, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    with sc.enable_output(show_progress=False):
        await bb().run_commands(marker()).build(app)
    err = capsys.readouterr().err
    assert "Step 1/" in err  # the engine's log
    assert "building step" not in err  # the builder's status line
