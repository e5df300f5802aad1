"""Where volumes live on the engine, and which name points at which.

- Each volume is one engine volume, ``sandbox-core-volume.<vo-id>``, labelled with its id, version, and either its
  name or (ephemeral) the process that owns it.
- A name is a *claim* record ``volume.<name>`` that holds the id. ``RecordsAPI.put`` is first-writer-wins, so
  concurrent ``create_if_missing`` calls agree on one id; the claim is written before the engine volume, and the
  engine volume is created idempotently by whoever finds the claim.
- Deleting a named volume removes its claim at once (the name is free again) and then the engine volume; one the
  engine keeps (a container, running or finished, still mounts it) or that a running sandbox binds (a ``sub_path``)
  is left for ``gc``, which removes volumes that no claim points at. An ephemeral volume that cannot be removed when
  its block ends gets a *release* record ``volume-release.<vo-id>`` instead, for ``gc`` as well.
"""

from __future__ import annotations

import getpass
import os

import attrs

from .._engine import EngineAPI
from .._engine import labels as L
from .._engine.errors import VolumeInUse
from .._engine.values import RecordInfo, VolumeInfo
from .._ids import new_id
from ..exception import AlreadyExistsError, InvalidError, NotFoundError
from . import owner

KIND_VOLUME = "volume"
KIND_HELPER = "volume-helper"
VOLUME_ID = L.PREFIX + "volume-id"
VOLUME_NAME = L.PREFIX + "volume-name"
VERSION = L.PREFIX + "volume-version"
#: On an ephemeral volume (and a helper container): the owning process (``owner.this_process``).
OWNER_PROCESS = L.PREFIX + "owner-process"
#: On a sandbox container: the ids of the volumes it mounts, comma-separated.
SANDBOX_VOLUMES = L.PREFIX + "volumes"
RECORD_CLAIM = "volume"
RECORD_RELEASE = "volume-release"
ENGINE_PREFIX = "sandbox-core-volume."


@attrs.frozen
class VolumeRef:
    """One volume: its id (``vo-…``), the engine volume holding it, its name (None: ephemeral), its filesystem
    ``version`` (1 or 2) and when it was created."""

    volume_id: str
    engine_name: str
    name: str | None
    version: int
    created_at: float
    created_by: str | None = None


def engine_name(volume_id: str) -> str:
    """The engine volume of volume ``volume_id``."""
    return ENGINE_PREFIX + volume_id


def _version(raw: str | None) -> int:
    return 2 if raw == "2" else 1


def _from_claim(rec: RecordInfo) -> VolumeRef:
    lbl = rec.labels
    vid = lbl[VOLUME_ID]
    version = _version(lbl.get(VERSION))
    return VolumeRef(vid, engine_name(vid), lbl.get(VOLUME_NAME), version, rec.created_at or 0.0, lbl.get(L.CREATED_BY))


def _from_volume(info: VolumeInfo) -> VolumeRef:
    lbl = info.labels
    vid = lbl[VOLUME_ID]
    version = _version(lbl.get(VERSION))
    return VolumeRef(vid, info.name, lbl.get(VOLUME_NAME), version, info.created_at or 0.0, lbl.get(L.CREATED_BY))


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _volume_labels(ref: VolumeRef, owner_process: str | None) -> dict[str, str]:
    labels = L.owned(KIND_VOLUME, **{VOLUME_ID: ref.volume_id, VERSION: str(ref.version), L.CREATED_BY: _user()})
    if ref.name is not None:
        labels[VOLUME_NAME] = ref.name
    if owner_process is not None:
        labels[OWNER_PROCESS] = owner_process
    return labels


def check_version_matches(requested: int | None, ref: VolumeRef) -> None:
    """Modal's error for a volume that exists with another filesystem version than ``requested``."""
    if requested is not None and requested != ref.version:
        raise InvalidError(
            f"Volume '{ref.name}' exists but has version v{ref.version}, not v{requested} as requested. "
            "To access this Volume, either omit the version parameter or use the correct version."
        )


async def claim(eng: EngineAPI, name: str, version: int | None, *, fail_if_exists: bool) -> VolumeRef:
    """The volume called ``name``, created when there is none (``AlreadyExistsError`` instead when
    ``fail_if_exists``). A new volume gets ``version`` (default 1); an existing one must have it if given."""
    mine = new_id("vo")
    labels = L.owned(
        L.KIND_RECORD,
        **{
            L.RECORD_TYPE: RECORD_CLAIM,
            VOLUME_ID: mine,
            VOLUME_NAME: name,
            VERSION: str(version or 1),
            L.CREATED_BY: _user(),
        },
    )
    ref = _from_claim(await eng.records.put(f"{RECORD_CLAIM}.{name}", labels))
    if ref.volume_id != mine and fail_if_exists:
        raise AlreadyExistsError(f"Volume '{name}' already exists")
    check_version_matches(version, ref)
    await eng.volumes.create(ref.engine_name, _volume_labels(ref, None))
    return ref


