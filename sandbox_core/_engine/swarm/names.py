"""Container names on a swarm: *claims*, one swarm config per name.

Service names are unique cluster-wide but can never change, while a sandbox's name must pass from a finished holder
(which stays inspectable until its retention ends) to a new sandbox. So a name is a config ``sandbox-core-name.<name>``
(first-writer-wins, ``configs.py``) labelled with the name of the service that holds it: ``claim`` takes it (or
raises ``NameConflict``), ``rename`` takes a new name and gives up the old ones, ``release`` gives up a removed
service's names. A claim whose service never appeared (its creator died between the two steps) is given up by
``holder`` after a minute.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from ..errors import NameConflict, NoSuchContainer
from ..labels import APP_ID, KIND, OWNER, OWNER_VALUE, PREFIX, SANDBOX_ID
from . import parse
from .configs import Configs, name_for

CONFIG_PREFIX = "sandbox-core-name"
KIND_NAME = "name"
NAME_LABEL = PREFIX + "container-name"
SERVICE_LABEL = PREFIX + "service"
#: Seconds after which a claim whose service does not exist is taken for a leftover.
STALE_AFTER = 60.0


class Names:
    """Name claims (see the module docstring)."""

    __slots__ = ("_configs",)

    def __init__(self, configs: Configs) -> None:
        self._configs = configs

    async def claim(self, name: str, service_name: str, labels: Mapping[str, str]) -> str:
        """Take ``name`` for ``service_name``; returns the claim's id. ``NameConflict`` when someone holds it.
        The sandbox's app and id labels are copied from ``labels``, so the claim is found with the sandbox."""
        carried = {k: v for k, v in labels.items() if k in (APP_ID, SANDBOX_ID)}
        claim_labels = {
            **carried,
            OWNER: OWNER_VALUE,
            KIND: KIND_NAME,
            NAME_LABEL: name,
            SERVICE_LABEL: service_name,
        }
        claim_id = await self._configs.create(name_for(CONFIG_PREFIX, name), claim_labels)
        if claim_id is None:
            raise NameConflict(f"the name {name!r} is already in use by another sandbox")
        return claim_id

    async def holder(self, name: str) -> str:
        """The name of the service holding ``name``. ``NoSuchContainer`` when nobody does."""
        found = await self._configs.inspect(name_for(CONFIG_PREFIX, name))
        if found is None:
            raise NoSuchContainer(f"no sandbox is called {name!r}")
        return parse.config_labels(found).get(SERVICE_LABEL, "")

    async def drop_if_stale(self, name: str) -> None:
        """Give up ``name``'s claim when it is older than ``STALE_AFTER`` (the caller found no service for it)."""
        found = await self._configs.inspect(name_for(CONFIG_PREFIX, name))
        if found is not None and time.time() - parse.config_created(found) > STALE_AFTER:
            await self._configs.remove(parse.config_id(found))

    async def rename(self, service_name: str, new_name: str, labels: Mapping[str, str]) -> None:
        """Give ``service_name`` the name ``new_name`` instead of the ones it holds. ``NameConflict`` when taken."""
        new_id = await self.claim(new_name, service_name, labels)
        for found in await self._configs.find({KIND: KIND_NAME, SERVICE_LABEL: service_name}):
            if parse.config_id(found) != new_id:
                await self._configs.remove(parse.config_id(found))

    async def release(self, service_name: str) -> None:
        """Give up every name ``service_name`` holds."""
        for found in await self._configs.find({KIND: KIND_NAME, SERVICE_LABEL: service_name}):
            await self._configs.remove(parse.config_id(found))

    async def release_claim(self, claim_id: str) -> None:
        await self._configs.remove(claim_id)
