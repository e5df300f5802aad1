"""nox sessions. They run in the current environment (scripts/dev makes .venv and calls nox from it),
so no session reinstalls anything: ``scripts/dev test`` == ``nox -s ci`` inside .venv."""

from __future__ import annotations

import subprocess
import sys

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "typecheck", "tests"]

PY = sys.executable  # the interpreter nox runs in (.venv when called through scripts/dev)


@nox.session
def gen(session: nox.Session) -> None:
    """Regenerate the blocking facade sandbox_core_sync from sandbox_core."""
    session.run(PY, "-m", "sandbox_core_sync._codegen", *session.posargs)


@nox.session
def gencheck(session: nox.Session) -> None:
    """Fail when the checked-in facade differs from what the generator produces."""
    session.run(PY, "-m", "sandbox_core_sync._codegen", "--check")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: lint and formatting."""
    session.run(PY, "-m", "ruff", "check", ".")
    session.run(PY, "-m", "ruff", "format", "--check", ".")


#: The tests that need no engine (README): they must pass on a machine without Docker.
NOENGINE_TESTS = ["tests/test_streams_unit.py", "tests/test_architecture.py", "tests/sync", "-k", "not engine"]


@nox.session
def noengine(session: nox.Session) -> None:
    """The README's engine-free tests with ``DOCKER_HOST`` at a socket that does not exist, so a fixture that starts
    needing an engine fails here instead of silently narrowing what runs without Docker."""
    session.run(PY, "-m", "pytest", *NOENGINE_TESTS, env={"DOCKER_HOST": "unix:///nonexistent.sock"})


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on sandbox_core, the generated sandbox_core_sync, the examples and the benchmarks."""
    session.run(PY, "-m", "mypy", "sandbox_core", "sandbox_core_sync")
    session.run(PY, "-m", "mypy", "--strict", "examples")
    session.run(PY, "-m", "mypy", "--strict", "benchmarks")


@nox.session
def tests(session: nox.Session) -> None:
    """The test-suite against the real engine (slow tests excluded unless -m is given)."""
    args = session.posargs or ["-m", "not slow"]
    session.run(PY, "-m", "pytest", *args)


#: The lifecycle, exec and filesystem tests run again with gVisor as the process-wide runtime, less these (why):
GVISOR_DESELECT = {
    "tests/test_gvisor.py::test_runtime_runc_is_the_engine_default": "asserts runc, the engine's default",
    "tests/test_lifecycle.py::test_capabilities_and_no_new_privileges_inside": (
        "reads the capability sets from /proc/self/status, which gVisor's kernel reports in its own way"
    ),
    "tests/test_lifecycle.py::test_pids_limit_is_configurable_and_enforced": (
        "uses a process limit of 20, below gVisor's minimum of 64 (refused with InvalidError by design)"
    ),
    "tests/test_lifecycle.py::test_cpu_and_memory_map_to_request_and_limit": (
        "reads the cgroup files inside the sandbox, which gVisor does not show"
    ),
    "tests/test_lifecycle.py::test_pty_sandbox_window_size_comes_from_pty_info": (
        "the entrypoint's terminal size under gVisor is not the one the engine sets (a gVisor TTY difference)"
    ),
    "tests/test_exec.py::test_pty_merges_stderr_and_ends_input_with_ctrl_d": (
        "an exec's TTY under gVisor: `tty` says 'not a tty' (a gVisor TTY difference)"
    ),
    "tests/test_exec.py::test_timeout_kills_without_a_shell_in_the_image": (
        "counts the sandbox's processes through the host's view of its cgroup, where gVisor shows only its own "
        "kernel's processes"
    ),
    "tests/test_filesystem.py::test_proc_is_read_inside_the_sandbox": (
        "reads /proc/sys/kernel/ostype, which gVisor's /proc does not have"
    ),
    "tests/test_exec.py::test_pty_eof_after_a_partial_line": (
        "an exec's TTY under gVisor: EOF after a partial line is not delivered (a gVisor TTY difference; times out)"
    ),
    "tests/test_filesystem.py::test_shell_less_image_supports_archive_operations": (
        "writes under gVisor go through a process (the engine's overwrites are invisible inside): a shell-less "
        "image gets InvalidError by design"
    ),
}


@nox.session
def gvisor(session: nox.Session) -> None:
    """The lifecycle, exec and filesystem tests with every sandbox under gVisor (``SANDBOX_CORE_RUNTIME=gvisor``),
    less ``GVISOR_DESELECT``; skipped, with a message, when the engine offers no ``runsc``."""
    runtimes = subprocess.run(["docker", "info", "--format", "{{json .Runtimes}}"], capture_output=True, text=True)
    if '"runsc"' not in runtimes.stdout:
        session.skip("the engine offers no runsc runtime (scripts/ensure-engine.sh registers one when it starts one)")
    files = ["tests/test_lifecycle.py", "tests/test_exec.py", "tests/test_filesystem.py", "tests/test_gvisor.py"]
    deselect = [f"--deselect={test}" for test in GVISOR_DESELECT]
    env = {"SANDBOX_CORE_RUNTIME": "gvisor"}
    session.run(PY, "-m", "pytest", "-m", "not slow", *deselect, *files, *session.posargs, env=env)


@nox.session
def faults(session: nox.Session) -> None:
    """Engine-fault tests: a private dockerd (never the shared engine) restarted under a working client; they skip
    unless run as root with dockerd, ip, unshare and nsenter installed."""
    session.run(PY, "-m", "pytest", "-m", "slow", "tests/faults", *session.posargs)


