"""Three sandboxes, their output, files, processes and tags: one program for one Docker engine and for a Docker Swarm.

Run it as is for the local engine (``DOCKER_HOST``), or point it at a swarm with nothing but the environment::

    SANDBOX_CORE_CLUSTER=swarm SANDBOX_CORE_SWARM_MANAGER=unix:///run/manager/docker.sock \\
        python examples/sandboxes_anywhere.py

Its output does not depend on where the sandboxes ran (tests/cluster/test_backend.py checks that it is the same).
"""

from __future__ import annotations

import sys

from sandbox_core_sync import App, Image, Sandbox, sweep


def main(app_name: str) -> None:
    app = App.lookup(app_name, create_if_missing=True)
    image = Image.from_registry("sandbox-core/busybox:1")
    workers = [
        Sandbox.create("sh", "-c", f"echo worker {i} up; sleep 300", app=app, image=image, tags={"role": "worker"})
        for i in range(3)
    ]
    try:
        for i, sb in enumerate(workers):
            print(sb.stdout.readline(), end="")
            sb.filesystem.write_text(f"task {i}\n", "/tmp/job/task.txt")
            p = sb.exec("sh", "-c", "tr a-z A-Z < /tmp/job/task.txt; exit 7")
            print(f"  exec said {p.stdout.read().strip()!r}, exited {p.wait()}")
            p = sb.exec("sha256sum")
            p.stdin.write(b"same bytes everywhere")
            p.stdin.write_eof()
            p.stdin.drain()
            print(f"  sha256 of stdin: {p.stdout.read().split()[0][:16]}")
        workers[0].set_tags({"role": "leader"})
        listed = sorted(sb.object_id for sb in Sandbox.list(app_id=app.app_id, tags={"role": "worker"}))
        print("sandboxes:", len(workers), "| still tagged worker:", len(listed))
        print(
            "leader found by tag:",
            [sb.object_id for sb in Sandbox.list(tags={"role": "leader"}, app_id=app.app_id)] == [workers[0].object_id],
        )
    finally:
        print("returncodes:", [sb.terminate(wait=True) for sb in workers])
        sweep(app_id=app.app_id, everything=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "sandboxes-anywhere")
