"""``Sandbox.mount_image`` and ``unmount_image`` on the local engine: a copy, not a mount.

The engine cannot add a mount to a running container, so mounting an image at ``path`` is done as:

1. in the sandbox (``/bin/sh``): the current ``path`` (a directory, a file, or nothing) is renamed to the hidden
   sibling ``.<name>.sandbox-core-saved`` (or its absence is noted as ``.<name>.sandbox-core-absent``), and an
   empty directory is made at ``path`` (with its missing parents); a path that is already a mount point keeps the
   original saved then, and only loses the previous image's files. This runs as root, and, where root is refused
   (a sandbox whose user is not root gets a root without capabilities, which cannot write into other users'
   directories), as the sandbox's user;
2. the image's files are read through a container created from it (never started; removed right after) and
   extracted at ``path`` with the archive API, the image's root directory giving ``path`` its owner and mode
   (``Image.from_scratch()`` leaves the directory empty).

``unmount_image(path)`` removes ``path`` and renames the saved original back (or removes the note of its absence).

Consequences: the files are a copy in the sandbox's own filesystem (writes to them are the sandbox's, and stay in
its snapshots); a mount takes time proportional to the image's size; neither operation is atomic (a process in
the sandbox may see ``path`` empty or half-filled meanwhile); processes whose working directory was inside
``path`` keep the saved original; parents that a mount created stay after the unmount. The sandbox's image needs
``/bin/sh`` with ``mkdir``, ``mv`` and ``rm``.
"""

from __future__ import annotations

import contextlib
import posixpath
from typing import Any

from ._engine import EngineAPI, get_engine
from ._engine import labels as L
from ._engine.api import STDERR
from ._engine.errors import ContainerNotRunning, ExecStartFailed, NoSuchContainer, NoSuchExec
from ._engine.values import ContainerSpec, ExecSpec
from ._fs.process import argv_path
from ._imagebuild import retar
from ._link import SandboxLink
from ._snapshots import absolute, check_encryption_key, running_container
from .exception import ConflictError, InvalidError
from .image import mount_source

EXPORT_FOR = L.PREFIX + "export-for"

_DEC = 'dec() { printf "%bx" "$1"; }\np=$(dec "$1"); p=${p%x}; b=$(dec "$2"); b=${b%x}; n=$(dec "$3"); n=${n%x}\n'
# exit 3: cannot remove the previous mount's files; 4: cannot save the original; 5: cannot make the directory
MOUNT_SCRIPT = (
    _DEC
    + """if [ -e "$b" ] || [ -L "$b" ] || [ -e "$n" ]; then
  rm -rf -- "$p" || exit 3
elif [ -e "$p" ] || [ -L "$p" ]; then
  mv -- "$p" "$b" || exit 4
else
  mkdir -p -- "${n%/*}" && : > "$n" || exit 4
fi
mkdir -p -- "$p" || exit 5
"""
)
# exit 6: not a mount point; 4: cannot restore the original
UNMOUNT_SCRIPT = (
    _DEC
    + """if [ -e "$b" ] || [ -L "$b" ]; then
  rm -rf -- "$p" && mv -- "$b" "$p" || exit 4
elif [ -e "$n" ]; then
  rm -rf -- "$p" && rm -f -- "$n" || exit 4
else
  exit 6
fi
"""
)


def script_args(path: str) -> tuple[str, str, str]:
    """The arguments of the scripts for mount point ``path``: itself, where its original is saved, the note of its
    absence (octal-escaped for ``printf %b``)."""
    parent, name = posixpath.split(path)
    saved = posixpath.join(parent, f".{name}.sandbox-core-saved")
    absent = posixpath.join(parent, f".{name}.sandbox-core-absent")
    return argv_path(path.encode()), argv_path(saved.encode()), argv_path(absent.encode())


