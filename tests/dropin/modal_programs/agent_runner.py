# An agent harness in the style of Modal's sandbox examples and guides: an ephemeral app, one sandbox per task,
# shell commands run with exec, files written and read through the filesystem API, tags to find the sandbox again,
# and tool calls that may name programs the image does not have. Runs on Modal as is (with an image that has `sh`);
# the test changes only its `import modal` line.

import asyncio
import json
import sys

import modal
from modal.exception import NotFoundError
from modal.stream_type import StreamType

app = modal.App("example-agent-runner")

TOOL_CALLS = [
    ["sh", "-c", "echo 'print(40 + 2)' > /tmp/work/answer.py && wc -c < /tmp/work/answer.py"],
    ["node", "--version"],  # not in the image: the tool call fails like a shell would report it
    ["sh", "-c", "ls /tmp/work"],
    ["sh", "-c", "echo to-stderr >&2; exit 3"],
]


def run_tool(sb: modal.Sandbox, argv: list[str]) -> dict:
    p = sb.exec(*argv, workdir="/tmp/work", timeout=30)
    stdout, stderr = p.stdout.read(), p.stderr.read()
    return {"argv": argv, "returncode": p.wait(), "stdout": stdout, "stderr": stderr}


async def count_tagged(app_id: str) -> int:
    # async code uses the .aio forms, as with Modal
    return len([sb async for sb in modal.Sandbox.list.aio(app_id=app_id, tags={"task": "demo"})])


def main() -> None:
    with modal.enable_output(), app.run():
        sb = modal.Sandbox.create(app=app, timeout=120, cpu=(0.25, 512), memory=256, workdir="/tmp")
        sb.set_tags({"task": "demo"})
        sb.filesystem.make_directory("/tmp/work")
        sb.filesystem.write_text("task: answer with 42\n", "/tmp/work/TASK.md")

        results = [run_tool(sb, argv) for argv in TOOL_CALLS]
        task = sb.filesystem.read_text("/tmp/work/TASK.md")
        tagged = asyncio.run(count_tagged(app.app_id))

        drained = sb.exec("sh", "-c", "echo quiet", stdout=StreamType.DEVNULL)
        drained.wait()
        sandbox_id = sb.object_id

    # The run has ended: its sandboxes were terminated with it.
    ended = modal.Sandbox.from_id(sandbox_id)
    print(json.dumps({"results": results, "task": task, "tagged": tagged, "returncode": ended.poll()}))
    try:
        modal.Sandbox.from_name("example-agent-runner", "nobody")
    except NotFoundError:
        print("lookup by name: not found", file=sys.stderr)


if __name__ == "__main__":
    main()
