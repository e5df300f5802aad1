"""``Secret``: environment variables for sandboxes and execs, from a dict, the local environment, a ``.env`` file, or
the local secret store (``Secret.from_name``; managed with ``Secret.objects`` or ``sandbox-core secret``).

Like Modal's, every constructor is lazy where Modal's is: ``from_name`` and ``from_dotenv`` read their source when
the secret is used (``Sandbox.create``, ``exec``, ``hydrate``), so a missing secret raises ``NotFoundError`` there,
and a change to a stored secret reaches every later use.
"""

from __future__ import annotations

import builtins
import datetime
import os
from collections.abc import Collection, Mapping
from typing import Any, ClassVar

import attrs
import dotenv

from . import _secret_store
from ._ids import new_id
from ._objects import check_max_objects, check_object_name, newest_first, reject_environment
from ._objects import created_before as parse_created_before
from ._validation import reject_client
from .exception import ConflictError, InvalidError, NotFoundError
from .types import SecretInfo

__all__ = ["Secret", "SecretManager"]

ENV_DICT_WRONG_TYPE_ERR = "the env_dict argument to Secret has to be a dict[str, Union[str, None]]"


@attrs.frozen
class _Inline:
    env: Mapping[str, str] = attrs.field(repr=False)


@attrs.frozen
class _Dotenv:
    path: str | None
    filename: str


@attrs.frozen
class _Named:
    name: str
    required_keys: tuple[str, ...]


_Source = _Inline | _Dotenv | _Named


def _walk_up(start: str) -> builtins.list[str]:
    """``start`` (a directory, or a file's directory) and its parents, up to the root."""
    current = os.path.abspath(start)
    if os.path.isfile(current):
        current = os.path.dirname(current)
    out = [current]
    while (parent := os.path.dirname(current)) != current:
        out.append(parent)
        current = parent
    return out


def _read_dotenv(source: _Dotenv) -> dict[str, str]:
    """Modal's ``from_dotenv`` lookup: walk up from ``path`` (or the working directory) to the first ``filename``;
    none found reads as empty. Values without ``=`` read as ``""``."""
    start = os.getcwd() if source.path is None else source.path
    found = next(
        (p for d in _walk_up(start) if os.path.isfile(p := os.path.join(d, source.filename))),
        "",
    )
    if not found:
        return {}
    return {k: v or "" for k, v in dotenv.dotenv_values(found).items()}


def _read_named(source: _Named) -> _secret_store.StoredSecret:
    stored = _secret_store.read(source.name)
    if stored is None:
        raise NotFoundError(f"Secret '{source.name}' not found")
    missing = [k for k in source.required_keys if k not in stored.env]
    if missing:
        raise ConflictError(f"Secret is missing key(s): {', '.join(missing)}")
    return stored


def _inline_env(env_dict: Any) -> dict[str, str]:
    """``env_dict`` without its ``None`` values; ``InvalidError`` unless it is a ``dict[str, str | None]``."""
    if not isinstance(env_dict, Mapping) or not all(
        isinstance(k, str) and (v is None or isinstance(v, str)) for k, v in env_dict.items()
    ):
        raise InvalidError(ENV_DICT_WRONG_TYPE_ERR)
    return {k: v for k, v in env_dict.items() if v is not None}


class SecretManager:
    """``Secret.objects``: create, list and delete named secrets of the local secret store."""

    def __init__(self) -> None:
        raise InvalidError("Class SecretManager has no constructor. Use Secret.objects instead.")

    @staticmethod
    async def create(
        name: str,
        env_dict: dict[str, str],
        *,
        allow_existing: bool = False,
        environment_name: str | None = None,
        client: None = None,
    ) -> None:
        """Store a new secret ``name`` holding ``env_dict``. ``AlreadyExistsError`` when it exists, unless
        ``allow_existing`` (then nothing changes). Look it up with ``Secret.from_name``."""
        check_object_name(name, "Secret")
        reject_environment(environment_name)
        reject_client(client)
        if not isinstance(env_dict, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env_dict.items()
        ):
            raise InvalidError("The `env_dict` argument to `Secret.objects.create` must be a dict[str, str]")
        _secret_store.write(name, env_dict, mode="if_missing" if allow_existing else "create")

    @staticmethod
    async def list(
        *,
        max_objects: int | None = None,
        created_before: datetime.datetime | str | None = None,
        environment_name: str = "",
        client: None = None,
    ) -> builtins.list[Secret]:
        """The stored secrets as hydrated handles, newest first (at most ``max_objects``; only those created before
        ``created_before``, a datetime or an ISO date string, when given)."""
        reject_client(client)
        reject_environment(environment_name)
        check_max_objects(max_objects)
        before = parse_created_before(created_before)
        stored = _secret_store.list_all()
        kept = newest_first(stored, [s.created_at for s in stored], before, max_objects)
        return [Secret._from_stored(s) for s in kept]

    @staticmethod
    async def delete(
        name: str, *, allow_missing: bool = False, environment_name: str | None = None, client: None = None
    ) -> None:
        """Delete the stored secret ``name``. ``NotFoundError`` when there is none, unless ``allow_missing``."""
        reject_environment(environment_name)
        reject_client(client)
        if not _secret_store.remove(name) and not allow_missing:
            raise NotFoundError(f"Secret '{name}' not found")


