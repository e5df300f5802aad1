"""The swarm backend, through the library, on the session's swarm (``nox -s swarm``): what differs from one engine,
placement, node pools, faults, and fifty sandboxes spread over the nodes."""

from __future__ import annotations

import pytest

from . import mode

pytestmark = [
    pytest.mark.usefixtures("engine"),
    pytest.mark.skipif(not mode.ENABLED, reason="runs in cluster mode only (nox -s swarm)"),
]
