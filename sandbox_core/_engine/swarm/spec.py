"""A ``ContainerSpec`` as a swarm service: one replica, never restarted, killed at once, placed in its node pool.

What a 1.41 service spec cannot say is a property of the node that runs the task, so nodes form pools by label:

- ``sandbox-core.network=none``: nodes whose dockerd runs with ``--bridge=none``, where a service without networks
  has only loopback. ``block_network`` sandboxes go there (services cannot ask for ``--network none``), and only
  they do.
- ``sandbox-core.runtime=runsc``: nodes whose dockerd's default runtime is gVisor (``--default-runtime runsc``).
  Sandboxes asking for the ``runsc`` runtime go there, and only they do (a service cannot name a runtime).
- no-new-privileges is ``dockerd --no-new-privileges``, which a node declares with the *engine* label
  ``sandbox-core.no-new-privileges=true`` (set in the same daemon configuration as the flag; the engine does not
  report the setting itself). Hardened sandboxes are placed only on such nodes.

``nodes.py`` checks the pool's nodes really are what their labels say before a sandbox is placed there. What swarm
cannot do at all is refused here with ``InvalidError`` saying why: joining another container's network namespace
(the network holders of egress policies), published ports (this needs the routing mesh), memory swap settings.
"""

from __future__ import annotations

from typing import Any

import attrs

from ...exception import InvalidError
from ..values import ContainerSpec, Mount

NETWORK_POOL_LABEL = "sandbox-core.network"
RUNTIME_POOL_LABEL = "sandbox-core.runtime"
NO_NEW_PRIVILEGES_LABEL = "sandbox-core.no-new-privileges"
NO_NETWORK = "none"
GVISOR = "runsc"


def _refused(what: str, why: str) -> InvalidError:
    return InvalidError(f"{what} is not available on a swarm cluster: {why}")


@attrs.frozen
class Pool:
    """The nodes a sandbox may run on: the no-network pool or not, the gVisor pool or not, only nodes enforcing
    no-new-privileges or any."""

    no_network: bool
    runtime: str | None
    no_new_privileges: bool = True
    #: The one node of the pool a sandbox must run on (the home of the volumes it mounts: ``homes.py``).
    node_id: str | None = None

    @property
    def constraints(self) -> list[str]:
        """Swarm placement constraints (a missing label satisfies ``!=``)."""
        net = f"node.labels.{NETWORK_POOL_LABEL}"
        run = f"node.labels.{RUNTIME_POOL_LABEL}"
        out = [
            f"{net}=={NO_NETWORK}" if self.no_network else f"{net}!={NO_NETWORK}",
            f"{run}=={self.runtime}" if self.runtime else f"{run}!={GVISOR}",
        ]
        if self.no_new_privileges:
            out.append(f"engine.labels.{NO_NEW_PRIVILEGES_LABEL}==true")
        if self.node_id is not None:
            out.append(f"node.id=={self.node_id}")
        return out

    def admits(self, labels: dict[str, str] | Any) -> bool:
        """True when a node with ``labels`` satisfies ``constraints``."""
        in_net = labels.get(NETWORK_POOL_LABEL) == NO_NETWORK
        runtime = labels.get(RUNTIME_POOL_LABEL)
        return in_net == self.no_network and (runtime == self.runtime if self.runtime else runtime != GVISOR)

    def describe(self) -> str:
        parts = [
            f"{NETWORK_POOL_LABEL}={NO_NETWORK}" if self.no_network else "",
            f"{RUNTIME_POOL_LABEL}={self.runtime}" if self.runtime else "",
        ]
        return " and ".join(p for p in parts if p) or "the default pool (no pool labels)"


def pool_of_node(labels: dict[str, str] | Any, no_new_privileges: bool) -> Pool:
    """The pool a node with ``labels`` is in."""
    runtime = labels.get(RUNTIME_POOL_LABEL)
    return Pool(
        no_network=labels.get(NETWORK_POOL_LABEL) == NO_NETWORK,
        runtime=GVISOR if runtime == GVISOR else None,
        no_new_privileges=no_new_privileges,
    )


def pool_of(spec: ContainerSpec) -> Pool:
    """The pool ``spec`` needs; ``InvalidError`` for a runtime no pool can provide."""
    if spec.runtime not in (None, "runc", GVISOR):
        raise _refused(f"the runtime {spec.runtime!r}", f"only gVisor ({GVISOR}) node pools are supported")
    no_network = spec.network_disabled or spec.network_mode == "none"
    return Pool(
        no_network=no_network,
        runtime=GVISOR if spec.runtime == GVISOR else None,
        no_new_privileges=spec.no_new_privileges,
    )


def check(spec: ContainerSpec) -> None:
    """``InvalidError`` for what a swarm service cannot do (see the module docstring)."""
    mode = spec.network_mode
    if mode is not None and mode.startswith("container:"):
        raise _refused(
            "sharing another container's network namespace (sidecars and network policies use it)",
            "a swarm service cannot join another container's namespace, and its node's firewall is not ours to set",
        )
    if mode is not None and mode != "none":
        raise _refused(f"the network {mode!r}", "sandboxes get their node's default network or none")
    if spec.ports:
        raise _refused("publishing ports", "swarm publishes through its routing mesh, which this cluster lacks")
    if spec.memory_swap_bytes is not None and spec.memory_swap_bytes != spec.memory_bytes:
        # "no swap" (swap == memory, the caps' default) is left to the node: docs/guide/cluster.md
        raise _refused("a swap limit", "a service spec has no memory-swap setting")
    for path, options in spec.tmpfs.items():
        _tmpfs_options(path, options)


