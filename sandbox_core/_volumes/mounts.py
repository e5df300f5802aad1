"""Volumes in ``Sandbox.create``: Modal's mount-path rules, and the engine mounts that give a sandbox a volume.

- A whole volume is an engine *volume* mount (read-only when asked: writes fail with EROFS inside).
- A ``sub_path`` is harder on engines before Docker 25 (API 1.45), which cannot mount part of a volume: the
  subdirectory is created by a helper (refusing a path through a symbolic link or a non-directory), then
  bind-mounted from where the engine keeps the volume's data (``VolumeInfo.mountpoint``, a path on the engine's own
  host, so this works with a remote engine too). The engine resolves a bind's source on its host, following
  symbolic links there; so the components are checked right before the sandbox is created and again once it runs
  (a sandbox is removed if one turned into a link meanwhile). A process that swaps a component for a link and back
  within that window could still redirect the bind: do not give untrusted code write access to the *parents* of
  a ``sub_path`` that other sandboxes mount (docs/guide/security.md).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Any

import attrs

from .._engine import EngineAPI
from .._engine.values import Mount
from ..exception import InvalidError
from . import files
from .store import SANDBOX_VOLUMES, VolumeRef


@attrs.frozen
class MountRequest:
    """One volume to mount: where, which, read-only or not, and the part of it (``sub_path`` relative, "" for the
    whole volume)."""

    path: str
    ref: VolumeRef
    read_only: bool
    sub_path: str


def validate_mount_points(display_name: str, volume_likes: Any) -> list[tuple[str, Any]]:
    """Modal's ``validate_mount_points``: ``{path: object}`` with canonical absolute paths that are not ``/``, the
    root user's home or the top-level tmp directory; returns ``(path, object)`` pairs in order."""
    if not isinstance(volume_likes, dict):
        raise InvalidError(
            f"`volume_likes` should be a dict[str | PurePosixPath, {display_name}], got {type(volume_likes)} instead"
        )
    validated = []
    for raw, vol in volume_likes.items():
        if not isinstance(raw, str | os.PathLike):
            raise InvalidError(f"{display_name} mount path must be a str or a path, got {type(raw).__name__}")
        path = PurePath(raw).as_posix()
        abs_path = posixpath.abspath(path)
        if path != abs_path:
            raise InvalidError(f"{display_name} {path} must be a canonical, absolute path.")
        if abs_path == "/":
            raise InvalidError(f"{display_name} {path} cannot be mounted into root directory.")
        if abs_path == "/root":
            raise InvalidError(f"{display_name} {path} cannot be mounted at '/root'.")
        if abs_path == "/tmp":
            raise InvalidError(f"{display_name} {path} cannot be mounted at '/tmp'.")
        validated.append((path, vol))
    return validated


def validate_network_file_systems(network_file_systems: Any) -> None:
    """Modal's checks of ``network_file_systems``. There is no ``NetworkFileSystem`` type locally (Modal deprecated
    it in favour of ``Volume``), so any entry fails the type check with Modal's message."""
    for path, nfs in validate_mount_points("NetworkFileSystem", network_file_systems):
        raise InvalidError(f"Object of type {type(nfs)} mounted at '{path}' is not useable as a network file system.")


def check_unique_ids(requests: Sequence[MountRequest]) -> None:
    """Modal's ``validate_volumes_by_object_id``: one volume (by id, after hydration) mounted once."""
    by_id: dict[str, list[str]] = {}
    for r in requests:
        by_id.setdefault(r.ref.volume_id, []).append(r.path)
    for paths in by_id.values():
        if len(paths) > 1:
            raise InvalidError(
                "The same Volume cannot be mounted in multiple locations for the same function: "
                + ", ".join(sorted(paths))
            )


async def engine_mounts(eng: EngineAPI, requests: Sequence[MountRequest]) -> list[Mount]:
    """The engine mounts for ``requests`` (``sub_path`` directories created first)."""
    out = []
    for r in requests:
        if not r.sub_path:
            out.append(
                Mount(type="volume", source=r.ref.engine_name, target=r.path, read_only=r.read_only, no_copy=True)
            )
            continue
        await files.make_dirs(eng, r.ref, r.sub_path)
        info = await eng.volumes.inspect(r.ref.engine_name)
        if info is None or not info.mountpoint.startswith("/"):
            raise InvalidError(f"sub_path needs the engine to say where volume {r.ref.volume_id} keeps its data")
        out.append(Mount(type="bind", source=f"{info.mountpoint}/{r.sub_path}", target=r.path, read_only=r.read_only))
    return out


async def verify_sub_paths(eng: EngineAPI, requests: Sequence[MountRequest]) -> None:
    """Check again, once the sandbox runs, that no ``sub_path`` component became a symbolic link
    (``InvalidError``: the caller removes the sandbox)."""
    for r in requests:
        if r.sub_path:
            await files.make_dirs(eng, r.ref, r.sub_path)


def sandbox_labels(requests: Sequence[MountRequest]) -> Mapping[str, str]:
    """The label naming the volumes a sandbox mounts (``gc`` and deletion read it: the engine's own in-use check
    does not see bind mounts)."""
    return {SANDBOX_VOLUMES: ",".join(r.ref.volume_id for r in requests)} if requests else {}
