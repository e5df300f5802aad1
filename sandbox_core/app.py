"""``App``: the namespace sandboxes belong to. ``App.lookup(name, create_if_missing=...)``."""

from __future__ import annotations

from ._engine import get_engine
from ._engine import labels as L
from ._ids import is_valid_object_name, new_id
from .exception import InvalidError, NotFoundError


class App:
    """A named app on the local engine; its id (``ap-…``) is the same in every process."""

    __slots__ = ("_app_id", "_name")

    _app_id: str
    _name: str

    def __init__(self) -> None:
        raise InvalidError("Class App has no constructor. Use class constructor methods instead.")

    @classmethod
    def _from_record(cls, name: str, app_id: str) -> App:
        obj = object.__new__(cls)
        obj._name = name
        obj._app_id = app_id
        return obj

    @staticmethod
    async def lookup(
        name: str, *, create_if_missing: bool = False, environment_name: str | None = None, client: None = None
    ) -> App:
        """The app called ``name``; created when missing if ``create_if_missing``.

        Raises ``NotFoundError`` when it does not exist and may not be created, ``InvalidError`` for a bad name
        or for ``environment_name``/``client`` (Modal environments and clients do not exist locally).
        """
        if environment_name is not None:
            raise InvalidError("environment_name is not supported by the local backend (there are no environments)")
        if client is not None:
            raise InvalidError("client is not supported by the local backend")
        if not isinstance(name, str) or not is_valid_object_name(name):
            raise InvalidError(
                f"Invalid App name: {name!r}. Names may contain only alphanumeric characters, dashes, periods, "
                "and underscores, must be shorter than 64 characters, and cannot conflict with App ID strings."
            )
        eng = await get_engine()
        rec = await eng.records.get(f"app.{name}")
        if rec is None:
            if not create_if_missing:
                raise NotFoundError(f"App '{name}' not found")
            rec = await eng.records.put(
                f"app.{name}",
                L.owned(L.KIND_RECORD, **{L.RECORD_TYPE: "app", L.APP_NAME: name, L.APP_ID: new_id("ap")}),
            )
        return App._from_record(name, rec.labels[L.APP_ID])

    @property
    def app_id(self) -> str:
        """The app's id, ``ap-`` + 22 alphanumerics."""
        return self._app_id

    @property
    def name(self) -> str:
        """The app's name."""
        return self._name

    def __repr__(self) -> str:
        return f"App(name={self._name!r}, app_id={self._app_id!r})"
