"""A ``cpu`` limit the engine cannot give is lowered (or raised) to what it can, with a warning.

Modal gives a sandbox the limit it asks for (``cpu=(request, limit)``) on a machine large enough. A local engine
refuses a hard CPU limit beyond its host's CPUs ("Range of CPUs is from 0.01 to 2.00") or below 0.01 CPU, which would
stop programs written for larger machines before they start. So the limit is clamped into that range and a
``LocalBackendWarning`` (at the user's line) says what the sandbox got instead. The request (CPU shares, relative
weight) never needs adjusting.
"""

from __future__ import annotations

from . import _warnings
from ._engine import EngineAPI
from .exception import LocalBackendWarning

__all__ = ["MIN_NANO_CPUS", "fit_cpu_limit"]

#: The smallest CPU quota the engine accepts (0.01 CPU).
MIN_NANO_CPUS = 10_000_000
_NANO = 1_000_000_000
#: Host CPUs per engine endpoint, asked once per process (the engine's host does not change under it).
_host_cpus: dict[str, int] = {}


async def _cpus(eng: EngineAPI) -> int:
    found = _host_cpus.get(eng.endpoint)
    if found is None:
        found = _host_cpus[eng.endpoint] = (await eng.info()).cpus
    return found


async def fit_cpu_limit(eng: EngineAPI, nano_cpus: int | None) -> int | None:
    """``nano_cpus`` (a hard CPU limit in billionths of a CPU; None: no limit) within what ``eng`` allows, warning
    when it had to change."""
    if nano_cpus is None:
        return None
    if nano_cpus < MIN_NANO_CPUS:
        _warnings.warn(
            f"cpu limit {nano_cpus / _NANO:g} is below the local engine's minimum of 0.01 CPU; the sandbox is "
            "limited to 0.01 CPU instead",
            LocalBackendWarning,
        )
        return MIN_NANO_CPUS
    host = await _cpus(eng)
    if host and nano_cpus > host * _NANO:
        _warnings.warn(
            f"cpu limit {nano_cpus / _NANO:g} exceeds the {host} CPUs of the local engine's host; the sandbox is "
            f"limited to {host} CPUs instead",
            LocalBackendWarning,
        )
        return host * _NANO
    return nano_cpus
