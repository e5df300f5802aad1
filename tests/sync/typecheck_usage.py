"""Type-checked (not run) by test_sync_codegen: sandbox_core_sync's types in the blocking and ``.aio`` forms."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import assert_type

import sandbox_core_sync
from sandbox_core_sync import App, ContainerProcess, Sandbox, StreamReader, StreamWriter
from sandbox_core_sync.container_process import ContainerProcess as ModalContainerProcess
from sandbox_core_sync.exception import AsyncUsageWarning
from sandbox_core_sync.io_streams import StreamReader as ModalStreamReader
from sandbox_core_sync.sandbox import Sandbox as ModalSandbox
from sandbox_core_sync.stream_type import StreamType


def blocking(app: App) -> None:
    sb = Sandbox.create("sleep", "100", app=app)
    assert_type(sb, Sandbox)
    p = sb.exec("ls")
    assert_type(p, ContainerProcess[str])
    assert_type(sb.exec("ls", text=False), ContainerProcess[bytes])
    assert_type(p.stdout, StreamReader[str])
    for line in p.stdout:
        assert_type(line, str)
    assert_type(next(p.stdout), str)
    assert_type(p.stdout.read(), str)
    assert_type(p.stdin, StreamWriter)
    p.stdin.write("x")
    p.stdin.write_eof()
    assert_type(p.stdin.drain(), None)
    assert_type(p.wait(), int)
    assert_type(sb.poll(), int | None)
    assert_type(sb.terminate(), None)
    assert_type(Sandbox.from_id(sb.object_id), Sandbox)
    assert_type(Sandbox.list(), Generator[Sandbox, None, None])
    sb.exec(1)  # type: ignore[call-overload]


async def asynchronous(app: App) -> None:
    sb = await Sandbox.create.aio("sleep", "100", app=app)
    assert_type(sb, Sandbox)
    p = await sb.exec.aio("ls")
    assert_type(p, ContainerProcess[str])
    assert_type(await sb.exec.aio("ls", text=False), ContainerProcess[bytes])
    async for line in p.stdout:
        assert_type(line, str)
    assert_type(await p.stdout.read.aio(), str)
    assert_type(await p.wait.aio(), int)
    assert_type(await Sandbox.from_id.aio(sb.object_id), Sandbox)
    assert_type(Sandbox.list.aio(), AsyncGenerator[Sandbox, None])


def modal_module_names(app: App) -> None:
    """The Modal-named submodules carry the same, typed, names."""
    sb = ModalSandbox.create("sleep", "100", app=app)
    assert_type(sb, Sandbox)
    p = sb.exec("ls", stdout=StreamType.PIPE)
    assert_type(p, ModalContainerProcess[str])
    assert_type(p.stdout, ModalStreamReader[str])
    assert_type(sandbox_core_sync.sandbox.Sandbox.from_id("x"), Sandbox)
    with sandbox_core_sync.enable_output():
        pass
    assert issubclass(AsyncUsageWarning, UserWarning)
