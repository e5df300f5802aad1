"""The package-installing methods of ``Image`` (pip, uv, poetry, micromamba, apt), as Modal names and renders them.

A base class of ``sandbox_core.image.Image`` so that the class stays readable; every method returns a new image
through ``Image._then`` and never touches the engine.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Self

from ._imagebuild import modal_args as M
from ._imagebuild import recipes
from ._imagebuild import steps as S
from .exception import InvalidError
from .secret import Secret


class PackageSteps:
    """``pip_install``, ``pip_install_from_requirements``, ``pip_install_from_pyproject``,
    ``pip_install_private_repos``, ``uv_pip_install``, ``uv_sync``, ``poetry_install_from_file``,
    ``micromamba_install`` and ``apt_install``: see ``Image``."""

    __slots__ = ()

    _force: bool

    def _then(self, step: S.Step, call: str, force: bool | None = None) -> Self:
        raise NotImplementedError

    def pip_install(
        self,
        *packages: str | list[str],
        find_links: str | None = None,
        index_url: str | None = None,
        extra_index_url: str | None = None,
        pre: bool = False,
        extra_options: str = "",
        force_build: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Self:
        """``RUN python -m pip install <sorted packages> <options>``."""
        pkgs = M.flatten("pip_install", "packages", packages)
        M.refuse_gpu("pip_install", gpu)
        if not pkgs:
            return self
        opts = S.PipOptions(find_links, index_url, extra_index_url, pre, extra_options)
        force = self._force or force_build
        step = S.PipInstall(pkgs, opts, M.build_env(env, secrets), force)
        return self._then(step, f"pip_install({', '.join(map(repr, pkgs))})", force)

    def pip_install_from_requirements(
        self,
        requirements_txt: str,
        find_links: str | None = None,
        *,
        index_url: str | None = None,
        extra_index_url: str | None = None,
        pre: bool = False,
        extra_options: str = "",
        force_build: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Self:
        """``pip install -r`` a local requirements file (copied into the image as ``/.requirements.txt``)."""
        M.refuse_gpu("pip_install_from_requirements", gpu)
        opts = S.PipOptions(find_links, index_url, extra_index_url, pre, extra_options)
        force = self._force or force_build
        step = S.PipInstallFromRequirements(requirements_txt, opts, M.build_env(env, secrets), force)
        return self._then(step, f"pip_install_from_requirements({requirements_txt!r})", force)

    def pip_install_from_pyproject(
        self,
        pyproject_toml: str,
        optional_dependencies: list[str] = [],  # noqa: B006 - Modal's signature
        *,
        find_links: str | None = None,
        index_url: str | None = None,
        extra_index_url: str | None = None,
        pre: bool = False,
        extra_options: str = "",
        force_build: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Self:
        """``pip install`` the ``[project.dependencies]`` of a local ``pyproject.toml`` (and the named optional
        groups)."""
        M.refuse_gpu("pip_install_from_pyproject", gpu)
        opts = S.PipOptions(find_links, index_url, extra_index_url, pre, extra_options)
        force = self._force or force_build
        step = recipes.pip_install_from_pyproject(
            pyproject_toml, optional_dependencies, opts, tuple(M.build_env(env, secrets).items()), force
        )
        return self._then(step, f"pip_install_from_pyproject({pyproject_toml!r})", force)

    def pip_install_private_repos(
        self,
        *repositories: str,
        git_user: str,
        find_links: str | None = None,
        index_url: str | None = None,
        extra_index_url: str | None = None,
        pre: bool = False,
        extra_options: str = "",
        gpu: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        force_build: bool = False,
    ) -> Self:
        """``pip install`` private GitHub/GitLab repositories with ``GITHUB_TOKEN``/``GITLAB_TOKEN`` from
        ``secrets``."""
        if not secrets:
            raise InvalidError(
                "No secrets provided to function. "
                "Installing private packages requires tokens to be passed via modal.Secret objects."
            )
        M.refuse_gpu("pip_install_private_repos", gpu)
        opts = S.PipOptions(find_links, index_url, extra_index_url, pre, extra_options)
        force = self._force or force_build
        env_pairs = tuple(M.build_env(env, secrets).items())
        step = recipes.pip_install_private_repos(repositories, git_user, opts, env_pairs, force)
        return self._then(step, f"pip_install_private_repos({', '.join(map(repr, repositories))})", force)

    def uv_pip_install(
        self,
        *packages: str | list[str],
        requirements: list[str] | None = None,
        find_links: str | None = None,
        index_url: str | None = None,
        extra_index_url: str | None = None,
        pre: bool = False,
        extra_options: str = "",
        force_build: bool = False,
        uv_version: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Self:
        """``uv pip install`` into the image's Python (uv itself from PyPI)."""
        pkgs = M.flatten("uv_pip_install", "packages", packages)
        if requirements is not None and not isinstance(requirements, list):
            raise InvalidError("requirements must be None or a list of strings")
        M.refuse_gpu("uv_pip_install", gpu)
        if not pkgs and not requirements:
            return self
        if any(p.startswith("-") for p in pkgs):
            raise InvalidError(
                "Package list for `Image.uv_pip_install` cannot contain other arguments;"
                " try the `extra_options` parameter instead."
            )
        opts = S.PipOptions(find_links, index_url, extra_index_url, pre, extra_options)
        force = self._force or force_build
        step = S.UvPipInstall(pkgs, requirements or (), uv_version, opts, M.build_env(env, secrets), force)
        return self._then(step, f"uv_pip_install({', '.join(map(repr, pkgs))})", force)

    def uv_sync(
        self,
        uv_project_dir: str = "./",
        *,
        force_build: bool = False,
        groups: list[str] | None = None,
        extras: list[str] | None = None,
        frozen: bool = True,
        extra_options: str = "",
        uv_version: str | None = None,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Self:
        """``uv sync`` a local project's dependencies into ``/.uv/.venv`` (first on ``PATH``)."""
        for label, items in (("groups", groups), ("extras", extras)):
            if items is not None and not isinstance(items, list):
                raise InvalidError(f"{label} must be None or a list of strings")
        M.refuse_gpu("uv_sync", gpu)
        force = self._force or force_build
        env_pairs = tuple(M.build_env(env, secrets).items())
        step = recipes.uv_sync(
            uv_project_dir,
            groups=groups or [],
            extras=extras or [],
            frozen=frozen,
            extra_options=extra_options,
            uv_version=uv_version,
            env=env_pairs,
            force=force,
        )
        return self._then(step, f"uv_sync({uv_project_dir!r})", force)

    def poetry_install_from_file(
        self,
        poetry_pyproject_toml: str,
        poetry_lockfile: str | None = None,
        *,
        ignore_lockfile: bool = False,
        force_build: bool = False,
        with_: list[str] = [],  # noqa: B006 - Modal's signature
        without: list[str] = [],  # noqa: B006 - Modal's signature
        only: list[str] = [],  # noqa: B006 - Modal's signature
        poetry_version: str | None = "latest",
        old_installer: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Self:
        """``poetry install --no-root`` of a local project (and its ``poetry.lock``) into the image's Python."""
        M.refuse_gpu("poetry_install_from_file", gpu)
        force = self._force or force_build
        step = recipes.poetry_install_from_file(
            poetry_pyproject_toml,
            poetry_lockfile,
            ignore_lockfile=ignore_lockfile,
            with_=with_,
            without=without,
            only=only,
            poetry_version=poetry_version,
            old_installer=old_installer,
            env=tuple(M.build_env(env, secrets).items()),
            force=force,
        )
        return self._then(step, f"poetry_install_from_file({poetry_pyproject_toml!r})", force)

    def micromamba_install(
        self,
        *packages: str | list[str],
        spec_file: str | None = None,
        channels: list[str] = [],  # noqa: B006 - Modal's signature
        force_build: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Self:
        """``micromamba install`` packages (and/or a local spec file) on a ``micromamba()`` image."""
        pkgs = M.flatten("micromamba_install", "packages", packages)
        M.refuse_gpu("micromamba_install", gpu)
        if not pkgs and spec_file is None:
            return self
        force = self._force or force_build
        env_pairs = tuple(M.build_env(env, secrets).items())
        step = recipes.micromamba_install(pkgs, spec_file, channels, env_pairs, force)
        return self._then(step, f"micromamba_install({', '.join(map(repr, pkgs))})", force)

    def apt_install(
        self,
        *packages: str | list[str],
        force_build: bool = False,
        env: dict[str, str | None] | None = None,
        secrets: Collection[Secret] | None = None,
        gpu: str | None = None,
    ) -> Self:
        """``RUN apt-get update`` then ``RUN apt-get install -y <packages>``."""
        pkgs = M.flatten("apt_install", "packages", packages)
        M.refuse_gpu("apt_install", gpu)
        if not pkgs:
            return self
        force = self._force or force_build
        step = S.AptInstall(pkgs, M.build_env(env, secrets), force)
        return self._then(step, f"apt_install({', '.join(map(repr, pkgs))})", force)
