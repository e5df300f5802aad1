"""The public ``Image`` surface without an engine: Modal's argument checks and messages, what each method adds to
the definition, names, context selection, pattern matchers, the snapshot/mount argument rules, and the tar
re-rooting used by snapshots and mounts."""

from __future__ import annotations

import asyncio
import io
import tarfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._engine.tar import TarReader
from sandbox_core._imagebuild import context, envbuild, names, retar
from sandbox_core._imagebuild.definition import DebianSlim, FromImage, Published
from sandbox_core._snapshots import absolute, check_encryption_key, check_ttl
from sandbox_core.image import mount_source


def defn(image: sc.Image):  # type: ignore[no-untyped-def]
    return image._defn


def test_direct_construction_is_refused() -> None:
    with pytest.raises(exc.InvalidError, match="has no constructor"):
        sc.Image()


def test_each_builder_method_adds_its_step_and_returns_a_new_image(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    base = sc.Image.debian_slim()
    chain = (
        base.apt_install("jq")
        .pip_install("six", ["idna"])
        .run_commands("echo hi", env={"A": "1", "B": None})
        .env({"K": "v"})
        .workdir("/work")
        .entrypoint(["sh", "-c"])
        .cmd(["sleep", "10"])
        .shell(["/bin/bash", "-c"])
        .dockerfile_commands("RUN true")
        .add_local_file(tmp_path / "f.txt", "/data/", copy=True)
    )
    kinds = [type(s).__name__ for s in defn(chain).steps]
    assert kinds == [
        "AptInstall",
        "PipInstall",
        "RunCommands",
        "Env",
        "Workdir",
        "Entrypoint",
        "Entrypoint",
        "DockerfileCommands",
        "DockerfileCommands",
        "CopyLocal",
    ]
    assert defn(base).steps == ()  # the original is unchanged
    assert defn(chain).steps[1].packages == ("six", "idna")
    assert defn(chain).steps[2].env == (("A", "1"),)  # None drops the key, as Modal's Secret.from_dict
    assert defn(chain).steps[-1].source.remote == "/data/f.txt"  # a trailing "/" keeps the file's name
    assert repr(chain).startswith("Image.debian_slim().apt_install('jq').pip_install('six', 'idna')")


def test_empty_package_lists_return_the_same_image() -> None:
    img = sc.Image.debian_slim()
    assert img.pip_install() is img
    assert img.apt_install() is img
    assert img.run_commands() is img
    assert img.uv_pip_install() is img


def test_modal_argument_errors() -> None:
    img = sc.Image.debian_slim()
    with pytest.raises(exc.InvalidError, match="pip_install: packages must only contain strings"):
        img.pip_install(1)  # type: ignore[arg-type]
    with pytest.raises(exc.InvalidError, match="cannot contain other arguments; try the `extra_options`"):
        img.pip_install("--upgrade")
    with pytest.raises(exc.InvalidError, match=r"Image ENV variables must be strings. Invalid keys: \['N'\]"):
        img.env({"N": 1})  # type: ignore[dict-item]
    with pytest.raises(exc.InvalidError, match=r"entrypoint_commands must be a list of strings\."):
        img.entrypoint("sh")  # type: ignore[arg-type]
    with pytest.raises(exc.InvalidError, match=r"Image CMD must be a list of strings\."):
        img.cmd("sleep 1")  # type: ignore[arg-type]
    with pytest.raises(exc.InvalidError, match="currently only supports absolute remote_path values"):
        img.add_local_file("x", "relative/x")
    with pytest.raises(exc.InvalidError, match=r"Local Python modules must be specified as strings\."):
        img.add_local_python_source(1)  # type: ignore[arg-type]
    with pytest.raises(exc.InvalidError, match="requirements must be None or a list of strings"):
        img.uv_pip_install("x", requirements="r.txt")  # type: ignore[arg-type]
    with pytest.raises(exc.InvalidError, match="No secrets provided"):
        img.pip_install_private_repos("github.com/a/b", git_user="u")
    with pytest.raises(TypeError, match=r"The `python_version` argument should be a string, not a float\."):
        sc.Image.debian_slim(3.11)  # type: ignore[arg-type]
    with pytest.raises(exc.InvalidError, match=r"Free threaded Python is not supported with Image\.micromamba"):
        sc.Image.micromamba("3.13t")


def test_what_the_local_builder_cannot_honour_is_refused_by_name() -> None:
    img = sc.Image.debian_slim()
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: img.pip_install("six", gpu="T4"), r"pip_install\(gpu=\.\.\.\)"),
        (lambda: img.run_commands("true", volumes={"/v": object()}), r"run_commands\(volumes=\.\.\.\)"),
        (lambda: sc.Image.from_registry("x:1", add_python="3.11"), r"from_registry\(add_python=\.\.\.\)"),
        (lambda: sc.Image.from_registry("x:1", image_registry_config=1), r"image_registry_config=\.\.\."),
        (lambda: sc.Image.from_dockerfile("Dockerfile", gpu="A10G"), r"from_dockerfile\(gpu=\.\.\.\)"),
        (lambda: img.run_function(print), "run_function.*not supported by the local backend"),
        (lambda: sc.Image.from_name("x", environment_name="prod"), "no environments"),
        (lambda: sc.Image.from_name("prod/x"), "no environments"),
        (lambda: sc.Image.from_id("im-abc"), "im-<64 hex digits>"),
    ]
    for call, message in cases:
        with pytest.raises(exc.InvalidError, match=message):
            call()
    with pytest.raises(TypeError, match="singular 'secret'"):
        sc.Image.from_aws_ecr("x:1", secrets=[])


