"""Secrets: the local store (private files), the managers, from_name/from_dotenv/from_local_environ reaching the
environment of the entrypoint and of exec, Modal's errors, and values kept out of labels and the library's logs."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
from pathlib import Path

import pytest

import sandbox_core as sc
from sandbox_core import exception as exc

from ..conftest import container_id

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]

VALUE = "s3cr3t-value-9f1c"


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def _env_of(sb: sc.Sandbox, *names: str, secrets: list[sc.Secret] | None = None) -> list[str]:
    p = await sb.exec("sh", "-c", " ".join(f'echo "${n}";' for n in names), secrets=secrets)
    return (await p.stdout.read()).splitlines()


async def test_store_files_are_private_and_managed(secret_store: Path) -> None:
    await sc.Secret.objects.create("db", {"USER": "app", "PASSWORD": VALUE})
    path = secret_store / "db.json"
    assert _mode(path) == 0o600 and _mode(secret_store) == 0o700
    assert json.loads(path.read_text())["env"] == {"USER": "app", "PASSWORD": VALUE}
    with pytest.raises(exc.AlreadyExistsError, match="Secret 'db' already exists"):
        await sc.Secret.objects.create("db", {"X": "1"})
    await sc.Secret.objects.create("db", {"X": "1"}, allow_existing=True)  # kept as it was
    assert sc.Secret.from_name("db").env == {"USER": "app", "PASSWORD": VALUE}
    await sc.Secret.objects.create("other", {})
    listed = await sc.Secret.objects.list()
    assert [s.name for s in listed] == ["other", "db"] and all(s.object_id.startswith("st-") for s in listed)
    assert VALUE not in repr(listed) and VALUE not in repr(sc.Secret.from_name("db"))
    info = await sc.Secret.from_name("db").info()
    assert info.name == "db" and info.created_by and info.created_at.tzinfo is not None
    await sc.Secret.objects.delete("other")
    with pytest.raises(exc.NotFoundError, match="Secret 'other' not found"):
        await sc.Secret.objects.delete("other")
    await sc.Secret.objects.delete("other", allow_missing=True)
    with pytest.raises(exc.InvalidError, match=r"Invalid Secret name: 'a b'\."):
        await sc.Secret.objects.create("a b", {})
    with pytest.raises(exc.InvalidError, match="must be a dict"):
        await sc.Secret.objects.create("typed", {"A": 1})  # type: ignore[dict-item]


async def test_a_readable_store_file_is_refused(secret_store: Path) -> None:
    await sc.Secret.objects.create("loose", {"A": "1"})
    os.chmod(secret_store / "loose.json", 0o644)
    with pytest.raises(exc.PermissionDeniedError, match="must belong to you and be private"):
        await sc.Secret.from_name("loose").hydrate()


async def test_update_merges_into_the_stored_secret(secret_store: Path) -> None:
    await sc.Secret.objects.create("svc", {"A": "1", "B": "2"})
    s = sc.Secret.from_name("svc")
    await s.update({"B": "3", "C": "4"})
    assert s.env == {"A": "1", "B": "3", "C": "4"}
    with pytest.raises(exc.InvalidError, match="must be a dict"):
        await s.update({"D": 5})  # type: ignore[dict-item]
    with pytest.raises(exc.InvalidError, match=r"use it on a Secret\.from_name"):
        await sc.Secret.from_dict({"A": "1"}).update({"B": "2"})


async def test_missing_secret_and_missing_keys_fail_when_used(app: sc.App, secret_store: Path) -> None:
    missing = sc.Secret.from_name("nope")  # lazy: nothing is read yet
    with pytest.raises(exc.NotFoundError, match="Secret 'nope' not found"):
        await sc.Sandbox.create(app=app, secrets=[missing])
    await sc.Secret.objects.create("partial", {"a": "1", "b": "2"})
    with pytest.raises(exc.ConflictError, match="Secret is missing key\\(s\\): c, d"):
        await sc.Secret.from_name("partial", required_keys=["a", "c", "d"]).hydrate()
    assert (await sc.Secret.from_name("partial", required_keys=["a", "b"]).hydrate()).is_hydrated
    with pytest.raises(exc.InvalidError, match="environment_name is not supported"):
        sc.Secret.from_name("partial", environment_name="dev")


async def test_secrets_from_the_store_a_dotenv_file_and_the_environment_reach_entrypoint_and_exec(
    app: sc.App, secret_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await sc.Secret.objects.create("store", {"FROM_STORE": VALUE})
    project = tmp_path / "project" / "deep" / "er"
    project.mkdir(parents=True)
    (tmp_path / "project" / ".env").write_text(f'export FROM_DOTENV="{VALUE}-dotenv"\nEMPTY=\n# a comment\n')
    monkeypatch.setenv("FROM_LOCAL", f"{VALUE}-local")
    secrets = [
        sc.Secret.from_name("store"),
        sc.Secret.from_dotenv(project),  # walks up to the .env file
        sc.Secret.from_local_environ(["FROM_LOCAL"]),
    ]
    caplog.set_level(logging.DEBUG, logger="sandbox_core")
    sb = await sc.Sandbox.create(
        "sh", "-c", 'echo "$FROM_STORE|$FROM_DOTENV|$FROM_LOCAL|${EMPTY-unset}"; sleep 300', app=app, secrets=secrets
    )
    try:
        first = await sb.stdout.__anext__()
        assert first == f"{VALUE}|{VALUE}-dotenv|{VALUE}-local|\n"
        names = ("FROM_STORE", "FROM_DOTENV", "FROM_LOCAL")
        assert await _env_of(sb, *names) == [VALUE, f"{VALUE}-dotenv", f"{VALUE}-local"]
        await sc.Secret.objects.create("exec-only", {"ONLY_EXEC": "x1"})
        assert await _env_of(sb, "ONLY_EXEC", secrets=[sc.Secret.from_name("exec-only")]) == ["x1"]
        with pytest.raises(exc.NotFoundError, match="Secret 'gone' not found"):
            await sb.exec("true", secrets=[sc.Secret.from_name("gone")])
        inspected = json.loads(
            subprocess.run(["docker", "inspect", container_id(sb)], capture_output=True, text=True, check=True).stdout
        )[0]
        labels = inspected["Config"]["Labels"]
        assert all(VALUE not in k and VALUE not in v for k, v in labels.items())
        assert [s.is_hydrated for s in secrets] == [True, True, True]
        assert secrets[0].object_id.startswith("st-")
    finally:
        await sb.terminate()
    assert caplog.records and not [r for r in caplog.records if VALUE in r.getMessage()]


async def test_dotenv_lookup_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / ".env-dev").write_text("DEV=1\n")
    (tmp_path / "a" / "file.py").write_text("")
    assert sc.Secret.from_dotenv(tmp_path / "a" / "b", filename=".env-dev").env == {"DEV": "1"}
    assert sc.Secret.from_dotenv(str(tmp_path / "a" / "file.py"), filename=".env-dev").env == {"DEV": "1"}
    monkeypatch.chdir(tmp_path / "a" / "b")
    assert sc.Secret.from_dotenv(filename=".env-dev").env == {"DEV": "1"}
    assert sc.Secret.from_dotenv(filename=".nothing-here").env == {}  # as in Modal: none found reads as empty


async def test_from_local_environ_and_from_dict_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SURELY_NOT_SET", raising=False)
    with pytest.raises(
        exc.InvalidError,
        match=r"Could not find local environment variable 'SURELY_NOT_SET' for Secret\.from_local_environ",
    ):
        sc.Secret.from_local_environ(["SURELY_NOT_SET"])
    with pytest.raises(exc.InvalidError, match=r"the env_dict argument to Secret has to be a dict\[str, Union"):
        sc.Secret.from_dict({"A": 1})  # type: ignore[dict-item]
    with pytest.raises(exc.InvalidError, match="Class Secret has no constructor"):
        sc.Secret()
    with pytest.raises(AttributeError, match="unhydrated"):
        _ = sc.Secret.from_dict({}).object_id
