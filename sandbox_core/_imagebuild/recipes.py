"""The build steps of Modal's higher-level ``Image`` methods, rendered as Modal's image builder 2025.06 renders
them, with one local change: ``uv`` comes from PyPI (``pip install uv``) instead of the ``ghcr.io/astral-sh/uv``
image, since no container registry may be reachable."""

from __future__ import annotations

import os
import shlex
import tomllib
from pathlib import Path
from typing import Any

from ..exception import InvalidError, NotFoundError
from .steps import Commands, EnvPairs, PipOptions

UV_ROOT = "/.uv"
#: Modal's micromamba base image for builder 2025.06.
MICROMAMBA_IMAGE = "mambaorg/micromamba:2.1.1-debian12-slim"
INSTALL_UV = (
    "RUN python -m pip install --no-cache-dir --disable-pip-version-check --target /.uv/pkg {spec} "
    "&& ln -sf /.uv/pkg/bin/uv /.uv/uv"
)


def _install_uv(uv_version: str | None) -> str:
    return INSTALL_UV.format(spec=shlex.quote("uv" if uv_version is None else f"uv=={uv_version}"))


def _toml(path: str) -> dict[str, Any]:
    try:
        with open(os.path.expanduser(path), "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise InvalidError(f"cannot read {path!r}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise InvalidError(f"{path!r} is not valid TOML: {e}") from None


def pip_install_from_pyproject(
    pyproject_toml: str, optional_dependencies: list[str], options: PipOptions, env: EnvPairs, force: bool
) -> Commands:
    """``RUN python -m pip install <sorted [project.dependencies] + the named optional groups>``."""
    config = _toml(pyproject_toml)
    project = config.get("project", {})
    if "dependencies" not in project:
        raise InvalidError(
            "No [project.dependencies] section in pyproject.toml file. If your pyproject.toml instead declares "
            "[tool.poetry.dependencies], use `Image.poetry_install_from_file()`. See "
            "https://packaging.python.org/en/latest/guides/writing-pyproject-toml for further file format guidelines."
        )
    deps = list(project["dependencies"])
    optionals = project.get("optional-dependencies", {})
    for group in optional_dependencies:
        deps += optionals.get(group, [])
    line = f"RUN python -m pip install {shlex.join(sorted(deps))} {options.args()}".strip()
    return Commands("pip_install_from_pyproject", (pyproject_toml,), (line,), env=env, force_build=force)


def poetry_install_from_file(
    pyproject_toml: str,
    lockfile: str | None,
    *,
    ignore_lockfile: bool,
    with_: list[str],
    without: list[str],
    only: list[str],
    poetry_version: str | None,
    old_installer: bool,
    env: EnvPairs,
    force: bool,
) -> Commands:
    """pip-installs poetry, copies the project's files and runs ``poetry install --no-root`` into the image's
    Python."""
    files = {"/.pyproject.toml": os.path.expanduser(pyproject_toml)}
    lines = []
    if poetry_version is not None:
        spec = "" if poetry_version == "latest" else f"=={poetry_version}"
        lines.append(f"RUN python -m pip install poetry{spec}")
    if old_installer:
        lines.append("RUN poetry config experimental.new-installer false")
    if not ignore_lockfile:
        if lockfile is None:
            found = Path(pyproject_toml).expanduser().parent / "poetry.lock"
            if not found.exists():
                raise NotFoundError(
                    f"poetry.lock not found at inferred location: {found.absolute()}. "
                    "If a lockfile is not needed, `ignore_lockfile=True` can be used."
                )
            lockfile = found.as_posix()
        files["/.poetry.lock"] = os.path.expanduser(lockfile)
        lines.append("COPY /.poetry.lock /tmp/poetry/poetry.lock")
    install = "poetry install --no-root"
    for flag, groups in (("--with", with_), ("--without", without), ("--only", only)):
        if groups:
            install += f" {flag} {','.join(groups)}"
    lines += [
        "COPY /.pyproject.toml /tmp/poetry/pyproject.toml",
        f"RUN cd /tmp/poetry && poetry config virtualenvs.create false && {install} --compile",
    ]
    return Commands("poetry_install_from_file", (pyproject_toml,), lines, files, env=env, force_build=force)


def uv_sync(
    project_dir: str,
    *,
    groups: list[str],
    extras: list[str],
    frozen: bool,
    extra_options: str,
    uv_version: str | None,
    env: EnvPairs,
    force: bool,
) -> Commands:
    """``uv sync`` of the project's ``pyproject.toml`` (and ``uv.lock``) into ``/.uv/.venv``, put first on PATH."""
    directory = os.path.expanduser(project_dir)
    pyproject = os.path.join(directory, "pyproject.toml")
    if not os.path.exists(pyproject):
        raise InvalidError(f"Expected {pyproject} to exist")
    if "workspace" in _toml(pyproject).get("tool", {}).get("uv", {}):
        raise InvalidError("uv workspaces are not supported")
    args = [f"--project={UV_ROOT}", "--no-install-workspace", "--compile-bytecode"]
    args += [f"--group={g}" for g in groups] + [f"--extra={e}" for e in extras]
    args += [extra_options] if extra_options else []
    files = {"/.pyproject.toml": pyproject}
    lines = [_install_uv(uv_version), f"COPY /.pyproject.toml {UV_ROOT}/pyproject.toml"]
    lock = os.path.join(directory, "uv.lock")
    if os.path.exists(lock):
        files["/.uv.lock"] = lock
        lines.append(f"COPY /.uv.lock {UV_ROOT}/uv.lock")
        args += ["--frozen"] if frozen else []
    lines += [f"RUN {UV_ROOT}/uv sync {' '.join(args).strip()}", f"ENV PATH={UV_ROOT}/.venv/bin:$PATH"]
    return Commands("uv_sync", (project_dir,), lines, files, env=env, force_build=force)


def pip_install_private_repos(
    repositories: tuple[str, ...], git_user: str, options: PipOptions, env: EnvPairs, force: bool
) -> Commands:
    """Installs ``github.com/...``/``gitlab.com/...`` repositories with the token of ``GITHUB_TOKEN`` or
    ``GITLAB_TOKEN`` (from the step's secrets); the token is part of the step's build-time environment."""
    invalid, urls = [], []
    for ref in repositories:
        host = ref.split("/")[0] if isinstance(ref, str) else ""
        if host == "github.com":
            urls.append(f"git+https://{git_user}:$GITHUB_TOKEN@{ref}")
        elif host == "gitlab.com":
            urls.append(f"git+https://{git_user}:$GITLAB_TOKEN@{ref}")
        else:
            invalid.append(ref)
    if invalid:
        raise InvalidError(
            f"{len(invalid)} out of {len(repositories)} given repository refs are invalid. Invalid refs: {invalid}. "
        )
    lines = []
    for host, var in (("github", "GITHUB_TOKEN"), ("gitlab", "GITLAB_TOKEN")):
        if any(r.startswith(host) for r in repositories):
            lines.append(f"RUN test -n \"${var}\" || (echo '{var} env var not set by the provided secrets' && exit 1)")
    lines.append("RUN apt-get update && apt-get install -y git")
    lines += [f'RUN python3 -m pip install "{url}" {options.args()}'.strip() for url in urls]
    return Commands("pip_install_private_repos", repositories, lines, env=env, force_build=force)


def micromamba_setup(python_version: str) -> Commands:
    """The setup of Modal's micromamba image: its shell, activation, and Python with pip from conda-forge."""
    lines = (
        'SHELL ["/usr/local/bin/_dockerfile_shell.sh"]',
        "ENV MAMBA_DOCKERFILE_ACTIVATE=1",
        f"RUN micromamba install -n base -y python={python_version} pip -c conda-forge",
        f'CMD ["sleep", "{48 * 3600}"]',
    )
    return Commands("micromamba", (python_version,), lines)


def micromamba_install(
    packages: list[str], spec_file: str | None, channels: list[str], env: EnvPairs, force: bool
) -> Commands:
    """``RUN micromamba install <packages> [-f <spec file> -n base] -c <channel>... --yes``."""
    package_args = shlex.join(packages)
    remote = "" if spec_file is None else f"/{os.path.basename(spec_file)}"
    file_arg = "" if spec_file is None else f"{' ' if package_args else ''}-f {remote} -n base"
    channel_args = "".join(f" -c {c}" for c in channels)
    lines = [f"COPY {remote} {remote}"] if spec_file is not None else []
    lines.append(f"RUN micromamba install {package_args}{file_arg}{channel_args} --yes")
    files = {} if spec_file is None else {remote: os.path.expanduser(spec_file)}
    return Commands("micromamba_install", tuple(packages), lines, files, env=env, force_build=force)
