"""Property tests over the arguments of names, tags, images (definition only: nothing is built), volumes and secrets
(issue 17, fuzzing): each call ends, within a bounded time, in success or in the typed errors listed for it here,
and a refused call creates nothing on the engine."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from hypothesis import example, given
from hypothesis import strategies as st

import sandbox_core as sc
from sandbox_core import exception as exc
from sandbox_core._engine import labels as L

from . import _fuzz as F
from .conftest import APP_PREFIX, BUSYBOX, app_name

pytestmark = pytest.mark.usefixtures("engine")

# The errors each call may raise for a bad argument, and nothing else.
LOOKUP_RAISES: tuple[type[BaseException], ...] = (exc.InvalidError, exc.NotFoundError)  # from_name of all kinds
TAGS_RAISES: tuple[type[BaseException], ...] = (exc.InvalidError,)
DEFINE_RAISES: tuple[type[BaseException], ...] = (exc.InvalidError,)  # Image/Secret/Volume definitions
# An image step naming a local file or directory that is not there (or not the right kind) says so as Modal does.
LOCAL_PATH_RAISES: tuple[type[BaseException], ...] = (exc.InvalidError, FileNotFoundError, NotADirectoryError)
# ... and a local path that is not a path at all is the TypeError of ``os.fspath``, Python's convention.


def opt(**optional: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the keyword arguments ``optional`` draws."""
    return st.fixed_dictionaries({}, optional=optional)


names = st.one_of(F.texts, F.anything, st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,70}", fullmatch=True))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def fuzz_app() -> AsyncIterator[sc.App]:
    yield await sc.App.lookup(app_name(f"fuzz-objects-{time.monotonic_ns()}"), create_if_missing=True)


# ----------------------------------------------------------------------------------------------------- names


async def check_named_create(app: sc.App, name: Any) -> None:
    before = await F.containers_labelled(L.APP_ID, app.app_id)
    out = await F.bounded(
        sc.Sandbox.create(app=app, name=name, image=sc.Image.from_registry(BUSYBOX), timeout=60), (exc.InvalidError,)
    )
    if isinstance(out, sc.Sandbox):
        try:
            if name is not None:  # None: a sandbox without a name
                found = await F.bounded(sc.Sandbox.from_name(app.name or "", name), ())
                assert isinstance(found, sc.Sandbox) and found.object_id == out.object_id
        finally:
            await out.terminate()
        return
    assert await F.containers_labelled(L.APP_ID, app.app_id) <= before


@F.ENGINE
@given(name=names)
async def test_create_name_is_claimed_or_refused(fuzz_app: sc.App, name: Any) -> None:
    await check_named_create(fuzz_app, name)


@F.FAST
@given(app=st.one_of(names, st.just(app_name("fuzz-none"))), name=names, env=st.one_of(st.none(), F.anything))
async def test_sandbox_from_name_finds_nothing_typed(app: Any, name: Any, env: Any) -> None:
    out = await F.bounded(sc.Sandbox.from_name(app, name, environment_name=env), LOOKUP_RAISES)
    assert isinstance(out, BaseException), f"found a sandbox {out!r} nobody created"


# ------------------------------------------------------------------------------------------------------ tags


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tagged(fuzz_app: sc.App) -> AsyncIterator[sc.Sandbox]:
    sb = await sc.Sandbox.create(app=fuzz_app, image=sc.Image.from_registry(BUSYBOX), timeout=600)
    try:
        yield sb
    finally:
        await sb.terminate()


@F.FAST
@given(tags=st.one_of(F.str_dicts, st.dictionaries(F.texts, F.texts, max_size=3), F.anything))
async def test_set_tags_round_trips_or_is_refused(tagged: sc.Sandbox, tags: Any) -> None:
    before = await tagged.get_tags()
    out = await F.bounded(tagged.set_tags(tags), TAGS_RAISES)
    after = await tagged.get_tags()
    if isinstance(out, BaseException):
        assert after == before, "a refused set_tags changed the tags"
    else:
        assert after == tags


# ---------------------------------------------------------------------------------------------------- images

IMAGE_STEPS: dict[str, Callable[[st.DrawFn], Any]] = {
    "run_commands": lambda d: sc.Image.from_registry(BUSYBOX).run_commands(
        *d(st.lists(st.one_of(F.texts, st.lists(F.texts, max_size=2), F.anything), max_size=3)),
        **d(opt(env=F.anything, secrets=F.anything, gpu=F.anything)),
    ),
    "dockerfile_commands": lambda d: sc.Image.from_registry(BUSYBOX).dockerfile_commands(
        *d(st.lists(st.one_of(F.texts, F.anything), max_size=3)),
        **d(opt(context_files=F.anything, build_args=F.anything)),
    ),
    "entrypoint": lambda d: sc.Image.from_registry(BUSYBOX).entrypoint(d(F.anything)),
    "cmd": lambda d: sc.Image.from_registry(BUSYBOX).cmd(d(F.anything)),
    "shell": lambda d: sc.Image.from_registry(BUSYBOX).shell(d(F.anything)),
    "env": lambda d: sc.Image.from_registry(BUSYBOX).env(d(st.one_of(F.str_dicts, F.anything))),
    "workdir": lambda d: sc.Image.from_registry(BUSYBOX).workdir(d(st.one_of(F.texts, F.anything))),
    "from_registry": lambda d: sc.Image.from_registry(
        d(st.one_of(F.texts, F.anything)),
        **d(opt(add_python=F.anything, setup_dockerfile_commands=F.anything)),
    ),
    "debian_slim": lambda d: sc.Image.debian_slim(d(st.one_of(F.texts, F.anything))),
    "micromamba": lambda d: sc.Image.micromamba(d(st.one_of(F.texts, F.anything))),
    "from_id": lambda d: sc.Image.from_id(d(st.one_of(F.texts, F.anything))),
    "from_name": lambda d: sc.Image.from_name(d(names)),
}


