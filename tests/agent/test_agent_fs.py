"""Filesystem operations through the agent: Modal's fs-tools semantics (Appendix A of modal-sandbox-api.md)."""

from __future__ import annotations

import pytest

from sandbox_core._agent.client import Agent
from sandbox_core._agent.protocol import AgentOpError

from .conftest import run


async def kind_of(coro: object) -> str:
    with pytest.raises(AgentOpError) as e:
        await coro  # type: ignore[misc]
    return e.value.kind


async def test_write_then_read_round_trips_large_data_and_creates_parents(agent: Agent) -> None:
    data = bytes(range(256)) * (17 * 4096 + 3)  # ~17 MiB, not a multiple of any frame size
    assert await agent.write_file("/tmp/deep/er/file.bin", data) == len(data)
    stream = await agent.read_file("/tmp/deep/er/file.bin")
    assert stream.size == len(data)
    assert await stream.read_all() == data


async def test_streamed_write_from_chunks(agent: Agent) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        for i in range(10):
            yield bytes([i]) * 100_000

    assert await agent.write_file("/tmp/chunks", chunks()) == 1_000_000
    assert (await run(agent, "md5sum", "/tmp/chunks"))[0] == 0


async def test_read_errors(agent: Agent) -> None:
    assert await kind_of(agent.read_file("/tmp/missing")) == "NotFound"
    assert await kind_of(agent.read_file("/tmp")) == "IsDirectory"
    await agent.write_file("/tmp/big", b"x" * 1000)
    assert await kind_of(agent.read_file("/tmp/big", max_size=999)) == "FileTooLarge"
    assert await (await agent.read_file("/tmp/big", max_size=1000)).read_all() == b"x" * 1000


async def test_devices_are_not_read(agent: Agent) -> None:
    with pytest.raises(AgentOpError) as e:
        await agent.read_file("/dev/zero", max_size=3_000_000)  # endless data, size 0
    assert e.value.kind == "NotRegular"


async def test_write_replaces_a_final_symlink_and_refuses_symlinked_ancestors(agent: Agent) -> None:
    await run(agent, "sh", "-c", "mkdir -p /tmp/real && echo keep > /tmp/target && ln -s /tmp/target /tmp/link"
              " && ln -s /tmp/real /tmp/dirlink")  # fmt: skip
    await agent.write_file("/tmp/link", b"new")
    assert (await agent.stat("/tmp/link"))["type"] == "file"
    assert (await run(agent, "cat", "/tmp/target"))[1] == b"keep\n"
    assert await kind_of(agent.write_file("/tmp/dirlink/f", b"x")) == "Symlink"
    assert await kind_of(agent.mkdir("/tmp/dirlink/d", parents=True)) == "Symlink"
    assert await kind_of(agent.mkdir("/tmp/dirlink/d", parents=False)) == "Symlink"
    await agent.mkdir("/tmp/dirlink", parents=True)  # a final symlink to a directory is fine for mkdir -p
    await agent.write_file("/tmp/target", b"")
    assert await kind_of(agent.write_file("/tmp/target/child", b"x")) == "NotDirectory"
    assert await kind_of(agent.write_file("/tmp", b"x")) == "IsDirectory"


async def test_stat_describes_the_path_itself(agent: Agent) -> None:
    await run(agent, "sh", "-c", "echo hi > /tmp/s && chmod 640 /tmp/s && ln -s s /tmp/sl && ln -s /nowhere /tmp/dang")
    e = await agent.stat("/tmp/s")
    assert (e["name"], e["path"], e["type"], e["size"], e["permissions"], e["owner"]) == (
        "s", "/tmp/s", "file", 3, "0640", "root"
    )  # fmt: skip
    assert e["mode"] & 0o170000 == 0o100000 and isinstance(e["modified_time"], float | int)
    link = await agent.stat("/tmp/sl")
    assert (link["type"], link["symlink_target"]) == ("symlink", "s")
    assert (await agent.stat("/tmp/dang"))["symlink_target"] == "/nowhere"
    assert (await agent.stat("/tmp/"))["name"] == "tmp"
    assert await kind_of(agent.stat("/tmp/none")) == "NotFound"
    assert await kind_of(agent.stat("/tmp/s/x")) == "NotDirectory"


