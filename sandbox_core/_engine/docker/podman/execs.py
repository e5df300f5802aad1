"""Execs on Podman: activity marks that leave an event, and the runtime's start failure as Podman reports it."""

from __future__ import annotations

from typing import ClassVar

from ...values import ExecSpec
from ..execs import DockerExecs
from ..startfail import PODMAN, Shape

#: The engine's init, mounted into every container created with ``Init`` (every sandbox): the one program each
#: sandbox has, whatever its image; ``--version`` exits at once.
PODMAN_INIT = "/run/podman-init"


class PodmanExecs(DockerExecs):
    """``ExecsAPI`` on Podman."""

    __slots__ = ()

    start_failure: ClassVar[Shape] = PODMAN

    async def note_activity(self, ref: str) -> None:
        """Podman emits no event for an exec that is only created; a started one emits ``exec`` and ``exec_died``
        (read as ``exec_start``/``exec_die``). So the mark is a run of the init's ``--version``, drained."""
        stream = await self.start(await self.create(ref, ExecSpec(cmd=(PODMAN_INIT, "--version"))), tty=False)
        try:
            stream.close_write()
            while await stream.read_frame() is not None:
                pass
        finally:
            await stream.close()
