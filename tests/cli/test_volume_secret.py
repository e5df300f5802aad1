"""``volume`` and ``secret``: volumes and their files from the command line, the secret store, errors and codes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ..conftest import app_name
from .conftest import Cli

pytestmark = pytest.mark.usefixtures("engine")


@pytest.fixture
def store_env(cli: Cli, tmp_path: Path) -> dict[str, str]:
    return {"SANDBOX_CORE_CONFIG_DIR": str(tmp_path / "config")}


def test_volume_create_put_ls_get_rm(cli: Cli, tmp_path: Path) -> None:
    name = app_name("cli-vol")
    created = cli.json("volume", "create", name)
    assert created["name"] == name and created["volume_id"].startswith("vo-")
    try:
        tree = tmp_path / "tree"
        (tree / "sub").mkdir(parents=True)
        data = os.urandom(2 << 20)
        (tree / "sub" / "blob").write_bytes(data)
        (tmp_path / "one.txt").write_text("one\n")
        put = cli.json("volume", "put", name, str(tmp_path / "one.txt"))
        assert put["files"] == [{"path": "/one.txt", "bytes": 4}]
        cli.ok("volume", "put", name, str(tree), "/up/")
        assert cli("volume", "put", name, str(tmp_path / "one.txt")).returncode == 5  # exists: conflict
        cli.ok("volume", "put", name, str(tmp_path / "one.txt"), "--force")
        assert name in [v["name"] for v in cli.json("volume", "ls")]
        files = {f["path"]: f for f in cli.json("volume", "ls", name, "/", "--recursive")}
        assert set(files) == {"one.txt", "up", "up/tree", "up/tree/sub", "up/tree/sub/blob"}
        assert files["up/tree/sub/blob"]["type"] == "file" and files["up/tree/sub/blob"][
            "bytes" if False else "size"
        ] == len(data)
        assert cli.ok("volume", "get", name, "/one.txt", "-") == "one\n"
        out = tmp_path / "out"
        out.mkdir()
        got = cli.json("volume", "get", name, "/up", str(out))
        assert got["bytes"] == len(data)
        assert (
            hashlib.sha256((out / "up" / "tree" / "sub" / "blob").read_bytes()).digest()
            == hashlib.sha256(data).digest()
        )
        assert cli("volume", "get", name, "/up", str(out)).returncode == 5  # local files exist
        assert cli("volume", "get", name, "/missing", str(out)).returncode == 3
        cli.ok("volume", "rm", name, "up", "--recursive")
        assert [f["path"] for f in cli.json("volume", "ls", name)] == ["one.txt"]
        refused = cli("volume", "rm", name)
        assert refused.returncode == 2 and "--yes" in refused.stderr
    finally:
        cli("volume", "rm", name, "--yes")
    gone = cli("volume", "ls", name)
    assert gone.returncode == 3 and "NotFoundError" in gone.stderr


def test_secret_create_ls_rm_never_prints_values(cli: Cli, store_env: dict[str, str], tmp_path: Path) -> None:
    dotenv = tmp_path / "x.env"
    dotenv.write_text("FROM_FILE=file-value-123\n")
    made = cli("secret", "create", "--json", "api", "TOKEN=-", "USER=me", "--from-dotenv", str(dotenv),
               input="stdin-value-456\n", env=store_env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    listing = cli("secret", "ls", "--json", env=store_env)
    assert '"keys": ["FROM_FILE", "TOKEN", "USER"]' in listing.stdout
    for proc in (made, listing, cli("secret", "ls", env=store_env)):
        assert "stdin-value-456" not in proc.stdout + proc.stderr and "file-value-123" not in proc.stdout
    assert cli("secret", "create", "api", "A=1", env=store_env).returncode == 5
    assert cli("secret", "create", "api", "A=1", "--force", env=store_env).returncode == 0
    assert cli("secret", "create", "bad", "NOEQUALS", env=store_env).returncode == 2
    assert cli("secret", "rm", "api", env=store_env).returncode == 0
    assert cli("secret", "rm", "api", env=store_env).returncode == 3
    assert cli("secret", "rm", "api", "--allow-missing", env=store_env).returncode == 0