async def test_list_is_sorted_lstat_based_and_follows_a_linked_directory(agent: Agent) -> None:
    await run(agent, "sh", "-c", "mkdir -p /tmp/l/d && touch /tmp/l/b /tmp/l/a && ln -s /gone /tmp/l/c"
              " && ln -s /tmp/l /tmp/ll")  # fmt: skip
    entries = await agent.list_files("/tmp/l")
    assert [(e["name"], e["type"]) for e in entries] == [
        ("a", "file"), ("b", "file"), ("c", "symlink"), ("d", "directory")
    ]  # fmt: skip
    assert entries[2]["symlink_target"] == "/gone"
    assert (await agent.list_files("/tmp/ll"))[0]["path"] == "/tmp/ll/a"
    await agent.mkdir("/tmp/empty", parents=False)
    assert await agent.list_files("/tmp/empty") == []
    assert await kind_of(agent.list_files("/tmp/none")) == "NotFound"
    assert await kind_of(agent.list_files("/tmp/l/a")) == "NotDirectory"


async def test_mkdir_semantics(agent: Agent) -> None:
    await agent.mkdir("/tmp/m/a/b", parents=True)
    await agent.mkdir("/tmp/m/a/b", parents=True)  # idempotent
    assert await kind_of(agent.mkdir("/tmp/m/a/b", parents=False)) == "PathAlreadyExists"
    assert await kind_of(agent.mkdir("/tmp/m/x/y", parents=False)) == "NotFound"
    await agent.write_file("/tmp/m/f", b"")
    assert await kind_of(agent.mkdir("/tmp/m/f", parents=True)) == "PathAlreadyExists"
    assert await kind_of(agent.mkdir("/tmp/m/f", parents=False)) == "PathAlreadyExists"
    assert await kind_of(agent.mkdir("/tmp/m/f/g", parents=True)) == "NotDirectory"
    assert await kind_of(agent.mkdir("/tmp/m/f/g", parents=False)) == "NotDirectory"


async def test_remove_semantics(agent: Agent) -> None:
    await run(agent, "sh", "-c", "mkdir -p /tmp/r/full/sub /tmp/r/empty /tmp/keep && touch /tmp/r/full/sub/f "
              "/tmp/r/file /tmp/keep/k && ln -s /tmp/keep /tmp/r/link")  # fmt: skip
    await agent.remove("/tmp/r/file", recursive=False)
    await agent.remove("/tmp/r/empty", recursive=False)
    assert await kind_of(agent.remove("/tmp/r/full", recursive=False)) == "DirectoryNotEmpty"
    await agent.remove("/tmp/r/link", recursive=True)  # the link, never its target
    assert (await agent.stat("/tmp/keep/k"))["type"] == "file"
    await agent.remove("/tmp/r/full", recursive=True)
    assert await agent.list_files("/tmp/r") == []
    assert await kind_of(agent.remove("/tmp/r/none", recursive=True)) == "NotFound"


async def test_paths_must_be_absolute(agent: Agent) -> None:
    assert await kind_of(agent.stat("tmp")) == "InvalidArgument"
    assert await kind_of(agent.write_file("rel/x", b"")) == "InvalidArgument"


async def test_permission_errors_as_a_non_root_exec_user(agent: Agent) -> None:
    # the agent runs as root here; a uid-1000 agent would see PermissionDenied on /root (0700)
    await run(agent, "chmod", "700", "/root")
    code, _, err = await run(agent, "cat", "/root/x", user="1000")
    assert code != 0 and b"ermission" in err
