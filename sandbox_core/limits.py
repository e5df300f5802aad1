"""``Limits``: the hard caps on what one sandbox may take from its host (``Sandbox.create(limits=...)``).

Every sandbox is capped, whether or not it asks. Each field of ``Limits`` is optional: ``None`` takes the
process-wide default (its environment variable, else the built-in default below), ``0`` turns that cap off (the
engine's own default applies), a positive number is the cap.

==============  ========  =================================  ===================================================
field           default   process-wide                       what happens at the cap
==============  ========  =================================  ===================================================
``memory_mib``  4096      ``SANDBOX_CORE_MEMORY_LIMIT_MIB``  the kernel kills a process (OOM): ``returncode``
                                                             137 and ``end_reason`` ``EndReason.OOM``
``pids``        4096      ``SANDBOX_CORE_PIDS_LIMIT``        ``fork`` fails (``EAGAIN``)
``disk_mib``    10240     ``SANDBOX_CORE_DISK_LIMIT_MIB``    the supervisor stops the sandbox: ``returncode``
                                                             137, ``EndReason.DISK_LIMIT``
``tmp_mib``     1024      ``SANDBOX_CORE_TMP_MIB``           writes to ``/tmp`` fail (``ENOSPC``)
``shm_mib``     64        ``SANDBOX_CORE_SHM_MIB``           writes to ``/dev/shm`` fail (``ENOSPC``)
``nofile``      4096      ``SANDBOX_CORE_NOFILE``            ``open`` fails (``EMFILE``)
==============  ========  =================================  ===================================================

- ``memory_mib`` is the hard limit of a sandbox whose ``memory=`` gives none: Modal's ``memory=request`` becomes
  a reservation plus a hard limit of ``max(request, memory_mib)``; ``memory=(request, limit)`` keeps its own
  limit. There is no swap (the engine's swap allowance equals the limit).
- ``disk_mib`` bounds what the sandbox writes outside its mounts (its writable layer); the supervisor measures it
  every few seconds, more often when it grows fast, so a burst between two measurements can pass the cap
  briefly. Its logs are bounded separately (2 × 64 MiB).
- ``/tmp`` and ``/dev/shm`` are memory (tmpfs): what they hold counts toward the memory limit, so when that
  limit is set the defaults shrink to fit (``/tmp`` at most half of it, ``/dev/shm`` a quarter); a value given
  here or in the environment is used as given. ``tmp_mib=0`` keeps ``/tmp`` in the writable layer instead
  (bounded by ``disk_mib``). The filesystem API reaches ``/tmp`` through a process in the sandbox then.
  Under gVisor (``runtime="gvisor"``) ``tmp_mib`` must stay unset or 0: a sized tmpfs at ``/tmp`` that fills up
  crashes gVisor's kernel instead of failing the write. There ``/tmp`` is gVisor's own memory-backed tmpfs (it
  mounts one over an empty ``/tmp``), bounded by the memory limit: filling it ends the sandbox as ``OOM``.
- ``pids`` counts processes and threads; ``nofile`` is the open-files limit of each process (soft and hard).
"""

from __future__ import annotations

from typing import Any

import attrs

from .exception import InvalidError

#: Built-in defaults (see the module docstring).
DEFAULT_MEMORY_MIB = 4096
DEFAULT_PIDS = 4096
DEFAULT_DISK_MIB = 10240
DEFAULT_TMP_MIB = 1024
DEFAULT_SHM_MIB = 64
DEFAULT_NOFILE = 4096

#: Upper bounds: what the engine and the kernel can represent (MiB fields: an int64 of bytes; ``pids``: the
#: kernel's ``pid_max`` ceiling; ``nofile``: its default ``nr_open``).
_MAX = {
    "memory_mib": 1 << 40,
    "pids": 1 << 22,
    "disk_mib": 1 << 40,
    "tmp_mib": 1 << 40,
    "shm_mib": 1 << 40,
    "nofile": 1 << 20,
}


def check_cap(name: str, value: Any) -> None:
    """Raise ``InvalidError`` unless ``value`` is None or a whole number from 0 to the bound of cap ``name``."""
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX[name]:
        raise InvalidError(
            f"Limits.{name} must be None (the default), 0 (no cap) or a whole number up to {_MAX[name]}, got {value!r}"
        )


def _validate(inst: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    check_cap(attribute.name, value)


@attrs.frozen(kw_only=True)
class Limits:
    """Hard caps for one sandbox; see the module docstring for each field, its default and its environment
    variable. ``None``: the process-wide default; ``0``: no cap of ours; a positive number: the cap."""

    memory_mib: int | None = attrs.field(default=None, validator=_validate)
    pids: int | None = attrs.field(default=None, validator=_validate)
    disk_mib: int | None = attrs.field(default=None, validator=_validate)
    tmp_mib: int | None = attrs.field(default=None, validator=_validate)
    shm_mib: int | None = attrs.field(default=None, validator=_validate)
    nofile: int | None = attrs.field(default=None, validator=_validate)