#: Flags of the caps' /tmp that a service's tmpfs cannot carry: the node's defaults apply (rw, nosuid, nodev;
#: not exec): docs/guide/cluster.md.
_TMPFS_FLAGS_AS_NODE_SETS = frozenset({"rw", "exec", "nosuid", "nodev"})


def _tmpfs_options(path: str, options: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for option in filter(None, options.split(",")):
        key, _, value = option.partition("=")
        if key in _TMPFS_FLAGS_AS_NODE_SETS:
            continue
        try:
            if key == "size":
                units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
                factor = units.get(value[-1:].lower(), 1)
                out["SizeBytes"] = int(value[:-1] if factor > 1 else value) * factor
                continue
            if key == "mode":
                out["Mode"] = int(value, 8)
                continue
        except ValueError:
            pass
        raise _refused(f"the tmpfs option {option!r} (at {path})", "a service's tmpfs takes only size and mode")
    return out


def _mount(m: Mount) -> dict[str, Any]:
    out: dict[str, Any] = {"Type": m.type, "Source": m.source, "Target": m.target, "ReadOnly": m.read_only}
    if m.no_copy:
        out["VolumeOptions"] = {"NoCopy": True}
    return out


def _container_spec(spec: ContainerSpec) -> dict[str, Any]:
    container: dict[str, Any] = {
        "Image": spec.image,
        "Labels": dict(spec.labels),
        "Env": [f"{k}={v}" for k, v in spec.env.items()],
        "TTY": spec.tty,
        "OpenStdin": spec.open_stdin,
        "Init": spec.init,
        "CapabilityDrop": list(spec.cap_drop),
        "CapabilityAdd": list(spec.cap_add),
        "ReadOnly": spec.read_only_rootfs,
        "Mounts": _mounts(spec),
        # Removal kills at once (the default would be SIGTERM and a 10 s grace period).
        "StopSignal": "SIGKILL",
        "StopGracePeriod": 0,
    }
    if spec.entrypoint is not None:
        container["Command"] = list(spec.entrypoint)
    if spec.cmd is not None:
        container["Args"] = list(spec.cmd)
    if spec.workdir is not None:
        container["Dir"] = spec.workdir
    if spec.dns:
        container["DNSConfig"] = {"Nameservers": list(spec.dns)}
    if spec.nofile_limit is not None:
        # ContainerSpec.Ulimits (Engine API 1.41) reaches the task's container as HostConfig.Ulimits.
        container["Ulimits"] = [{"Name": "nofile", "Soft": spec.nofile_limit, "Hard": spec.nofile_limit}]
    return container


#: Mode of the engine's own /dev/shm (sticky, writable by all), kept by the sized tmpfs that replaces it.
_SHM_MODE = 0o1777


def _mounts(spec: ContainerSpec) -> list[dict[str, Any]]:
    """The spec's mounts and tmpfs, plus a sized tmpfs at /dev/shm for ``shm_size_bytes``: a service spec has no
    ShmSize, and the engine leaves /dev/shm alone when a mount is there (its options are the engine's for its own
    /dev/shm: nosuid, nodev, noexec)."""
    out = [_mount(m) for m in spec.mounts]
    out += [{"Type": "tmpfs", "Target": p, "TmpfsOptions": _tmpfs_options(p, o)} for p, o in spec.tmpfs.items()]
    if spec.shm_size_bytes is not None and not any(m["Target"] == "/dev/shm" for m in out):
        out.append(
            {
                "Type": "tmpfs",
                "Target": "/dev/shm",
                "TmpfsOptions": {"SizeBytes": spec.shm_size_bytes, "Mode": _SHM_MODE},
            }
        )
    return out


def _resources(spec: ContainerSpec) -> dict[str, Any]:
    limits: dict[str, Any] = {}
    reservations: dict[str, Any] = {}
    if spec.nano_cpus is not None:
        limits["NanoCPUs"] = spec.nano_cpus
    if spec.memory_bytes is not None:
        limits["MemoryBytes"] = spec.memory_bytes
    if spec.pids_limit is not None:
        limits["Pids"] = spec.pids_limit
    # Requests become reservations: swarm places a task only on a node with that much unreserved (they do not
    # reach the container, whose share of a busy CPU is then the default).
    if spec.cpu_shares is not None:
        reservations["NanoCPUs"] = spec.cpu_shares * 1_000_000_000 // 1024
    if spec.memory_reservation_bytes is not None:
        reservations["MemoryBytes"] = spec.memory_reservation_bytes
    return {"Limits": limits, "Reservations": reservations}


def service_spec(spec: ContainerSpec, name: str, pool: Pool) -> dict[str, Any]:
    """The body of ``POST /services/create`` for ``spec`` as service ``name`` in ``pool``; ``InvalidError`` for what
    a service cannot do (see the module docstring). The image must be an id (``sha256:…``): a name would make every
    node try a pull first."""
    check(spec)
    return {
        "Name": name,
        "Labels": dict(spec.labels),
        "Mode": {"Replicated": {"Replicas": 1}},
        "TaskTemplate": {
            "ContainerSpec": _container_spec(spec),
            "Resources": _resources(spec),
            # A sandbox is a singleton: never replaced, whatever happens to it.
            "RestartPolicy": {"Condition": "none", "MaxAttempts": 0},
            "Placement": {"Constraints": pool.constraints},
            "LogDriver": {
                "Name": "json-file",
                "Options": {"max-size": spec.log_max_size, "max-file": str(spec.log_max_files)},
            },
        },
    }
