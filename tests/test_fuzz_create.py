"""Property tests over every public argument of ``Sandbox.create`` (issue 17, fuzzing): any mix of hostile values
ends, within a bounded time, in a sandbox (terminated at once) or in ``InvalidError`` with nothing created on the
engine — no ``OverflowError``, no raw engine error, no container left by a refused call."""

from __future__ import annotations

import time
import warnings
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import example, given
from hypothesis import strategies as st

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._engine import labels as L

from . import _fuzz as F
from .conftest import BUSYBOX, app_name

pytestmark = pytest.mark.usefixtures("engine")

# Create validates its arguments before it creates anything; a bad one is an InvalidError (the library's typed
# error for "this argument is wrong", wrong types included: Modal's create raises InvalidError for those too).
CREATE_RAISES: tuple[type[BaseException], ...] = (exc.InvalidError,)

ports = st.one_of(st.lists(F.numbers, max_size=3), F.anything)
cidrs = st.one_of(
    st.lists(st.one_of(F.texts, st.sampled_from(["10.0.0.0/8", "::/0", "1.2.3.4/33", "300.1.1.1/8"])), max_size=3),
    F.anything,
)
pair = st.tuples(F.numbers, F.numbers)
pty_infos = st.builds(SimpleNamespace, winsz_rows=F.numbers, winsz_cols=F.numbers)

# One strategy per public keyword of Sandbox.create (``app`` is the test's own; ``_experimental_*`` are private).
ARGUMENTS: dict[str, st.SearchStrategy[Any]] = {
    "name": st.one_of(F.texts, F.anything),
    "tags": st.one_of(F.str_dicts, F.anything),
    "image": F.anything,
    "env": st.one_of(F.str_dicts, F.anything),
    "secrets": st.one_of(st.lists(F.anything, max_size=2), F.anything),
    "network_file_systems": F.anything,
    "timeout": st.one_of(F.numbers, F.anything),
    "idle_timeout": st.one_of(F.numbers, F.anything),
    "workdir": st.one_of(F.texts, F.anything),
    "gpu": F.anything,
    "cloud": F.anything,
    "region": st.one_of(st.lists(F.texts, max_size=2), F.anything),
    "cpu": st.one_of(F.numbers, pair, F.anything),
    "memory": st.one_of(F.numbers, pair, F.anything),
    "block_network": F.anything,
    "outbound_cidr_allowlist": cidrs,
    "outbound_domain_allowlist": st.one_of(st.lists(F.texts, max_size=3), F.anything),
    "inbound_cidr_allowlist": cidrs,
    "cidr_allowlist": cidrs,
    "volumes": st.one_of(st.dictionaries(F.texts, F.anything, max_size=2), F.anything),
    "pty": F.anything,
    "encrypted_ports": ports,
    "h2_ports": ports,
    "unencrypted_ports": ports,
    "custom_domain": F.anything,
    "proxy": F.anything,
    "include_oidc_identity_token": F.anything,
    "readiness_probe": F.anything,
    "verbose": F.anything,
    "experimental_options": st.one_of(st.dictionaries(F.texts, F.anything, max_size=2), F.anything),
    "client": F.anything,
    "environment_name": F.anything,
    "pty_info": st.one_of(pty_infos, F.anything),
    "pids_limit": st.one_of(F.numbers, F.anything),
}


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzz_app() -> AsyncIterator[sc.App]:
    """An app of this module's own: "nothing was created" is checked by its label."""
    yield await sc.App.lookup(app_name(f"fuzz-create-{time.monotonic_ns()}"), create_if_missing=True)


async def check_create(app: sc.App, args: list[Any], kw: dict[str, Any]) -> None:
    """Create with ``args``/``kw`` (busybox unless ``kw`` names an image): a sandbox, terminated at once, or an
    allowed error with no new container of ``app`` on the engine."""
    kw.setdefault("image", sc.Image.from_registry(BUSYBOX))
    kw.setdefault("timeout", 60)
    before = await F.containers_labelled(L.APP_ID, app.app_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated arguments (pty_info, cidr_allowlist…) warn, as Modal's do
        out = await F.bounded(sc.Sandbox.create(*args, app=app, **kw), CREATE_RAISES)
    if isinstance(out, sc.Sandbox):
        await out.terminate()
        return
    after = await F.containers_labelled(L.APP_ID, app.app_id)
    assert after <= before, f"a refused create ({out!r}) left containers {after - before}"


def keywords(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
    return {name: draw(ARGUMENTS[name]) for name in chosen}


@st.composite
def create_calls(draw: st.DrawFn) -> tuple[list[Any], dict[str, Any]]:
    # mostly no command, so that the keywords' own checks are reached (a bad command is refused first)
    args = draw(st.one_of(st.just([]), st.just([]), st.just([]), st.lists(st.one_of(F.texts, F.anything), max_size=3)))
    return args, keywords(draw, sorted(ARGUMENTS))


@F.FAST
@given(call=create_calls())
@example(call=([], {"cpu": 257}))  # found: 257 cores of shares are past the kernel's largest weight
async def test_create_arguments_end_typed_and_leave_nothing(
    fuzz_app: sc.App, call: tuple[list[Any], dict[str, Any]]
) -> None:
    await check_create(fuzz_app, *call)


@pytest.mark.slow
@F.SLOW
@given(call=create_calls())
async def test_create_arguments_end_typed_and_leave_nothing_many(
    fuzz_app: sc.App, call: tuple[list[Any], dict[str, Any]]
) -> None:
    await check_create(fuzz_app, *call)
