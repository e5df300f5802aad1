"""Object ids in Modal's shapes: ``sb-`` + 22 alphanumerics (V1 sandbox ids), ``ap-`` + 22 for apps."""

from __future__ import annotations

import re
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
SANDBOX_ID_RE = re.compile(r"^sb-[0-9A-Za-z]{22}$")
APP_ID_RE = re.compile(r"^ap-[0-9A-Za-z]{22}$")
_NAME_RE = re.compile(r"^[a-zA-Z0-9-_.]+$")


def new_id(prefix: str) -> str:
    """A fresh random id ``<prefix>-`` + 22 characters of ``[0-9A-Za-z]``."""
    return prefix + "-" + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def is_valid_object_name(name: str) -> bool:
    """Modal's ``check_object_name``: ≤ 64 chars of ``[a-zA-Z0-9-_.]`` that does not look like an app id."""
    return len(name) <= 64 and bool(_NAME_RE.match(name)) and not APP_ID_RE.match(name)
