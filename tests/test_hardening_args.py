"""Every argument typed and bounded (issue 17): bad values end in ``InvalidError`` before anything is created on the
engine — no ``OverflowError``/``ValueError`` leak, no engine ``ServiceError``, no host path in a message."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._engine import get_engine
from sandbox_core._engine import labels as L

from .conftest import BUSYBOX, app_name, container_id

pytestmark = pytest.mark.usefixtures("engine")

HUGE = 10**400


@pytest_asyncio.fixture(loop_scope="session")
async def fresh_app() -> AsyncIterator[sc.App]:
    """An app of the test's own, so that "nothing was created" can be checked by its label."""
    yield await sc.App.lookup(app_name(f"args-{time.monotonic_ns()}"), create_if_missing=True)


def containers_of(app: sc.App) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={L.APP_ID}={app.app_id}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


async def refused(app: sc.App, **kw: Any) -> exc.InvalidError:
    """Create with ``kw``; assert ``InvalidError`` and that no container of ``app`` exists."""
    kw.setdefault("image", sc.Image.from_registry(BUSYBOX))
    with pytest.raises(exc.InvalidError) as info:
        await sc.Sandbox.create(app=app, timeout=kw.pop("timeout", 60), **kw)
    assert containers_of(app) == []
    assert "/var/lib/docker" not in str(info.value)
    return info.value


@pytest.mark.parametrize(
    "kw",
    [
        {"cpu": float("inf")},
        {"cpu": float("nan")},
        {"cpu": HUGE},
        {"cpu": (1, float("inf"))},
        {"cpu": (1, HUGE)},
        {"cpu": (1, 10.0**7)},  # beyond any machine (a limit the host lacks but a machine may have is fitted)
        {"memory": float("inf")},
        {"memory": float("nan")},
        {"memory": HUGE},
        {"memory": (64, HUGE)},
        {"memory": 1},
        {"timeout": float("inf")},
        {"timeout": float("nan")},
        {"timeout": HUGE},
        {"timeout": 1e308},
        {"timeout": 24 * 3600 + 1},
        {"idle_timeout": float("inf")},
        {"idle_timeout": HUGE},
        {"pids_limit": HUGE},
        {"pids_limit": 10**30},
        {"pty": "yes"},
        {"block_network": 1},
        {"env": {"A=B": "c"}},
        {"env": {"": "x"}},
        {"workdir": "/etc/passwd"},
        {"workdir": "/etc/passwd/x"},
        {"workdir": "/tmp/\0x"},
    ],
    ids=lambda kw: repr(kw)[:40],
)
async def test_bad_create_argument_is_invalid_and_creates_nothing(fresh_app: sc.App, kw: dict[str, Any]) -> None:
    await refused(fresh_app, **kw)


@pytest.mark.parametrize(
    "size", [(-1, 80), (24, -5), (24.5, 80), ("24", 80), (10**6, 80), (24, HUGE)], ids=lambda s: repr(s)[:20]
)
async def test_pty_info_bad_window_refused_before_anything_is_created(fresh_app: sc.App, size: tuple[Any, Any]) -> None:
    info = SimpleNamespace(winsz_rows=size[0], winsz_cols=size[1])
    with pytest.warns(exc.DeprecationError):
        await refused(fresh_app, pty_info=info)


async def test_timeout_upper_bound_is_modals_24_hours(fresh_app: sc.App) -> None:
    sb = await sc.Sandbox.create(app=fresh_app, image=sc.Image.from_registry(BUSYBOX), timeout=24 * 3600)
    await sb.terminate()


@pytest.mark.parametrize("ref", ["a;b", "busybox;rm", "../containers/x", "A/B", "x y", "busybox:1\n"])
def test_bad_image_reference_is_invalid(ref: str) -> None:
    with pytest.raises(exc.InvalidError):
        sc.Image.from_registry(ref)


async def test_image_reference_cannot_walk_to_another_engine_object(own_sandbox: sc.Sandbox) -> None:
    cid = container_id(own_sandbox)
    eng = await get_engine()
    for ref in (f"../containers/{cid}", f"x/../../containers/{cid}", "./busybox"):
        with pytest.raises(exc.InvalidError):
            await eng.images.inspect(ref)


# ------------------------------------------------------------------------------------------------------- exec


@pytest.mark.parametrize(
    "kw",
    [
        {"env": {"A=B": "c"}},
        {"env": {"": "x"}},
        {"env": {"1A": "x"}},
        {"timeout": float("inf")},
        {"timeout": float("nan")},
        {"timeout": HUGE},
        {"timeout": -1},
        {"timeout": 24 * 3600 + 1},
        {"pty": "yes"},
        {"pty_info": SimpleNamespace(winsz_rows=-1, winsz_cols=80)},
        {"pty_info": SimpleNamespace(winsz_rows=24, winsz_cols=1 << 20)},
    ],
    ids=lambda kw: repr(kw)[:40],
)
async def test_bad_exec_argument_is_invalid(shared_sandbox: sc.Sandbox, kw: dict[str, Any]) -> None:
    warns = pytest.warns(exc.DeprecationError) if "pty_info" in kw else contextlib.nullcontext()
    with pytest.raises(exc.InvalidError), warns:
        await shared_sandbox.exec("true", **kw)


async def test_exec_fractional_timeout_is_not_truncated_to_zero(shared_sandbox: sc.Sandbox) -> None:
    p = await shared_sandbox.exec("echo", "hi", timeout=0.9)  # type: ignore[call-overload]
    assert await p.wait() == 0
    assert await p.stdout.read() == "hi\n"


async def test_exec_fractional_timeout_still_kills(shared_sandbox: sc.Sandbox) -> None:
    t0 = time.monotonic()
    p = await shared_sandbox.exec("sleep", "30", timeout=0.5)  # type: ignore[call-overload]
    assert await p.wait() == -1
    assert time.monotonic() - t0 < 5
