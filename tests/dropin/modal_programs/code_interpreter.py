# A stateful, sandboxed code interpreter, written as Modal's public example "simple_code_interpreter" writes it:
# a driver program inside a Sandbox reads JSON commands from stdin, runs them in one namespace and answers with
# JSON lines. Runs on Modal as is; the test changes only its `import modal` line.

import inspect
import json
from typing import Any

import modal

app = modal.App.lookup("example-simple-code-interpreter", create_if_missing=True)


def driver_program():
    import json
    import sys
    from contextlib import redirect_stderr, redirect_stdout
    from io import StringIO

    # When you `exec` code in Python, you can pass in a dictionary that defines the global variables the code has
    # access to. We use that to keep track of state between runs.
    globals: dict[str, Any] = {}
    while True:
        command = json.loads(input())  # read a line of JSON from stdin
        if (code := command.get("code")) is None:
            print(json.dumps({"error": "No code to execute"}))
            continue

        # Capture the executed code's outputs
        stdout_io, stderr_io = StringIO(), StringIO()
        with redirect_stdout(stdout_io), redirect_stderr(stderr_io):
            try:
                exec(code, globals)
            except Exception as e:
                print(f"Execution Error: {e}", file=sys.stderr)

        print(
            json.dumps({"stdout": stdout_io.getvalue(), "stderr": stderr_io.getvalue()}),
            flush=True,
        )


def run_code(p: modal.container_process.ContainerProcess, code: str):
    p.stdin.write(json.dumps({"code": code}))
    p.stdin.write("\n")
    p.stdin.drain()
    next_line = next(iter(p.stdout))
    result = json.loads(next_line)
    print(result["stdout"], end="")
    print("\033[91m" + result["stderr"] + "\033[0m", end="")


driver_program_text = inspect.getsource(driver_program)
driver_program_command = f"""{driver_program_text}\n\ndriver_program()"""

with modal.enable_output():
    sandbox = modal.Sandbox.create(app=app)
    p = sandbox.exec("python", "-c", driver_program_command)

run_code(p, "print('hello, world!')")  # hello, world!
run_code(p, "x = 10")
run_code(p, "y = 5")
run_code(p, "result = x + y")
run_code(p, "print(f'The result is: {result}')")  # The result is: 15
run_code(p, "print('Hello World' + 1)")  # an error, on stderr
run_code(p, "import os; print(os.getcwd())")

sandbox.terminate()
