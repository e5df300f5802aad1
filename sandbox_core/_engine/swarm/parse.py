"""The swarm manager's JSON into values: every key of the swarm API that this implementation reads is read here.

Container JSON of a node's engine is parsed by ``docker/parse.py`` (a node's engine is a Docker engine).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any

from ..values import ContainerState, RecordInfo, parse_engine_time
from .model import NodeCaps, NodeView, ServiceView, TaskView

Json = Mapping[str, Any]

#: The node label holding the URL of the node's engine (exec, attach, archives and logs go there).
ENGINE_LABEL = "sandbox-core.engine"
#: The record name a swarm config stands for (configs names are limited; see ``records.py``).
RECORD_NAME_LABEL = "sandbox-core.record-name"


def _labels(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in (value or {}).items()}


def _env(pairs: Sequence[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, _, value = pair.partition("=")
        out[key] = value
    return out


def _strs(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)


def node_view(raw: Json) -> NodeView:
    """One item of ``GET /nodes``."""
    spec: Json = raw.get("Spec") or {}
    description: Json = raw.get("Description") or {}
    labels = _labels(spec.get("Labels"))
    return NodeView(
        id=str(raw["ID"]),
        hostname=str(description.get("Hostname") or ""),
        state=str((raw.get("Status") or {}).get("State") or "unknown"),
        availability=str(spec.get("Availability") or "active"),
        labels=labels,
        engine_labels=_labels((description.get("Engine") or {}).get("Labels")),
        engine_url=labels.get(ENGINE_LABEL, ""),
    )


def task_view(raw: Json) -> TaskView:
    """One item of ``GET /tasks``."""
    status: Json = raw.get("Status") or {}
    container: Json = status.get("ContainerStatus") or {}
    code = container.get("ExitCode")
    return TaskView(
        id=str(raw["ID"]),
        service_id=str(raw.get("ServiceID") or ""),
        node_id=str(raw.get("NodeID") or ""),
        state=str(status.get("State") or "new"),
        desired_state=str(raw.get("DesiredState") or ""),
        message=str(status.get("Message") or ""),
        error=str(status.get("Err") or ""),
        container_id=str(container.get("ContainerID") or ""),
        exit_code=None if code is None else int(code),
        pid=int(container.get("PID") or 0),
        created_at=parse_engine_time(raw.get("CreatedAt")) or 0.0,
        updated_at=parse_engine_time(status.get("Timestamp")) or parse_engine_time(raw.get("UpdatedAt")) or 0.0,
    )


def service_view(raw: Json) -> ServiceView:
    """``GET /services/{id}`` or one item of ``GET /services``."""
    spec: Json = raw.get("Spec") or {}
    container: Json = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    return ServiceView(
        id=str(raw["ID"]),
        name=str(spec.get("Name") or ""),
        labels=_labels(spec.get("Labels")),
        created_at=parse_engine_time(raw.get("CreatedAt")) or 0.0,
        image=str(container.get("Image") or ""),
        tty=bool(container.get("TTY")),
        workdir=str(container.get("Dir") or ""),
        command=_strs(container.get("Command")),
        args=_strs(container.get("Args")),
        env=_env(container.get("Env")),
    )


def forced_update(raw: Json) -> tuple[str, dict[str, Any]]:
    """(version, spec) for ``POST /services/{id}/update`` that makes swarm replace the service's task, unchanged
    otherwise (``TaskTemplate.ForceUpdate`` counts up)."""
    spec = dict(raw.get("Spec") or {})
    template = dict(spec.get("TaskTemplate") or {})
    template["ForceUpdate"] = int(template.get("ForceUpdate") or 0) + 1
    spec["TaskTemplate"] = template
    return str((raw.get("Version") or {}).get("Index") or 0), spec


def created_id(raw: Json) -> str:
    """The id in the answer to ``POST /services/create`` or ``POST /configs/create``."""
    return str(raw["ID"])


def record(raw: Json) -> RecordInfo:
    """A record from its swarm config (``GET /configs/{id}`` or one item of ``GET /configs``)."""
    spec: Json = raw.get("Spec") or {}
    labels = _labels(spec.get("Labels"))
    name = labels.pop(RECORD_NAME_LABEL, None) or str(spec.get("Name") or "")
    return RecordInfo(name, labels, parse_engine_time(raw.get("CreatedAt")))


def config_id(raw: Json) -> str:
    return str(raw["ID"])


def config_labels(raw: Json) -> dict[str, str]:
    return _labels((raw.get("Spec") or {}).get("Labels"))


def config_created(raw: Json) -> float:
    return parse_engine_time(raw.get("CreatedAt")) or 0.0


def config_data(data: bytes) -> str:
    """A config's ``Data`` field for ``data`` (base64)."""
    return base64.b64encode(data).decode()


def cluster_id(info: Json) -> str | None:
    """The swarm's cluster id from ``GET /info`` of a manager; None when the engine is not a swarm manager."""
    swarm: Json = info.get("Swarm") or {}
    if not swarm.get("ControlAvailable"):
        return None
    return str((swarm.get("Cluster") or {}).get("ID") or "") or None


def swarm_state(info: Json) -> str:
    """``GET /info``'s local swarm state (inactive, pending, active, error, locked)."""
    return str((info.get("Swarm") or {}).get("LocalNodeState") or "inactive")


def node_caps(info: Json, has_bridge: bool) -> NodeCaps:
    """What a node's engine offers, from its ``GET /info``."""
    return NodeCaps(default_runtime=str(info.get("DefaultRuntime") or "runc"), has_bridge=has_bridge)


def task_state(task: TaskView | None, lost_reason: str | None) -> ContainerState:
    """A container state from the task alone (its node's engine has no container to ask, or cannot be reached).

    No task, or a task that has not started, is ``created``; a task whose node is lost (``lost_reason``) has ended
    with 137, as swarm itself reports it once the node returns; an ended task gives its container's exit code.
    """
    if task is None or task.pending:
        return ContainerState("created", False, 0, None, None, False, 0)
    if lost_reason is not None:
        return ContainerState("exited", False, 137, None, task.updated_at, False, 0, lost_reason=lost_reason)
    if task.state == "running":
        return ContainerState("running", True, 0, task.updated_at, None, False, task.pid)
    code = task.exit_code if task.exit_code is not None else -1
    if task.state == "rejected":
        code = -1
    return ContainerState("exited", False, code, None, task.updated_at, False, 0)