@nox.session
def tests_noagent(session: nox.Session) -> None:
    """The whole test-suite again with the agent disabled (``SANDBOX_CORE_AGENT=0``): every sandbox served through
    the engine's exec API, the fallback of a sandbox without an agent, keeps Modal's semantics. Tests of the
    agent itself skip, each saying so."""
    args = session.posargs or ["-m", "not slow"]
    session.run(PY, "-m", "pytest", *args, env={"SANDBOX_CORE_AGENT": "0"})


@nox.session
def gotest(session: nox.Session) -> None:
    """The Go tests of the in-sandbox programs (agent/), with short seed runs of the fuzz targets; offline."""
    env = {"CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOWORK": "off"}
    with session.chdir("agent"):
        session.run("go", "vet", "./...", env=env, external=True)
        session.run("go", "test", "./...", env=env, external=True)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the user guide and API reference (mkdocs, strict: a broken link or reference fails) into build/site;
    needs the ``docs`` extra."""
    session.run(PY, "-m", "mkdocs", "build", "--strict", *session.posargs)


@nox.session
def wheel(session: nox.Session) -> None:
    """Build the sdist and wheel, install the wheel in a fresh venv and use it (tests/packaging, a slow test)."""
    session.run(PY, "-m", "pytest", "-m", "slow", "tests/packaging/test_wheel.py", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Create a sandbox on the local engine, use it, print what happened, clean up."""
    session.run(PY, "scripts/demo.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks side by side with raw aiodocker, docker-py and the docker CLI (``-- --quick`` for a smoke run)."""
    session.run(PY, "-m", "benchmarks", *session.posargs)


PODMAN_HOST = "unix:///run/sandbox-core/podman.sock"
#: What ``nox -s podman`` runs by default: the modules verified green against Podman. docs/podman.md ("Where the
#: suite stands") gives the reason each other part of the suite is not here.
PODMAN_SUBSET = [
    "tests/test_engine.py",
    "tests/test_exec.py",
    "tests/test_filesystem.py",
    "tests/test_stdio.py",
    "tests/test_stream_engine.py",
    "tests/test_lifecycle.py",
    "tests/test_caps.py",
    "tests/test_podman.py",
    "tests/test_file_io.py",
    "tests/sync",
    "tests/agent",
    "tests/cli",
    "tests/examples",
    "tests/test_hostile_reads.py",
    "tests/test_writes_under_mounts.py",
    "tests/test_filesystem_watch.py",
    "tests/test_filesystem_sync.py",
    "tests/test_filesystem_bulk.py",
    "tests/net",
]


@nox.session
def podman(session: nox.Session) -> None:
    """The test-suite against Podman (docs/podman.md): scripts/ensure-podman.sh brings up a rootful ``podman system
    service`` on its own socket (never touching the Docker engine) with the project's images; pytest runs with
    ``DOCKER_HOST`` there (tests marked ``podman_differs`` are skipped, each naming the difference; posargs go to
    pytest, default ``-m "not slow"`` over ``PODMAN_SUBSET``); the service the script started is stopped at the end,
    pass or fail. Part of ``ci``."""
    session.run("scripts/ensure-podman.sh", external=True)
    try:
        args = session.posargs or ["-m", "not slow", *PODMAN_SUBSET]
        session.run(PY, "-m", "pytest", "--timeout", "120", *args, env={"DOCKER_HOST": PODMAN_HOST})
    finally:
        session.run("scripts/ensure-podman.sh", "stop", external=True)


@nox.session
def ci(session: nox.Session) -> None:
    """Everything CI checks, in order, stopping at the first failure: facade drift, lint, types, the Go tests,
    the docs in strict mode, the engine-free tests, the benchmark smoke run (so the harness never rots), the tests
    (posargs go to pytest), the whole suite again with the agent disabled, the cluster-mode tests on a real 2-node
    swarm (``swarm``), the lifecycle/exec/filesystem tests under gVisor, the engine-fault tests, the Podman subset
    against a Podman service (``podman``), then the wheel installed into a fresh venv and used."""
    gencheck(session)
    lint(session)
    typecheck(session)
    gotest(session)
    docs(session)
    noengine(session)
    session.run(PY, "-m", "benchmarks", "--quick")
    tests(session)
    tests_noagent(session)
    swarm(session)
    gvisor(session)
    faults(session)
    podman(session)
    wheel(session)


#: The suite's modules that run unchanged against the cluster: the lifecycle, exec, stdio and filesystem behaviours
#: (what a sandbox does, whichever engine runs it; the blocking API included), plus the cluster backend's own tests.
#: Not here: the engine layer's own tests (they test the Docker implementation), images, net, egress, agent and the
#: CLI (their engine-level features are per node, or refused on a swarm: see docs/architecture.md).
SWARM_MODULES = (
    "tests/test_lifecycle.py",
    "tests/test_exec.py",
    "tests/test_exec_volume.py",
    "tests/test_stdio.py",
    "tests/test_filesystem.py",
    "tests/test_filesystem_sync.py",
    "tests/test_filesystem_watch.py",
    "tests/test_file_io.py",
    "tests/cluster/test_backend.py",
    "tests/cluster/test_backend_storage.py",
)


@nox.session
def swarm(session: nox.Session) -> None:
    """The suite's lifecycle, exec, stdio and filesystem tests, and the cluster backend's tests, against a real
    2-node Docker Swarm that the session brings up and tears down (needs root: tests/cluster/SWARM-NOTES.md)."""
    args = session.posargs or ["-m", "not slow", *SWARM_MODULES]
    session.run(PY, "-m", "pytest", *args, env={"SANDBOX_CORE_TEST_CLUSTER": "swarm"})
