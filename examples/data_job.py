"""A blocking data-processing job: upload CSV files into a sandbox, run a tool on them there, download the results.

    python examples/data_job.py INPUT_DIR OUTPUT_DIR [--app NAME]

Every ``*.csv`` in INPUT_DIR (a header row, then rows; numeric columns are summed and averaged) is uploaded to
``/job/in`` of a fresh sandbox; the tool (``TOOL`` below, plain Python, uploaded as ``/job/tool.py``) writes one
``<name>.json`` summary per file and a ``report.txt`` to ``/job/out``; those are downloaded into OUTPUT_DIR. The
tool's own output is printed as it runs. The exit code is the tool's (0 on success). The sandbox is terminated at
the end, whatever happens; its ``timeout`` bounds it even if this process is killed.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from sandbox_core_sync import App, Image, Sandbox

TOOL = r"""
import csv, json, pathlib, sys

src, dst = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
report = []
for path in sorted(src.glob("*.csv")):
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    columns = {}
    for name in rows[0] if rows else []:
        try:
            values = [float(r[name]) for r in rows]
        except ValueError:
            continue  # not numeric
        columns[name] = {"sum": sum(values), "mean": sum(values) / len(values)}
    summary = {"file": path.name, "rows": len(rows), "columns": columns}
    (dst / (path.stem + ".json")).write_text(json.dumps(summary, indent=2, sort_keys=True))
    report.append(f"{path.name}: {len(rows)} rows, numeric columns {sorted(columns)}")
    print("processed", path.name, flush=True)
if not report:
    sys.exit("no CSV files to process")
(dst / "report.txt").write_text("\n".join(report) + "\n")
"""


def run_job(input_dir: pathlib.Path, output_dir: pathlib.Path, app_name: str = "example-data-job") -> int:
    """Process ``input_dir``'s CSV files in a sandbox; results land in ``output_dir``. Returns the tool's exit code."""
    app = App.lookup(app_name, create_if_missing=True)
    sb = Sandbox.create(app=app, image=Image.debian_slim(), timeout=600)
    try:
        sb.filesystem.make_directory("/job/in")
        for path in sorted(input_dir.glob("*.csv")):
            sb.filesystem.copy_from_local(path, f"/job/in/{path.name}")  # streamed: any size
        sb.filesystem.write_text(TOOL, "/job/tool.py")
        proc = sb.exec("python3", "-u", "/job/tool.py", "/job/in", "/job/out", timeout=300)
        for line in proc.stdout:
            print(line, end="")
        returncode = proc.wait()
        sys.stderr.write(proc.stderr.read())
        if returncode == 0:
            output_dir.mkdir(parents=True, exist_ok=True)
            for entry in sb.filesystem.list_files("/job/out"):
                sb.filesystem.copy_to_local(entry.path, output_dir / entry.name)
        return returncode
    finally:
        sb.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input_dir", type=pathlib.Path)
    parser.add_argument("output_dir", type=pathlib.Path)
    parser.add_argument("--app", default="example-data-job", help="sandbox-core app name for the sandbox")
    args = parser.parse_args()
    sys.exit(run_job(args.input_dir, args.output_dir, args.app))


if __name__ == "__main__":
    main()
