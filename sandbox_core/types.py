"""Value types (Modal's ``modal.types``): of the filesystem API ``FileType``, ``FileInfo``, ``FileWatchEventType``,
``FileWatchEvent``; of volumes ``FileEntryType``, ``FileEntry``, ``VolumeInfo``; of secrets ``SecretInfo``; of logs
``LogSource``, ``LogEntry``; of connect tokens ``SandboxConnectCredentials``.

File names need not be UTF-8: every ``str`` path or name here holds undecodable bytes as lone surrogates
(``surrogateescape``, as ``os.fsdecode`` does), and such a string can be passed back to any filesystem method.
"""

from __future__ import annotations

import datetime
import enum
import stat
from collections.abc import Iterable
from typing import Literal

import attrs

from ._connect import SandboxConnectCredentials

__all__ = [
    "FileEntry",
    "FileEntryType",
    "FileInfo",
    "FileType",
    "FileWatchEvent",
    "FileWatchEventType",
    "LogEntry",
    "SandboxConnectCredentials",
]


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


class FileEntryType(enum.IntEnum):
    """The type of an entry listed from a ``Volume`` (Modal's numbering)."""

    UNSPECIFIED = 0
    FILE = 1
    DIRECTORY = 2
    SYMLINK = 3
    FIFO = 4
    SOCKET = 5


def file_entry_type_of_mode(mode: int) -> FileEntryType:
    """The ``FileEntryType`` of an ``st_mode`` (devices are ``UNSPECIFIED``)."""
    for test, kind in (
        (stat.S_ISREG, FileEntryType.FILE),
        (stat.S_ISDIR, FileEntryType.DIRECTORY),
        (stat.S_ISLNK, FileEntryType.SYMLINK),
        (stat.S_ISFIFO, FileEntryType.FIFO),
        (stat.S_ISSOCK, FileEntryType.SOCKET),
    ):
        if test(mode):
            return kind
    return FileEntryType.UNSPECIFIED


@attrs.frozen
class FileEntry:
    """A file or directory of a ``Volume``: ``path`` relative to the volume's root (no leading ``/``), its
    ``type``, ``mtime`` (whole epoch seconds) and ``size`` in bytes."""

    path: str = attrs.field(validator=attrs.validators.instance_of(str))
    type: FileEntryType = attrs.field(validator=attrs.validators.instance_of(FileEntryType))
    mtime: int = attrs.field(validator=attrs.validators.instance_of(int))
    size: int = attrs.field(validator=attrs.validators.instance_of(int))


#: Where a log entry came from: the entrypoint's ``stdout`` or ``stderr``, or the platform (``system``).
LogSource = Literal["stdout", "stderr", "system"]
_LOG_SOURCES = ("stdout", "stderr", "system")


def _str_list(value: Iterable[str]) -> list[str]:
    return [str(v) for v in value]


@attrs.frozen
class LogEntry:
    """One entry of a sandbox's log: ``message`` (a line of output with its newline, or a piece of a longer line),
    ``timestamp`` (timezone-aware, UTC) when the engine received it, its ``source``, the ``object_id`` of the
    sandbox whose log it is, and ``context_ids`` (narrower ids: the sandbox's container). ``str(entry)`` is the
    message."""

    message: str = attrs.field(validator=attrs.validators.instance_of(str))
    timestamp: datetime.datetime = attrs.field(validator=attrs.validators.instance_of(datetime.datetime))
    source: LogSource = attrs.field(validator=attrs.validators.in_(_LOG_SOURCES))
    object_id: str = attrs.field(validator=attrs.validators.instance_of(str))
    context_ids: list[str] = attrs.field(factory=list, converter=_str_list)

    def __str__(self) -> str:
        return self.message


@attrs.frozen
class VolumeInfo:
    """What ``Volume.info()`` tells: the name (None for an ephemeral volume), when and by whom (a user name) it was
    created."""

    name: str | None
    created_at: datetime.datetime
    created_by: str | None


@attrs.frozen
class SecretInfo:
    """What ``Secret.info()`` tells about a stored secret: its name, when and by whom (a user name) it was created."""

    name: str | None
    created_at: datetime.datetime
    created_by: str | None
