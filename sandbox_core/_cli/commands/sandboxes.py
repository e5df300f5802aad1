"""Sandbox lifecycle commands: ``create``, ``run``, ``ls``, ``stop``."""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Annotated, Any

import attrs
import typer

import sandbox_core as sc

from .. import _inventory
from .._exitcodes import returncode_to_exit
from .._logs import write_output
from .._output import emit_json, emit_line, emit_table, format_tags, human_age, is_tty, iso_time
from .._progress import status
from .._refs import DEFAULT_APP, parse_pairs, resolve
from .._runner import run
from ._options import (
    TRAILING_COMMAND,
    AppOption,
    BlockNetworkOption,
    CpuOption,
    EnvOption,
    IdleTimeoutOption,
    ImageOption,
    JsonOption,
    MemoryOption,
    NameOption,
    TagOption,
    TimeoutOption,
    WorkdirOption,
)

CommandArgument = Annotated[
    list[str] | None, typer.Argument(help="Command to run (default: the image's command).", show_default=False)
]


@attrs.frozen
class SandboxSpec:
    """What ``create`` and ``run`` were asked for."""

    app: str
    image: str | None
    command: tuple[str, ...]
    name: str | None
    tags: dict[str, str]
    env: dict[str, str]
    timeout: int
    idle_timeout: int | None
    workdir: str | None
    cpu: float | None
    memory: int | None
    block_network: bool


def image_of(ref: str | None) -> sc.Image | None:
    """``--image``: an image id (``im-…``) or a reference; None for the default image."""
    if ref is None:
        return None
    return sc.Image.from_id(ref) if ref.startswith("im-") else sc.Image.from_registry(ref)


async def create_sandbox(spec: SandboxSpec) -> tuple[sc.App, sc.Sandbox]:
    """Create the sandbox ``spec`` describes (its app created when missing)."""
    app = await sc.App.lookup(spec.app, create_if_missing=True)
    with status(f"creating a sandbox from {spec.image or 'the default image'}"):
        sb = await sc.Sandbox.create(
            *spec.command,
            app=app,
            image=image_of(spec.image),
            name=spec.name,
            tags=spec.tags or None,
            env=dict(spec.env) or None,
            timeout=spec.timeout,
            idle_timeout=spec.idle_timeout,
            workdir=spec.workdir,
            cpu=spec.cpu,
            memory=spec.memory,
            block_network=spec.block_network,
        )
    return app, sb


def _spec(app: str | None, image: str | None, command: list[str] | None, **rest: Any) -> SandboxSpec:
    return SandboxSpec(
        app=app or DEFAULT_APP,
        image=image,
        command=tuple(command or ()),
        tags=parse_pairs(rest.pop("tag"), "--tag"),
        env=parse_pairs(rest.pop("env"), "--env"),
        **rest,
    )


def create(
    command: CommandArgument = None,
    app: AppOption = None,
    image: ImageOption = None,
    name: NameOption = None,
    tag: TagOption = None,
    env: EnvOption = None,
    timeout: TimeoutOption = 300,
    idle_timeout: IdleTimeoutOption = None,
    workdir: WorkdirOption = None,
    cpu: CpuOption = None,
    memory: MemoryOption = None,
    block_network: BlockNetworkOption = False,
    as_json: JsonOption = False,
) -> None:
    """Create a sandbox and print its id; it keeps running after this command returns."""

    async def main() -> int:
        spec = _spec(
            app,
            image,
            command,
            name=name,
            tag=tag,
            env=env,
            timeout=timeout,
            idle_timeout=idle_timeout,
            workdir=workdir,
            cpu=cpu,
            memory=memory,
            block_network=block_network,
        )
        the_app, sb = await create_sandbox(spec)
        if as_json:
            emit_json(
                {
                    "id": sb.object_id,
                    "app": the_app.name,
                    "app_id": the_app.app_id,
                    "name": spec.name,
                    "tags": spec.tags,
                    "image": spec.image,
                }
            )
        else:
            emit_line(sb.object_id)
        return 0

    run(main, as_json=as_json)


