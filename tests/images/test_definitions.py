"""Image definitions without the engine: content addresses, deterministic tars, rendering, the Python policy."""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
from pathlib import Path, PurePosixPath

import pytest

from sandbox_core._engine.docker.build import BuildState
from sandbox_core._imagebuild import buildca, definition, pyversions
from sandbox_core._imagebuild.definition import FromImage, ImageDefinition
from sandbox_core._imagebuild.patterns import PatternMatcher
from sandbox_core._imagebuild.steps import (
    AptInstall,
    CopyLocal,
    Env,
    LocalDir,
    LocalFile,
    PipInstall,
    PipOptions,
    Prepared,
    RunCommands,
)
from sandbox_core._imagebuild.tarstream import FIXED_MTIME, scan_tree, stream_tar
from sandbox_core.exception import InvalidError

ROOT = "sha256:" + "0" * 64


def addresses(defn: ImageDefinition, ca: buildca.BuildCA | None = None) -> tuple[str, ...]:
    prepared = tuple(step.prepare(ca) for step in defn.steps)
    return definition.chain(definition.root_address(ROOT, defn.labels), prepared)


def tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "a.py").write_text("A = 1\n")
    (src / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (src / "run.sh").chmod(0o755)
    return src


def three_steps(src: Path) -> ImageDefinition:
    return (
        ImageDefinition(FromImage(ROOT))
        .add(RunCommands(["echo one"]))
        .add(CopyLocal(LocalDir(src, "/app")))
        .add(PipInstall(["b", "a"]))
    )


def test_equal_definitions_have_equal_addresses(tmp_path: Path) -> None:
    src = tree(tmp_path)
    assert addresses(three_steps(src)) == addresses(three_steps(src))
    assert len(set(addresses(three_steps(src)))) == 3


def test_pip_packages_are_addressed_in_sorted_order() -> None:
    a = ImageDefinition(FromImage(ROOT)).add(PipInstall(["b", "a"]))
    b = ImageDefinition(FromImage(ROOT)).add(PipInstall(["a", "b"]))
    assert addresses(a) == addresses(b)


def test_a_changed_copied_file_changes_the_address_from_its_step_on(tmp_path: Path) -> None:
    src = tree(tmp_path)
    before = addresses(three_steps(src))
    (src / "pkg" / "a.py").write_text("A = 2\n")
    after = addresses(three_steps(src))
    assert after[0] == before[0]
    assert after[1] != before[1]
    assert after[2] != before[2]


def test_mode_bits_count_but_mtimes_do_not(tmp_path: Path) -> None:
    src = tree(tmp_path)
    before = addresses(three_steps(src))
    os.utime(src / "run.sh", (1, 1))
    assert addresses(three_steps(src)) == before
    (src / "run.sh").chmod(0o644)
    assert addresses(three_steps(src))[1] != before[1]


def test_a_changed_step_changes_its_address_and_later_ones_only() -> None:
    base = ImageDefinition(FromImage(ROOT)).add(RunCommands(["echo one"]))
    a = addresses(base.add(RunCommands(["echo two"])).add(Env({"A": "1"})))
    b = addresses(base.add(RunCommands(["echo 2"])).add(Env({"A": "1"})))
    assert a[0] == b[0]
    assert a[1] != b[1]
    assert a[2] != b[2]


def test_labels_and_roots_are_part_of_the_identity() -> None:
    step = RunCommands(["true"])
    plain = addresses(ImageDefinition(FromImage(ROOT)).add(step))
    labelled = addresses(ImageDefinition(FromImage(ROOT), labels={"x": "1"}).add(step))
    assert plain != labelled
    assert definition.root_address(ROOT, ()) != definition.root_address("sha256:" + "1" * 64, ())


def test_the_build_ca_changes_the_dockerfile_but_not_the_address(tmp_path: Path) -> None:
    ca = buildca.BuildCA(pem="-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----", source="t")
    defn = ImageDefinition(FromImage(ROOT)).add(PipInstall(["six"]))
    assert addresses(defn) == addresses(defn, ca)
    plain, wrapped = defn.steps[0].prepare(None), defn.steps[0].prepare(ca)
    assert plain.instructions == ("RUN python -m pip install six",)
    assert not plain.uses_build_arg
    assert wrapped.uses_build_arg
    assert "SSL_CERT_FILE" in wrapped.instructions[0]
    assert wrapped.instructions[0].endswith("exit $_rc")
    assert "(python -m pip install six)" in wrapped.instructions[0]


def test_steps_render_as_modal_renders_them() -> None:
    opts = PipOptions(index_url="https://example.invalid/simple", pre=True, extra_options="--no-deps")
    pip = PipInstall(["torch==2.1", "numpy"], options=opts).prepare(None)
    assert pip.instructions == (
        "RUN python -m pip install numpy torch==2.1 --index-url https://example.invalid/simple --pre --no-deps",
    )
    apt = AptInstall(["git", "curl"]).prepare(None)
    assert apt.instructions == ("RUN apt-get update", "RUN apt-get install -y git curl")
    env = Env({"GREETING": "hello world"}).prepare(None)
    assert env.instructions == ("ENV GREETING='hello world'",)
    run = RunCommands(["echo $X"], env={"X": "secret-value"}).prepare(None)
    assert run.instructions == ("RUN echo $X",)  # the value goes to the step's container, never the Dockerfile
    assert run.env == (("X", "secret-value"),) and "secret-value" not in repr(run)


def test_pip_install_refuses_options_among_packages() -> None:
    with pytest.raises(InvalidError, match="extra_options"):
        PipInstall(["--upgrade", "six"])


def test_a_build_step_after_a_mount_layer_is_refused(tmp_path: Path) -> None:
    src = tree(tmp_path)
    defn = ImageDefinition(FromImage(ROOT)).add(RunCommands(["true"])).add_mount(LocalDir(src, "/app"))
    assert addresses(defn) == addresses(ImageDefinition(FromImage(ROOT)).add(RunCommands(["true"])))
    with pytest.raises(InvalidError, match=r"copy=True"):
        defn.add(RunCommands(["true"]))


def test_remote_paths_must_be_absolute(tmp_path: Path) -> None:
    with pytest.raises(InvalidError, match="absolute"):
        LocalFile(tmp_path / "x", "relative/x")


async def _tar_bytes(src: Path) -> bytes:
    entries = await asyncio.to_thread(scan_tree, str(src), "files")
    return b"".join([chunk async for chunk in stream_tar(entries)])


async def test_context_tars_are_deterministic(tmp_path: Path) -> None:
    src = tree(tmp_path)
    first = await _tar_bytes(src)
    os.utime(src / "pkg" / "a.py", (12345, 12345))
    assert await _tar_bytes(src) == first
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == ["files", "files/pkg", "files/pkg/a.py", "files/run.sh"]
    assert all(m.mtime == FIXED_MTIME and m.uid == 0 and m.gid == 0 and m.uname == "" for m in members.values())
    assert members["files/run.sh"].mode == 0o755


async def test_a_file_changed_after_the_scan_fails_the_stream(tmp_path: Path) -> None:
    src = tree(tmp_path)
    entries = await asyncio.to_thread(scan_tree, str(src), "files")
    (src / "pkg" / "a.py").write_text("A = 3\n")
    with pytest.raises(Exception, match="changed while it was being sent"):
        _ = [chunk async for chunk in stream_tar(entries)]


def test_ignore_applies_to_files_and_keeps_the_directories_that_hold_kept_files(tmp_path: Path) -> None:
    src = tree(tmp_path)
    (src / "node_modules" / "x").mkdir(parents=True)
    (src / "node_modules" / "x" / "i.js").write_text("")
    only_py = PatternMatcher.from_patterns(["**", "!**/*.py"])
    names = [e.name for e in scan_tree(str(src), "d", only_py)]
    assert names == ["d", "d/pkg", "d/pkg/a.py"]
    no_modules = PatternMatcher.from_patterns(["node_modules", "# comment", ""])
    assert "d/node_modules/x/i.js" not in [e.name for e in scan_tree(str(src), "d", no_modules)]


def test_patterns_follow_dockerignore_rules() -> None:
    m = PatternMatcher.from_patterns(["*.log", "build/", "**/tmp", "!keep.log"])
    assert m(PurePosixPath("a.log"))
    assert not m(PurePosixPath("keep.log"))
    assert not m(PurePosixPath("sub/a.log"))  # "*" stays within one component
    assert m(PurePosixPath("build/x/y.o"))
    assert m(PurePosixPath("deep/er/tmp/f"))
    assert not m(PurePosixPath("src/main.py"))


def test_python_versions_follow_modal_validation() -> None:
    assert pyversions.parse("3.11") == pyversions.PythonRequest("3.11", None, False)
    assert pyversions.parse("3.13.2").full == "3.13.2"
    assert pyversions.parse(None).implicit
    with pytest.raises(TypeError, match="not a float"):
        pyversions.parse(3.11)  # type: ignore[arg-type]
    with pytest.raises(InvalidError, match="Invalid Python version"):
        pyversions.parse("python3")
    with pytest.raises(InvalidError, match=r"Unsupported Python version: '3\.9'"):
        pyversions.parse("3.9")
    with pytest.raises(InvalidError, match="Free threaded"):
        pyversions.parse("3.14t")


def test_versions_debian_lacks_get_an_error_listing_what_is_available() -> None:
    with pytest.raises(InvalidError) as info:
        pyversions.offline_series(pyversions.parse("3.12"), "registry down")
    text = str(info.value)
    assert "3.11 (bookworm" in text and "3.13 (trixie" in text
    assert "no Debian release packages it" in text and "registry down" in text
    with pytest.raises(InvalidError, match="only Debian testing"):
        pyversions.offline_series(pyversions.parse("3.14"))
    with pytest.raises(InvalidError, match="patch release"):
        pyversions.offline_series(pyversions.parse("3.11.8"))
    assert pyversions.offline_series(pyversions.parse("3.13")) == "3.13"
    implicit_missing = pyversions.PythonRequest("3.12", None, implicit=True)
    assert pyversions.offline_series(implicit_missing) == pyversions.FALLBACK_SERIES


def test_the_build_ca_must_be_a_certificate_file(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n")
    with pytest.raises(InvalidError, match="private key"):
        buildca.BuildCA.from_file(str(key))
    with pytest.raises(InvalidError, match="cannot be read"):
        buildca.BuildCA.from_file(str(tmp_path / "missing.pem"))
    junk = tmp_path / "junk"
    junk.write_text("hello")
    with pytest.raises(InvalidError, match="no PEM certificate"):
        buildca.BuildCA.from_file(str(junk))


def test_prepared_steps_are_values() -> None:
    assert isinstance(RunCommands(["true"]).prepare(None), Prepared)
    assert RunCommands(["true"]) == RunCommands(("true",))


def test_a_failed_build_claims_only_the_images_it_committed() -> None:
    state = BuildState()
    for line in [
        "Step 1/4 : FROM sha256:0d5f06cf0096",
        " ---> 0d5f06cf0096",
        "Step 2/4 : RUN echo cached",
        " ---> Using cache",
        " ---> 111111111111",
        "Step 3/4 : RUN echo new",
        " ---> Running in 2a2a2a2a2a2a",
        "Removing intermediate container 2a2a2a2a2a2a",
        " ---> 222222222222",
        "Step 4/4 : RUN exit 1",
    ]:
        state.observe(line)
    assert state.intermediates == ["222222222222"]
    assert (state.step, state.steps, state.instruction) == (4, 4, "RUN exit 1")
