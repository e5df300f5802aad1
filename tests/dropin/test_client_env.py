"""``client=`` and ``environment_name=`` are accepted where Modal accepts them (one local client, one environment)."""

from __future__ import annotations

import pytest

import sandbox_core as sc
import sandbox_core_sync as modal
from sandbox_core.exception import DeprecationError, InvalidError
from tests.conftest import BUSYBOX, app_name

pytestmark = pytest.mark.usefixtures("engine")  # async tests: asyncio mode "auto", the session loop


async def test_the_client_is_one_per_process_and_accepted_everywhere() -> None:
    client = await sc.Client.from_env()
    assert client is await sc.Client.from_env() is await sc.Client.from_credentials("ak-x", "as-y")
    assert not client.is_closed()
    async with client as c:
        assert c is client
    with pytest.raises(InvalidError, match="no constructor"):
        sc.Client()
    app = await sc.App.lookup(app_name("client"), client=client, environment_name="main", create_if_missing=True)
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), client=client)
    try:
        with pytest.warns(DeprecationError, match="environment_name"):
            await sc.Sandbox.create("true", app=app, environment_name="dev", image=sc.Image.from_registry(BUSYBOX))
        assert (await sc.Sandbox.from_id(sb.object_id, client=client)).object_id == sb.object_id
        assert sb.object_id in [s.object_id async for s in sc.Sandbox.list(app_id=app.app_id, client=client)]
        with pytest.warns(DeprecationError, match="client"):
            await sb.set_tags({"a": "b"}, client=client)
    finally:
        await sb.terminate()


async def test_environment_name_is_deprecated_on_create_as_in_modal(app: sc.App) -> None:
    with pytest.warns(DeprecationError, match=r"^2025-07-16: Passing `environment_name` to `Sandbox.create` is deprec"):
        sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), environment_name="main")
    await sb.terminate()


async def test_from_name_accepts_both() -> None:
    name = app_name("client-from-name")
    app = await sc.App.lookup(name, create_if_missing=True)
    sb = await sc.Sandbox.create(app=app, name="n", image=sc.Image.from_registry(BUSYBOX))
    try:
        found = await sc.Sandbox.from_name(name, "n", environment_name="prod", client=await sc.Client.from_env())
        assert found.object_id == sb.object_id
    finally:
        await sb.terminate()


async def test_wrong_types_are_refused_clearly() -> None:
    with pytest.raises(InvalidError, match="client must be a Client"):
        await sc.App.lookup(app_name("x"), client="token")  # type: ignore[arg-type]
    with pytest.raises(InvalidError, match="environment_name must be a string"):
        await sc.App.lookup(app_name("x"), environment_name=3)  # type: ignore[arg-type]


def test_the_blocking_api_accepts_them_too() -> None:
    client = modal.Client.from_env()
    assert isinstance(client, modal.Client)
    app = modal.App.lookup(app_name("client-sync"), client=client, environment_name="main", create_if_missing=True)
    sb = modal.Sandbox.create(app=app, image=modal.Image.from_registry(BUSYBOX), client=client)
    try:
        assert modal.Sandbox.from_id(sb.object_id, client=client).object_id == sb.object_id
    finally:
        sb.terminate()
