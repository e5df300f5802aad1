"""Building definitions on the real engine: per-step reuse, rebuilds from a changed step, build-once across
callers and processes, typed failures that leave nothing behind, mount layers copied into created containers."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from sandbox_core._engine import EngineAPI
from sandbox_core._imagebuild import builder, mounts
from sandbox_core._imagebuild.definition import FromDockerfile, FromImage, FromScratch, ImageDefinition
from sandbox_core._imagebuild.steps import CopyLocal, Entrypoint, Env, LocalDir, LocalFile, RunCommands, Workdir
from sandbox_core.exception import ImageBuildError, InvalidError

from ..conftest import BUSYBOX, REPO
from .conftest import RUN_FILTER, RUN_LABELS, docker, run_in


def busybox(*, salt: str = "") -> ImageDefinition:
    """A definition on the busybox image, labelled for this run (``salt`` makes it unique to one test)."""
    return ImageDefinition(FromImage(BUSYBOX), labels={**RUN_LABELS, "sandbox-core.test-salt": salt or "x"})


def engine_steps(lines: list[str]) -> list[str]:
    """The engine's own "Step i/n : RUN ..." lines: evidence of a build that really ran."""
    return [line for line in lines if line.startswith("Step ") and " : RUN " in line]


async def test_steps_build_into_an_image_a_container_sees(eng: EngineAPI, tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("payload\n")
    defn = (
        busybox(salt=uuid.uuid4().hex)
        .add(RunCommands(["mkdir -p /work && echo built > /work/marker"]))
        .add(Env({"GREETING": "hello world"}))
        .add(CopyLocal(LocalFile(tmp_path / "data.txt", "/work/data.txt")))
        .add(Workdir("/work"))
        .add(Entrypoint(["sh", "-c"]))
    )
    built = await builder.build(eng, defn)
    assert built.tag is not None and built.image_id.startswith("sha256:")
    out = run_in(built.image_id, 'echo "$GREETING"; pwd; cat marker data.txt')
    assert out.split("\n")[:4] == ["hello world", "/work", "built", "payload"]
    info = await eng.images.inspect(built.tag)
    assert info is not None
    assert info.labels[builder.ADDRESS_LABEL] == built.address
    assert info.labels["sandbox-core.kind"] == "image"


async def test_the_same_definition_is_not_built_twice(eng: EngineAPI, tmp_path: Path) -> None:
    defn = busybox(salt=uuid.uuid4().hex).add(RunCommands(["echo $RANDOM > /r"]))
    first_log: list[str] = []
    first = await builder.build(eng, defn, on_line=first_log.append)
    again_log: list[str] = []
    again = await builder.build(eng, defn, on_line=again_log.append)
    assert len(engine_steps(first_log)) == 1
    assert again_log == []
    assert again == first


async def test_a_changed_copied_file_rebuilds_from_its_step(eng: EngineAPI, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.txt").write_text("one")

    def defn() -> ImageDefinition:
        return (
            busybox(salt=str(tmp_path))
            .add(RunCommands(["echo first > /first"]))
            .add(CopyLocal(LocalDir(src, "/data")))
            .add(RunCommands(["cat /data/f.txt > /copy"]))
        )

    v1 = await builder.build(eng, defn())
    (src / "f.txt").write_text("two")
    log: list[str] = []
    v2 = await builder.build(eng, defn(), on_line=log.append)
    ours = [line for line in log if line.startswith("building ")]
    assert [line.split(",")[0] for line in ours] == ["building step 2 of 3", "building step 3 of 3"]
    assert v2.address != v1.address
    assert run_in(v2.image_id, "cat", "/copy") == "two"
    assert run_in(v1.image_id, "cat", "/copy") == "one"


async def test_force_build_rebuilds_every_step(eng: EngineAPI) -> None:
    defn = busybox(salt=uuid.uuid4().hex).add(RunCommands(["true"])).add(Env({"A": "1"}))
    first = await builder.build(eng, defn)
    log: list[str] = []
    forced = await builder.build(eng, defn, force=True, on_line=log.append)
    assert len([line for line in log if line.startswith("building step")]) == 2
    assert forced.address == first.address
    assert forced.image_id != first.image_id


async def test_a_failing_step_raises_a_typed_error_naming_it_and_leaves_nothing(eng: EngineAPI) -> None:
    salt = uuid.uuid4().hex
    defn = (
        busybox(salt=salt)
        .add(RunCommands(["echo ok > /ok"]))
        .add(RunCommands(["echo before-failure", "echo the-marker-line; exit 3"]))
    )
    with pytest.raises(ImageBuildError) as info:
        await builder.build(eng, defn)
    text = str(info.value)
    assert "step 2 of 2, run_commands('echo before-failure', 'echo the-marker-line; exit 3')" in text
    assert "`RUN echo the-marker-line; exit 3` returned a non-zero code: 3" in text
    assert "the-marker-line" in text.split("--- last lines of the build log ---")[1]
    # intermediate containers inherit the labels of the image they run; images committed for the failed build too
    assert docker("ps", "-a", "-q", "--filter", f"label=sandbox-core.test-salt={salt}").strip() == ""
    dangling = docker("images", "-q", "--filter", "dangling=true", "--filter", f"label=sandbox-core.test-salt={salt}")
    assert dangling.strip() == ""
    # ... while the images it started from stay
    assert await eng.images.inspect(BUSYBOX) is not None
    step_one = await builder.build(eng, defn.__class__(defn.root, defn.steps[:1], labels=defn.labels))
    assert await eng.images.inspect(step_one.image_id) is not None


async def test_a_failing_first_step_keeps_its_base_image(eng: EngineAPI) -> None:
    defn = busybox(salt=uuid.uuid4().hex).add(RunCommands(["echo x > /x", "exit 4"]))
    with pytest.raises(ImageBuildError, match="`RUN exit 4` returned a non-zero code: 4"):
        await builder.build(eng, defn)
    assert await eng.images.inspect(BUSYBOX) is not None


async def test_an_invalid_dockerfile_line_is_a_build_error(eng: EngineAPI) -> None:
    from sandbox_core._imagebuild.steps import DockerfileCommands

    defn = busybox(salt=uuid.uuid4().hex).add(DockerfileCommands(["NOTANINSTRUCTION x"]))
    with pytest.raises(ImageBuildError, match="dockerfile_commands"):
        await builder.build(eng, defn)


async def test_concurrent_builds_of_one_definition_build_once(eng: EngineAPI) -> None:
    defn = busybox(salt=uuid.uuid4().hex).add(RunCommands(["echo a > /a"])).add(RunCommands(["echo b > /b"]))
    logs: list[list[str]] = [[] for _ in range(5)]
    results = await asyncio.gather(*(builder.build(eng, defn, on_line=log.append) for log in logs))
    assert len({r.image_id for r in results}) == 1
    assert sum(len(engine_steps(log)) for log in logs) == 2  # one RUN per step, each built once
    assert sum(any("started by another caller" in line for line in log) for log in logs) == 4


CHILD = """
import asyncio, json, sys
from sandbox_core._engine import get_engine
from sandbox_core._imagebuild import builder
from sandbox_core._imagebuild.definition import FromImage, ImageDefinition
from sandbox_core._imagebuild.steps import RunCommands

async def main() -> None:
    labels = json.loads(sys.argv[1])
    defn = ImageDefinition(FromImage(sys.argv[2]), labels=labels).add(RunCommands(["echo x > /x"]))
    log: list[str] = []
    built = await builder.build(await get_engine(), defn, on_line=log.append)
    print(json.dumps({"id": built.image_id, "log": log}))

asyncio.run(main())
"""


async def test_concurrent_processes_build_once(eng: EngineAPI) -> None:
    labels = json.dumps({**RUN_LABELS, "sandbox-core.test-salt": uuid.uuid4().hex})
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            textwrap.dedent(CHILD),
            labels,
            BUSYBOX,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO,
            env=dict(os.environ),
        )
        for _ in range(3)
    ]
    outputs = [await p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), [err.decode()[-2000:] for _, err in outputs]
    results = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    assert len({r["id"] for r in results}) == 1
    assert sum(len(engine_steps(r["log"])) for r in results) == 1