async def find_by_name(eng: EngineAPI, name: str) -> VolumeRef:
    """The volume called ``name``; ``NotFoundError`` when there is none."""
    rec = await eng.records.get(f"{RECORD_CLAIM}.{name}")
    if rec is None or VOLUME_ID not in rec.labels:
        raise NotFoundError(f"Volume '{name}' not found")
    ref = _from_claim(rec)
    if await eng.volumes.inspect(ref.engine_name) is None:
        # Claimed, but its creator has not created the engine volume yet (or died first): anyone may.
        await eng.volumes.create(ref.engine_name, _volume_labels(ref, None))
    return ref


async def find_by_id(eng: EngineAPI, volume_id: str) -> VolumeRef:
    """The volume ``volume_id`` (named or ephemeral); ``NotFoundError`` when it does not exist (any more)."""
    found = await eng.volumes.list({L.KIND: KIND_VOLUME, VOLUME_ID: volume_id})
    if not found:
        raise NotFoundError(f"Volume {volume_id!r} not found")
    ref = _from_volume(found[0])
    if ref.name is not None:
        claims = await eng.records.find({L.RECORD_TYPE: RECORD_CLAIM, VOLUME_ID: volume_id})
        if not claims:
            raise NotFoundError(f"Volume {volume_id!r} not found")  # deleted; its data awaits collection
        ref = _from_claim(claims[0])  # the current name (after a rename)
    return ref


async def create_ephemeral(eng: EngineAPI, version: int | None) -> VolumeRef:
    """A new anonymous volume owned by this process."""
    vid = new_id("vo")
    ref = VolumeRef(vid, engine_name(vid), None, version or 1, 0.0)
    return _from_volume(await eng.volumes.create(ref.engine_name, _volume_labels(ref, owner.this_process())))


async def list_named(eng: EngineAPI) -> list[VolumeRef]:
    """Every named volume (from the claims; unordered)."""
    claims = await eng.records.find({L.RECORD_TYPE: RECORD_CLAIM})
    return [_from_claim(rec) for rec in claims if VOLUME_ID in rec.labels]


async def running_users(eng: EngineAPI) -> dict[str, list[str]]:
    """volume id -> the sandbox ids of the running sandboxes that mount it (from their labels)."""
    users: dict[str, list[str]] = {}
    for item in await eng.containers.list({SANDBOX_VOLUMES: None}, all=False):
        for vid in filter(None, item.labels.get(SANDBOX_VOLUMES, "").split(",")):
            users.setdefault(vid, []).append(item.labels.get(L.SANDBOX_ID, item.id[:12]))
    return users


async def remove_engine_volume(eng: EngineAPI, ref: VolumeRef, users: dict[str, list[str]] | None = None) -> bool:
    """Remove the engine volume unless a running sandbox binds it or the engine keeps it; True when it is gone."""
    if users is None:
        users = await running_users(eng)
    if users.get(ref.volume_id):
        return False
    try:
        await eng.volumes.remove(ref.engine_name)
    except VolumeInUse:
        return False
    return True


async def delete_named(eng: EngineAPI, name: str) -> bool:
    """Delete the volume called ``name`` (its data now, or once no container holds it); False when there is none."""
    rec = await eng.records.get(f"{RECORD_CLAIM}.{name}")
    if rec is None or VOLUME_ID not in rec.labels:
        return False
    ref = _from_claim(rec)
    await eng.records.remove(f"{RECORD_CLAIM}.{name}")
    await remove_engine_volume(eng, ref)
    return True


async def rename(eng: EngineAPI, old_name: str, new_name: str) -> None:
    """Point ``new_name`` at the volume called ``old_name`` and free ``old_name``. ``NotFoundError`` when there is no
    such volume, ``AlreadyExistsError`` when ``new_name`` is taken."""
    rec = await eng.records.get(f"{RECORD_CLAIM}.{old_name}")
    if rec is None or VOLUME_ID not in rec.labels:
        raise NotFoundError(f"Volume '{old_name}' not found")
    labels = {**rec.labels, VOLUME_NAME: new_name}
    taken = await eng.records.put(f"{RECORD_CLAIM}.{new_name}", labels)
    if taken.labels.get(VOLUME_ID) != rec.labels[VOLUME_ID]:
        raise AlreadyExistsError(f"Volume '{new_name}' already exists")
    await eng.records.remove(f"{RECORD_CLAIM}.{old_name}")


async def release_ephemeral(eng: EngineAPI, ref: VolumeRef) -> bool:
    """Remove an ephemeral volume; when it is still held, leave a release record for ``gc``. True when gone now."""
    if await remove_engine_volume(eng, ref):
        return True
    labels = L.owned(L.KIND_RECORD, **{L.RECORD_TYPE: RECORD_RELEASE, VOLUME_ID: ref.volume_id})
    await eng.records.put(f"{RECORD_RELEASE}.{ref.volume_id}", labels)
    return False
