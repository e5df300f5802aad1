"""Type-checked (not run) by test_sync_codegen: the fake facade's types, sync and ``.aio`` forms."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Iterator
from typing import Any, assert_type

from fakecore_sync import ContainerProcess, FileIO, Sandbox, StreamReader


def blocking() -> None:
    sb = Sandbox.create(name="x")
    assert_type(sb, Sandbox)
    p = sb.exec("x")
    assert_type(p, ContainerProcess[str])
    assert_type(sb.exec("x", text=False), ContainerProcess[bytes])
    assert_type(p.stdout, StreamReader[str])
    for line in p.stdout:
        assert_type(line, str)
    assert_type(iter(p.stdout), Iterator[str])
    assert_type(next(p.stdout), str)
    assert_type(p.stdout.read(), str)
    assert_type(p.wait(), int)
    assert_type(sb.terminate(), None)
    assert_type(sb.terminate(wait=True), int)
    assert_type(Sandbox.list(), Generator[Sandbox, None, None])
    assert_type(sb.processes([p]), list[ContainerProcess[Any]])
    with sb.open("/x") as f:
        assert_type(f, FileIO[Any])
    sb.exec(1)  # type: ignore[call-overload]


async def asynchronous() -> None:
    sb = await Sandbox.create.aio(name="x")
    assert_type(sb, Sandbox)
    p = await sb.exec.aio("x")
    assert_type(p, ContainerProcess[str])
    assert_type(await sb.exec.aio("x", text=False), ContainerProcess[bytes])
    async for line in p.stdout:
        assert_type(line, str)
    assert_type(await p.stdout.read.aio(), str)
    assert_type(Sandbox.list.aio(), AsyncGenerator[Sandbox, None])
    assert_type(await sb.terminate.aio(wait=True), int)
