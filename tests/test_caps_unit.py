"""The pure logic of the caps and the end reasons (no engine): how ``Limits``, the environment and Modal's ``memory=``
resolve, the runtime check against what an engine offers, and which deaths an engine restart explains."""

from __future__ import annotations

from typing import Any

import pytest

import sandbox_core as sc
from sandbox_core import _caps, _lifecycle
from sandbox_core._engine.values import ContainerState, EngineInfo, RecordInfo
from sandbox_core.exception import InvalidError

MIB = 1 << 20


@pytest.fixture(autouse=True)
def _no_env_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for var, _default in _caps.ENV_DEFAULTS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv(_caps.RUNTIME_ENV, raising=False)


def resolve(limits: sc.Limits | None = None, request: float | None = None, limit: float | None = None) -> _caps.Caps:
    return _caps.resolve(limits, None, None, request, limit)


def test_defaults() -> None:
    caps = resolve()
    assert caps == _caps.Caps(
        memory_bytes=4096 * MIB,
        memory_reservation_bytes=None,
        pids=4096,
        disk_bytes=10240 * MIB,
        tmp_bytes=1024 * MIB,
        shm_bytes=64 * MIB,
        nofile=4096,
        runtime="runc",
    )
    settings = _caps.spec_settings(caps)
    assert settings["memory_swap_bytes"] == settings["memory_bytes"]


def test_modal_memory_maps_onto_a_hard_limit() -> None:
    assert (resolve(request=100).memory_bytes, resolve(request=100).memory_reservation_bytes) == (4096 * MIB, 100 * MIB)
    assert resolve(request=8000).memory_bytes == 8000 * MIB  # a request above the cap raises the cap
    assert resolve(request=100, limit=300).memory_bytes == 300 * MIB  # Modal's explicit limit wins
    assert resolve(sc.Limits(memory_mib=0), request=100).memory_bytes is None  # off: the engine's (whole host)


def test_tmpfs_defaults_shrink_to_fit_the_memory_limit_and_given_sizes_stay() -> None:
    small = resolve(request=32, limit=64)
    assert (small.tmp_bytes, small.shm_bytes) == (32 * MIB, 16 * MIB)
    given = resolve(sc.Limits(tmp_mib=100, shm_mib=100), request=32, limit=64)
    assert (given.tmp_bytes, given.shm_bytes) == (100 * MIB, 100 * MIB)
    off = resolve(sc.Limits(tmp_mib=0))
    assert off.tmp_bytes is None and _caps.spec_settings(off)["tmpfs"] == {}


def test_environment_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SANDBOX_CORE_DISK_LIMIT_MIB", "0")
    monkeypatch.setenv("SANDBOX_CORE_MEMORY_LIMIT_MIB", "512")
    caps = resolve(sc.Limits(pids=7))
    assert (caps.disk_bytes, caps.memory_bytes, caps.pids) == (None, 512 * MIB, 7)
    assert _caps.cap_labels(caps) == {}


@pytest.mark.parametrize(
    "kwargs",
    [{"pids": -1}, {"memory_mib": True}, {"disk_mib": 1.5}, {"nofile": 1 << 21}, {"tmp_mib": "1"}, {"shm_mib": 2**64}],
)
def test_limits_are_validated_where_they_are_built(kwargs: dict[str, Any]) -> None:
    name = next(iter(kwargs))
    with pytest.raises(InvalidError, match=f"Limits.{name} must be None"):
        sc.Limits(**kwargs)


def test_gvisor_needs_room_for_its_own_threads() -> None:
    with pytest.raises(InvalidError, match="A gVisor sandbox needs a process limit of at least 64"):
        _caps.resolve(sc.Limits(pids=32), None, "gvisor", None, None)
    assert _caps.resolve(sc.Limits(pids=64), None, "gvisor", None, None).pids == 64
    assert _caps.resolve(sc.Limits(pids=0), None, "gvisor", None, None).pids is None  # no cap at all is fine


