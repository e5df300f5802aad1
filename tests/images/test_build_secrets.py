"""Build steps' ``env=``/``secrets=``: a step's commands see the values, and the values are kept nowhere else — not
in the image's files or configuration, not in ``docker history``, not in the build output, not in an error."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pytest

import sandbox_core as sc
from sandbox_core._engine import EngineAPI
from sandbox_core._imagebuild import builder, valuekey
from sandbox_core._imagebuild.definition import FromDockerfile, FromImage, ImageDefinition
from sandbox_core._imagebuild.masking import Mask
from sandbox_core._imagebuild.modal_args import build_env
from sandbox_core._imagebuild.report import BuildOutput
from sandbox_core._imagebuild.steps import Commands, DockerfileCommands, Entrypoint, Env, RunCommands, Step
from sandbox_core.exception import ImageBuildError, InvalidError

from ..conftest import BUSYBOX, NOSHELL
from .conftest import RUN_FILTER, RUN_LABELS, docker, run_in

#: A fresh value per run: found nowhere unless this run's build put it there.
SECRET = f"s3cr3t-{uuid.uuid4().hex}"
DIGEST = hashlib.sha256(SECRET.encode()).hexdigest()


#: ``docker run`` options that label a throw-away container for this run.
RUN_ARGS = ("--label", "sandbox-core.owner=sandbox-core", "--label", RUN_FILTER)


def busybox() -> ImageDefinition:
    return ImageDefinition(FromImage(BUSYBOX), labels={**RUN_LABELS, "sandbox-core.test-salt": uuid.uuid4().hex})


def secret_env() -> dict[str, str]:
    """What ``run_commands(secrets=[Secret.from_dict(...)])`` gives its step."""
    return build_env(None, [sc.Secret.from_dict({"API_TOKEN": SECRET})])


def assert_nowhere(image: str, *texts: str) -> None:
    """The secret is in none of ``texts``, nor in the image's history, configuration or files."""
    for text in texts:
        assert SECRET not in text
    assert SECRET not in docker("history", "--no-trunc", image)
    assert SECRET not in docker("image", "inspect", image)
    found = docker(
        "run",
        "--rm",
        *RUN_ARGS,
        "--entrypoint",
        "sh",
        image,
        "-c",
        f"grep -rl {SECRET} / --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev || true",
    )
    assert found.strip() == ""


async def test_run_commands_sees_the_secret_which_is_kept_nowhere(eng: EngineAPI) -> None:
    defn = (
        busybox()
        .add(
            RunCommands(
                ['printf %s "$API_TOKEN" | sha256sum | cut -d" " -f1 > /digest', "echo token=$API_TOKEN"],
                env=secret_env(),
            )
        )
        .add(Env({"AFTER": "kept"}))
    )
    log: list[str] = []
    status: list[str] = []
    built = await builder.build(eng, defn, on_line=BuildOutput(log.append, status.append))
    assert run_in(built.image_id, "cat", "/digest").strip() == DIGEST
    assert "token=***" in log  # the command printed it: masked
    info = await eng.images.inspect(built.image_id)
    assert info is not None and "API_TOKEN" not in info.env and info.env["AFTER"] == "kept"
    parent = await eng.images.inspect(BUSYBOX)
    assert parent is not None
    assert (info.cmd, info.entrypoint, info.user) == (parent.cmd, parent.entrypoint, parent.user)
    assert_nowhere(built.image_id, "\n".join(log), "\n".join(status))
    again: list[str] = []
    assert (await builder.build(eng, defn, on_line=again.append)).image_id == built.image_id and again == []


async def test_a_failing_secret_step_masks_its_error_and_leaves_nothing(eng: EngineAPI) -> None:
    defn = busybox()
    salt = dict(defn.labels)["sandbox-core.test-salt"]
    defn = defn.add(RunCommands(["echo made > /a", "echo leaking $API_TOKEN; exit 4"], env=secret_env()))
    log: list[str] = []
    with pytest.raises(ImageBuildError) as info:
        await builder.build(eng, defn, on_line=log.append)
    text = str(info.value)
    assert "step 1 of 1" in text and "`RUN echo leaking $API_TOKEN; exit 4` returned a non-zero code: 4" in text
    assert "leaking ***" in text.split("--- last lines of the build log ---")[1]
    assert SECRET not in text and SECRET not in "\n".join(log)
    assert docker("ps", "-a", "-q", "--filter", f"label=sandbox-core.test-salt={salt}").strip() == ""
    assert docker("images", "-a", "-q", "--filter", f"label=sandbox-core.test-salt={salt}").strip() == ""


async def test_a_copy_between_runs_and_the_build_ca_reach_the_step(
    eng: EngineAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "req.txt").write_text("copied\n")
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("SANDBOX_CORE_BUILD_CA_BUNDLE", str(bundle))
    step = Commands(
        "recipe",
        (),
        (
            "RUN echo one > /one",
            "COPY /req.txt /req.txt",
            'RUN grep -c MIIB"f"ake "$SSL_CERT_FILE" > /ca && cat /req.txt > /two '
            '&& printf %s "$API_TOKEN" | wc -c > /len',
        ),
        (("/req.txt", str(tmp_path / "req.txt")),),
        env=secret_env(),
    )
    built = await builder.build(eng, busybox().add(step))
    found = run_in(built.image_id, "cat", "/one", "/two", "/len", "/ca").split()
    assert found == ["one", "copied", str(len(SECRET)), "1"]
    assert "MIIBfake" not in docker("history", "--no-trunc", built.image_id)
    assert_nowhere(built.image_id)


