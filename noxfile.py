"""nox sessions. They run in the current environment (scripts/dev makes .venv and calls nox from it),
so no session reinstalls anything: ``scripts/dev test`` == ``nox -s ci`` inside .venv."""

from __future__ import annotations

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


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on sandbox_core, the generated sandbox_core_sync and the examples."""
    session.run(PY, "-m", "mypy", "sandbox_core", "sandbox_core_sync")
    session.run(PY, "-m", "mypy", "--strict", "examples")


@nox.session
def tests(session: nox.Session) -> None:
    """The test-suite against the real engine (slow tests excluded unless -m is given)."""
    args = session.posargs or ["-m", "not slow"]
    session.run(PY, "-m", "pytest", *args)


#: The modules whose operations take the agent path by default; ``tests_noagent`` runs them on the engine path.
ENGINE_PATH_MODULES = [
    "tests/test_exec.py",
    "tests/test_filesystem.py",
    "tests/test_filesystem_sync.py",
    "tests/test_filesystem_watch.py",
    "tests/test_stdio.py",
    "tests/test_lifecycle.py",
]


@nox.session
def tests_noagent(session: nox.Session) -> None:
    """The exec, filesystem, watch, stdio and lifecycle tests with the agent disabled (``SANDBOX_CORE_AGENT=0``),
    so the engine's exec API, the fallback of every sandbox without an agent, keeps Modal's semantics. Only these
    modules: the rest of the suite does not depend on which path serves an exec, and a second full run would
    double CI time."""
    args = session.posargs or ["-m", "not slow"]
    session.run(PY, "-m", "pytest", *args, *ENGINE_PATH_MODULES, env={"SANDBOX_CORE_AGENT": "0"})


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
    "tests/examples",
]


@nox.session
def podman(session: nox.Session) -> None:
    """The test-suite against Podman (docs/podman.md): scripts/ensure-podman.sh brings up a rootful ``podman system
    service`` on its own socket (never touching the Docker engine) with the project's images; pytest runs with
    ``DOCKER_HOST`` there (tests marked ``podman_differs`` are skipped, each naming the difference; posargs go to
    pytest, default ``-m "not slow"`` over ``PODMAN_SUBSET``); the service the script started is stopped at the end,
    pass or fail. In ``ci`` with the subset (about 5 minutes); docs/podman.md says why the rest is not there yet."""
    session.run("scripts/ensure-podman.sh", external=True)
    try:
        args = session.posargs or ["-m", "not slow", *PODMAN_SUBSET]
        session.run(PY, "-m", "pytest", "--timeout", "120", *args, env={"DOCKER_HOST": PODMAN_HOST})
    finally:
        session.run("scripts/ensure-podman.sh", "stop", external=True)


@nox.session
def ci(session: nox.Session) -> None:
    """Everything CI checks, in order, stopping at the first failure: facade drift, lint, types, the Go tests,
    the docs in strict mode, the benchmark smoke run (so the harness never rots), the tests (posargs go to
    pytest), the exec/filesystem/watch/stdio/lifecycle tests again with the agent disabled, the cluster-mode
    tests on a real 2-node swarm (``swarm``), the engine, exec, filesystem, stdio and example tests against Podman
    (``podman``), then the wheel installed into a fresh venv and used."""
    gencheck(session)
    lint(session)
    typecheck(session)
    gotest(session)
    docs(session)
    session.run(PY, "-m", "benchmarks", "--quick")
    tests(session)
    tests_noagent(session)
    swarm(session)
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
)


@nox.session
def swarm(session: nox.Session) -> None:
    """The suite's lifecycle, exec, stdio and filesystem tests, and the cluster backend's tests, against a real
    2-node Docker Swarm that the session brings up and tears down (needs root: tests/cluster/SWARM-NOTES.md)."""
    args = session.posargs or ["-m", "not slow", *SWARM_MODULES]
    session.run(PY, "-m", "pytest", *args, env={"SANDBOX_CORE_TEST_CLUSTER": "swarm"})
