"""The entrypoint's output for ``logs`` and ``run``: both streams, merged in arrival order, as ``LogLine``s.

Commands read through ``read_output`` only, so the source can change without touching them. Today's source is
``Sandbox.stdout``/``Sandbox.stderr``: each replays the output from the beginning and follows it until the sandbox
ends. Those streams have no "caught up" marker, so a read *without* follow of a **running** sandbox ends once no
output arrived for ``QUIET`` seconds; a log API with explicit bounds (Modal's ``Sandbox.logs``) is the better
source for that case once the library has it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from typing import Literal

import attrs

import sandbox_core as sc

from ._output import FdSink

#: Seconds without output after which a non-following read of a running sandbox's output ends.
QUIET = 0.5

Stream = Literal["stdout", "stderr"]


@attrs.frozen
class LogLine:
    """One line of the entrypoint's output (with its ``\\n``, except maybe the last line of a stream)."""

    stream: Stream
    text: str


async def read_output(sb: sc.Sandbox, *, follow: bool) -> AsyncGenerator[LogLine, None]:
    """The entrypoint's output from its first line: until the sandbox ends when ``follow`` (or when it has
    already finished), else what is there now. Raises what the streams raise (e.g. ``UnicodeDecodeError``)."""
    quiet = None if follow or await sb.poll() is not None else QUIET
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
            try:
                item = await asyncio.wait_for(queue.get(), quiet)
            except TimeoutError:
                return
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