def test_gvisor_takes_no_size_for_tmp() -> None:
    assert _caps.resolve(None, None, "gvisor", None, None).tmp_bytes is None
    assert _caps.resolve(sc.Limits(tmp_mib=0), None, "gvisor", None, None).tmp_bytes is None
    with pytest.raises(InvalidError, match=r"takes no size for /tmp.*got 8"):
        _caps.resolve(sc.Limits(tmp_mib=8), None, "gvisor", None, None)
    assert _caps.resolve(sc.Limits(tmp_mib=8), None, "runc", None, None).tmp_bytes == 8 << 20


class FakeEngine:
    """Just enough of an engine for the policy functions: its runtimes, its start time, records."""

    endpoint = "fake://engine"

    def __init__(self, runtimes: tuple[str, ...] = ("runc",), started_at: float | None = None) -> None:
        self._info = EngineInfo(architecture="x86_64", runtimes=runtimes)
        self._started_at = started_at
        self.records = self
        self.store: dict[str, RecordInfo] = {}

    async def info(self) -> EngineInfo:
        return self._info

    async def started_at(self) -> float | None:
        return self._started_at

    async def put(self, name: str, labels: dict[str, str]) -> RecordInfo:
        return self.store.setdefault(name, RecordInfo(name=name, labels=labels, created_at=0.0))


async def test_gvisor_is_refused_by_an_engine_without_runsc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_caps, "_offered", {})
    with pytest.raises(InvalidError, match=r"runtime='gvisor' needs the engine to offer the 'runsc' runtime"):
        await _caps.engine_runtime(FakeEngine(), "gvisor")  # type: ignore[arg-type]
    monkeypatch.setattr(_caps, "_offered", {})
    assert await _caps.engine_runtime(FakeEngine(("runc", "runsc")), "gvisor") == "runsc"  # type: ignore[arg-type]
    assert await _caps.engine_runtime(FakeEngine(), "runc") is None  # type: ignore[arg-type]


def state(code: int, started: float, finished: float, *, oom: bool = False) -> ContainerState:
    return ContainerState(
        status="exited",
        running=False,
        exit_code=code,
        started_at=started,
        finished_at=finished,
        oom_killed=oom,
        pid=0,
    )


@pytest.mark.parametrize(
    ("st", "engine_started", "explained"),
    [
        (state(143, 100.0, 200.0), 215.0, True),  # SIGTERM as the engine stopped; restarted 15 s later
        (state(137, 100.0, 230.0), 220.0, True),  # SIGKILL by the restarted engine, which found it running
        (state(143, 100.0, 200.0), 500.0, False),  # stopped long before the engine restarted
        (state(0, 100.0, 200.0), 210.0, False),  # a natural exit
        (state(143, 300.0, 310.0), 210.0, False),  # started under the engine that runs now
        (state(143, 100.0, 200.0), None, False),  # the engine cannot say when it started
    ],
)
async def test_which_deaths_an_engine_restart_explains(
    st: ContainerState, engine_started: float | None, explained: bool
) -> None:
    eng = FakeEngine(started_at=engine_started)
    assert await _lifecycle.killed_by_engine_restart(eng, st) is explained  # type: ignore[arg-type]


def test_termination_messages() -> None:
    assert _lifecycle.termination_message(_lifecycle.Outcome("terminated", 137)) == ""
    disk = _lifecycle.Outcome("disk-limit", 137, "its writable layer held 20.0 MiB")
    assert "disk limit: its writable layer held 20.0 MiB" in _lifecycle.termination_message(disk)
    assert "engine restarted" in _lifecycle.termination_message(_lifecycle.Outcome("engine-restart", 137))
    assert {sc.EndReason(r) for r in _lifecycle.TERMINATIONS} == {
        sc.EndReason.TERMINATED,
        sc.EndReason.DISK_LIMIT,
        sc.EndReason.ENGINE_RESTART,
        sc.EndReason.NODE_LOST,
    }