def test_a_build_step_after_a_mount_layer_is_refused_with_modals_text(tmp_path: Path) -> None:
    img = sc.Image.debian_slim().add_local_dir(tmp_path, "/src")
    with pytest.raises(exc.InvalidError, match=r"Run `image\.add_local_\*` commands last"):
        img.run_commands("true")
    assert defn(img).mounts and not defn(img).steps
    assert defn(img.add_local_file(__file__, "/x.py")).mounts[-1].remote == "/x.py"  # more mounts are fine


def test_object_id_and_hydration_before_any_build() -> None:
    img = sc.Image.debian_slim()
    with pytest.raises(AttributeError, match="unhydrated"):
        _ = img.object_id
    assert not img.is_hydrated
    with pytest.raises(exc.ExecutionError, match="cannot currently be hydrated on demand"):
        asyncio.run(img.hydrate())
    given_id = "im-" + "a" * 64
    by_id = sc.Image.from_id(given_id)
    assert by_id.object_id == given_id and not by_id.is_hydrated  # lazily hydrated, as Modal
    with pytest.raises(exc.InvalidError, match=r"has not been created yet. Call `.build\(\)` first."):
        asyncio.run(img.publish("name"))


def test_roots_of_the_constructors() -> None:
    assert defn(sc.Image.debian_slim("3.11")).root == DebianSlim("3.11")
    reg = defn(sc.Image.from_registry("busybox:1", setup_dockerfile_commands=["RUN true"]))
    assert reg.root == FromImage("busybox:1") and len(reg.steps) == 1
    assert defn(sc.Image.from_name("thing")).root == Published("thing:latest")
    assert defn(sc.Image.from_scratch()).is_empty
    assert defn(sc.Image.from_aws_ecr("1.dkr.ecr/x:1")).root.credentials == "AWS ECR"
    assert defn(sc.Image.debian_slim(force_build=True)).force_root
    forced = sc.Image.debian_slim().pip_install("six", force_build=True)
    assert forced.force_build and forced.apt_install("jq").force_build  # Modal: force propagates to later steps


def test_names_follow_modals_rules_and_map_injectively_to_engine_tags() -> None:
    assert names.parse("thing") == "thing:latest"
    assert names.parse("thing:v1") == "thing:v1"
    with pytest.raises(exc.InvalidError, match="Image name cannot start with 'im-'"):
        names.parse("im-thing")
    with pytest.raises(exc.InvalidError, match="Invalid Image name: 'bad name'"):
        names.parse("bad name")
    with pytest.raises(exc.InvalidError, match="Invalid Image tag name"):
        names.parse("thing:bad tag")
    assert names.engine_ref("thing:v1") == ("sandbox-core/published/thing", "v1")
    assert names.engine_ref("Thing:.hidden") == ("sandbox-core/published/x--" + b"Thing".hex(), "_dhidden")


_NAME = st.from_regex(r"[a-zA-Z0-9_.\-]{1,20}", fullmatch=True).filter(lambda n: not n.startswith("im-"))


