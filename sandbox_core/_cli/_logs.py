"""The entrypoint's output for ``logs`` and ``run``: both streams, in order, as ``LogLine``s.

Commands read through ``read_output`` only. Without follow the source is ``Sandbox.logs``: everything the engine
logged up to now, in time order, however long ago (bounded by Modal's 35-day span of one query). Following, it is
``Sandbox.stdout``/``Sandbox.stderr``, which replay the output from the beginning and follow it until the sandbox
ends (merged in arrival order).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
from collections.abc import AsyncGenerator
from typing import Literal

import attrs

import sandbox_core as sc

from ._output import FdSink

Stream = Literal["stdout", "stderr"]
#: How far back a non-following read looks: the longest span one ``Sandbox.logs.fetch`` takes.
LOOKBACK = datetime.timedelta(days=35) - datetime.timedelta(minutes=1)


@attrs.frozen
class LogLine:
    """One line of the entrypoint's output (with its ``\\n``, except maybe the last line of a stream)."""

    stream: Stream
    text: str


async def read_output(sb: sc.Sandbox, *, follow: bool) -> AsyncGenerator[LogLine, None]:
    """The entrypoint's output from its first line: until the sandbox ends when ``follow``, else what the engine
    has logged up to now. Raises what the sources raise (e.g. ``UnicodeDecodeError`` while following)."""
    if not follow:
        since = datetime.datetime.now(datetime.UTC) - LOOKBACK
        async for entry in sb.logs.fetch(since=since):
            yield LogLine("stderr" if entry.source == "stderr" else "stdout", entry.message)
        return
    async for line in _follow(sb):
        yield line


async def _follow(sb: sc.Sandbox) -> AsyncGenerator[LogLine, None]:
    queue: asyncio.Queue[LogLine | BaseException | None] = asyncio.Queue(maxsize=256)

    async def pump(reader: sc.StreamReader[str], stream: Stream) -> None:
        try:
            async for text in reader:
                await queue.put(LogLine(stream, text))
        except Exception as e:
            await queue.put(e)
            return
        await queue.put(None)

    tasks = [asyncio.create_task(pump(sb.stdout, "stdout")), asyncio.create_task(pump(sb.stderr, "stderr"))]
    try:
        open_streams = len(tasks)
        while open_streams:
            item = await queue.get()
            if item is None:
                open_streams -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def write_output(sb: sc.Sandbox, *, follow: bool) -> None:
    """``read_output`` written out as it comes: stdout lines to fd 1, stderr lines to fd 2."""
    sinks = {"stdout": FdSink(1), "stderr": FdSink(2)}
    async with contextlib.aclosing(read_output(sb, follow=follow)) as lines:
        async for line in lines:
            sinks[line.stream].write(line.text.encode())
