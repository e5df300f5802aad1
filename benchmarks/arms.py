"""The arms: the same logical work done through five clients against the same engine and image.

Every arm exposes the same operations; phases only call ``Arm.call(op, *args)``, which returns
``(ms, result, error)`` and never raises. Blocking arms (docker-py, sandbox_core_sync) run each operation in a
thread of their own pool and time it **inside** that thread, so the thread hand-off of the harness is not billed
to them; a composite operation (``tti``) runs in one thread, as a user's blocking code would.

Operations (``h`` is the arm's own sandbox handle):
    tti() -> (h, create_ms)             create a sandbox, then run ``echo hi`` in it and check ``hi\\n`` / exit 0
    echo(h)                             ``echo hi`` round trip, output and exit code checked
    run(h, argv) -> (rc, stdout bytes)  a helper for untimed setup/verification
    stream(h, nbytes) -> count        read ``nbytes`` of stdout to EOF, discarding it; returns the count
    upload(h, local, remote_dir, name)  copy a local file into the sandbox
    download(h, remote, local)          copy a sandbox file to the local disk
    remove(h)                           tear the sandbox down (for sandbox_core: ``terminate()``)
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from . import common as c

OpResult = tuple[float, Any, str | None]


class NotAvailableError(Exception):
    """The arm's client (or one of its API names) does not exist in this checkout."""


class Arm:
    """Base class. ``name`` identifies the arm in the output; ``sends`` says what it sends to the engine."""

    name = "?"
    blocking = False
    op_timeout = 300.0

    def __init__(self, run_id: str, concurrency: int) -> None:
        self.run_id = run_id
        self.tags = {c.RUN_LABEL: run_id, c.ARM_LABEL: self.name}
        self.concurrency = concurrency
        self.open_error: str | None = None

    def sends(self) -> str:
        raise NotImplementedError

    async def open(self) -> None:
        """Create clients (untimed). Failures are recorded in ``open_error`` and every op then errors."""

    async def close(self) -> None:
        pass

    async def call(self, op: str, *args: Any) -> OpResult:
        raise NotImplementedError


def _err(e: BaseException) -> str:
    text = str(e).strip().replace("\n", " ")
    return f"{type(e).__name__}: {text[:300]}"


class AsyncArm(Arm):
    async def call(self, op: str, *args: Any) -> OpResult:
        if self.open_error:
            return 0.0, None, f"not available: {self.open_error}"
        fn = getattr(self, op)
        t0 = time.perf_counter()
        try:
            async with asyncio.timeout(self.op_timeout):
                res = await fn(*args)
        except Exception as e:
            return (time.perf_counter() - t0) * 1000, getattr(e, "bench_handle", None), _err(e)
        return (time.perf_counter() - t0) * 1000, res, None

    async def tti(self) -> tuple[Any, float]:
        t0 = time.perf_counter()
        h = await self.create()
        create_ms = (time.perf_counter() - t0) * 1000
        try:
            await self.echo(h)
        except BaseException as e:
            e.bench_handle = h  # type: ignore[attr-defined]
            raise
        return h, create_ms

    async def echo(self, h: Any) -> None:
        rc, out = await self.run(h, ["echo", "hi"])
        _check_echo(rc, out)

    async def create(self) -> Any:
        raise NotImplementedError

    async def run(self, h: Any, argv: list[str]) -> tuple[int, bytes]:
        raise NotImplementedError


class SyncArm(Arm):
    blocking = True

    def __init__(self, run_id: str, concurrency: int) -> None:
        super().__init__(run_id, concurrency)
        self.pool = ThreadPoolExecutor(max_workers=max(concurrency, 1), thread_name_prefix=f"bench-{self.name}")

    async def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def call(self, op: str, *args: Any) -> OpResult:
        if self.open_error:
            return 0.0, None, f"not available: {self.open_error}"
        fn: Callable[..., Any] = getattr(self, op)
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(self.pool, _timed_sync, fn, args), self.op_timeout)
        except TimeoutError:
            return self.op_timeout * 1000, None, f"TimeoutError: no answer within {self.op_timeout:.0f} s"

    def tti(self) -> tuple[Any, float]:
        t0 = time.perf_counter()
        h = self.create()
        create_ms = (time.perf_counter() - t0) * 1000
        try:
            self.echo(h)
        except BaseException as e:
            e.bench_handle = h  # type: ignore[attr-defined]
            raise
        return h, create_ms

    def echo(self, h: Any) -> None:
        rc, out = self.run(h, ["echo", "hi"])
        _check_echo(rc, out)

    def create(self) -> Any:
        raise NotImplementedError

    def run(self, h: Any, argv: list[str]) -> tuple[int, bytes]:
        raise NotImplementedError


