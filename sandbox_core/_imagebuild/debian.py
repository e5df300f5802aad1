"""The Python base image built from Debian's package archive: ``mmdebstrap`` writes a root filesystem tar to a
pipe, which is streamed into the engine's import API (the tar is never held in memory or written to disk).

The image: Debian ``minbase`` plus python3, pip, venv, ``python`` (python-is-python3) and ca-certificates; no
man pages, docs or locales; apt sources pointing at the suite (with -updates and -security where Debian has
them); debconf non-interactive; ``CMD ["sleep", "172800"]``; ``LANG=C.UTF-8``.

``pip install`` as root works as in the official ``python:slim`` images: Debian's ``EXTERNALLY-MANAGED`` marker
(PEP 668) is removed, as PEP 668 suggests for container images. Debian's pip then installs into
``/usr/local/lib/python3.X/dist-packages``, which is on ``sys.path`` and separate from apt's
``/usr/lib/python3/dist-packages``, so pip never overwrites files apt owns (``pip install -U pip`` installs a
second pip that shadows Debian's). ``python -m venv`` works too.

Building needs ``mmdebstrap`` on the host and either root (``--mode=root``) or unprivileged user namespaces with
subordinate ids (``--mode=unshare``); ``host_mode`` says what to run when neither is available.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import hashlib
import json
import os
import shutil
from collections.abc import AsyncIterator

import attrs

from .._engine.api import EngineAPI, LineSink
from .._engine.labels import KIND, KIND_BASE_IMAGE, OWNER, OWNER_VALUE, PREFIX
from .._engine.values import split_image_ref
from ..exception import ImageBuildError
from . import report
from .pyversions import OFFLINE, debian_mirror, debian_security_mirror

RECIPE_VERSION = 1
REPO = "sandbox-core/debian-slim"
PACKAGES = ("python3", "python3-pip", "python3-venv", "python-is-python3", "ca-certificates")
MERGED_USR_HOOKS = "/usr/share/mmdebstrap/hooks/maybe-merged-usr"
PYTHON_SERIES_LABEL = PREFIX + "python-series"
RECIPE_LABEL = PREFIX + "base-recipe"
SOURCE_LABEL = PREFIX + "base-source"

_EXCLUDES = ("/usr/share/man/*", "/usr/share/doc/*", "/usr/share/locale/*", "/usr/share/info/*")
_HOOKS = (
    'rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED',
    "echo 'debconf debconf/frontend select Noninteractive' | chroot \"$1\" debconf-set-selections",
    'rm -rf "$1"/var/log/apt/* "$1"/var/log/dpkg.log "$1"/var/cache/debconf/*-old "$1"/var/lib/dpkg/*-old',
    'chroot "$1" python3 -c "import ensurepip, pip, ssl, venv"',
)
CHANGES = (
    'CMD ["sleep", "172800"]',
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
)


def _pairs(value: tuple[tuple[str, str], ...] | dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(dict(value).items()))


@attrs.frozen
class DebianRecipe:
    """Everything the base image of one Python series is made from; its address names the image."""

    series: str
    suite: str
    sources: tuple[str, ...]
    packages: tuple[str, ...] = PACKAGES
    labels: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)

    @staticmethod
    def for_series(series: str, labels: dict[str, str] | None = None) -> DebianRecipe:
        suite = OFFLINE[series]
        return DebianRecipe(
            series, suite.codename, suite.sources(debian_mirror(), debian_security_mirror()), labels=labels or {}
        )

    @property
    def address(self) -> str:
        material = json.dumps([RECIPE_VERSION, attrs.asdict(self), _EXCLUDES, _HOOKS, CHANGES])
        return hashlib.sha256(material.encode()).hexdigest()

    @property
    def tag(self) -> str:
        return f"{REPO}:py{self.series}-{self.address[:12]}"

    def all_labels(self) -> dict[str, str]:
        return {
            OWNER: OWNER_VALUE,
            KIND: KIND_BASE_IMAGE,
            PYTHON_SERIES_LABEL: self.series,
            RECIPE_LABEL: self.address,
            SOURCE_LABEL: f"debian-{self.suite}",
            **dict(self.labels),
        }

    def changes(self) -> list[str]:
        return [*CHANGES, *(f"LABEL {k}={json.dumps(v)}" for k, v in sorted(self.all_labels().items()))]

    def mmdebstrap_argv(self, mode: str) -> list[str]:
        argv = [
            "mmdebstrap",
            "--variant=minbase",
            f"--mode={mode}",
            "--format=tar",
            "--include=" + ",".join(self.packages),
        ]
        if os.path.isdir(MERGED_USR_HOOKS):
            argv.append(f"--hook-dir={MERGED_USR_HOOKS}")
        argv += [f"--dpkgopt=path-exclude={p}" for p in _EXCLUDES]
        argv += ["--dpkgopt=path-include=/usr/share/doc/*/copyright", '--aptopt=Acquire::Retries "3"']
        argv += [f"--customize-hook={hook}" for hook in _HOOKS]
        return [*argv, self.suite, "-", *self.sources]


def _has_subids(user: str) -> bool:
    for path in ("/etc/subuid", "/etc/subgid"):
        try:
            with open(path) as f:
                if not any(line.split(":", 1)[0] in (user, str(os.getuid())) for line in f):
                    return False
        except OSError:
            return False
    return True


def host_mode() -> str:
    """The mmdebstrap mode this process can use (``root`` or ``unshare``). Raises ``ImageBuildError`` with the
    command to run when the base image cannot be built here."""
    prebuild = "or pre-build the image as root once with scripts/build-images.sh"
    if shutil.which("mmdebstrap") is None:
        raise ImageBuildError(
            "building the Python base image needs mmdebstrap on this host: install it (Debian/Ubuntu: "
            f"`apt-get install mmdebstrap`), {prebuild}"
        )
    if os.geteuid() == 0:
        return "root"
    user = getpass.getuser()
    if shutil.which("newuidmap") is None or not _has_subids(user):
        raise ImageBuildError(
            "building the Python base image as a normal user needs user namespaces with subordinate ids: "
            f"`apt-get install uidmap` and `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}` "
            f"(as root), {prebuild}"
        )
    return "unshare"


async def _relay_lines(stream: asyncio.StreamReader, sink: LineSink | None, tail: list[str]) -> None:
    async for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        tail.append(line)
        del tail[:-40]
        if sink is not None:
            sink(line)


async def _chunks(stream: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while chunk := await stream.read(1 << 20):
        yield chunk


async def _stop(proc: asyncio.subprocess.Process) -> None:
    """Stop mmdebstrap so it runs its cleanup (it unmounts and removes its temporary root on SIGTERM)."""
    if proc.returncode is not None:
        return
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()


async def build_base(eng: EngineAPI, recipe: DebianRecipe, on_line: LineSink | None = None) -> str:
    """Build the base image of ``recipe`` and tag it ``recipe.tag``; return its id. Raises ``ImageBuildError``
    (naming mmdebstrap's last output) when the root filesystem cannot be made."""
    mode = host_mode()
    argv = recipe.mmdebstrap_argv(mode)
    report.status(on_line, f"building {recipe.tag} from Debian {recipe.suite} with mmdebstrap (--mode={mode})")
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    tail: list[str] = []
    relay = asyncio.create_task(_relay_lines(proc.stderr, on_line, tail))
    repo, tag = split_image_ref(recipe.tag)
    image_id: str | None = None
    import_error: Exception | None = None
    stopped = False
    try:
        try:
            image_id = await eng.images.import_rootfs(
                _chunks(proc.stdout), repo=repo, tag=tag, changes=recipe.changes()
            )
        except Exception as e:  # judged after mmdebstrap's exit status, which explains a broken tar better
            import_error = e
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 10)
            stopped = proc.returncode is None
            await _stop(proc)  # nothing reads its output any more
        returncode = await proc.wait()
        await relay
    finally:
        await _stop(proc)
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
    if import_error is not None and (returncode == 0 or stopped):
        raise import_error
    if returncode != 0:
        if image_id is not None:
            await eng.images.remove(image_id, force=True)
        raise ImageBuildError(
            f"mmdebstrap failed (exit {returncode}) building {recipe.tag}:\n" + "\n".join(tail[-15:]), None
        )
    assert image_id is not None
    return image_id
