"""Exec sessions: create/start/inspect/resize, the exit code, activity marks, and killing an exec's processes.

The Engine API cannot signal an exec; ``kill_marked`` SIGKILLs every process of a container whose environment
carries a marker, from the host when the engine is local (there also the exec's whole process tree, frozen before it
is killed), else through a helper exec. The host path is taken only for a runc container whose processes this host's
``/proc`` shows in the container's own cgroup: under another runtime (gVisor) the engine's process list names host
processes that are not the sandbox's, and an engine in another pid namespace reports pids that mean other processes
here — neither may ever be signalled.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
from typing import Any, ClassVar

from yarl import URL

from ..api import STDOUT
from ..errors import ContainerNotRunning, NoSuchContainer
from ..values import ExecInfo, ExecSpec
from . import cgroup, parse
from .containers import DockerContainers
from .hijack import DETACH_KEYS, open_hijacked
from .http import DockerClient
from .startfail import DOCKER, ScreenedExecStream, Shape

#: Runtimes whose container processes are host processes (the engine's pids are host pids on a local engine).
_HOST_PROCESS_RUNTIMES = frozenset({"", "runc", "io.containerd.runc.v2", "io.containerd.runtime.v1.linux"})


def _in_container(pid: int, container_id: str) -> bool:
    """True when host process ``pid`` is in a cgroup of container ``container_id`` (every driver and hierarchy
    names the container's cgroup after its full id)."""
    try:
        with open(f"/proc/{pid}/cgroup", "rb") as f:
            return container_id.encode() in f.read()
    except OSError:
        return False


def _host_environ_has(pid: int, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return marker in f.read().split(b"\0")
    except OSError:
        return False


def _host_ppid(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: the fields after it follow the last ")".
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[1]) if len(fields) > 1 else None


def _signal(pid: int, sig: signal.Signals) -> bool:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _tree_and_marked(pids: list[int], marker: bytes, root_pid: int | None) -> set[int]:
    """Of ``pids`` (a snapshot that cannot change: the container is frozen), those carrying ``marker`` or being
    ``root_pid``, and all their descendants."""
    children: dict[int | None, list[int]] = {}
    for pid in pids:
        children.setdefault(_host_ppid(pid), []).append(pid)
    found = {pid for pid in pids if pid == root_pid or _host_environ_has(pid, marker)}
    stack = list(found)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


#: Run inside the container (no host pids): SIGSTOP every process carrying the marker ``$1`` and every descendant of
#: one (a child that cleared its environment, e.g. ``env -i``, is still found through its parent), rescanning until
#: nothing new turns up (a stopped process cannot fork), then SIGKILL them all; prints how many. Builtins only in
#: the scan of parents, so a busy container does not cost a fork per process and round.
_KILL_SCRIPT = r"""
m="$1"; found=" "
while :; do
  grown=0
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = "$$" ] && continue
    case "$found" in *" $p "*) continue ;; esac
    ppid=
    while read -r k v; do [ "$k" = PPid: ] && { ppid=$v; break; }; done < "$d/status" 2>/dev/null
    [ -n "$ppid" ] || continue
    case "$found" in
      *" $ppid "*) ;;
      *) tr '\0' '\n' < "$d/environ" 2>/dev/null | grep -qxF "$m" || continue ;;
    esac
    kill -STOP "$p" 2>/dev/null && { found="$found$p "; grown=1; }
  done
  [ "$grown" = 0 ] && break
done
n=0
for p in $found; do kill -9 "$p" 2>/dev/null && n=$((n+1)); done
echo "$n"
"""


class DockerExecs:
    """``ExecsAPI`` on the Docker engine."""

    __slots__ = ("_client", "_containers")

    #: How this engine reports an exec whose program never ran.
    start_failure: ClassVar[Shape] = DOCKER

    def __init__(self, client: DockerClient, containers: DockerContainers) -> None:
        self._client = client
        self._containers = containers

    async def create(self, ref: str, spec: ExecSpec) -> str:
        body: dict[str, Any] = {
            "AttachStdin": True,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": spec.tty,
            "Cmd": list(spec.cmd),
            "Env": [f"{k}={v}" for k, v in spec.env.items()],
            "DetachKeys": DETACH_KEYS,
        }
        if spec.workdir is not None:
            body["WorkingDir"] = spec.workdir
        if spec.user is not None:
            body["User"] = spec.user
        res = await self._client.request_json("POST", f"containers/{ref}/exec", f"create exec in {ref[:12]}", body=body)
        return str(res["Id"])

    async def start(self, exec_id: str, *, tty: bool) -> ScreenedExecStream:
        """See ``ExecsAPI.start``; the stream's first read raises ``ExecStartFailed`` if the program never ran."""
        body = json.dumps({"Detach": False, "Tty": tty}).encode()
        stream = await open_hijacked(
            self._client, URL(f"exec/{exec_id}/start"), body, tty, f"start exec {exec_id[:12]}"
        )
        return ScreenedExecStream(stream, functools.partial(self.inspect, exec_id), self.start_failure)

    async def inspect(self, exec_id: str) -> ExecInfo:
        res = await self._client.request_json("GET", f"exec/{exec_id}/json", f"inspect exec {exec_id[:12]}")
        return parse.exec_info(res)

    async def exit_code(self, exec_id: str, *, attempts: int = 50) -> int | None:
        """See ``ExecsAPI.exit_code``. Only after EOF: an abandoned stream can leave a fake 126 in the engine."""
        for i in range(attempts):
            info = await self.inspect(exec_id)
            if not info.running and info.exit_code is not None:
                return info.exit_code
            await asyncio.sleep(min(0.002 * 2**i, 0.1))
        return None

    async def resize(self, exec_id: str, *, rows: int, cols: int) -> None:
        await self._client.request_json(
            "POST", f"exec/{exec_id}/resize", f"resize exec {exec_id[:12]}", params={"h": str(rows), "w": str(cols)}
        )

    async def note_activity(self, ref: str) -> None:
        """An exec of ``true`` that is never started: the engine emits ``exec_create`` and keeps the exec in the
        container's ``ExecIDs`` until the container is removed (its periodic cleanup only drops execs that ran)."""
        await self._client.request_json(
            "POST", f"containers/{ref}/exec", f"note activity in {ref[:12]}", body={"Cmd": ["true"]}
        )

    async def kill_marked(
        self, ref: str, key: str, value: str, *, root_pid: int | None = None, rounds: int = 20
    ) -> None:
        """See ``ExecsAPI.kill_marked``: repeats (a process may fork while its siblings are being killed) until a
        scan finds none, at most ``rounds`` times. Through a remote engine, a process that cleared its environment
        is found only while its parent is still alive (as a descendant of a marked process)."""
        marker = f"{key}={value}".encode()
        try:
            host_id = await self._host_visible_id(ref)
        except (ContainerNotRunning, NoSuchContainer):
            return
        for _ in range(rounds):
            try:
                killed: int | None = None
                if host_id is not None:
                    killed = await self._kill_from_host(ref, host_id, marker, root_pid)
                    root_pid = None  # dead now; its pid must not match a newcomer in a later round
                if killed is None:
                    killed = await self._kill_from_inside(ref, marker)
            except (ContainerNotRunning, NoSuchContainer):
                return
            if killed == 0:
                return
            await asyncio.sleep(0.01)

    async def _host_visible_id(self, ref: str) -> str | None:
        """The container's full id when its processes are host processes of this host (a local engine, a runc
        container), else None."""
        if not self._client.address.is_local:
            return None
        info = await self._containers.inspect(ref)
        return info.id if info.runtime in _HOST_PROCESS_RUNTIMES else None

    async def _kill_from_host(self, ref: str, container_id: str, marker: bytes, root_pid: int | None) -> int | None:
        """SIGKILL, through /proc on this host, the processes that carry ``marker`` in their environment and the
        whole process tree under ``root_pid`` (so a child that cleared its environment, e.g. ``env -i``, dies too).

        Each process is stopped (SIGSTOP) as soon as it is found, and nothing is killed before the tree is complete:
        a stopped process cannot fork, and its children keep it as their parent. Killing at once would hand them to
        the container's PID 1, where nothing ties them to the exec any more. Returns the number killed, or None
        when the container's pids are not visible here.

        Where the container's freezer cgroup is at hand, the whole container is frozen instead while the tree is
        found and killed (a few ms): one snapshot is then complete, which a fork bomb racing the SIGSTOPs (tens of
        seconds at 4096 pids) never lets a scan be.
        """
        files = await self._containers.cgroup_files(ref)
        if files is not None and files.freezer is not None:
            async with cgroup.frozen(files) as still:
                if still:
                    doomed = _tree_and_marked(cgroup.read_pids(files.procs) or [], marker, root_pid)
                    return sum(_signal(pid, signal.SIGKILL) for pid in doomed)
        pids = await self._containers.host_pids(ref)
        if not pids:
            return 0
        if not any(_in_container(p, container_id) for p in pids):
            return None  # the engine's pid namespace is not ours
        found: set[int] = set()
        try:
            while True:
                grown = False
                for pid in pids:
                    if pid in found or not _in_container(pid, container_id):
                        continue
                    if pid == root_pid or _host_ppid(pid) in found or _host_environ_has(pid, marker):
                        _signal(pid, signal.SIGSTOP)
                        found.add(pid)
                        grown = True
                if not grown:
                    break
                # A process may have forked between the listing and its SIGSTOP: list again until nothing is new.
                pids = await self._containers.host_pids(ref)
        finally:
            killed = sum(_signal(pid, signal.SIGKILL) for pid in found)
        return killed

    async def _kill_from_inside(self, ref: str, marker: bytes) -> int:
        """SIGKILL marked processes and their descendants with a helper exec of ``sh`` in the container (engine not
        local)."""
        spec = ExecSpec(cmd=("sh", "-c", _KILL_SCRIPT, "sh", marker.decode()), workdir="/", user="0")
        stream = await self.start(await self.create(ref, spec), tty=False)
        out = b""
        try:
            stream.close_write()
            while (frame := await stream.read_frame()) is not None:
                if frame[0] == STDOUT:
                    out += frame[1]
        finally:
            await stream.close()
        try:
            return int(out.strip() or b"0")
        except ValueError:
            return 0
