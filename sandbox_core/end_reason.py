"""``EndReason``: why a sandbox (``Sandbox.end_reason``) or an exec'd process (``ContainerProcess.end_reason``)
ended — what a return code alone cannot say."""

from __future__ import annotations

import enum


class EndReason(enum.StrEnum):
    """Why a sandbox or a process ended. The return codes stay Modal's; this says which case produced one.

    ==================  ============  ==========================================================================
    reason              returncode    cause
    ==================  ============  ==========================================================================
    ``EXITED``          its own       the entrypoint (or the command) exited by itself
    ``TERMINATED``      137           ``terminate()`` (or ``sweep(everything=True)``)
    ``TIMEOUT``         124 / -1      the sandbox's lifetime ``timeout`` (124), or an exec's ``timeout`` (-1)
    ``IDLE_TIMEOUT``    its own       the sandbox's ``idle_timeout`` (the exit code after the kill, as is)
    ``OOM``             137           the kernel killed it for passing its memory limit (``Limits.memory_mib``
                                      or ``memory=(request, limit)``)
    ``DISK_LIMIT``      137           the supervisor stopped the sandbox for writing more than
                                      ``Limits.disk_mib``
    ``ENGINE_RESTART``  137           the container engine restarted, which stops every container
    ``NODE_LOST``       137           the cluster lost the machine the sandbox ran on (a node declared down)
    ==================  ============  ==========================================================================

    ``wait()`` raises ``SandboxTerminatedError`` for ``TERMINATED``, ``DISK_LIMIT``, ``ENGINE_RESTART`` and
    ``NODE_LOST`` (the
    sandbox was stopped from outside, as Modal reports a sandbox it stopped), unless ``raise_on_termination=False``;
    ``SandboxTimeoutError`` for ``TIMEOUT``; it returns for the others.
    """

    EXITED = "exited"
    TERMINATED = "terminated"
    TIMEOUT = "timeout"
    IDLE_TIMEOUT = "idle-timeout"
    OOM = "oom"
    DISK_LIMIT = "disk-limit"
    ENGINE_RESTART = "engine-restart"
    NODE_LOST = "node-lost"
