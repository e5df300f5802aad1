"""The README's demo: create a sandbox on the local engine, use it, print what happened, clean up.

Written against the blocking facade (``sandbox_core_sync``), as a plain script would be, on the default image
(Debian with Python), plus one local file added to it.
"""

from __future__ import annotations

import os
import tempfile
import time

from sandbox_core_sync import App, Image, Sandbox, enable_output, sweep

TOOL = """import sys
n = int(sys.argv[1])
a, b = 0, 1
for _ in range(n):
    a, b = b, a + b
print(f"fib({n}) = {a}")
"""


def main() -> None:
    t0 = time.monotonic()
    app = App.lookup("sandbox-core-demo", create_if_missing=True)
    with tempfile.TemporaryDirectory() as tmp:
        tool = os.path.join(tmp, "fib.py")
        with open(tool, "w") as f:
            f.write(TOOL)
        # Modal's default image plus a local file, copied into the sandbox when it starts (add_local_file, copy=False)
        image = Image.debian_slim().add_local_file(tool, "/root/fib.py")
        with enable_output(show_progress=False):  # a first run shows the base image being made
            sb = Sandbox.create(app=app, image=image, timeout=120, tags={"demo": "1"})
    print(f"created {sb.object_id} in {time.monotonic() - t0:.2f}s (Debian + Python, hardened, 120 s lifetime)")
    try:
        p = sb.exec("python3", "-c", "import platform, sys; print(platform.python_version(), sys.platform)")
        print("python in the sandbox:", p.stdout.read().strip())
        print("local file, run inside:", sb.exec("python3", "/root/fib.py", "30").stdout.read().strip())

        p = sb.exec("python3", "-c", "import sys; sys.stderr.write('to stderr\\n'); raise SystemExit(3)")
        print("stderr:", p.stderr.read().strip(), "| exit code:", p.wait())

        p = sb.exec("python3", "-c", "import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())")
        p.stdin.write(b"some bytes from the client")
        p.stdin.write_eof()
        p.stdin.drain()
        print("sha256 of stdin computed inside:", p.stdout.read().strip()[:16] + "...")

        sb.filesystem.write_text("written by the demo\n", "/tmp/demo/hello.txt")
        print("files in /tmp/demo:", [f.name for f in sb.filesystem.list_files("/tmp/demo")])

        found = [s.object_id for s in Sandbox.list(app_id=app.app_id, tags={"demo": "1"})]
        print("listed by tag:", found)
    finally:
        print("terminate ->", sb.terminate(wait=True), "(137 = terminated, as Modal reports it)")
        # Finished sandboxes stay inspectable for a retention period; the demo leaves nothing behind.
        print("swept:", sweep(app_id=app.app_id, everything=True))


if __name__ == "__main__":
    main()