def _timed_sync(fn: Callable[..., Any], args: tuple[Any, ...]) -> OpResult:
    t0 = time.perf_counter()
    try:
        res = fn(*args)
    except Exception as e:
        return (time.perf_counter() - t0) * 1000, getattr(e, "bench_handle", None), _err(e)
    return (time.perf_counter() - t0) * 1000, res, None


def _check_echo(rc: int, out: bytes | str) -> None:
    if isinstance(out, str):
        out = out.encode()
    if rc != 0 or out != b"hi\n":
        raise RuntimeError(f"echo hi returned rc={rc} stdout={out[:80]!r}")


# ------------------------------------------------------------------------------------------------------ 1. CLI
class CliArm(AsyncArm):
    """The docker CLI (28.x, negotiating down to the engine's API) driven by asyncio subprocesses."""

    name = "cli"

    def sends(self) -> str:
        return (
            f"`docker run -d -i --init --security-opt no-new-privileges --cap-drop NET_RAW --cap-drop MKNOD "
            f"--cap-drop AUDIT_WRITE --pids-limit {c.PIDS_LIMIT} --log-driver json-file --log-opt max-size=64m "
            f"--log-opt max-file=2 --label bench.run=… {c.IMAGE}` (the CLI cannot set StdinOnce with -d); "
            "`docker exec <id> …` (stdout piped to the harness); `docker cp`; `docker rm -f`. "
            "One `docker` process per operation."
        )

    async def _docker(self, *args: str, stdout_to: Callable[[bytes], None] | None = None) -> bytes:
        proc = await asyncio.create_subprocess_exec(
            "docker", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        assert proc.stdout is not None
        assert proc.stderr is not None
        if stdout_to is None:
            out, err = await proc.communicate()
        else:
            err_task = asyncio.ensure_future(proc.stderr.read())
            while chunk := await proc.stdout.read(c.CHUNK):
                stdout_to(chunk)
            err = await err_task
            out = b""
            await proc.wait()
        if proc.returncode != 0:
            raise RuntimeError(f"docker {args[0]} exited {proc.returncode}: {err.decode(errors='replace')[:200]}")
        return out

    async def create(self) -> str:
        labels = []
        for k, v in c.raw_labels(self.run_id, self.name).items():
            labels += ["--label", f"{k}={v}"]
        caps = [x for cap in c.CAP_DROP for x in ("--cap-drop", cap)]
        sec = [x for opt in c.SECURITY_OPT for x in ("--security-opt", opt)]
        logs = ["--log-driver", c.LOG_CONFIG["Type"]]
        for k, v in c.LOG_CONFIG["Config"].items():
            logs += ["--log-opt", f"{k}={v}"]
        out = await self._docker(
            "run", "-d", "-i", "--init", *sec, *caps, "--pids-limit", str(c.PIDS_LIMIT), *logs, *labels, c.IMAGE
        )
        return out.decode().strip()

    async def run(self, h: str, argv: list[str]) -> tuple[int, bytes]:
        proc = await asyncio.create_subprocess_exec(
            "docker", "exec", h, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, _ = await proc.communicate()
        return proc.returncode or 0, out

    async def stream(self, h: str, nbytes: int) -> int:
        n = 0

        def count(b: bytes) -> None:
            nonlocal n
            n += len(b)

        await self._docker("exec", h, *c.stream_argv(nbytes), stdout_to=count)
        return n

    async def upload(self, h: str, local: str, remote_dir: str, name: str) -> None:
        await self._docker("cp", local, f"{h}:{remote_dir}/{name}")

    async def download(self, h: str, remote: str, local: str) -> None:
        await self._docker("cp", f"{h}:{remote}", local)

    async def remove(self, h: str) -> None:
        await self._docker("rm", "-f", h)


# ------------------------------------------------------------------------------------------------ 2. docker-py
class DockerPyArm(SyncArm):
    """docker-py (requests/urllib3) from a thread pool sized to the concurrency; ``pool`` = max_pool_size."""

    def __init__(self, run_id: str, concurrency: int, pool_size: int | None) -> None:
        self.pool_size = pool_size
        self.name = "dockerpy" if pool_size is None else "dockerpy-poolN"
        super().__init__(run_id, concurrency)

    def sends(self) -> str:
        pool = "default max_pool_size=10" if self.pool_size is None else f"max_pool_size={self.pool_size}"
        return (
            f"docker-py 7 ({pool}): `containers.run(image, detach=True, init=True, stdin_open=True, security_opt, "
            f"cap_drop, pids_limit={c.PIDS_LIMIT}, log_config, labels)` (create + start + inspect; `run` cannot set "
            "StdinOnce); "
            "`api.exec_create` + `api.exec_start` (+ `stream=True` for P5) + `api.exec_inspect`; "
            "`api.put_archive` with a generator body; `api.get_archive` (identity encoding, 1 MiB chunks); "
            "`api.remove_container(force=True)`."
        )

    async def open(self) -> None:
        try:
            import docker  # type: ignore[import-untyped]
        except ImportError as e:
            self.open_error = _err(e)
            return
        kw: dict[str, Any] = {"base_url": f"unix://{c.DOCKER_SOCKET}", "version": "auto", "timeout": 300}
        if self.pool_size is not None:
            kw["max_pool_size"] = self.pool_size
        self.client = await asyncio.get_running_loop().run_in_executor(self.pool, lambda: docker.DockerClient(**kw))
        self.api = self.client.api

    async def close(self) -> None:
        if not self.open_error:
            self.client.close()
        await super().close()

    def create(self) -> str:
        ctr = self.client.containers.run(
            c.IMAGE,
            detach=True,
            init=True,
            security_opt=c.SECURITY_OPT,
            cap_drop=c.CAP_DROP,
            pids_limit=c.PIDS_LIMIT,
            stdin_open=True,
            log_config={"type": c.LOG_CONFIG["Type"], "config": c.LOG_CONFIG["Config"]},
            labels=c.raw_labels(self.run_id, self.name),
        )
        return str(ctr.id)

    def run(self, h: str, argv: list[str]) -> tuple[int, bytes]:
        eid = self.api.exec_create(h, argv)["Id"]
        out = self.api.exec_start(eid)
        rc = self.api.exec_inspect(eid)["ExitCode"]
        return int(rc), bytes(out)

    def stream(self, h: str, nbytes: int) -> int:
        eid = self.api.exec_create(h, c.stream_argv(nbytes), stderr=False)["Id"]
        n = 0
        for chunk in self.api.exec_start(eid, stream=True):
            n += len(chunk)
        rc = self.api.exec_inspect(eid)["ExitCode"]
        if rc != 0:
            raise RuntimeError(f"stream exec exited {rc}")
        return n

    def upload(self, h: str, local: str, remote_dir: str, name: str) -> None:
        if not self.api.put_archive(h, remote_dir, c.tar_chunks(local, name)):
            raise RuntimeError("put_archive returned False")

    def download(self, h: str, remote: str, local: str) -> None:
        stream, _stat = self.api.get_archive(h, remote, chunk_size=c.CHUNK)
        sink = c.TarFileSink(local)
        try:
            for chunk in stream:
                sink.feed(chunk)
        finally:
            sink.close()

    def remove(self, h: str) -> None:
        self.api.remove_container(h, force=True)


# ------------------------------------------------------------------------------------------------ 3. aiodocker
class AiodockerArm(AsyncArm):
    """Raw aiodocker with ONE shared client over an unlimited unix connector: the honest lower bound."""

    name = "aiodocker"

    def sends(self) -> str:
        return (
            "aiodocker 0.27, one shared `Docker(url='unix://localhost', connector=UnixConnector(sock, limit=0))` "
            "(unlimited, so 100 open exec streams cannot deadlock the pool as with the default limit=100); "
            "`containers.create(body)` + `start()` with the same body as sandbox_core (see create body); exec: "
            "`container.exec` + `start(detach=False)` read to EOF + `inspect()`; upload: `put_archive` with an "
            "async generator; download: `GET /containers/{id}/archive` with `Accept-Encoding: identity`, streamed; "
            "`delete(force=True)`."
        )

    async def open(self) -> None:
        import aiodocker
        import aiohttp

        self._connector = aiohttp.UnixConnector(c.DOCKER_SOCKET, limit=0)
        self.docker = aiodocker.Docker(url="unix://localhost", connector=self._connector)
        await self.docker.version()

    async def close(self) -> None:
        await self.docker.close()
        await self._connector.close()

    async def create(self) -> Any:
        ctr = await self.docker.containers.create(config=c.create_body(self.run_id, self.name))
        await ctr.start()
        return ctr

    async def run(self, h: Any, argv: list[str]) -> tuple[int, bytes]:
        ex = await h.exec(argv, stdout=True, stderr=True)
        parts = []
        async with ex.start(detach=False) as stream:
            while (msg := await stream.read_out()) is not None:
                if msg.stream == 1:
                    parts.append(msg.data)
        info = await ex.inspect()
        while info["Running"]:  # defensive: never observed on 20.10 (docker-engine-notes §2.4)
            await asyncio.sleep(0.002)
            info = await ex.inspect()
        return int(info["ExitCode"]), b"".join(parts)

    async def stream(self, h: Any, nbytes: int) -> int:
        ex = await h.exec(c.stream_argv(nbytes), stdout=True, stderr=False)
        n = 0
        async with ex.start(detach=False) as stream:
            while (msg := await stream.read_out()) is not None:
                n += len(msg.data)
        info = await ex.inspect()
        if info["ExitCode"] != 0:
            raise RuntimeError(f"stream exec exited {info['ExitCode']}")
        return n

    async def upload(self, h: Any, local: str, remote_dir: str, name: str) -> None:
        await h.put_archive(remote_dir, c.tar_chunks_async(local, name))

    async def download(self, h: Any, remote: str, local: str) -> None:
        sink = c.TarFileSink(local)
        try:
            async with self.docker._query(
                f"containers/{h.id}/archive",
                method="GET",
                params={"path": remote},
                headers={"Accept-Encoding": "identity"},
            ) as resp:
                async for chunk in resp.content.iter_chunked(c.CHUNK):
                    sink.feed(chunk)
        finally:
            sink.close()

    async def remove(self, h: Any) -> None:
        await h.delete(force=True)


# ---------------------------------------------------------------------------------------- 4. sandbox_core async
class SandboxCoreArm(AsyncArm):
    """sandbox_core's public async API, as a user writes it."""

    name = "sc"

    def sends(self) -> str:
        return (
            "sandbox_core async: `App.lookup(f'bench-<run>-sc', create_if_missing=True)`, "
            f"`Sandbox.create(app=app, image=Image.from_registry('{c.IMAGE}'), timeout=600, "
            "tags={'bench.run': <run>, 'bench.arm': 'sc'})` (its default create body; tags given at create become "
            "labels); `sb.exec(...)` + `p.stdout.read()` + `p.wait()`; P5 iterates `p.stdout` of an exec with "
            "`text=False`; `sb.filesystem.copy_from_local` / `copy_to_local`; `sb.terminate()`."
        )

    async def open(self) -> None:
        try:
            import sandbox_core as sc

            self.sc: Any = sc
            self.app = await sc.App.lookup(c.app_name(self.run_id, self.name), create_if_missing=True)
            self.image = sc.Image.from_registry(c.IMAGE)
            _ = sc.Sandbox.create
        except Exception as e:
            self.open_error = _err(e)

    async def create(self) -> Any:
        return await self.sc.Sandbox.create(app=self.app, image=self.image, timeout=600, tags=self.tags)

    async def run(self, h: Any, argv: list[str]) -> tuple[int, bytes]:
        p = await h.exec(*argv)
        out = await p.stdout.read()
        rc = await p.wait()
        return int(rc), out.encode() if isinstance(out, str) else bytes(out)

    async def stream(self, h: Any, nbytes: int) -> int:
        p = await h.exec(*c.stream_argv(nbytes), text=False)
        n = 0
        async for chunk in p.stdout:
            n += len(chunk)
        rc = await p.wait()
        if rc != 0:
            raise RuntimeError(f"stream exec exited {rc}")
        return n

    async def upload(self, h: Any, local: str, remote_dir: str, name: str) -> None:
        await h.filesystem.copy_from_local(local, f"{remote_dir}/{name}")

    async def download(self, h: Any, remote: str, local: str) -> None:
        await h.filesystem.copy_to_local(remote, local)

    async def remove(self, h: Any) -> None:
        await h.terminate()


# ------------------------------------------------------------------------------------ 5. sandbox_core_sync facade
class SandboxCoreSyncArm(SyncArm):
    """The generated blocking facade, called from threads (one thread per concurrent sandbox)."""

    name = "sc-sync"

    def sends(self) -> str:
        return (
            "sandbox_core_sync (blocking, from a thread pool sized to the concurrency): the same calls as `sc` "
            "(App name `bench-<run>-sc-sync`); P5 iterates `for chunk in p.stdout` (one hop per chunk)."
        )

    async def open(self) -> None:
        def _open() -> None:
            import sandbox_core_sync as scs

            self.scs: Any = scs
            self.app = scs.App.lookup(c.app_name(self.run_id, self.name), create_if_missing=True)
            self.image = scs.Image.from_registry(c.IMAGE)
            _ = scs.Sandbox.create

        try:
            await asyncio.get_running_loop().run_in_executor(self.pool, _open)
        except Exception as e:
            self.open_error = _err(e)

    def create(self) -> Any:
        return self.scs.Sandbox.create(app=self.app, image=self.image, timeout=600, tags=self.tags)

    def run(self, h: Any, argv: list[str]) -> tuple[int, bytes]:
        p = h.exec(*argv)
        out = p.stdout.read()
        rc = p.wait()
        return int(rc), out.encode() if isinstance(out, str) else bytes(out)

    def stream(self, h: Any, nbytes: int) -> int:
        p = h.exec(*c.stream_argv(nbytes), text=False)
        n = 0
        for chunk in p.stdout:
            n += len(chunk)
        rc = p.wait()
        if rc != 0:
            raise RuntimeError(f"stream exec exited {rc}")
        return n

    def upload(self, h: Any, local: str, remote_dir: str, name: str) -> None:
        h.filesystem.copy_from_local(local, f"{remote_dir}/{name}")

    def download(self, h: Any, remote: str, local: str) -> None:
        h.filesystem.copy_to_local(remote, local)

    def remove(self, h: Any) -> None:
        h.terminate()


ALL_ARMS = ["cli", "dockerpy", "dockerpy-poolN", "aiodocker", "sc", "sc-sync"]
#: docker-py's pool size only matters above 10 concurrent requests: the poolN variant runs in concurrent phases.
CONCURRENT_ONLY = {"dockerpy-poolN"}


def make_arm(name: str, run_id: str, concurrency: int) -> Arm:
    if name == "cli":
        return CliArm(run_id, concurrency)
    if name == "dockerpy":
        return DockerPyArm(run_id, concurrency, None)
    if name == "dockerpy-poolN":
        return DockerPyArm(run_id, concurrency, concurrency)
    if name == "aiodocker":
        return AiodockerArm(run_id, concurrency)
    if name == "sc":
        return SandboxCoreArm(run_id, concurrency)
    if name == "sc-sync":
        return SandboxCoreSyncArm(run_id, concurrency)
    raise ValueError(f"unknown arm {name!r}; known: {', '.join(ALL_ARMS)}")


def describe_create_body(run_id: str) -> str:
    return json.dumps(c.create_body(run_id, "<arm>"), sort_keys=True)
