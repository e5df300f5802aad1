"""The engine interface: every operation the public layer needs from a container engine, as ``typing.Protocol``s.

``get_engine()`` returns the implementation for the running event loop: one Docker engine (``docker/``) or a Docker
Swarm cluster (``swarm/``). Another engine — Podman's quirks, Kubernetes — is another implementation of
``EngineAPI``, never ``if`` branches in public code. Rules every implementation keeps:

- **Values in and out.** Arguments and results are the frozen values of ``values.py``; no transport type
  (aiohttp, aiodocker, JSON) crosses this interface.
- **Opaque references.** A container ``ref`` and an exec id are strings the implementation handed out; public code
  stores and passes them back, never parses them. (A cluster implementation may hand out service ids and route
  execs and archives to the node that runs the task.)
- **Specific errors.** Failures are the classes of ``errors.py`` or of ``sandbox_core.exception``, raised around the
  implementation's own I/O only: an exception raised by a caller's code (an upload's ``body``, a consumer of a
  stream) is never translated.
- **Labels carry ownership.** Queries (``LabelQuery``) only ever see objects carrying the ownership label, which the
  implementation adds to every query.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs

from .tar import TarReader
from .values import (
    ContainerInfo,
    ContainerSpec,
    ContainerSummary,
    EngineEvent,
    EngineInfo,
    ExecInfo,
    ExecSpec,
    ImageConfig,
    ImageInfo,
    ImageSummary,
    LabelQuery,
    LogRecord,
    NetworkInfo,
    PathStat,
    RecordInfo,
    VolumeInfo,
)

#: Frame stream numbers: 1 is stdout, 2 is stderr (a TTY sends everything as 1).
STDOUT = 1
STDERR = 2

#: Receives progress or build output, one line at a time (without its newline), as it arrives.
LineSink = Callable[[str], None]


class FrameSource(Protocol):
    """A stream of output frames (a process's stdout/stderr)."""

    async def read_frame(self) -> tuple[int, bytes] | None:
        """The next ``(fd, data)`` frame (fd ``STDOUT`` or ``STDERR``), or None at EOF (also after ``close``).

        Raises ``ConnectionError`` when the stream breaks. A reader that stops calling this holds back the producer
        (the engine stops reading from the process) instead of buffering without bound.
        """
        ...

    async def close(self) -> None:
        """Release the stream (unread output is lost). Idempotent; never raises."""
        ...


class ChunkReceiver(Protocol):
    """Takes a stream's output as it arrives (``ExecStream.push``). Called from the event loop's I/O callbacks:
    neither method may block or raise."""

    def chunk(self, fd: int, data: bytes) -> None:
        """Output bytes of ``fd`` (``STDOUT`` or ``STDERR``), in stream order, any split."""
        ...

    def end(self, error: BaseException | None) -> None:
        """The stream ended: cleanly (None) or broken (a ``ConnectionError``). Called once, last."""
        ...


class ExecStream(FrameSource, Protocol):
    """A bidirectional process stream: output frames, and the process's stdin."""

    def push(self, receiver: ChunkReceiver) -> bool:
        """From now on hand the output to ``receiver`` as it arrives instead of through ``read_frame`` (no task
        switch per chunk). Returns False, changing nothing, where the stream cannot (then keep calling
        ``read_frame``). The receiver applies its own flow control: nothing holds the producer back any more."""
        ...

    @property
    def tty(self) -> bool:
        """True when the process runs on a pseudo-terminal (then a half-close does not reach it; send VEOF)."""
        ...

    async def write(self, data: bytes) -> None:
        """Write to the process's stdin, waiting while the transport is full. ``BrokenPipeError`` once the stream
        is closed (by us, or because the process ended)."""
        ...

    def close_write(self) -> bool:
        """Half-close: the process sees EOF on stdin, output keeps flowing. False when already gone. Idempotent.
        ``UnimplementedError`` where the engine cannot deliver EOF this way (a swarm task's main process)."""
        ...


@attrs.frozen
class ArchiveDownload:
    """An open archive read: the engine's stat of the path, and the tar stream of it."""

    stat: PathStat
    tar: TarReader


class ContainersAPI(Protocol):
    async def create(self, spec: ContainerSpec, name: str | None = None) -> str:
        """Create (not start) a container named ``name`` (None: a name the engine picks); returns its ref.
        ``NameConflict`` when the name is taken, ``NoSuchImage`` when the image is missing. (A swarm has no
        created-but-not-started service: there the container starts as soon as a node takes it.)"""
        ...

    async def start(self, ref: str) -> None:
        """Start a created container (on a swarm: wait until it runs, or has already ended)."""
        ...

    async def inspect(self, ref: str) -> ContainerInfo:
        """The container's full description. ``NoSuchContainer`` when it does not exist."""
        ...

    async def list(self, labels: LabelQuery, *, all: bool) -> list[ContainerSummary]:
        """Containers carrying ``labels``; only running ones unless ``all``."""
        ...

    async def kill(self, ref: str, signal: str = "KILL") -> bool:
        """Send ``signal``; False when the container was not running (nothing to kill)."""
        ...

    async def rename(self, ref: str, name: str) -> None:
        """Rename (names are the engine's atomic uniqueness primitive). ``NameConflict`` when taken, by another
        container or by this one (renaming to its current name): of concurrent renames of one container to the same
        name exactly one succeeds, which makes such a rename an exclusive claim."""
        ...

    async def remove(self, ref: str) -> bool:
        """Force-remove the container and its anonymous volumes; False when it was already gone (or going)."""
        ...

    async def wait(self, ref: str) -> int:
        """Block, without a deadline, until the container is not running; returns its exit code."""
        ...

    async def resize(self, ref: str, *, rows: int, cols: int) -> None:
        """Set a TTY container's window size."""
        ...

    async def follow_output(self, ref: str, *, fd: int | None, tty: bool) -> FrameSource:
        """The container's output ``fd`` (STDOUT or STDERR; None: both, interleaved in the order written) from its
        first byte, following it until the container stops. Each call is an independent reader."""
        ...

    def read_logs(
        self,
        ref: str,
        *,
        tty: bool,
        fd: int | None,
        since_ns: int | None = None,
        until_ns: int | None = None,
        tail: int | None = None,
    ) -> AsyncIterator[LogRecord]:
        """The entries of the container's log (its main process's output ``fd``, STDOUT or STDERR; None: both) that
        the engine received from ``since_ns`` to ``until_ns`` (nanoseconds since the epoch, both inclusive; None:
        unbounded), only the last ``tail`` of them when given; in the order the engine stored them, without
        following (entries of the two streams received at nearly the same time may be stored out of time order).
        Streamed (an unread reader holds the engine back). ``tty``: the container has a TTY (one stream)."""
        ...

    async def attach_stdin(self, ref: str, *, tty: bool) -> ExecStream:
        """A stdin-only stream to the main process of a **running** container (the caller checks: attaching to a
        stopped one may never answer). Its half-close (or disconnect) closes the process's stdin."""
        ...

    async def writable_size(self, ref: str) -> int:
        """Bytes the container has written to its writable layer (what it added or changed outside its mounts).
        Costs the engine a walk of that layer (about 1 ms for few files, 60 ms for 10,000): call it rarely.
        ``NoSuchContainer`` when it does not exist."""
        ...

    async def first_oom_kill(self, ref: str, since: float, *, within: float = 0.0) -> float | None:
        """When (Unix seconds) the engine recorded the kernel's first kill of a process of container ``ref`` for
        lack of memory at or after ``since``; None when it recorded none. ``within``: seconds to wait for such a
        record still on its way (the engine learns of an OOM kill asynchronously; it returns as soon as one
        arrives)."""
        ...


class ExecsAPI(Protocol):
    async def create(self, ref: str, spec: ExecSpec) -> str:
        """Create an exec in container ``ref``; returns its id. ``ContainerNotRunning`` when the container is not
        running, ``NoSuchContainer`` when it is gone."""
        ...

    async def start(self, exec_id: str, *, tty: bool) -> ExecStream:
        """Start a created exec attached; the process runs when this returns. When the program cannot be started
        (missing, not executable, working directory missing), the stream's first ``read_frame`` raises
        ``ExecStartFailed``: the runtime's error text never arrives as the process's output."""
        ...

    async def inspect(self, exec_id: str) -> ExecInfo:
        """The exec's state."""
        ...

    async def exit_code(self, exec_id: str) -> int | None:
        """The exit code of an exec whose stream reached EOF (polling briefly while the engine still reports it
        running); None when it never settles."""
        ...

    async def resize(self, exec_id: str, *, rows: int, cols: int) -> None:
        """Set a started TTY exec's window size."""
        ...

    async def note_activity(self, ref: str) -> None:
        """Leave an exec event for container ``ref`` (what the supervisor counts as activity): ``exec_create`` of a
        command never started; on an engine without that event (Podman), ``exec_start`` and ``exec_die`` of one
        that exits at once. Each call leaves a trace in the engine for a while: rate-limit."""
        ...

    async def kill_marked(self, ref: str, key: str, value: str, *, root_pid: int | None = None) -> None:
        """SIGKILL every process of container ``ref`` whose environment has ``key=value`` (and, where the engine
        can see host pids, every descendant of host pid ``root_pid``), until none is left. Never raises for a
        container that is not running or gone."""
        ...


class ArchiveAPI(Protocol):
    async def stat(self, ref: str, path: bytes) -> PathStat:
        """``lstat`` of ``path`` in the container. ``ArchivePathError`` (``missing``, ``not_a_directory`` …),
        ``NoSuchContainer``."""
        ...

    def get(self, ref: str, path: bytes) -> AbstractAsyncContextManager[ArchiveDownload]:
        """Open a streamed tar of ``path`` (a directory recursively). Raises before entering like ``stat``;
        leaving the block early stops the transfer."""
        ...

    async def put(
        self, ref: str, dest: bytes, body: AsyncIterable[bytes], *, no_overwrite_dir_non_dir: bool = True
    ) -> None:
        """Extract the tar stream ``body`` into directory ``dest`` (which must exist; members may create parents).
        ``ArchivePathError``/``NoSuchContainer`` as classified from the engine's answer; an exception raised by
        ``body`` itself propagates as is."""
        ...


class ImagesAPI(Protocol):
    """Local images: look up, pull, build, import, tag, list and remove. Calls that take a body stream it (neither
    a build context nor a root filesystem is held in memory) and hand each line of output to ``on_line`` as it
    arrives."""

    async def inspect(self, ref: str) -> ImageInfo | None:
        """The image (an id or a reference), or None when it is not present on the engine."""
        ...

    async def list(self, labels: LabelQuery) -> list[ImageSummary]:
        """Images carrying ``labels``, untagged ones included."""
        ...

    async def pull(self, ref: str, *, timeout: float | None = None, on_line: LineSink | None = None) -> str:
        """Pull ``ref`` from its registry, reporting progress lines (``<layer>: <status> <progress>``); returns the
        image id. ``ImagePullError`` (``reachable`` False when no registry answered at all) when it cannot be
        provided; ``timeout`` bounds the wait for the registry's first answer (None: the request deadline)."""
        ...

    async def build(
        self,
        context: AsyncIterable[bytes],
        *,
        dockerfile: str,
        tag: str | None = None,
        labels: Mapping[str, str] | None = None,
        build_args: Mapping[str, str] | None = None,
        no_cache: bool = False,
        on_line: LineSink | None = None,
    ) -> str:
        """Build the image that ``dockerfile`` (a path inside the tar ``context``) describes; returns its id,
        tagged ``tag`` when given and carrying ``labels``. Nothing of a build is left behind: no intermediate
        container, and no image committed by a build that failed. ``BuildFailed`` names the instruction that failed
        and carries the tail of the log."""
        ...

    async def import_rootfs(
        self, body: AsyncIterable[bytes], *, repo: str, tag: str, changes: Sequence[str] = (), message: str = ""
    ) -> str:
        """Create an image from the root filesystem tar ``body``, tagged ``repo:tag``, with the Dockerfile-style
        ``changes`` applied (``CMD``, ``ENV``, ``LABEL``, ``WORKDIR`` …); returns its id. An exception raised by
        ``body`` itself propagates as is."""
        ...

    async def commit(self, container: str, config: ImageConfig, *, repo: str, tag: str, pause: bool = True) -> str:
        """Create an image of container ``container``'s filesystem, tagged ``repo:tag``, whose configuration is
        ``config`` alone (nothing of the container's own configuration — its command, environment or labels — is
        taken over); returns its id. The container is paused while its filesystem is copied unless ``pause`` is
        False. ``NoSuchContainer`` when it does not exist."""
        ...

    async def tag(self, image: str, repo: str, tag: str) -> None:
        """Point ``repo:tag`` at ``image`` (an id or a reference); an existing tag of that name moves."""
        ...

    async def remove(self, ref: str, *, force: bool = False) -> bool:
        """Remove the image (or the tag) ``ref``; False when it did not exist. ``ConflictError`` when a container
        still uses it, unless ``force``."""
        ...


class RecordsAPI(Protocol):
    """Small named label sets for state that labels on the sandbox cannot hold (they are immutable): visible to
    every client of the engine, unreachable from inside a sandbox, and ``put`` is an atomic first-writer-wins
    create."""

    async def put(self, name: str, labels: Mapping[str, str]) -> RecordInfo:
        """Create record ``name`` unless it exists; returns the record as it is (the first writer's labels)."""
        ...

    async def get(self, name: str) -> RecordInfo | None:
        """The record, or None."""
        ...

    async def find(self, labels: LabelQuery) -> list[RecordInfo]:
        """Records carrying ``labels``."""
        ...

    async def remove(self, name: str) -> None:
        """Remove a record; a missing one is not an error."""
        ...

    def follow(self, prefix: str, *, since: float | None = None) -> AsyncGenerator[RecordInfo, None]:
        """The records whose name starts with ``prefix`` as they are created, from ``since`` (Unix seconds; default:
        now) on, forever (a broken connection is re-established without losing a creation). To wait for a record
        without a race: note the time, look for it (``get``/``find``), then follow from the time noted."""
        ...


class EventsAPI(Protocol):
    def follow(
        self, *, types: Sequence[str], labels: LabelQuery, since: float | None = None
    ) -> AsyncIterator[EngineEvent]:
        """Events about objects of ``types`` carrying ``labels``, from ``since`` (Unix seconds; default: now) on,
        forever: a broken connection is logged and re-established from the last event seen."""
        ...


class VolumesAPI(Protocol):
    async def create(
        self, name: str, labels: Mapping[str, str], *, driver: str = "local", options: Mapping[str, str] | None = None
    ) -> VolumeInfo:
        """Create volume ``name`` unless it exists; returns the volume as it is. Creation by name is atomic and
        first-writer-wins: when it existed, the labels and options returned are the first creator's."""
        ...

    async def inspect(self, name: str) -> VolumeInfo | None:
        """The volume, or None."""
        ...

    async def list(self, labels: LabelQuery) -> list[VolumeInfo]:
        """Volumes carrying ``labels``."""
        ...

    async def remove(self, name: str) -> bool:
        """Remove a volume; False when it was already gone."""
        ...


class NetworksAPI(Protocol):
    async def inspect(self, ref: str) -> NetworkInfo | None:
        """The network (a name or an id) with its address pools, or None."""
        ...

    async def list(self, labels: LabelQuery) -> list[NetworkInfo]:
        """Networks carrying ``labels``."""
        ...

    async def remove(self, ref: str) -> bool:
        """Remove a network; False when it was already gone."""
        ...


class EngineAPI(Protocol):
    """One engine, bound to one event loop."""

    @property
    def containers(self) -> ContainersAPI: ...
    @property
    def execs(self) -> ExecsAPI: ...
    @property
    def archive(self) -> ArchiveAPI: ...
    @property
    def images(self) -> ImagesAPI: ...
    @property
    def records(self) -> RecordsAPI: ...
    @property
    def events(self) -> EventsAPI: ...
    @property
    def volumes(self) -> VolumesAPI: ...
    @property
    def networks(self) -> NetworksAPI: ...

    @property
    def endpoint(self) -> str:
        """Identifies the engine (its address): equal for every client of the same engine."""
        ...

    @property
    def closed(self) -> bool:
        """True once ``close`` was called."""
        ...

    @property
    def joins_network_namespaces(self) -> bool:
        """Whether a container may join another's network namespace (``network_mode="container:<ref>"``), as
        network holders need."""
        ...

    async def info(self) -> EngineInfo:
        """The engine host's architecture and the container runtimes it offers."""
        ...

    async def started_at(self) -> float | None:
        """When the engine's running instance started (Unix seconds, to about 10 ms), or None when it cannot be
        told (a remote engine). Cheap: no request to the engine."""
        ...

    async def architecture(self) -> str:
        """The engine host's CPU architecture (``amd64``, ``arm64``, ``x86_64`` …), asked once per engine: cheap
        enough for the create path, unlike ``info`` (which gathers the whole engine's state and can be slow)."""
        ...

    def child_environment(self) -> dict[str, str]:
        """Environment variables under which ``get_engine()`` in a child process reaches this same engine."""
        ...

    async def close(self) -> None:
        """Release connections. Idempotent."""
        ...
