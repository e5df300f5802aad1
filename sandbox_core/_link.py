"""``SandboxLink``: what the helpers of one ``Sandbox`` handle (processes, stdio, the filesystem) get instead of
the Sandbox — the container reference (refused after ``detach``), the settings fixed at creation, and the
sandbox's end state as the engine and its records report it."""

from __future__ import annotations

from collections.abc import Mapping

from . import _lifecycle
from ._engine import get_engine
from ._engine import labels as L
from ._engine.errors import NoSuchContainer
from .exception import ClientClosed, NotFoundError

DETACHED_MSG = "Unable to perform operation on a detached sandbox"


class SandboxLink:
    """One handle's tie to its sandbox's container. ``outcome`` (and ``status``/``result``, its reason and return
    code) are None while it runs."""

    __slots__ = (
        "__weakref__",
        "agent",
        "app_id",
        "container_id",
        "detached",
        "idle_timeout",
        "outcome",
        "pty",
        "sandbox_id",
        "userspace_kernel",
    )

    def __init__(
        self,
        *,
        sandbox_id: str,
        container_id: str,
        app_id: str,
        pty: bool,
        idle_timeout: float | None,
        userspace_kernel: bool = False,
        agent: bool = False,
    ) -> None:
        self.sandbox_id = sandbox_id
        self.container_id = container_id
        self.app_id = app_id
        self.pty = pty
        self.idle_timeout = idle_timeout
        #: It runs under a kernel of its own (gVisor): its exec streams may outlive it (see ``start_exec``).
        self.userspace_kernel = userspace_kernel
        self.agent = agent  # created with the in-sandbox agent mounted
        self.detached = False
        self.outcome: _lifecycle.Outcome | None = None

    @property
    def status(self) -> str | None:
        """Why the sandbox ended (an ``EndReason`` value), once known."""
        return None if self.outcome is None else self.outcome.reason

    @property
    def result(self) -> int | None:
        """The sandbox's return code, once known."""
        return None if self.outcome is None else self.outcome.returncode

    @classmethod
    def from_labels(
        cls, container_id: str, labels: Mapping[str, str], *, idle_timeout: float | None = None
    ) -> SandboxLink:
        """The link to container ``container_id`` of a sandbox, from the container's labels (``idle_timeout``:
        the one a warm-pool claim set, which the labels cannot hold)."""
        if idle_timeout is None and L.IDLE_TIMEOUT in labels:
            idle_timeout = float(labels[L.IDLE_TIMEOUT])
        return cls(
            sandbox_id=str(labels[L.SANDBOX_ID]),
            container_id=container_id,
            app_id=labels.get(L.APP_ID, ""),
            pty=labels.get(L.PTY) == "1",
            idle_timeout=idle_timeout,
            userspace_kernel=L.RUNTIME in labels,
            agent=L.AGENT in labels,
        )

    def check_attached(self) -> None:
        """Raise ``ClientClosed`` once the handle was detached."""
        if self.detached:
            raise ClientClosed(DETACHED_MSG)

    @property
    def ref(self) -> str:
        """The container's engine reference. Raises ``ClientClosed`` after ``detach``."""
        self.check_attached()
        return self.container_id

    async def refresh(self) -> int | None:
        """Learn the sandbox's end from the engine (once known it is kept); returns the returncode, None while it
        runs. Raises ``NotFoundError`` when the sandbox no longer exists."""
        if self.result is not None:
            return self.result
        eng = await get_engine()
        try:
            info = await eng.containers.inspect(self.container_id)
        except NoSuchContainer:
            raise NotFoundError(
                f"Sandbox {self.sandbox_id} no longer exists (finished sandboxes are removed after their retention "
                "period)"
            ) from None
        self.outcome = await _lifecycle.result_of(eng, self.sandbox_id, info, settle=True)
        return self.result

    async def finished(self) -> bool:
        """True once the sandbox has ended (or no longer exists)."""
        try:
            return await self.refresh() is not None
        except NotFoundError:
            return True
