"""Value types (Modal's ``modal.types``): those of the filesystem API, ``FileType``, ``FileInfo``,
``FileWatchEventType``, ``FileWatchEvent``, and ``SandboxConnectCredentials``.

File names need not be UTF-8: every ``str`` path or name here holds undecodable bytes as lone surrogates
(``surrogateescape``, as ``os.fsdecode`` does), and such a string can be passed back to any filesystem method.
"""

from __future__ import annotations

import enum
import stat

import attrs

from ._connect import SandboxConnectCredentials

__all__ = ["FileInfo", "FileType", "FileWatchEvent", "FileWatchEventType", "SandboxConnectCredentials"]


class FileType(enum.Enum):
    """The kind of a filesystem entry. Devices, FIFOs and sockets are reported as ``FILE``."""

    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"


def _permissions(value: str) -> str:
    if len(value) != 4 or any(c not in "01234567" for c in value):
        raise ValueError(f"permissions must be 4 octal digits such as '0644', got {value!r}")
    return value


@attrs.frozen
class FileInfo:
    """Metadata of one filesystem entry, as ``lstat`` sees it (a symlink describes itself).

    ``mode`` is the full ``st_mode`` (type bits included); ``permissions`` is ``"%04o" % S_IMODE(mode)``;
    ``owner``/``group`` are names from the sandbox's ``/etc/passwd``/``/etc/group`` (the numeric id as a string
    when there is none); ``modified_time`` is epoch seconds; ``symlink_target`` is the raw link text for symlinks
    (relative targets kept as written), else None.
    """

    name: str
    path: str
    type: FileType
    size: int
    mode: int
    permissions: str = attrs.field(validator=lambda _i, _a, v: _permissions(v))
    owner: str
    group: str
    modified_time: float
    symlink_target: str | None = None

    def is_file(self) -> bool:
        """True for a regular file (or any other non-directory, non-symlink entry)."""
        return self.type == FileType.FILE

    def is_dir(self) -> bool:
        """True for a directory."""
        return self.type == FileType.DIRECTORY

    def is_symlink(self) -> bool:
        """True for a symbolic link (dangling or not)."""
        return self.type == FileType.SYMLINK


def file_type_of_mode(mode: int) -> FileType:
    """The ``FileType`` of an ``st_mode`` (anything but a directory or symlink is ``FILE``)."""
    if stat.S_ISDIR(mode):
        return FileType.DIRECTORY
    if stat.S_ISLNK(mode):
        return FileType.SYMLINK
    return FileType.FILE


class FileWatchEventType(enum.Enum):
    """Kinds of watch events (each value equals its name). Renames are reported as ``Modify``."""

    Unknown = "Unknown"
    Access = "Access"
    Create = "Create"
    Modify = "Modify"
    Remove = "Remove"


@attrs.define
class FileWatchEvent:
    """One change seen by ``Sandbox.filesystem.watch``: absolute ``paths`` (a rename is ``Modify`` with
    ``[src, dst]``) and its ``type``."""

    paths: list[str]
    type: FileWatchEventType
