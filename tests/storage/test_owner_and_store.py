"""Pure logic, no engine: who owns an ephemeral volume and whether it is alive; the secret store's refusals."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox_core import _secret_store
from sandbox_core import exception as exc
from sandbox_core._volumes import owner


def test_this_process_is_alive_and_a_finished_one_is_not() -> None:
    me = owner.this_process()
    assert me.startswith(socket.gethostname() + ":") and owner.is_alive(me)
    proc = subprocess.run(
        [sys.executable, "-c", "from sandbox_core._volumes import owner; print(owner.this_process())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert not owner.is_alive(proc.stdout.strip())


def test_a_reused_pid_an_earlier_boot_and_other_hosts() -> None:
    host, boot, pid, start = owner.this_process().rsplit(":", 3)
    assert not owner.is_alive(f"{host}:{boot}:{pid}:{int(start) + 1}")  # same pid, another process
    if boot:
        assert not owner.is_alive(f"{host}:not-this-boot:{pid}:{start}")
    assert owner.is_alive(f"elsewhere:{boot}:{pid}:{start}")  # cannot be checked from here: kept
    assert owner.is_alive("malformed")


def test_store_refuses_symlinks_damage_and_bad_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CORE_CONFIG_DIR", str(tmp_path / "cfg"))
    _secret_store.write("ok", {"A": "1"}, mode="create")
    store = _secret_store.store_dir()
    target = tmp_path / "elsewhere.json"
    target.write_text(json.dumps({"id": "st-x", "created_at": 0, "env": {}}))
    os.chmod(target, 0o600)
    os.symlink(target, store / "linked.json")
    with pytest.raises(exc.PermissionDeniedError, match="cannot read"):
        _secret_store.read("linked")
    (store / "broken.json").write_text("{not json")
    os.chmod(store / "broken.json", 0o600)
    with pytest.raises(exc.InvalidError, match="is damaged"):
        _secret_store.read("broken")
    assert _secret_store.read("../ok") is None and _secret_store.read("missing") is None
    with pytest.raises(exc.InvalidError, match="Invalid Secret name"):
        _secret_store.write("../escape", {}, mode="create")
    os.chmod(store, 0o755)
    with pytest.raises(exc.PermissionDeniedError, match="must belong to you and be private"):
        _secret_store.read("ok")
