"""Engine calls that produce images: build from a streamed tar context, import a rootfs tar, pull with progress,
tag, inspect, list and remove by label.

Contracts shared by every call here:
- Request bodies are async iterables sent chunked: neither a build context nor a rootfs tar is held in memory.
- The engine's JSON message stream is decoded incrementally; each line of output is handed to ``on_line`` as it
  arrives (build output, pull progress), without its trailing newline.
- Builds always run with ``rm=1`` and ``forcerm=1``, so no intermediate container outlives a build, successful or
  not; images committed for the instructions of a failed build are removed too (they would be dangling leftovers).
- Failures are typed: ``BuildFailed`` names the Dockerfile instruction that failed and carries the tail of the
  log; ``PullFailed`` says whether a registry answered at all. No aiohttp/aiodocker type leaves this module.
"""

from __future__ import annotations

import collections
import contextlib
import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import attrs

from .. import exception as exc
from .client import Engine

LineSink = Callable[[str], None]

#: Lines of build output kept for the error message of a failed build.
LOG_TAIL_LINES = 40
#: Deadline for a body-carrying request to be answered with headers; the engine answers a build or an import only
#: after reading the whole body, so this bounds the upload of the context, not the build.
UPLOAD_DEADLINE = 24 * 3600.0

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_INTERMEDIATE_RE = re.compile(r"^ ---> ([0-9a-f]{12,64})$")
# How the engine's resolver and dialer fail when no registry answers (as opposed to a registry that answers "no").
_UNREACHABLE_RE = re.compile(
    r"no such host|dial tcp|connection refused|i/o timeout|network is unreachable|TLS handshake timeout|"
    r"Client\.Timeout|server misbehaving|connection reset|no route to host|EOF$",
    re.IGNORECASE,
)