async def test_from_dockerfile_with_a_secret(eng: EngineAPI, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        f'FROM {BUSYBOX}\nENV STAGE=one\n# a comment\nRUN printf %s "$API_TOKEN" \\\n    | sha256sum > /d\nWORKDIR /w\n'
    )
    root = FromDockerfile(tmp_path / "Dockerfile", tmp_path, env=tuple(secret_env().items()))
    built = await builder.build(
        eng, ImageDefinition(root, labels={**RUN_LABELS, "sandbox-core.test-salt": SECRET[-8:]})
    )
    assert run_in(built.image_id, "cat", "/d").split()[0] == DIGEST
    info = await eng.images.inspect(built.image_id)
    assert info is not None and info.workdir == "/w" and info.env["STAGE"] == "one"
    assert_nowhere(built.image_id)


def test_dockerfile_forms_the_values_cannot_reach_are_refused() -> None:
    env = {"K": "v"}
    with pytest.raises(InvalidError, match="exec-form"):
        DockerfileCommands(['RUN ["echo", "x"]'], env=env).prepare(None)
    with pytest.raises(InvalidError, match="ARG"):
        DockerfileCommands(["ARG X=1", "RUN echo $X"], env=env).prepare(None)
    with pytest.raises(InvalidError, match="single-stage"):
        DockerfileCommands(["FROM busybox AS b", "RUN true"], env=env).prepare(None)


async def test_a_name_a_shell_cannot_export_is_refused(eng: EngineAPI) -> None:
    with pytest.raises(InvalidError, match="not valid environment variable names"):
        await builder.build(eng, busybox().add(RunCommands(["true"], env={"A-B": "x"})))


def test_mask_replaces_values_and_their_lines() -> None:
    mask = Mask(["abcdef", "line-one\nline-two", "ab"])
    assert mask("x abcdef y line-two ab") == "x *** y *** ab"
    assert json.dumps(mask("")) == '""'


def test_the_address_covers_a_value_without_revealing_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CORE_LOCK_DIR", str(tmp_path))
    monkeypatch.setattr(valuekey, "_key", None)
    step = RunCommands(["true"], env={"API_TOKEN": SECRET})
    material = step.prepare(None).material
    assert SECRET not in material and hashlib.sha256(SECRET.encode()).hexdigest() not in material
    assert material == step.prepare(None).material
    assert material != RunCommands(["true"], env={"API_TOKEN": SECRET + "x"}).prepare(None).material
    (key,) = tmp_path.glob("build-values-*.key")
    assert key.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    "before",
    [
        [Entrypoint(["sh", "-c"])],  # the step's container must not run its command through this entrypoint
        [DockerfileCommands(["CMD []"])],  # neither command nor entrypoint: the commit must not keep the step's
        [DockerfileCommands(['SHELL ["/bin/sh", "-ec"]'])],  # the step runs under it, and the image keeps it
    ],
    ids=["entrypoint", "no-command", "shell"],
)
async def test_the_parent_configuration_survives_a_secret_step(eng: EngineAPI, before: list[Step]) -> None:
    defn = busybox()
    for step in before:
        defn = defn.add(step)
    parent = await builder.build(eng, defn)
    built = await builder.build(
        eng, defn.add(RunCommands(['echo "$API_TOKEN" > /dev/null; touch /ran'], env=secret_env()))
    )
    old, new = await eng.images.inspect(parent.image_id), await eng.images.inspect(built.image_id)
    assert old is not None and new is not None
    assert (new.cmd or None, new.entrypoint or None) == (old.cmd or None, old.entrypoint or None)
    assert new.shell == old.shell
    assert "/ran" in docker("run", "--rm", *RUN_ARGS, "--entrypoint", "ls", built.image_id, "/ran")
    assert_nowhere(built.image_id)


@pytest.mark.usefixtures("eng")
async def test_public_api_secret_step_under_enable_output(app: sc.App, capsys: pytest.CaptureFixture[str]) -> None:
    secret = sc.Secret.from_dict({"API_TOKEN": SECRET})
    image = sc.Image.from_registry(BUSYBOX).run_commands(
        f"echo {uuid.uuid4().hex}; echo seen=$API_TOKEN; printf %s $API_TOKEN | sha256sum > /digest",
        secrets=[secret],
    )
    capsys.readouterr()
    with sc.enable_output():
        await image.build(app)
    err = capsys.readouterr().err
    assert "seen=***" in err and SECRET not in err
    sb = await sc.Sandbox.create(app=app, image=image, timeout=60)
    try:
        p = await sb.exec("cat", "/digest")
        assert (await p.stdout.read()).split()[0] == DIGEST
        p = await sb.exec("env")
        assert SECRET not in await p.stdout.read()
    finally:
        await sb.terminate()
    assert image.object_id is not None
    assert_nowhere("sha256:" + image.object_id.removeprefix("im-"))


async def test_an_image_without_a_shell_fails_the_step_cleanly(eng: EngineAPI) -> None:
    defn = ImageDefinition(FromImage(NOSHELL), labels={**RUN_LABELS, "sandbox-core.test-salt": uuid.uuid4().hex})
    salt = dict(defn.labels)["sandbox-core.test-salt"]
    with pytest.raises(ImageBuildError, match=r"step 1 of 1, run_commands\('true'\): could not start") as info:
        await builder.build(eng, defn.add(RunCommands(["true"], env=secret_env())))
    assert SECRET not in str(info.value)
    assert docker("ps", "-a", "-q", "--filter", f"label=sandbox-core.test-salt={salt}").strip() == ""
    assert docker("images", "-a", "-q", "--filter", f"label=sandbox-core.test-salt={salt}").strip() == ""
