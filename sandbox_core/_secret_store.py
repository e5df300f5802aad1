"""The local secret store behind ``Secret.from_name``: one JSON file per named secret, readable by its owner only.

Location: ``$SANDBOX_CORE_CONFIG_DIR/secrets``, else ``$XDG_CONFIG_HOME/sandbox-core/secrets``, else
``~/.config/sandbox-core/secrets``. The directory is created ``0700`` and every file ``0600``; a file (or the
directory) that other users can read is refused, as ssh refuses a readable key. Values live only here and in the
environment of the sandboxes and execs they are given to: never in engine labels, records or log lines.

Writes are atomic: a new secret is linked into place (the first writer wins), a replacement renamed over the old
file, and read-modify-write (``update``) is serialised by an ``flock`` on the directory's lock file.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Literal

import attrs

from ._ids import is_valid_object_name, new_id
from .exception import AlreadyExistsError, InvalidError, NotFoundError, PermissionDeniedError

_SUFFIX = ".json"
_LOCK = ".lock"

CreateMode = Literal["create", "if_missing", "overwrite"]


@attrs.frozen
class StoredSecret:
    """One named secret as stored (``env`` is left out of the repr)."""

    name: str
    secret_id: str
    created_at: float
    env: Mapping[str, str] = attrs.field(repr=False)
    created_by: str | None = None


def store_dir() -> Path:
    """The directory of the store (not created here)."""
    base = os.environ.get("SANDBOX_CORE_CONFIG_DIR")
    if base:
        return Path(base) / "secrets"
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(xdg) / "sandbox-core" / "secrets"


def _check_private(path: Path, st: os.stat_result) -> None:
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PermissionDeniedError(
            f"the secret store refuses {path}: it must belong to you and be private "
            f"(mode {stat.S_IMODE(st.st_mode):04o}; run `chmod go-rwx {path}`)"
        )


def _ensure_dir() -> Path:
    d = store_dir()
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    _check_private(d, d.stat())
    return d


def _path(d: Path, name: str) -> Path:
    if not is_valid_object_name(name):
        raise InvalidError(f"Invalid Secret name: {name!r}")
    return d / (name + _SUFFIX)


def _load(path: Path, name: str) -> StoredSecret | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise PermissionDeniedError(f"the secret store cannot read {path}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        _check_private(path, os.fstat(f.fileno()))
        try:
            raw = json.loads(f.read())
            env = raw["env"]
            if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
                raise ValueError("env must map strings to strings")
            by = raw.get("created_by")
            return StoredSecret(
                name, str(raw["id"]), float(raw["created_at"]), dict(env), None if by is None else str(by)
            )
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidError(
                f"the secret store file {path} is damaged ({e}); remove it and create the secret again"
            ) from None


def read(name: str) -> StoredSecret | None:
    """The secret ``name``, or None when there is none (also for a name no secret can have)."""
    if not is_valid_object_name(name):
        return None
    d = store_dir()
    if not d.exists():
        return None
    _check_private(d, d.stat())
    return _load(d / (name + _SUFFIX), name)


def _write_file(d: Path, secret: StoredSecret) -> str:
    """A new private temporary file in ``d`` holding ``secret``; returns its path."""
    body = json.dumps(
        {
            "id": secret.secret_id,
            "created_at": secret.created_at,
            "created_by": secret.created_by,
            "env": dict(secret.env),
        }
    ).encode()
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=_SUFFIX)  # mkstemp creates 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write(name: str, env: Mapping[str, str], *, mode: CreateMode) -> StoredSecret:
    """Store ``env`` as secret ``name``: ``create`` (``AlreadyExistsError`` when it exists), ``if_missing`` (an
    existing secret is kept and returned) or ``overwrite`` (its id is kept). Returns the secret as stored."""
    d = _ensure_dir()
    path = _path(d, name)
    with _locked(d):
        existing = _load(path, name)
        if existing is not None and mode != "overwrite":
            if mode == "create":
                raise AlreadyExistsError(f"Secret '{name}' already exists")
            return existing
        secret = StoredSecret(
            name,
            existing.secret_id if existing else new_id("st"),
            existing.created_at if existing else time.time(),
            dict(env),
            existing.created_by if existing else _user(),
        )
        tmp = _write_file(d, secret)
        os.replace(tmp, path)
    return secret


def update(name: str, env: Mapping[str, str]) -> StoredSecret:
    """Merge ``env`` into secret ``name`` (keys not named are kept). ``NotFoundError`` when it does not exist."""
    d = _ensure_dir()
    path = _path(d, name)
    with _locked(d):
        existing = _load(path, name)
        if existing is None:
            raise NotFoundError(f"Secret '{name}' not found")
        secret = attrs.evolve(existing, env={**existing.env, **env})
        os.replace(_write_file(d, secret), path)
    return secret


def remove(name: str) -> bool:
    """Delete secret ``name``; False when it did not exist."""
    if not is_valid_object_name(name):
        return False
    d = store_dir()
    if not d.exists():
        return False
    with _locked(_ensure_dir()):
        try:
            (d / (name + _SUFFIX)).unlink()
        except FileNotFoundError:
            return False
    return True


def list_all() -> list[StoredSecret]:
    """Every stored secret, newest first."""
    d = store_dir()
    if not d.exists():
        return []
    _check_private(d, d.stat())
    found = []
    for path in d.glob("*" + _SUFFIX):
        name = path.name[: -len(_SUFFIX)]
        if not name.startswith(".") and is_valid_object_name(name):
            secret = _load(path, name)
            if secret is not None:
                found.append(secret)
    return sorted(found, key=lambda s: s.created_at, reverse=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


@contextlib.contextmanager
def _locked(d: Path) -> Iterator[None]:
    fd = os.open(d / _LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