@F.FAST
@given(data=st.data(), step=st.sampled_from(sorted(IMAGE_STEPS)))
def test_image_definition_is_an_image_or_invalid(data: st.DataObject, step: str) -> None:
    # as Modal's, a python_version that is not a str is a TypeError naming it
    python = step in ("debian_slim", "micromamba")
    out = F.raises_only(IMAGE_STEPS[step], (*DEFINE_RAISES, TypeError) if python else DEFINE_RAISES, data.draw)
    assert isinstance(out, sc.Image | exc.InvalidError) or "python_version" in str(out)


@F.FAST
@given(local=st.one_of(F.texts, F.anything), remote=st.one_of(F.texts, F.anything), kind=st.sampled_from(["f", "d"]))
def test_image_local_steps_are_an_image_or_refused(local: Any, remote: Any, kind: str) -> None:
    base = sc.Image.from_registry(BUSYBOX)
    step = base.add_local_file if kind == "f" else base.add_local_dir
    kinds = LOCAL_PATH_RAISES if isinstance(local, str) else (*LOCAL_PATH_RAISES, TypeError)
    F.raises_only(step, kinds, local, remote)


# ------------------------------------------------------------------------------------------- volumes, secrets


@F.FAST
@given(name=names, env=st.one_of(st.none(), F.anything), version=st.one_of(st.none(), F.anything))
async def test_volume_from_name_without_create_finds_nothing_typed(name: Any, env: Any, version: Any) -> None:
    vol = F.raises_only(sc.Volume.from_name, DEFINE_RAISES, name, environment_name=env, version=version)
    if isinstance(vol, sc.Volume):
        # ``version`` is checked against the volume when it is looked up: InvalidError then
        out = await F.bounded(vol.hydrate(), LOOKUP_RAISES)
        assert isinstance(out, BaseException), f"a volume {name!r} nobody created was found: {out!r}"


@F.ENGINE
@given(
    suffix=st.one_of(F.texts, st.from_regex(r"[a-z0-9._-]{1,20}", fullmatch=True)),
    version=st.sampled_from([None, 1, 2, 3, "2"]),
)
async def test_volume_from_name_created_or_refused(suffix: str, version: Any) -> None:
    name = f"{APP_PREFIX}-fz-{suffix}"
    vol = F.raises_only(sc.Volume.from_name, DEFINE_RAISES, name, create_if_missing=True, version=version)
    if not isinstance(vol, sc.Volume):
        return
    out = await F.bounded(vol.hydrate(), DEFINE_RAISES)
    if isinstance(out, sc.Volume):
        await sc.Volume.objects.delete(name)


@F.FAST
@given(env=st.one_of(F.str_dicts, F.anything))
def test_secret_from_dict_is_a_secret_or_invalid(env: Any) -> None:
    out = F.raises_only(sc.Secret.from_dict, DEFINE_RAISES, env)
    if isinstance(out, sc.Secret):
        assert set(out.env) == {k for k, v in env.items() if v is not None}


@F.FAST
@given(name=names, env=st.one_of(st.none(), F.anything), keys=st.one_of(st.lists(F.texts, max_size=2), F.anything))
@example(name="x", env=None, keys=None)  # found: a raw TypeError
async def test_secret_from_name_finds_nothing_typed(name: Any, env: Any, keys: Any) -> None:
    sec = F.raises_only(sc.Secret.from_name, DEFINE_RAISES, name, environment_name=env, required_keys=keys)
    if isinstance(sec, sc.Secret):
        out = await F.bounded(sec.hydrate(), LOOKUP_RAISES)
        assert isinstance(out, exc.NotFoundError), f"a secret {name!r} nobody created was found: {out!r}"


# --------------------------------------------------------------------------------------------- -m slow share


@pytest.mark.slow
@F.SLOW
@given(data=st.data(), step=st.sampled_from(sorted(IMAGE_STEPS)))
def test_image_definition_is_an_image_or_invalid_many(data: st.DataObject, step: str) -> None:
    test_image_definition_is_an_image_or_invalid.hypothesis.inner_test(data, step)  # type: ignore[attr-defined]


@pytest.mark.slow
@F.SLOW
@given(app=st.one_of(names, st.just(app_name("fuzz-none"))), name=names, env=st.one_of(st.none(), F.anything))
async def test_sandbox_from_name_finds_nothing_typed_many(app: Any, name: Any, env: Any) -> None:
    await test_sandbox_from_name_finds_nothing_typed.hypothesis.inner_test(app, name, env)  # type: ignore[attr-defined]


@pytest.mark.slow
@F.SLOW
@given(tags=st.one_of(F.str_dicts, st.dictionaries(F.texts, F.texts, max_size=3), F.anything))
async def test_set_tags_round_trips_or_is_refused_many(tagged: sc.Sandbox, tags: Any) -> None:
    await test_set_tags_round_trips_or_is_refused.hypothesis.inner_test(tagged, tags)  # type: ignore[attr-defined]