async def test_mount_layers_are_copied_into_a_created_container(eng: EngineAPI, tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("X = 42\n")
    (tmp_path / "tool.sh").write_text("#!/bin/sh\necho tool-ran\n")
    (tmp_path / "tool.sh").chmod(0o755)
    defn = (
        busybox()
        .add_mount(LocalDir(tmp_path / "pkg", "/root/pkg"))
        .add_mount(LocalFile(tmp_path / "tool.sh", "/usr/local/bin/tool"))
    )
    built = await builder.build(eng, defn)
    assert built.image_id == (await eng.images.inspect(BUSYBOX)).id  # type: ignore[union-attr]
    cid = docker(
        "create",
        "--label",
        RUN_FILTER,
        "--label",
        "sandbox-core.owner=sandbox-core",
        built.image_id,
        "sh",
        "-c",
        "cat /root/pkg/mod.py; /usr/local/bin/tool",
    ).strip()
    try:
        await mounts.apply_mounts(eng, cid, built.mounts)
        out = docker("start", "-a", cid)
    finally:
        docker("rm", "-f", cid)
    assert out == "X = 42\ntool-ran\n"


async def test_a_dockerfile_root_with_a_local_context(eng: EngineAPI, tmp_path: Path) -> None:
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "hello.txt").write_text("from the context\n")
    (tmp_path / "ctx" / "skip.log").write_text("ignored\n")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(f"FROM {BUSYBOX}\nCOPY . /ctx/\n")
    from sandbox_core._imagebuild.patterns import PatternMatcher

    root = FromDockerfile(dockerfile, tmp_path / "ctx", PatternMatcher.from_patterns(["*.log"]))
    defn = ImageDefinition(root, labels={**RUN_LABELS, "sandbox-core.test-salt": uuid.uuid4().hex})
    built = await builder.build(eng, defn.add(RunCommands(["ls /ctx > /listing"])))
    assert run_in(built.image_id, "cat", "/listing") == "hello.txt\n"


async def test_scratch_images_take_copies_but_are_not_empty_builds(eng: EngineAPI, tmp_path: Path) -> None:
    with pytest.raises(InvalidError, match="from_scratch"):
        await builder.build(eng, ImageDefinition(FromScratch()))
    (tmp_path / "f").write_text("only file")
    defn = ImageDefinition(FromScratch(), labels=RUN_LABELS).add(CopyLocal(LocalFile(tmp_path / "f", "/f")))
    built = await builder.build(eng, defn)
    exported = docker("image", "inspect", built.image_id, "--format", "{{len .RootFS.Layers}}")
    assert exported.strip() == "1"
