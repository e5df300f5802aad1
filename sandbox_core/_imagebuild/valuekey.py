"""What a step's content address covers of its build-time values (``env=``/``secrets=``).

A changed value must rebuild the step, yet the address is public (an image tag and label anyone with access to
the engine can read), and a plain hash of a short value can be reversed by trying candidates. So the address covers
each variable's name and an HMAC-SHA256 of its value under a random key private to this host's user:
``<lock dir>/build-values-<uid>.key`` (``once.lock_dir``), made on first use with mode 0600. Another user, or a host
whose key was lost, gets other addresses for steps with values and builds them again: a cost in time only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from ..exception import ImageBuildError
from .once import lock_dir

KEY_BYTES = 32
_key: bytes | None = None


def _read(path: str) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if st.st_uid != os.getuid() or st.st_mode & 0o077:
            raise ImageBuildError(f"{path!r} must belong to this user and be readable by it alone (mode 0600)")
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(key) != KEY_BYTES:
        raise ImageBuildError(f"{path!r} is not a build-values key; remove it to have a new one made")
    return key


def _read_or_make(path: str) -> bytes:
    """The key at ``path``, made first when missing: written whole to a file of its own, then linked into place
    (a concurrent maker's link fails and it reads the winner's key)."""
    if os.path.lexists(path):
        return _read(path)
    temp = f"{path}.{secrets.token_hex(8)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
        os.close(fd)
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        os.unlink(temp)
    return _read(path)


def _host_key() -> bytes:
    global _key
    if _key is None:
        path = os.path.join(lock_dir(), f"build-values-{os.getuid()}.key")
        try:
            _key = _read_or_make(path)
        except OSError as e:
            raise ImageBuildError(f"cannot read or make the build-values key {path!r}: {e.strerror}") from None
    return _key


def identity(env: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """Each variable's name and the keyed digest of its value (for a step's content-address material)."""
    if not env:
        return []
    key = _host_key()
    return [
        (name, hmac.new(key, value.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest())
        for name, value in env
    ]