class Secret:
    """A set of environment variables for sandboxes and execs (``Sandbox.create(secrets=)``, ``exec(secrets=)``).

    Named secrets live in a local store readable by their owner only (see ``sandbox_core._secret_store``); their
    values never go into engine labels or log lines.
    """

    __slots__ = ("_id", "_source")

    #: Create, list and delete named secrets (Modal's ``Secret.objects``).
    objects: ClassVar[type[SecretManager]] = SecretManager

    _source: _Source
    _id: str | None

    def __init__(self) -> None:
        raise InvalidError("Class Secret has no constructor. Use class constructor methods instead.")

    @classmethod
    def _new(cls, source: _Source, secret_id: str | None = None) -> Secret:
        obj = object.__new__(cls)
        obj._source = source
        obj._id = secret_id
        return obj

    @classmethod
    def _from_stored(cls, stored: _secret_store.StoredSecret) -> Secret:
        return cls._new(_Named(stored.name, ()), stored.secret_id)

    @staticmethod
    def from_dict(env_dict: dict[str, str | None] = {}) -> Secret:  # noqa: B006 - Modal's signature
        """A secret holding ``env_dict``; keys whose value is ``None`` are dropped.

        Raises ``InvalidError`` unless ``env_dict`` is a ``dict[str, str | None]``.
        """
        return Secret._new(_Inline(_inline_env(env_dict)))

    @staticmethod
    def from_local_environ(env_keys: builtins.list[str]) -> Secret:
        """A secret holding the variables ``env_keys`` of this process's environment, as they are now.

        Raises ``InvalidError`` naming the first variable that is not set.
        """
        if isinstance(env_keys, str) or not all(isinstance(k, str) for k in env_keys):
            raise InvalidError("env_keys must be a list of environment variable names")
        try:
            return Secret.from_dict({k: os.environ[k] for k in env_keys})
        except KeyError as e:
            raise InvalidError(
                f"Could not find local environment variable '{e.args[0]}' for Secret.from_local_environ"
            ) from None

    @staticmethod
    def from_dotenv(
        path: str | os.PathLike[str] | None = None, *, filename: str = ".env", client: None = None
    ) -> Secret:
        """A secret holding the variables of a ``.env`` file, read when the secret is used.

        Without ``path`` the file is looked for in the working directory and its parents; with ``path`` (a file or
        directory) in that directory and its parents. No file found reads as an empty secret (as in Modal).
        """
        reject_client(client)
        if not isinstance(filename, str) or not filename:
            raise InvalidError(f"filename must be a non-empty str, got {filename!r}")
        return Secret._new(_Dotenv(None if path is None else os.fspath(path), filename))

    @staticmethod
    def from_name(
        name: str,
        *,
        environment_name: str | None = None,
        required_keys: builtins.list[str] = [],  # noqa: B006 - Modal's signature
        client: None = None,
    ) -> Secret:
        """The secret ``name`` of the local secret store, read when the secret is used: then ``NotFoundError`` if
        there is none, ``ConflictError("Secret is missing key(s): …")`` if it lacks one of ``required_keys``."""
        reject_environment(environment_name)
        reject_client(client)
        if not isinstance(name, str):
            raise InvalidError(f"Secret name must be a str, got {type(name).__name__}")
        if not isinstance(required_keys, list | tuple) or not all(isinstance(k, str) for k in required_keys):
            raise InvalidError("required_keys must be a list of str")
        return Secret._new(_Named(name, tuple(required_keys)))

    # ------------------------------------------------------------------------------------------ object model

    async def hydrate(self, client: None = None) -> Secret:
        """Resolve the secret now (``NotFoundError``/``ConflictError`` for a bad named secret); returns ``self``."""
        reject_client(client)
        await self._resolve()
        return self

    @property
    def object_id(self) -> str:
        """``st-`` + 22 alphanumerics. Raises ``AttributeError`` before the secret was hydrated (or used)."""
        if self._id is None:
            raise AttributeError(f"Attempting to get object_id of unhydrated {self!r}")
        return self._id

    @property
    def is_hydrated(self) -> bool:
        """True once the secret was resolved (hydrated, or used by a sandbox or exec)."""
        return self._id is not None

    @property
    def name(self) -> str | None:
        """The name of a stored secret; None for the others."""
        return self._source.name if isinstance(self._source, _Named) else None

    async def info(self) -> SecretInfo:
        """A stored secret's name, and when and by whom it was created. ``InvalidError`` for other secrets."""
        if not isinstance(self._source, _Named):
            raise InvalidError("Secret.info() describes a stored secret: use it on a Secret.from_name")
        stored = _read_named(self._source)
        self._id = stored.secret_id
        created = datetime.datetime.fromtimestamp(stored.created_at, datetime.UTC)
        return SecretInfo(name=stored.name, created_at=created, created_by=stored.created_by)

    @property
    def env(self) -> dict[str, str]:
        """The variables this secret sets, read now (a stored secret or a ``.env`` file from its source)."""
        return self._read()

    async def update(self, env_dict: dict[str, str]) -> None:
        """Add or overwrite variables of a stored secret (keys not named stay). ``InvalidError`` for other
        secrets or a bad ``env_dict``; ``NotFoundError`` when the stored secret no longer exists."""
        err = "The `env_dict` argument to `Secret.update` must be a dict[str, str]"
        if not isinstance(env_dict, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env_dict.items()
        ):
            raise InvalidError(err)
        if not isinstance(self._source, _Named):
            raise InvalidError("Secret.update() changes a stored secret: use it on a Secret.from_name")
        stored = _secret_store.update(self._source.name, env_dict)
        self._id = stored.secret_id

    def _read(self) -> dict[str, str]:
        source = self._source
        if isinstance(source, _Inline):
            return dict(source.env)
        if isinstance(source, _Dotenv):
            return _read_dotenv(source)
        return dict(_read_named(source).env)

    async def _resolve(self) -> dict[str, str]:
        """The variables, read from the source now; hydrates the secret."""
        source = self._source
        if isinstance(source, _Named):
            stored = _read_named(source)
            self._id = stored.secret_id
            return dict(stored.env)
        env = self._read()
        if self._id is None:
            self._id = new_id("st")
        return env

    def __repr__(self) -> str:
        source = self._source
        if isinstance(source, _Named):
            return f"Secret.from_name({source.name!r})"
        if isinstance(source, _Dotenv):
            return "Secret.from_dotenv()"
        return f"Secret.from_dict([{', '.join(source.env)}])"