def run_(
    command: CommandArgument = None,
    app: AppOption = None,
    image: ImageOption = None,
    name: NameOption = None,
    tag: TagOption = None,
    env: EnvOption = None,
    timeout: TimeoutOption = 300,
    idle_timeout: IdleTimeoutOption = None,
    workdir: WorkdirOption = None,
    cpu: CpuOption = None,
    memory: MemoryOption = None,
    block_network: BlockNetworkOption = False,
) -> None:
    """Create a sandbox, stream its output, and exit with its return code (Ctrl-C terminates it)."""

    async def main() -> int:
        spec = _spec(
            app,
            image,
            command,
            name=name,
            tag=tag,
            env=env,
            timeout=timeout,
            idle_timeout=idle_timeout,
            workdir=workdir,
            cpu=cpu,
            memory=memory,
            block_network=block_network,
        )
        _, sb = await create_sandbox(spec)
        if is_tty(sys.stderr):
            sys.stderr.write(f"sandbox {sb.object_id}\n")
        try:
            return returncode_to_exit(await _follow_to_end(sb))
        except BaseException:
            # Interrupted or failed: the sandbox this command started must not outlive it.
            await asyncio.shield(sb.terminate())
            raise

    run(main, passthrough=True)


async def _follow_to_end(sb: sc.Sandbox) -> int:
    await write_output(sb, follow=True)
    try:
        await sb.wait(raise_on_termination=False)
    except sc.exception.SandboxTimeoutError:
        pass  # its returncode (124) says so
    assert sb.returncode is not None
    return sb.returncode


def ls(
    app: AppOption = None,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Include finished sandboxes (kept for a while).")] = False,
    tag: TagOption = None,
    as_json: JsonOption = False,
) -> None:
    """List sandboxes: id, app, name, tags, state, age, image (running ones unless --all)."""

    async def main() -> int:
        rows = await _inventory.list_sandboxes(app=app, include_finished=all_, tags=parse_pairs(tag, "--tag"))
        now = time.time()
        if as_json:
            emit_json([_row_json(r, now) for r in rows])
            return 0
        headers = ("ID", "APP", "NAME", "TAGS", "STATE", "AGE", "IMAGE")
        emit_table(headers, [_row_cells(r, now) for r in rows])
        return 0

    run(main, as_json=as_json)


def _state_text(row: _inventory.SandboxRow) -> str:
    return f"exited ({row.returncode})" if row.state == "finished" else row.state


def _row_cells(row: _inventory.SandboxRow, now: float) -> tuple[str, ...]:
    age = human_age(now - row.created)
    return (row.sandbox_id, row.app, row.name or "-", format_tags(dict(row.tags)), _state_text(row), age, row.image)


def _row_json(row: _inventory.SandboxRow, now: float) -> dict[str, Any]:
    return {
        "id": row.sandbox_id,
        "app": row.app,
        "app_id": row.app_id,
        "name": row.name,
        "tags": dict(row.tags),
        "state": row.state,
        "returncode": row.returncode,
        "created": iso_time(row.created),
        "age_seconds": round(now - row.created, 3),
        "image": row.image,
        "image_id": row.image_id,
    }


def stop(
    refs: Annotated[list[str], typer.Argument(help="Sandbox ids (sb-…), or names with --app.", show_default=False)],
    app: AppOption = None,
    as_json: JsonOption = False,
) -> None:
    """Terminate sandboxes (return code 137) and print each one's return code.

    All are looked up before any is stopped, so a typo stops nothing.
    """

    async def main() -> int:
        sandboxes = [await resolve(ref, app) for ref in refs]
        codes = await asyncio.gather(*(_terminate(sb) for sb in sandboxes))
        if as_json:
            emit_json([{"id": sb.object_id, "returncode": c} for sb, c in zip(sandboxes, codes, strict=True)])
        else:
            for sb, c in zip(sandboxes, codes, strict=True):
                emit_line(f"{sb.object_id} {c}")
        return 0

    run(main, as_json=as_json)


async def _terminate(sb: sc.Sandbox) -> int:
    await sb.terminate()
    try:
        await sb.wait(raise_on_termination=False)
    except sc.exception.SandboxTimeoutError:
        pass  # it had already passed its lifetime: returncode 124
    assert sb.returncode is not None
    return sb.returncode


def register(app: typer.Typer) -> None:
    """Add ``create``, ``run``, ``ls`` and ``stop`` to the root app."""
    app.command(context_settings=TRAILING_COMMAND)(create)
    app.command("run", context_settings=TRAILING_COMMAND)(run_)
    app.command()(ls)
    app.command()(stop)