@given(a=st.tuples(_NAME, _NAME), b=st.tuples(_NAME, _NAME))
def test_distinct_names_never_share_an_engine_reference(a: tuple[str, str], b: tuple[str, str]) -> None:
    ra, rb = names.engine_ref(":".join(a)), names.engine_ref(":".join(b))
    assert (ra == rb) == (a == b)


def test_copy_patterns_select_the_context_as_modal_does(tmp_path: Path) -> None:
    lines = [
        "FROM x",
        "COPY a.txt /a",
        "COPY --from=other /b /b",
        "COPY --chmod=644 src/ \\",
        "  lib/ /dst/",
        "ADD z /z",
    ]
    assert context.copy_patterns(lines) == ["a.txt", "src/", "lib/"]
    assert context.copy_patterns(["COPY . /app"]) == ["./**"]
    with pytest.raises(exc.InvalidError, match="special flags/arguments/variables are not supported"):
        context.copy_patterns(["COPY $SRC /x"])
    (tmp_path / ".dockerignore").write_text("*.log\n")
    keep = context.context_filter(["COPY . /app"], tmp_path, context.AUTO_DOCKERIGNORE)
    assert keep is not None
    assert keep(PurePosixPath("x.log")) and not keep(PurePosixPath("x.py"))
    assert context.context_filter(["RUN true"], tmp_path, None) is None  # nothing copied: no context at all


def test_file_pattern_matcher_and_its_inversion() -> None:
    m = sc.FilePatternMatcher("**/*.py", "!keep/*.py")
    assert m(Path("a/b.py")) and not m(Path("keep/b.py")) and not m(Path("a/b.txt"))
    inverted = ~sc.FilePatternMatcher("**/*.py")
    assert not inverted(Path("pkg/mod.py")) and inverted(Path("pkg/data.json"))
    assert repr(inverted) == "~FilePatternMatcher('**/*.py')"


def test_env_reaches_shell_form_runs_only() -> None:
    lines = envbuild.dockerfile_lines(("FROM x", "RUN echo $A \\", "  && true", "ENV B=1"), "m", root=True)
    assert lines == ("FROM x", "RUN echo $A && true", "ENV B=1")
    assert envbuild.segments(lines[1:]) == (envbuild.Shell("echo $A && true"), envbuild.Lines(("ENV B=1",)))
    with pytest.raises(exc.InvalidError, match="exec-form"):
        envbuild.dockerfile_lines(('RUN ["echo"]',), "m", root=False)


def test_snapshot_and_mount_argument_rules() -> None:
    assert check_ttl(None) is None and check_ttl(5) == 5.0
    for bad in (0, -1):
        with pytest.raises(exc.InvalidError, match="ttl must be positive, or None to disable expiry"):
            check_ttl(bad)
    with pytest.raises(TypeError, match="_experimental_encryption_key must be bytes"):
        check_encryption_key("k")
    for key, message in ((b"", "must not be empty"), (b"k" * 15, "at least 16 bytes"), (b"k" * 513, "at most 512")):
        with pytest.raises(exc.InvalidError, match=message):
            check_encryption_key(key)
    with pytest.raises(exc.InvalidError, match="not supported by the local backend"):
        check_encryption_key(b"k" * 16)
    assert absolute(PurePosixPath("/a/b/../c/"), "Mount") == "/a/c"
    with pytest.raises(exc.InvalidError, match="Mount path must be absolute; got: a/b"):
        absolute("a/b", "Mount")


def test_mount_source_checks_in_modals_order(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"Sandbox.mount_image\(image=...\) expects an Image object, got 'x'"):
        mount_source("x")
    with_mounts = sc.Image.debian_slim().add_local_dir(tmp_path, "/src")
    with pytest.raises(exc.InvalidError) as info:
        mount_source(with_mounts)
    assert all(part in str(info.value) for part in ("add_local*", "copy=True", ".build()"))
    assert mount_source(sc.Image.from_scratch()) is None
    with pytest.raises(exc.InvalidError, match=r"prebuilt using `image\.build\(\)`"):
        mount_source(sc.Image.debian_slim())
    assert mount_source(sc.Image.from_id("im-" + "b" * 64)) == "sha256:" + "b" * 64


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self._buf = io.BytesIO(data)

    async def read(self, n: int) -> bytes:
        return self._buf.read(n)

    async def readexactly(self, n: int) -> bytes:
        data = self._buf.read(n)
        assert len(data) == n
        return data


