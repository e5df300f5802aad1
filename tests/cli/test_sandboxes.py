"""``create``, ``run``, ``ls``, ``stop``, ``sweep`` and ``image ls`` against the real engine."""

from __future__ import annotations

import signal
import subprocess

import pytest

import sandbox_core_sync as scs

from ..conftest import BUSYBOX
from .conftest import CLI, Cli

pytestmark = pytest.mark.usefixtures("engine")

LS_KEYS = {"id", "app", "app_id", "name", "tags", "state", "returncode", "created", "age_seconds", "image", "image_id"}


def test_create_prints_the_id_and_ls_shows_it(cli: Cli) -> None:
    made = cli.json("create", "--name", "listed", "--tag", "team=cli", "--tag", "n=1", "--image", BUSYBOX)
    try:
        assert set(made) == {"id", "app", "app_id", "name", "tags", "image"}
        assert made["id"].startswith("sb-") and made["app"] == cli.app and made["name"] == "listed"
        assert made["tags"] == {"team": "cli", "n": "1"}
        rows = {r["id"]: r for r in cli.json("ls")}
        row = rows[made["id"]]
        assert set(row) == LS_KEYS
        assert (row["app"], row["app_id"], row["name"]) == (cli.app, made["app_id"], "listed")
        assert (row["state"], row["returncode"]) == ("running", None)
        assert row["tags"] == {"team": "cli", "n": "1"}
        assert row["image"] == BUSYBOX and row["image_id"].startswith("im-")
        assert row["created"].endswith("Z") and 0 <= row["age_seconds"] < 120
        table = cli.ok("ls").splitlines()
        assert table[0].split() == ["ID", "APP", "NAME", "TAGS", "STATE", "AGE", "IMAGE"]
        assert any(line.split()[:5] == [made["id"], cli.app, "listed", "n=1,team=cli", "running"] for line in table)
    finally:
        cli.ok("stop", made["id"])


def test_plain_create_prints_only_the_id(cli: Cli) -> None:
    out = cli.ok("create", "sleep", "300")
    sid = out.strip()
    try:
        assert out == sid + "\n" and sid.startswith("sb-")
    finally:
        cli.ok("stop", sid)


def test_ls_filters_by_tag_and_app(cli: Cli) -> None:
    a = cli.json("create", "--tag", "pick=yes")["id"]
    b = cli.json("create", "--tag", "pick=no")["id"]
    try:
        assert [r["id"] for r in cli.json("ls", "--tag", "pick=yes")] == [a]
        assert {r["id"] for r in cli.json("ls")} >= {a, b}
        assert cli.json("ls", "--app", cli.app + "-nothing-here") == []
    finally:
        cli.ok("stop", a, b)


def test_stop_reports_137_and_ls_all_shows_the_finished_sandbox(cli: Cli) -> None:
    sid = cli.json("create", "--name", "to-stop")["id"]
    assert cli.json("stop", "--app", cli.app, "to-stop") == [{"id": sid, "returncode": 137}]
    assert sid not in {r["id"] for r in cli.json("ls")}
    row = {r["id"]: r for r in cli.json("ls", "--all")}[sid]
    assert (row["state"], row["returncode"]) == ("finished", 137)
    assert f"{sid} 137" in cli.ok("stop", sid)  # stopping a finished sandbox is a no-op reporting its code


def test_stop_looks_everything_up_before_stopping_anything(cli: Cli) -> None:
    sid = cli.json("create")["id"]
    try:
        proc = cli("stop", sid, "sb-00000000000000000000000")
        assert proc.returncode == 3
        assert proc.stderr.startswith("sandbox-core: NotFoundError: ")
        assert [r["state"] for r in cli.json("ls") if r["id"] == sid] == ["running"]
    finally:
        cli.ok("stop", sid)


def test_a_taken_name_is_a_conflict(cli: Cli) -> None:
    sid = cli.json("create", "--name", "taken")["id"]
    try:
        proc = cli("create", "--name", "taken")
        assert proc.returncode == 5
        assert proc.stderr.startswith("sandbox-core: AlreadyExistsError: ")
    finally:
        cli.ok("stop", sid)


def test_run_streams_the_output_and_exits_with_the_sandbox_code(cli: Cli) -> None:
    proc = cli("run", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert proc.returncode == 3
    assert proc.stdout == "out\n"
    assert proc.stderr == "err\n"


def test_run_past_its_timeout_exits_124(cli: Cli) -> None:
    proc = cli("run", "--timeout", "1", "sleep", "60", timeout=60)
    assert proc.returncode == 124, proc.stderr


def test_run_interrupted_terminates_its_sandbox(cli: Cli) -> None:
    proc = cli.popen("run", "--name", "interrupted", "sh", "-c", "echo started; sleep 300")
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "started\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 130
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    rows = [r for r in cli.json("ls", "--all") if r["name"] == "interrupted"]
    assert [(r["state"], r["returncode"]) for r in rows] == [("finished", 137)]


def test_sweep_reports_counts_and_everything_clears_an_app(cli: Cli) -> None:
    app = cli.app + "-sweep"
    sid = cli.json("create", "--app", app)["id"]
    counts = cli.json("sweep", "--app", app)
    assert set(counts) == {"timed_out", "removed", "records_removed", "volumes_removed"}
    assert [r["id"] for r in cli.json("ls", "--app", app)] == [sid]  # a running sandbox within its timeout stays
    cleared = cli.json("sweep", "--app", app, "--everything")
    assert cleared["removed"] == 1
    assert cli.json("ls", "--all", "--app", app) == []
    with pytest.raises(scs.exception.NotFoundError):
        scs.App.lookup(app)


def test_sweep_everything_needs_an_app(cli: Cli) -> None:
    proc = subprocess.run(
        [*CLI, "sweep", "--everything"],
        capture_output=True,
        text=True,
        env={k: v for k, v in cli.env.items() if k != "SANDBOX_CORE_APP"},
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--everything needs --app" in proc.stderr


def test_image_ls_lists_the_project_images(cli: Cli) -> None:
    rows = cli.json("image", "ls")
    by_tag = {t: r for r in rows for t in r["tags"]}
    row = by_tag[BUSYBOX]
    assert set(row) == {"id", "tags", "kind", "size", "created"}
    assert row["id"].startswith("im-") and len(row["id"]) == 67
    assert row["kind"] == "base-image" and row["size"] > 0
    assert BUSYBOX in cli.ok("image", "ls")
    sid = cli.json("create", "--image", row["id"])["id"]  # the id is what --image (and Image.from_id) takes
    cli.ok("stop", sid)
