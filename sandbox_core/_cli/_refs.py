"""Parsing what users type: sandbox references, ``REF:/path`` endpoints, ``KEY=VALUE`` options.

A sandbox reference is its id (``sb-…``, running or finished) or, with ``--app``, the name of a *running* sandbox
of that app. A copy endpoint is ``REF:/absolute/path`` (remote) or a local path; write a local path that contains a
colon as ``./a:b``.
"""

from __future__ import annotations

import attrs

import sandbox_core as sc

from ._exitcodes import UsageError

DEFAULT_APP = "cli"


def parse_pairs(values: list[str] | None, what: str) -> dict[str, str]:
    """``["k=v", …]`` as a dict. Raises ``UsageError`` for an item without ``=`` or with an empty key."""
    out: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"{what} must be KEY=VALUE, got {item!r}")
        out[key] = value
    return out


async def resolve(ref: str, app: str | None) -> sc.Sandbox:
    """The sandbox ``ref`` names. Raises ``NotFoundError`` (unknown id, or no running sandbox of that name),
    ``UsageError`` for a name without ``--app``."""
    if ref.startswith("sb-"):
        return await sc.Sandbox.from_id(ref)
    if not app:
        raise UsageError(f"{ref!r} is not a sandbox id (sb-…); to name a sandbox, also give --app")
    return await sc.Sandbox.from_name(app, ref)


@attrs.frozen
class Endpoint:
    """One side of a copy: ``ref`` is None for a local path."""

    ref: str | None
    path: str

    @property
    def is_remote(self) -> bool:
        """True for ``REF:/path``."""
        return self.ref is not None


def parse_endpoint(text: str) -> Endpoint:
    """``REF:/path`` → remote (the path must be absolute); anything else → local.

    ``REF`` is the part before the first colon when it is non-empty and holds no ``/`` (so ``./a:b`` and
    ``/tmp/a:b`` stay local). Raises ``UsageError`` for a relative remote path.
    """
    ref, sep, path = text.partition(":")
    if not sep or not ref or "/" in ref:
        return Endpoint(None, text)
    if not path.startswith("/"):
        raise UsageError(f"the path in {text!r} must be absolute (REF:/path); write a local path as ./{text}")
    return Endpoint(ref, path)