def _tar(members: list[tuple[str, str, bytes | str]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind, content in members:
            info = tarfile.TarInfo(name)
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, str(content)
                tar.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, str(content)
                tar.addfile(info)
            else:
                data = content if isinstance(content, bytes) else content.encode()
                info.size, info.mode = len(data), 0o755 if kind == "init" else 0o644
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


async def _rewrite(data: bytes, rename: retar.Rename, **kw: bool) -> list[tuple[str, bytes]]:
    body = b"".join([chunk async for chunk in retar.rewrite(TarReader(_Bytes(data)), rename, **kw)])
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        return [(m.name, tar.extractfile(m).read() if m.isfile() else m.linkname.encode()) for m in tar]  # type: ignore[union-attr]


def test_a_directory_archive_is_rerooted_with_hard_links_kept() -> None:
    data = _tar(
        [("dir", "dir", ""), ("dir/a.txt", "file", "A" * 3000), ("dir/sub", "dir", ""), ("dir/h", "hard", "dir/a.txt")]
    )
    out = asyncio.run(_rewrite(data, retar.strip_first))
    assert out == [(".", b""), ("a.txt", b"A" * 3000), ("sub", b""), ("h", b"a.txt")]


def test_an_image_root_loses_the_engines_init_placeholders_but_keeps_real_content() -> None:
    data = _tar(
        [
            ("/", "dir", ""),
            ("/.dockerenv", "init", ""),
            ("/dev", "dir", ""),
            ("/dev/console", "init", ""),
            ("/dev/pts", "dir", ""),
            ("/etc", "dir", ""),
            ("/etc/hostname", "init", ""),
            ("/etc/mtab", "link", "/proc/mounts"),
            ("/etc/passwd", "file", "root:x:0:0"),
            ("/proc", "dir", ""),
            ("/sub", "dir", ""),
            ("/sub/a.txt", "file", "hi"),
        ]
    )
    out = asyncio.run(_rewrite(data, retar.under(b"mnt"), without_init_layer=True))
    assert [name for name, _ in out] == ["mnt", "mnt/etc", "mnt/etc/passwd", "mnt/sub", "mnt/sub/a.txt"]


def test_the_recipes_render_as_modal_does(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "p"\ndependencies = ["b>=1", "a"]\n[project.optional-dependencies]\nx = ["c"]\n'
    )
    (tmp_path / "poetry.lock").write_text("")
    img = sc.Image.debian_slim()
    pyproject = defn(img.pip_install_from_pyproject(str(tmp_path / "pyproject.toml"), ["x"])).steps[-1]
    assert pyproject.lines == ("RUN python -m pip install a 'b>=1' c",)
    poetry = defn(img.poetry_install_from_file(str(tmp_path / "pyproject.toml"), with_=["dev"])).steps[-1]
    assert poetry.lines[-1] == (
        "RUN cd /tmp/poetry && poetry config virtualenvs.create false && poetry install --no-root --with dev --compile"
    )
    assert dict(poetry.context_files) == {
        "/.pyproject.toml": str(tmp_path / "pyproject.toml"),
        "/.poetry.lock": str(tmp_path / "poetry.lock"),
    }
    uv = defn(img.uv_sync(str(tmp_path), groups=["g"])).steps[-1]
    assert uv.lines[-2:] == (
        "RUN /.uv/uv sync --project=/.uv --no-install-workspace --compile-bytecode --group=g",
        "ENV PATH=/.uv/.venv/bin:$PATH",
    )
    mamba = defn(sc.Image.micromamba("3.11").micromamba_install("numpy", channels=["conda-forge"])).steps
    assert mamba[-1].lines == ("RUN micromamba install numpy -c conda-forge --yes",)
    with pytest.raises(exc.InvalidError, match="1 out of 1 given repository refs are invalid"):
        img.pip_install_private_repos("bitbucket.org/a/b", git_user="u", secrets=[sc.Secret.from_dict({"T": "x"})])
    (tmp_path / "empty.toml").write_text("[tool.x]\n")
    with pytest.raises(exc.InvalidError, match=r"No \[project\.dependencies\] section"):
        img.pip_install_from_pyproject(str(tmp_path / "empty.toml"))
