"""Images: inspect, list, pull, build from a streamed context, import a root filesystem, tag, remove.

Request bodies (a build context, a root filesystem tar) are async iterables sent chunked, never held whole; the
engine's answer, a stream of JSON messages, is read as it arrives and its output handed to ``on_line`` line by
line. Builds run with ``rm=1`` and ``forcerm=1`` (no intermediate container outlives a build) and the images a
failed build committed are removed.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import re
from collections.abc import AsyncIterable, AsyncIterator, Mapping, Sequence
from urllib.parse import quote

import aiohttp

from ... import exception as exc
from ..api import LineSink
from ..errors import BuildFailed, ImagePullError
from ..values import ImageConfig, ImageInfo, ImageSummary, LabelQuery, split_image_ref
from . import parse
from .build import BuildState, Lines, docker_error
from .errors import translate
from .http import DockerClient, Params, filters_param, has_labels, json_messages, label_filters

#: What an image reference or id may contain.
_REF_CHARS_RE = re.compile(r"[A-Za-z0-9._/:@+-]+")


def ref_path(ref: str) -> str:
    """``ref`` as a segment of a request path: ``InvalidError`` for a reference no image can have (a ``.`` or
    ``..`` component could walk the engine's router to another object, e.g. ``../containers/<id>``), the rest
    percent-escaped."""
    if not _REF_CHARS_RE.fullmatch(ref) or any(part in ("", ".", "..") for part in ref.split("/")):
        raise exc.InvalidError(f"invalid image reference {ref!r}")
    return quote(ref, safe="/:@")


#: The engine's own default PATH, sent as the environment of a committed image whose config has none: the engine
#: fills an empty environment from the container's, which holds what the sandbox was given (its secrets).
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: Deadline for a body-carrying request to be answered with headers: the engine answers a build or an import only
#: after reading the whole body, so this bounds the upload of the context, not the build.
UPLOAD_DEADLINE = 24 * 3600.0

# How the engine's resolver and dialer fail when no registry answers (as opposed to a registry that answers "no").
_UNREACHABLE_RE = re.compile(
    r"no such host|dial tcp|connection refused|i/o timeout|network is unreachable|TLS handshake timeout|"
    r"Client\.Timeout|server misbehaving|connection reset|no route to host|EOF$",
    re.IGNORECASE,
)


class _Upload:
    """A request body that remembers the exception its source raised, so that the caller's own failure comes out
    as it is instead of as the transport's report of an aborted request."""

    def __init__(self, body: AsyncIterable[bytes]) -> None:
        self._body = body
        self.failure: Exception | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._body:
                yield chunk
        except Exception as e:
            self.failure = e
            raise


@contextlib.asynccontextmanager
async def _messages(
    client: DockerClient, path: str, what: str, params: Params, body: AsyncIterable[bytes] | None, timeout: float
) -> AsyncIterator[AsyncIterator[parse.StreamMessage]]:
    """POST ``path`` (with the tar ``body``) and yield the engine's answer as ``StreamMessage``s."""
    upload = None if body is None else _Upload(body)
    try:
        resp = await client.open_stream(
            "POST",
            path,
            what,
            params=params,
            timeout=timeout,
            data=None if upload is None else upload.chunks(),
            headers=None if upload is None else {"Content-Type": "application/x-tar"},
        )
    except exc.Error:
        if upload is not None and upload.failure is not None:
            raise upload.failure from None
        raise

    async def messages() -> AsyncIterator[parse.StreamMessage]:
        async for raw in json_messages(resp, what):
            yield parse.stream_message(raw)

    try:
        yield messages()
    finally:
        if resp.content.at_eof():
            resp.release()
        else:
            resp.close()  # never return a half-read connection to the pool


class DockerImages:
    """``ImagesAPI`` on the Docker engine."""

    __slots__ = ("_client",)

    def __init__(self, client: DockerClient) -> None:
        self._client = client

    async def inspect(self, ref: str) -> ImageInfo | None:
        try:
            res = await self._client.request_json("GET", f"images/{ref_path(ref)}/json", f"inspect image {ref}")
        except exc.NotFoundError:
            return None
        return parse.image_info(res)

    async def list(self, labels: LabelQuery) -> builtins.list[ImageSummary]:
        # One label for the engine (Podman finds nothing for several), the others checked here: an engine has few
        # images, so this costs nothing.
        query = label_filters(labels)
        params = {"filters": filters_param(label=query[:1])}
        res = await self._client.request_json("GET", "images/json", "list images", params=params)
        return [i for raw in res or () if has_labels((i := parse.image_summary(raw)).labels, query)]

    async def pull(self, ref: str, *, timeout: float | None = None, on_line: LineSink | None = None) -> str:
        repo, tag = split_image_ref(ref)
        what = f"pull image {ref}"
        log = Lines(on_line)
        deadline = self._client.request_timeout if timeout is None else timeout
        try:
            async with _messages(
                self._client, "images/create", what, {"fromImage": repo, "tag": tag}, None, deadline
            ) as m:
                async for msg in m:
                    if msg.error is not None:
                        raise ImagePullError(f"{what}: {msg.error}", reachable=not _UNREACHABLE_RE.search(msg.error))
                    if msg.status:
                        layer = f"{msg.layer}: " if msg.layer else ""
                        log.emit(f"{layer}{msg.status} {msg.progress}".rstrip())
        except ImagePullError:
            raise
        except exc.Error as e:
            raise ImagePullError(f"{what}: {e}", reachable=not _UNREACHABLE_RE.search(str(e))) from e
        info = await self.inspect(ref)
        if info is None:
            raise ImagePullError(f"{what}: the image is missing after the pull")
        await self._after_pull(ref, log)
        return info.id

    async def _after_pull(self, ref: str, log: Lines) -> None:
        """Progress lines a dialect adds at the end of a pull (Docker's own end with the digest and status)."""

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
        params = [("dockerfile", dockerfile), ("rm", "1"), ("forcerm", "1"), ("q", "0")]
        if tag:
            params.append(("t", tag))
        if labels:
            params.append(("labels", json.dumps(dict(labels))))
        if build_args:
            params.append(("buildargs", json.dumps(dict(build_args))))
        if no_cache:
            params.append(("nocache", "1"))
        log = Lines(on_line)
        state = BuildState()
        try:
            await self._run_build(context, params, log, state)
        except BuildFailed:
            await self._remove_intermediates(state.intermediates)
            raise
        except exc.Error as e:
            if e.engine_status is not None and e.engine_status < 500 and state.step is None:
                # The engine refused the build before running anything (a Dockerfile it cannot parse, a bad FROM).
                raise state.failure(str(e), tuple(log.tail)) from None
            await self._remove_intermediates(state.intermediates)
            raise
        if state.image_id is None:
            raise exc.ServiceError("build an image: the engine reported success without an image id")
        return state.image_id

    async def _run_build(self, context: AsyncIterable[bytes], params: Params, log: Lines, state: BuildState) -> None:
        async with _messages(self._client, "build", "build an image", params, context, UPLOAD_DEADLINE) as messages:
            async for msg in messages:
                if msg.error is not None:
                    log.flush()
                    raise state.failure(docker_error(msg.error), tuple(log.tail))
                if msg.stream is not None:
                    for line in log.feed(msg.stream):
                        state.observe(line)
                if msg.image_id is not None:
                    state.image_id = msg.image_id
            for line in log.flush():
                state.observe(line)

    async def _remove_intermediates(self, image_ids: Sequence[str]) -> None:
        """Remove the images a failed build committed (newest first; each is the parent of the next). An image
        that has a tag by now is someone's and stays."""
        for image_id in reversed(image_ids):
            with contextlib.suppress(exc.Error):
                info = await self.inspect(image_id)
                if info is not None and not info.repo_tags:
                    await self.remove(info.id)

    async def import_rootfs(
        self, body: AsyncIterable[bytes], *, repo: str, tag: str, changes: Sequence[str] = (), message: str = ""
    ) -> str:
        what = f"import image {repo}:{tag}"
        # ``repo:tag`` in ``repo``, as the docker CLI sends it: Podman ignores a separate ``tag`` on an import.
        params = [("fromSrc", "-"), ("repo", f"{repo}:{tag}")]
        if message:
            params.append(("message", message))
        params.extend(("changes", change) for change in changes)
        image_id: str | None = None
        async with _messages(self._client, "images/create", what, params, body, UPLOAD_DEADLINE) as messages:
            async for msg in messages:
                if msg.error is not None:
                    raise exc.ServiceError(f"{what}: {msg.error}")
                if msg.status.startswith("sha256:"):
                    image_id = msg.status
        if image_id is None:
            raise exc.ServiceError(f"{what}: the engine reported no image id")
        return image_id

    async def commit(self, container: str, config: ImageConfig, *, repo: str, tag: str, pause: bool = True) -> str:
        env = [f"{k}={v}" for k, v in config.env.items()] or [DEFAULT_PATH]
        body = {
            "Labels": dict(config.labels),
            "Cmd": None if config.cmd is None else list(config.cmd),
            "Entrypoint": None if config.entrypoint is None else list(config.entrypoint),
            "Env": env,
            "WorkingDir": config.workdir,
            "User": config.user,
        }
        if config.shell is not None:
            body["Shell"] = list(config.shell)
        params = {"container": container, "repo": repo, "tag": tag, "pause": "1" if pause else "0"}
        res = await self._client.request_json(
            "POST", "commit", f"commit container {container[:12]}", params=params, body=body, timeout=float("inf")
        )
        return str(res["Id"])

    @contextlib.asynccontextmanager
    async def export(self, refs: Sequence[str]) -> AsyncIterator[AsyncIterator[bytes]]:
        """A ``docker save`` tarball of ``refs`` (ids or references; references keep their tags), streamed as it
        is read: for ``load`` into another engine, without holding it."""
        what = f"export image {refs[0] if refs else '(none)'}"
        resp = await self._client.open_stream("GET", "images/get", what, params=[("names", r) for r in refs])

        async def chunks() -> AsyncIterator[bytes]:
            while True:
                try:
                    chunk = await resp.content.readany()
                except (aiohttp.ClientError, OSError) as e:
                    raise translate(e, what) from e
                if not chunk:
                    return
                yield chunk

        try:
            yield chunks()
        finally:
            resp.close()

    async def load(self, body: AsyncIterable[bytes]) -> None:
        """Load a ``docker save`` tarball (what ``export`` streams) into this engine. An exception raised by
        ``body`` itself propagates as is."""
        what = "load images"
        async with _messages(self._client, "images/load", what, [("quiet", "1")], body, UPLOAD_DEADLINE) as messages:
            async for msg in messages:
                if msg.error is not None:
                    raise exc.ServiceError(f"{what}: {msg.error}")

    async def tag(self, image: str, repo: str, tag: str) -> None:
        await self._client.request_json(
            "POST", f"images/{ref_path(image)}/tag", f"tag image {image}", params={"repo": repo, "tag": tag}
        )

    async def remove(self, ref: str, *, force: bool = False) -> bool:
        try:
            await self._client.request_json(
                "DELETE", f"images/{ref_path(ref)}", f"remove image {ref}", params={"force": "1"} if force else None
            )
        except exc.NotFoundError:
            return False
        return True