async def _run(
    eng: EngineAPI, ref: str, user: str | None, script: str, args: tuple[str, ...]
) -> tuple[int | None, str]:
    """Run ``script`` under ``/bin/sh`` as ``user`` (None: the sandbox's) in container ``ref``: (exit code, the
    start of its stderr)."""
    try:
        exec_id = await eng.execs.create(ref, ExecSpec(cmd=("/bin/sh", "-c", script, "sh", *args), user=user))
        stream = await eng.execs.start(exec_id, tty=False)
    except (ContainerNotRunning, NoSuchContainer, NoSuchExec):
        raise ConflictError("Sandbox already finished") from None
    err = bytearray()
    try:
        stream.close_write()
        while (frame := await stream.read_frame()) is not None:
            if frame[0] == STDERR and len(err) < 4096:
                err += frame[1]
    except ExecStartFailed as e:  # no /bin/sh: as a shell would report it
        return (127 if e.reason == "not_found" else 126), e.detail
    finally:
        await stream.close()
    return await eng.execs.exit_code(exec_id), err.decode("utf-8", "replace").strip()


async def _run_privileged(eng: EngineAPI, ref: str, script: str, path: str, op: str) -> None:
    """Run ``script`` for ``path`` as root, and as the sandbox's user where root is refused (see the module
    docstring). Raises ``InvalidError`` saying what failed."""
    args = script_args(path)
    code, err = await _run(eng, ref, "0", script, args)
    if code in (3, 4, 5):
        code, err = await _run(eng, ref, None, script, args)
    if code != 0:
        raise _failure(code, err, path, op)


def _failure(code: int | None, err: str, path: str, op: str) -> Exception:
    if code in (126, 127):
        return InvalidError(f"{op} needs /bin/sh (with mkdir, mv and rm) in the sandbox's image: {err}")
    if code == 6:
        return InvalidError(f"{path} is not a mount point: mount_image() was not called for it")
    return InvalidError(f"{op}({path!r}) failed in the sandbox (exit {code}): {err}")


async def _copy_image(eng: EngineAPI, link: SandboxLink, image_id: str, path: str) -> None:
    """Extract the files of engine image ``image_id`` at ``path`` (an existing directory) of the sandbox."""
    labels = L.owned(L.KIND_IMAGE_EXPORT, **{L.APP_ID: link.app_id, EXPORT_FOR: link.sandbox_id})
    spec = ContainerSpec(image=image_id, labels=labels, cmd=("true",), network_disabled=True, open_stdin=False)
    parent, name = posixpath.split(path)
    helper = await eng.containers.create(spec)
    try:
        async with eng.archive.get(helper, b"/") as download:
            body = retar.rewrite(download.tar, retar.under(name.encode()), without_init_layer=True)
            await eng.archive.put(link.ref, parent.encode(), body, no_overwrite_dir_non_dir=False)
    finally:
        await eng.containers.remove(helper)


async def mount_image(link: SandboxLink, path: Any, image: Any, encryption_key: Any) -> None:
    """See the module docstring. Checks in Modal's order: the image, the sandbox, ``path``, the encryption key."""
    link.check_attached()
    image_id = mount_source(image)
    eng = await get_engine()
    await running_container(eng, link)
    target = absolute(path, "Mount")
    check_encryption_key(encryption_key)
    if target == "/":
        raise InvalidError("Mount path must not be '/': an image is mounted at a directory below the root")
    await _run_privileged(eng, link.ref, MOUNT_SCRIPT, target, "mount_image")
    if image_id is None:
        return
    try:
        await _copy_image(eng, link, image_id, target)
    except BaseException:
        # leave the sandbox as it was, the original back in place (best effort: the copy's error is what counts)
        with contextlib.suppress(Exception):
            await _run_privileged(eng, link.ref, UNMOUNT_SCRIPT, target, "unmount_image")
        raise


async def unmount_image(link: SandboxLink, path: Any) -> None:
    """See the module docstring: ``path`` must be a mount point (``InvalidError`` otherwise)."""
    link.check_attached()
    eng = await get_engine()
    await running_container(eng, link)
    target = absolute(path, "Unmount")
    await _run_privileged(eng, link.ref, UNMOUNT_SCRIPT, target, "unmount_image")
