"""The client side of an engine-fault scenario, run as its own process against a private engine (``DOCKER_HOST``).

Protocol with the test (lines on stdin/stdout): the client sets up what must be in flight when the engine goes —
an exec streaming output, a pending ``wait()``, a named and tagged sandbox, a sandbox past which the supervisor
must enforce a deadline — and prints ``READY``; from then on it keeps creating sandboxes in a loop. The test
restarts the engine and writes ``UP`` once it answers again. The client then settles every call it had in flight
(each within ``BOUND`` seconds), makes new calls, and prints one JSON line with what it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from typing import Any

import sandbox_core as sc

BUSYBOX = "sandbox-core/busybox:1"
#: Seconds within which every call in flight at the restart must have ended (returned or raised).
BOUND = 30.0


def _kind(e: BaseException) -> str:
    """``typed:<Name>`` for a library exception, else ``untyped:<module.Name>: <message>``."""
    if isinstance(e, sc.exception.Error):
        return f"typed:{type(e).__name__}"
    return f"untyped:{type(e).__module__}.{type(e).__name__}: {e}"


async def _settle(aw: Any) -> dict[str, Any]:
    """How ``aw`` ended, within ``BOUND`` seconds: its value, its exception's kind, or ``hang``."""
    t0 = time.monotonic()
    try:
        value = await asyncio.wait_for(aw, BOUND)
    except TimeoutError:
        return {"hang": True, "after": round(time.monotonic() - t0, 2)}
    except Exception as e:  # what the user would see is the point
        return {"error": _kind(e), "message": str(e)[:300], "after": round(time.monotonic() - t0, 2)}
    return {"value": value if isinstance(value, (int, str, type(None))) else repr(value)[:100]}


async def _creates(app: sc.App, stop: asyncio.Event, outcomes: list[str]) -> None:
    """Create and terminate sandboxes until ``stop``: creates are in flight whenever the engine goes."""
    while not stop.is_set():
        try:
            sb = await asyncio.wait_for(sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX)), BOUND)
        except TimeoutError:
            outcomes.append("hang")
            continue
        except Exception as e:
            outcomes.append(_kind(e))
            await asyncio.sleep(0.1)
            continue
        outcomes.append("ok")
        with contextlib.suppress(sc.exception.Error):
            await sb.terminate()


async def _after(app: sc.App, app_name: str, named: sc.Sandbox) -> dict[str, Any]:
    """New calls after the restart, and what became of the sandboxes that were running."""
    out: dict[str, Any] = {}
    sb = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX))
    p = await sb.exec("echo", "again")
    out["new_exec"] = (await p.stdout.read(), await p.wait())
    await sb.terminate()
    again = await sc.Sandbox.from_id(named.object_id)
    out["named_end"] = (again.returncode, str(again.end_reason))
    out["named_tags"] = await again.get_tags()
    # The deadline of a sandbox created now must be enforced by the supervisor (the client does not poll).
    short = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), timeout=3)
    out["short_wait"] = await _settle(short.wait())
    out["short_end"] = str(short.end_reason)
    # The name of a sandbox the restart ended is free again.
    reused = await sc.Sandbox.create(app=app, image=sc.Image.from_registry(BUSYBOX), name="keep")
    out["name_reused"] = (await sc.Sandbox.from_name(app_name, "keep")).object_id == reused.object_id
    await reused.terminate()
    return out


async def main(app_name: str) -> None:
    app = await sc.App.lookup(app_name, create_if_missing=True)
    image = sc.Image.from_registry(BUSYBOX)
    streaming = await sc.Sandbox.create(app=app, image=image)
    proc = await streaming.exec("sh", "-c", "while :; do echo tick; sleep 0.05; done")
    assert (await proc.stdout.readline()) == "tick\n"
    waited = await sc.Sandbox.create(app=app, image=image)
    named = await sc.Sandbox.create(app=app, image=image, name="keep")
    await named.set_tags({"kept": "yes"})
    read = asyncio.ensure_future(proc.stdout.read())
    wait = asyncio.ensure_future(waited.wait())
    stop = asyncio.Event()
    outcomes: list[str] = []
    creators = [asyncio.ensure_future(_creates(app, stop, outcomes)) for _ in range(2)]
    await asyncio.sleep(0.5)
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    assert line.strip() == "UP", line
    result: dict[str, Any] = {
        "stream_read": await _settle(read),
        "stream_wait": await _settle(proc.wait()),
        "pending_wait": await _settle(wait),
        "waited_end": str(waited.end_reason),
    }
    result["waited_again"] = await _settle(waited.wait())
    result["waited_end_again"] = str(waited.end_reason)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*creators), 2 * BOUND)
    result["creates"] = outcomes
    result.update(await _after(app, app_name, named))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
