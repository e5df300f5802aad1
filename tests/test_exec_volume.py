"""Volume and concurrency: 100 MB through both streams with bounded client memory; 200 concurrent exec streams."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

import sandbox_core as sc

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.usefixtures("engine")]

HALF = 50 << 20


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def test_100mb_interleaved_stdout_stderr_with_a_slow_consumer_keeps_memory_bounded(
    own_sandbox: sc.Sandbox,
) -> None:
    prep = await own_sandbox.exec("sh", "-c", f"head -c {HALF} /dev/urandom > /tmp/blob && sha256sum /tmp/blob")
    expected = (await prep.stdout.read()).split()[0]
    assert await prep.wait() == 0

    baseline = _rss()
    peak = baseline
    stop = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss())
            await asyncio.sleep(0.01)

    async def consume(reader: sc.StreamReader[bytes]) -> tuple[int, str]:
        h, n, reads = hashlib.sha256(), 0, 0
        while chunk := await reader.read(1 << 16):
            h.update(chunk)
            n += len(chunk)
            reads += 1
            if reads % 2 == 0:
                await asyncio.sleep(0.002)  # slower than the producer: the process must be held back
        return n, h.hexdigest()

    sampler = asyncio.ensure_future(sample())
    # Both cats run at once, so stdout and stderr frames interleave on the one exec stream.
    p = await own_sandbox.exec("sh", "-c", "cat /tmp/blob & cat /tmp/blob >&2; wait", text=False)
    (n_out, h_out), (n_err, h_err) = await asyncio.gather(consume(p.stdout), consume(p.stderr))
    assert await p.wait() == 0
    stop.set()
    await sampler
    assert (n_out, n_err) == (HALF, HALF)
    assert h_out == h_err == expected
    assert peak - baseline < 64 << 20, f"client memory grew by {(peak - baseline) >> 20} MiB"


async def test_200_concurrent_exec_streams_over_10_sandboxes_while_other_calls_proceed(
    app: sc.App, image: sc.Image
) -> None:
    boxes = await asyncio.gather(*(sc.Sandbox.create(app=app, image=image, timeout=300) for _ in range(10)))
    try:

        async def one(i: int) -> None:
            sb = boxes[i % len(boxes)]
            # The stream is held open for a while and written on both fds, so all 200 overlap.
            p = await sb.exec("sh", "-c", f"for j in 1 2 3 4 5; do echo {i}-$j; echo e{i} >&2; sleep 0.2; done")
            out, err = await asyncio.gather(p.stdout.read(), p.stderr.read())
            assert out == "".join(f"{i}-{j}\n" for j in range(1, 6))
            assert err == f"e{i}\n" * 5
            assert await p.wait() == 0

        async def other_calls() -> None:
            for sb in boxes:
                again = await sc.Sandbox.from_id(sb.object_id)
                assert await again.poll() is None
            extra = await sc.Sandbox.create(app=app, image=image, timeout=60)
            p = await extra.exec("echo", "side")
            assert await p.stdout.read() == "side\n"
            await extra.terminate(wait=True)

        await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(200)), other_calls()), 180)
    finally:
        await asyncio.gather(*(sb.terminate() for sb in boxes))
