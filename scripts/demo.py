"""The README's demo: create a sandbox on the local engine, use it, print what happened, clean up.

Written against the blocking facade (``sandbox_core_sync``), as a plain script would be.
"""

from __future__ import annotations

import time

from sandbox_core_sync import App, Image, Sandbox, sweep


def main() -> None:
    t0 = time.monotonic()
    app = App.lookup("sandbox-core-demo", create_if_missing=True)
    sb = Sandbox.create(app=app, image=Image.from_registry("sandbox-core/busybox:1"), timeout=120, tags={"demo": "1"})
    print(f"created {sb.object_id} in {time.monotonic() - t0:.2f}s (hardened busybox container, 120 s lifetime)")
    try:
        p = sb.exec("sh", "-c", "echo hello from $(hostname); uname -sr; echo 'to stderr' >&2; exit 3")
        print("stdout:", p.stdout.read().rstrip().replace("\n", " | "))
        print("stderr:", p.stderr.read().rstrip())
        print("exit code:", p.wait())

        p = sb.exec("sha256sum")
        p.stdin.write(b"some bytes from the client")
        p.stdin.write_eof()
        p.stdin.drain()
        print("sha256 of stdin computed inside:", p.stdout.read().split()[0])

        sb.filesystem.write_text("written by the demo\n", "/tmp/demo/hello.txt")
        print("files in /tmp/demo:", [f.name for f in sb.filesystem.list_files("/tmp/demo")])
        print("read back:", sb.filesystem.read_text("/tmp/demo/hello.txt").rstrip())

        found = [s.object_id for s in Sandbox.list(app_id=app.app_id, tags={"demo": "1"})]
        print("listed by tag:", found)
    finally:
        print("terminate ->", sb.terminate(wait=True), "(137 = terminated, as Modal reports it)")
        # Finished sandboxes stay inspectable for a retention period; the demo leaves nothing behind.
        print("swept:", sweep(app_id=app.app_id, everything=True))


if __name__ == "__main__":
    main()