def check_env_args(secrets: Any, env: Any) -> None:
    """``InvalidError`` unless ``secrets`` is None or a collection of ``Secret`` and ``env`` None or a
    ``dict[str, str | None]`` (nothing is read)."""
    if secrets is not None:
        if isinstance(secrets, Secret | str | Mapping) or not isinstance(secrets, Collection):
            raise InvalidError(f"secrets must be a collection of Secret objects, got {type(secrets).__name__}")
        for s in secrets:
            if not isinstance(s, Secret):
                raise InvalidError(f"secrets must be a collection of Secret objects, got {type(s).__name__}")
    if env is not None:
        _inline_env(env)


def known_keys(secrets: Collection[Secret] | None, env: Mapping[str, str | None] | None) -> builtins.list[str]:
    """The variable names known without reading anything: those of ``env`` and of inline secrets (``from_dict``,
    ``from_local_environ``). Call ``check_env_args`` first."""
    keys = [k for s in secrets or () if isinstance(s._source, _Inline) for k in s._source.env]
    return keys + [k for k, v in (env or {}).items() if v is not None]


def merge_env(secrets: Collection[Secret] | None, env: Mapping[str, str | None] | None) -> dict[str, str]:
    """``resolve_env`` without awaiting, for image build steps, whose definitions are made synchronously: the same
    checks and order; stored secrets and ``.env`` files are read when the step is defined."""
    check_env_args(secrets, env)
    merged: dict[str, str] = {}
    for s in secrets or ():
        merged.update(s._read())
    if env is not None:
        merged.update(_inline_env(env))
    return merged


async def resolve_env(secrets: Collection[Secret] | None, env: Mapping[str, str | None] | None) -> dict[str, str]:
    """The environment of a sandbox or exec: ``secrets`` in order, then ``env`` on top (``None`` values dropped).

    Checks as ``check_env_args``; reads stored secrets and ``.env`` files now (``NotFoundError``/``ConflictError``
    for a bad stored secret).
    """
    check_env_args(secrets, env)
    merged: dict[str, str] = {}
    for s in secrets or ():
        merged.update(await s._resolve())
    if env is not None:
        merged.update(_inline_env(env))
    return merged
