"""``App``: the namespace sandboxes belong to — an ephemeral app (``App(name)`` + ``async with app.run():``) or a
deployed one (``App.lookup(name, create_if_missing=True)``, or ``app.deploy()``).

As in Modal, an ``App`` object is *defined* until it runs: ``app_id`` is None and ``Sandbox.create(app=app)`` raises
Modal's ``ValueError``. ``app.run()`` gives it a fresh id for the duration of the block; when the block exits — also on
an exception, or Ctrl-C — every sandbox still running in it is terminated (see ``_ephemeral``) and the app stops:
creating a sandbox with it afterwards raises ``InvalidError``. A looked-up or deployed app is running for good.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import types
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from . import _ephemeral, _output
from ._engine import get_engine
from ._engine import labels as L
from ._ids import is_valid_object_name, new_id
from ._validation import check_environment_name, reject_client
from .client import Client
from .exception import InvalidError, NotFoundError
from .image import Image
from .secret import Secret

__all__ = ["App", "AppRun"]  # also for the library: app_labels, is_running, running_app_id

#: Label of a sandbox of an ephemeral app: the run's description (deployed apps' sandboxes carry ``APP_NAME``).
APP_DESCRIPTION = L.PREFIX + "app-description"

_TAG_RE = re.compile(r"^[a-zA-Z0-9._-]{1,63}$")
_TAG_RULES = (
    "\n\nTags may contain only alphanumeric characters, dashes, periods, or underscores, and must be 63 characters "
    "or less."
)
_NOT_INITIALIZED = (
    "App has not been initialized yet. To create an App lazily, use `App.lookup`: \n"
    "app = modal.App.lookup('my-app', create_if_missing=True)\n"
    "modal.Sandbox.create('echo', 'hi', app=app)\n"
    "In order to initialize an existing `App` object, refer to our docs: https://modal.com/docs/guide/apps"
)

_State = Literal["defined", "running", "stopped", "deployed"]


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not is_valid_object_name(name):
        raise InvalidError(
            f"Invalid App name: '{name}'.\n\nNames may contain only alphanumeric characters, dashes, periods, and "
            "underscores, must be shorter than 64 characters, and cannot conflict with App ID strings."
        )


def _check_tags(tags: Any) -> dict[str, str]:
    if not isinstance(tags, Mapping):
        raise InvalidError(f"tags must be a dict[str, str], got {type(tags).__name__}")
    for key, value in tags.items():
        if not isinstance(key, str) or not _TAG_RE.match(key):
            raise InvalidError(f"Invalid tag key: {key!r}.{_TAG_RULES}")
        if not isinstance(value, str) or not _TAG_RE.match(value):
            raise InvalidError(f"Invalid tag value: {value!r}.{_TAG_RULES}")
    return dict(tags)


class App:
    """A group of sandboxes: ``App(name)`` runs ephemerally with ``app.run()``; ``App.lookup`` gives a deployed app,
    whose id (``ap-…``) is the same in every process."""

    __slots__ = ("__weakref__", "_app_id", "_description", "_image", "_name", "_secrets", "_state", "_tags", "_volumes")

    _name: str | None
    _description: str | None
    _app_id: str | None
    _state: _State
    _tags: dict[str, str]
    _image: Image | None
    _secrets: tuple[Secret, ...]
    _volumes: dict[Any, Any]

    def __init__(
        self,
        name: str | None = None,
        *,
        tags: dict[str, str] | None = None,
        image: Image | None = None,
        secrets: Sequence[Secret] = [],
        volumes: dict[str | os.PathLike[str], Any] = {},  # noqa: B006 - Modal's signature
        include_source: bool = True,
    ) -> None:
        """Define an app (Modal's checks and messages). ``image``, ``secrets``, ``volumes`` and ``include_source``
        are the defaults Modal gives an app's *Functions*; sandboxes never use them (in Modal neither), so they are
        only checked and kept (``app.image``)."""
        if name is not None and not isinstance(name, str):
            raise InvalidError("Invalid value for `name`: Must be string.")
        self._tags = _check_tags(tags) if tags is not None else {}
        if not isinstance(secrets, list | tuple) or not all(isinstance(s, Secret) for s in secrets):
            raise InvalidError("`secrets=` has to be a list or tuple of `modal.Secret` objects")
        if not isinstance(volumes, dict):
            raise InvalidError("`volumes=` has to be a dict of mount paths to `modal.Volume` objects")
        if image is not None and not isinstance(image, Image):
            raise InvalidError("`image=` has to be a `modal.Image` object")
        if not isinstance(include_source, bool):
            raise InvalidError("`include_source=` has to be True or False")
        self._name = name
        self._description = name
        self._app_id = None
        self._state = "defined"
        self._image = image
        self._secrets = tuple(secrets)
        self._volumes = dict(volumes)

    @classmethod
    def _deployed(cls, name: str, app_id: str) -> App:
        obj = cls(name)
        obj._app_id = app_id
        obj._state = "deployed"
        return obj

    @staticmethod
    async def lookup(
        name: str,
        *,
        client: Client | None = None,
        environment_name: str | None = None,
        create_if_missing: bool = False,
    ) -> App:
        """The deployed app called ``name``; created when missing if ``create_if_missing``.

        Raises ``NotFoundError`` when it does not exist and may not be created, ``InvalidError`` for a bad name.
        ``client`` and ``environment_name`` are accepted as in Modal: the local engine is the one client and the one
        environment, whatever the name.
        """
        _check_name(name)
        reject_client(client)
        check_environment_name(environment_name)
        eng = await get_engine()
        rec = await eng.records.get(f"app.{name}")
        if rec is None:
            if not create_if_missing:
                raise NotFoundError(f"App '{name}' not found")
            rec = await eng.records.put(
                f"app.{name}",
                L.owned(L.KIND_RECORD, **{L.RECORD_TYPE: "app", L.APP_NAME: name, L.APP_ID: new_id("ap")}),
            )
        return App._deployed(name, rec.labels[L.APP_ID])

    @property
    def app_id(self) -> str | None:
        """The app's id (``ap-`` + 22 alphanumerics) once it has run or been deployed/looked up, else None. An
        ephemeral app keeps the id of its last run after the run ends."""
        return self._app_id

    @property
    def name(self) -> str | None:
        """The name given to the app, if any."""
        return self._name

    @property
    def description(self) -> str | None:
        """The app's name, or for an unnamed app that ran, the name of the script that ran it."""
        return self._description

    @property
    def is_interactive(self) -> bool:
        """False: interactive mode only changes how Modal runs Functions, which do not exist locally."""
        return False

    @property
    def image(self) -> Image | None:
        """The default image given to the constructor (Modal uses it for Functions, never for sandboxes)."""
        return self._image

    def run(
        self,
        *,
        name: str | None = None,
        client: Client | None = None,
        detach: bool = False,
        interactive: bool = False,
        environment_name: str | None = None,
    ) -> AppRun:
        """Run the app ephemerally while an ``async with app.run():`` block lasts.

        The blocking API's forms are ``with app.run():`` and ``async with app.run.aio():``.

        ``name`` overrides the description shown for the run. On exit every sandbox still running in the app is
        terminated, unless ``detach=True`` (then they run on to their own ``timeout``, as a detached Modal app's
        do). ``interactive=True`` needs ``enable_output()``, as in Modal (it changes nothing for sandboxes).
        ``client``/``environment_name`` as in ``App.lookup``. A ``KeyboardInterrupt`` inside the block ends the run
        and is not propagated (Modal's "App aborted.").
        """
        return AppRun(
            self, name=name, client=client, detach=detach, interactive=interactive, environment_name=environment_name
        )

    async def deploy(
        self,
        *,
        name: str | None = None,
        environment_name: str | None = None,
        tag: str = "",
        client: Client | None = None,
        strategy: str = "rolling",
    ) -> App:
        """Deploy the app: register its name so that ``App.lookup(name)`` finds it and sandboxes can be created with
        it from now on (the local equivalent of ``modal deploy`` for an app that holds only sandboxes). ``tag`` and
        ``strategy`` are checked as in Modal; there are no Functions to roll over."""
        if name is None and self._name is None:
            raise InvalidError(
                "You need to either supply a deployment name or have a name set on the app.\n\nExamples:\n"
                'app.deploy(name="some-name")\n\nor\napp = modal.App("some-name")'
            )
        if strategy not in ("rolling", "recreate"):
            raise InvalidError(f"Invalid deployment strategy {strategy!r}: expected 'rolling' or 'recreate'")
        if not isinstance(tag, str):
            raise InvalidError("tag must be a string")
        if self._state == "running":
            raise InvalidError("App is already running and can't be deployed while `app.run()` is active.")
        deployed = await App.lookup(
            name or self._name or "", client=client, environment_name=environment_name, create_if_missing=True
        )
        self._app_id = deployed.app_id
        self._state = "deployed"
        return self

    def __repr__(self) -> str:
        return f"App(name={self._name!r}, app_id={self._app_id!r})"


def is_local() -> bool:
    """Modal's ``is_local``: True on the machine that launches the app, False inside Modal's containers. Programs
    using this library always run on the launching side (nothing imports it inside a sandbox), so: True."""
    return True


def running_app_id(app: App) -> str:
    """The id sandboxes of ``app`` get now. Raises Modal's ``ValueError`` for an app that never ran, and
    ``InvalidError`` for an ephemeral app whose ``run()`` block has exited."""
    if app._app_id is None:
        raise ValueError(_NOT_INITIALIZED)
    if app._state == "stopped":
        raise InvalidError(
            f"App {app._app_id} has stopped: its `app.run()` block exited, which terminated its sandboxes. Create "
            "sandboxes inside the block, or use a deployed app (`App.lookup(name, create_if_missing=True)`)."
        )
    return app._app_id


def is_running(app: App) -> bool:
    """True while sandboxes may be created in ``app``."""
    return app._app_id is not None and app._state in ("running", "deployed")


def app_labels(app: App) -> dict[str, str]:
    """The labels naming ``app`` on its sandboxes: the id, and the name of a deployed app (``Sandbox.from_name``
    finds sandboxes of deployed apps only, as in Modal) or the description of an ephemeral one."""
    labels = {L.APP_ID: running_app_id(app)}
    if app._state == "deployed" and app._name:
        labels[L.APP_NAME] = app._name
    else:
        labels[APP_DESCRIPTION] = app._description or ""
    return labels


def _script_name() -> str:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.basename(path) if isinstance(path, str) else "__main__"


class AppRun:
    """One ephemeral run of an ``App``: ``async with app.run() as app:`` (what ``App.run`` returns)."""

    __slots__ = ("_app", "_detach", "_interactive", "_name")

    def __init__(
        self,
        app: App,
        *,
        name: str | None,
        client: Client | None,
        detach: bool,
        interactive: bool,
        environment_name: str | None,
    ) -> None:
        """Internal: made by ``App.run``, which checks nothing until the block is entered (as Modal)."""
        reject_client(client)
        check_environment_name(environment_name)
        if name is not None and not isinstance(name, str):
            raise InvalidError("Invalid value for `name`: Must be string.")
        self._app = app
        self._name = name
        self._detach = bool(detach)
        self._interactive = bool(interactive)

    async def __aenter__(self) -> App:
        app = self._app
        if app._state in ("running", "deployed"):
            raise InvalidError(
                "App is already running and can't be started again.\n"
                "You should not use `app.run` or `run_app` within a Modal `local_entrypoint`"
            )
        out = _output.current()
        if self._interactive and out is None:
            raise InvalidError(
                "Interactive mode requires output to be enabled. (Use the the `modal.enable_output()` context manager.)"
            )
        if self._name:
            app._description = self._name
        elif app._description is None:
            app._description = _script_name()
        app_id = new_id("ap")
        eng = await get_engine()
        await _ephemeral.start_run(eng, app_id, app._description or "", app._tags)
        app._app_id, app._state = app_id, "running"
        if out is not None:
            out.progress(f"✓ Initialized. App {app_id} ({app._description}).")
        return app

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> bool:
        app = self._app
        app._state = "stopped"  # first: a create still under way in this process removes its own sandbox
        assert app._app_id is not None
        eng = await get_engine()
        # Shielded: a second cancellation (another Ctrl-C) must not leave the run's sandboxes behind.
        await asyncio.shield(_ephemeral.stop_run(eng, app._app_id, terminate=not self._detach))
        out = _output.current()
        aborted = exc_type is not None and issubclass(exc_type, KeyboardInterrupt)
        if out is not None:
            out.progress("App aborted." if aborted else "✓ App completed.")
        return aborted  # Modal ends the run quietly on Ctrl-C