def _labels(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@attrs.frozen
class ImageSummary:
    """An image as the engine lists it."""

    id: str
    tags: tuple[str, ...]
    labels: Mapping[str, str] = attrs.field(converter=_labels)
    size: int
    created: float


@attrs.frozen
class ImageInfo:
    """An image's inspect data: identity, labels and the run configuration a container inherits."""

    id: str
    tags: tuple[str, ...]
    labels: Mapping[str, str] = attrs.field(converter=_labels)
    size: int
    cmd: tuple[str, ...] | None
    entrypoint: tuple[str, ...] | None
    env: tuple[str, ...]
    workdir: str
    user: str


class BuildFailed(exc.ImageBuildError):
    """The engine's build stopped.

    ``instruction`` is the Dockerfile instruction that failed (``None`` when the build failed before one ran, e.g.
    a Dockerfile syntax error), ``step``/``steps`` its position as the engine counts it, ``log_tail`` the last
    lines of output, ``engine_message`` the engine's error text.
    """

    def __init__(
        self,
        message: str,
        *,
        engine_message: str,
        instruction: str | None = None,
        step: int | None = None,
        steps: int | None = None,
        log_tail: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.engine_message = engine_message
        self.instruction = instruction
        self.step = step
        self.steps = steps
        self.log_tail = log_tail


class PullFailed(exc.NotFoundError):
    """A pull did not produce the image. ``reachable`` is False when no registry answered at all."""

    def __init__(self, message: str, *, reachable: bool) -> None:
        super().__init__(message)
        self.reachable = reachable


class _Lines:
    """Splits streamed text into lines for ``on_line`` (a message may hold several lines or part of one)."""

    def __init__(self, sink: LineSink | None, keep: int = LOG_TAIL_LINES) -> None:
        self._sink = sink
        self._partial = ""
        self.tail: collections.deque[str] = collections.deque(maxlen=keep)

    def feed(self, text: str) -> list[str]:
        data = self._partial + text.replace("\r\n", "\n")
        *lines, self._partial = data.split("\n")
        for line in lines:
            self.emit(line)
        return lines

    def emit(self, line: str) -> None:
        line = _ANSI_RE.sub("", line)  # the engine colours a step's stderr
        self.tail.append(line)
        if self._sink is not None:
            self._sink(line)

    def flush(self) -> list[str]:
        rest, self._partial = self._partial, ""
        if rest:
            self.emit(rest)
            return [rest]
        return []


@contextlib.asynccontextmanager
async def _json_messages(
    eng: Engine,
    path: str,
    what: str,
    params: Sequence[tuple[str, str]],
    body: AsyncIterable[bytes] | None = None,
) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
    """POST ``path`` and yield an iterator over the engine's newline-delimited JSON messages."""
    headers = {"Content-Type": "application/x-tar"} if body is not None else None
    async with eng.stream(
        "POST", path, what, params=list(params), data=body, headers=headers, connect_timeout=UPLOAD_DEADLINE
    ) as resp:

        async def messages() -> AsyncIterator[dict[str, Any]]:
            decoder = json.JSONDecoder()
            buf = ""
            async for chunk in resp.content.iter_any():
                buf += chunk.decode("utf-8", "replace")
                while True:
                    buf = buf.lstrip()
                    if not buf:
                        break
                    try:
                        msg, end = decoder.raw_decode(buf)
                    except ValueError:
                        break  # an incomplete message: wait for more
                    buf = buf[end:]
                    if isinstance(msg, dict):
                        yield msg
            if buf.strip():
                raise exc.ServiceError(f"{what}: the engine's answer ended inside a message: {buf[:200]!r}")

        yield messages()


def _error_text(msg: Mapping[str, Any]) -> str | None:
    if "error" in msg or "errorDetail" in msg:
        detail = msg.get("errorDetail") or {}
        return str(msg.get("error") or detail.get("message") or "unknown error").strip()
    return None


async def build(
    eng: Engine,
    context: AsyncIterable[bytes],
    *,
    dockerfile: str,
    tag: str | None = None,
    labels: Mapping[str, str] | None = None,
    buildargs: Mapping[str, str] | None = None,
    nocache: bool = False,
    on_line: LineSink | None = None,
) -> str:
    """Build the image described by ``dockerfile`` (a path inside the tar ``context``); return its id
    (``sha256:…``), tagged ``tag`` when given and carrying ``labels``.

    Raises ``BuildFailed`` when an instruction fails (its intermediate containers and images are removed first);
    other engine failures arrive as ``sandbox_core.exception`` classes.
    """
    params = [("dockerfile", dockerfile), ("rm", "1"), ("forcerm", "1"), ("q", "0")]
    if tag:
        params.append(("t", tag))
    if labels:
        params.append(("labels", json.dumps(dict(labels))))
    if buildargs:
        params.append(("buildargs", json.dumps(dict(buildargs))))
    if nocache:
        params.append(("nocache", "1"))
    log = _Lines(on_line)
    state = _BuildState()
    try:
        async with _json_messages(eng, "build", "build an image", params, context) as messages:
            async for msg in messages:
                error = _error_text(msg)
                if error is not None:
                    log.flush()
                    raise state.failure(error, tuple(log.tail))
                if "stream" in msg:
                    for line in log.feed(str(msg["stream"])):
                        state.observe(line)
                aux = msg.get("aux")
                if isinstance(aux, dict) and "ID" in aux:
                    state.image_id = str(aux["ID"])
            for line in log.flush():
                state.observe(line)
    except BuildFailed:
        await _remove_intermediates(eng, state.intermediates)
        raise
    except exc.Error as e:
        if e.engine_status is not None and e.engine_status < 500 and state.step is None:
            # The engine refused the build before running anything (a Dockerfile it cannot parse, a bad FROM).
            raise state.failure(str(e), tuple(log.tail)) from None
        await _remove_intermediates(eng, state.intermediates)
        raise
    if state.image_id is None:
        raise exc.ServiceError("build an image: the engine reported success without an image id")
    return state.image_id


@attrs.define
class _BuildState:
    """What the build output told so far: the current instruction and the images this build committed (not the
    ``FROM`` image, nor images the engine's cache supplied: those existed before and are not the build's)."""

    step: int | None = None
    steps: int | None = None
    instruction: str | None = None
    image_id: str | None = None
    intermediates: list[str] = attrs.Factory(list)
    _cached: bool = False

    def observe(self, line: str) -> None:
        m = _STEP_RE.match(line)
        if m is not None:
            self.step, self.steps, self.instruction = int(m.group(1)), int(m.group(2)), m.group(3)
            self._cached = False
            return
        if line.strip() == "---> Using cache":
            self._cached = True
            return
        m = _INTERMEDIATE_RE.match(line)
        if m is None:
            return
        from_image = self.instruction is not None and self.instruction.upper().startswith("FROM ")
        if not from_image and not self._cached:
            self.intermediates.append(m.group(1))

    def failure(self, error: str, tail: tuple[str, ...]) -> BuildFailed:
        where = f"step {self.step}/{self.steps} ({self.instruction})" if self.instruction else "before any step ran"
        return BuildFailed(
            f"the image build failed at {where}: {error}",
            engine_message=error,
            instruction=self.instruction,
            step=self.step,
            steps=self.steps,
            log_tail=tail,
        )


async def _remove_intermediates(eng: Engine, image_ids: Sequence[str]) -> None:
    """Remove the images a failed build committed (newest first; each is the parent of the next). An image that
    has a tag by now is someone's and stays."""
    for image_id in reversed(image_ids):
        with contextlib.suppress(exc.Error):
            info = await inspect(eng, image_id)
            if info is not None and not info.tags:
                await remove(eng, info.id)


async def import_rootfs(
    eng: Engine,
    body: AsyncIterable[bytes],
    *,
    repo: str,
    tag: str,
    changes: Sequence[str] = (),
    message: str = "",
) -> str:
    """Create an image from the root filesystem tar ``body`` (``docker import``), tagged ``repo:tag``, with the
    Dockerfile-style ``changes`` applied (``CMD``, ``ENV``, ``LABEL``, ``WORKDIR``, ...). Returns the image id."""
    params = [("fromSrc", "-"), ("repo", repo), ("tag", tag)]
    if message:
        params.append(("message", message))
    params.extend(("changes", change) for change in changes)
    image_id: str | None = None
    async with _json_messages(eng, "images/create", f"import image {repo}:{tag}", params, body) as messages:
        async for msg in messages:
            error = _error_text(msg)
            if error is not None:
                raise exc.ServiceError(f"import image {repo}:{tag}: {error}")
            status = str(msg.get("status", ""))
            if status.startswith("sha256:"):
                image_id = status
    if image_id is None:
        raise exc.ServiceError(f"import image {repo}:{tag}: the engine reported no image id")
    return image_id


def split_ref(ref: str) -> tuple[str, str]:
    """``repo[:tag]`` or ``repo@digest`` into (repo, tag-or-digest); the tag defaults to ``latest``."""
    name, _, digest = ref.partition("@")
    if digest:
        return name, digest
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :]
    return name, "latest"


async def pull(eng: Engine, ref: str, *, on_line: LineSink | None = None) -> str:
    """Pull ``ref``, reporting progress lines (``<layer>: <status> <progress>``); return the image id.

    Raises ``PullFailed`` (``reachable`` False when no registry answered, True when one answered without the image).
    """
    repo, tag = split_ref(ref)
    log = _Lines(on_line)
    try:
        async with _json_messages(eng, "images/create", f"pull image {ref}", [("fromImage", repo), ("tag", tag)]) as m:
            async for msg in m:
                error = _error_text(msg)
                if error is not None:
                    raise PullFailed(f"pull image {ref}: {error}", reachable=not _UNREACHABLE_RE.search(error))
                status = str(msg.get("status", ""))
                if status:
                    layer = f"{msg['id']}: " if msg.get("id") else ""
                    log.emit(f"{layer}{status} {msg.get('progress', '')}".rstrip())
    except PullFailed:
        raise
    except exc.Error as e:
        raise PullFailed(f"pull image {ref}: {e}", reachable=not _UNREACHABLE_RE.search(str(e))) from None
    info = await inspect(eng, ref)
    if info is None:
        raise PullFailed(f"pull image {ref}: the image is missing after the pull", reachable=True)
    return info.id


async def tag(eng: Engine, image: str, repo: str, tag: str) -> None:
    """Point ``repo:tag`` at ``image`` (an id or a reference); an existing tag of that name moves."""
    await eng.request_json("POST", f"images/{image}/tag", f"tag image {image}", params={"repo": repo, "tag": tag})


def _str_tuple(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)


async def inspect(eng: Engine, ref: str) -> ImageInfo | None:
    """The image ``ref`` (id, ``repo:tag``), or None when the engine does not have it."""
    try:
        raw = await eng.request_json("GET", f"images/{ref}/json", f"inspect image {ref}")
    except exc.NotFoundError:
        return None
    config = raw.get("Config") or {}
    return ImageInfo(
        id=str(raw["Id"]),
        tags=tuple(raw.get("RepoTags") or ()),
        labels=config.get("Labels") or {},
        size=int(raw.get("Size") or 0),
        cmd=_str_tuple(config.get("Cmd")),
        entrypoint=_str_tuple(config.get("Entrypoint")),
        env=tuple(config.get("Env") or ()),
        workdir=str(config.get("WorkingDir") or ""),
        user=str(config.get("User") or ""),
    )


async def list_by_label(eng: Engine, *labels: str) -> list[ImageSummary]:
    """Images carrying every ``key=value`` (or bare ``key``) in ``labels``, dangling ones included."""
    raw = await eng.request_json(
        "GET", "images/json", "list images", params={"filters": json.dumps({"label": list(labels)})}
    )
    return [
        ImageSummary(
            id=str(item["Id"]),
            tags=tuple(t for t in item.get("RepoTags") or () if t != "<none>:<none>"),
            labels=item.get("Labels") or {},
            size=int(item.get("Size") or 0),
            created=float(item.get("Created") or 0),
        )
        for item in raw or ()
    ]


async def remove(eng: Engine, ref: str, *, force: bool = False) -> bool:
    """Remove the image (or the tag) ``ref``; False when it did not exist. Raises ``ConflictError`` when a
    container still uses it (unless ``force``)."""
    params = {"force": "1"} if force else None
    try:
        await eng.request_json("DELETE", f"images/{ref}", f"remove image {ref}", params=params)
    except exc.NotFoundError:
        return False
    return True
