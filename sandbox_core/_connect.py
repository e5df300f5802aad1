"""``SandboxConnectCredentials``: what ``Sandbox.create_connect_token`` returns (Modal's ``modal.types``)."""

from __future__ import annotations

import attrs


def _nonempty(_instance: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"SandboxConnectCredentials.{attribute.name} must be a non-empty string, got {value!r}")


@attrs.frozen
class SandboxConnectCredentials:
    """Credentials for HTTP and WebSocket connections to a sandbox port: send requests to ``url`` with the header
    ``Authorization: Bearer <token>`` or the query parameter ``_modal_connect_token=<token>``. The token is a
    secret and is left out of ``repr``."""

    url: str = attrs.field(validator=_nonempty)
    token: str = attrs.field(validator=_nonempty, repr=False)
