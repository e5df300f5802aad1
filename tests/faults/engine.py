"""A private Docker engine that tests may stop, kill and restart: never the shared one.

Instance ``I`` is a dockerd (which starts its own containerd) with its own socket, data root, exec root, pid file,
config file, cgroup parent and bridge, running in its own network namespace ``sbxft-I`` (so its bridge and iptables
rules are its own) and mount namespace (a fresh sysfs for that netns, and a private ``/etc/docker``). Unlike the swarm
nodes of ``tests/cluster`` it shares the host's PID namespace: a SIGKILLed dockerd leaves its containers running
under their shims, as on a real host, and the next dockerd finds them there.

Teardown kills by namespace and cgroup (never by name), also the supervisors started for the instance's engine, and
works from the instance name alone; ``sweep_stale`` removes instances whose owner process is gone.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field

from tests.cluster import _host
from tests.cluster._http import UnixEngine

PREFIX = "sbxft"
RUN_ROOT = f"/run/{PREFIX}"
DATA_ROOT = f"/var/lib/{PREFIX}"
#: Runs in the engine's fresh mount namespace: a sysfs for its network namespace (with the cgroup hierarchies put
#: back on top), and a private /etc/docker (dockerd keeps its identity there).
_LAUNCH = """
set -e
mount --rbind /sys/fs/cgroup "$SBXFT_STAGE"
mount -t sysfs sysfs /sys
mount --move "$SBXFT_STAGE" /sys/fs/cgroup
mount --bind "$SBXFT_ETC" /etc/docker
exec "$@"
"""
GVISOR_WRAPPER = "/usr/local/lib/sandbox-core/runsc-host-network"
BUSYBOX = "sandbox-core/busybox:1"


def busybox_rootfs(busybox: str = "/bin/busybox") -> bytes:
    """A tar of a root filesystem of ``busybox`` and its applets, as ``scripts/build-images.sh`` makes it."""
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:

        def add(name: str, kind: bytes, mode: int, *, data: bytes = b"", link: str = "", uid: int = 0) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.uid, info.gid, info.linkname = kind, mode, uid, uid, link
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)

        for d in ("bin", "etc", "root", "proc", "sys", "dev", "var"):
            add(d, tarfile.DIRTYPE, 0o755)
        for d in ("tmp", "var/tmp"):
            add(d, tarfile.DIRTYPE, 0o1777)
        add("home", tarfile.DIRTYPE, 0o755)
        add("home/sandbox", tarfile.DIRTYPE, 0o755, uid=1000)
        passwd = b"root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/home/sandbox:/bin/sh\n"
        add("etc/passwd", tarfile.REGTYPE, 0o644, data=passwd)
        add("etc/group", tarfile.REGTYPE, 0o644, data=b"root:x:0:\nsandbox:x:1000:\n")
        with open(busybox, "rb") as f:
            add("bin/busybox", tarfile.REGTYPE, 0o755, data=f.read())
        for applet in applets:
            if applet != "busybox":
                add(f"bin/{applet}", tarfile.SYMTYPE, 0o777, link="busybox")
    return buf.getvalue()


def unavailable_reason() -> str | None:
    """Why a private engine cannot run here (None when it can)."""
    if os.geteuid() != 0:
        return "a private dockerd needs root"
    for tool in ("ip", "unshare", "nsenter", "dockerd"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@dataclass
class PrivateEngine:
    """One private engine instance (see the module docstring)."""

    instance: str
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return f"{PREFIX}-{self.instance}"

    @property
    def run_dir(self) -> str:
        return f"{RUN_ROOT}/{self.instance}"

    @property
    def data_root(self) -> str:
        return f"{DATA_ROOT}/{self.instance}"

    @property
    def socket(self) -> str:
        return f"{self.run_dir}/docker.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def log(self) -> str:
        return f"{self.run_dir}/dockerd.log"

    def _args(self) -> list[str]:
        args = [
            shutil.which("dockerd") or "dockerd",
            f"--config-file={self.run_dir}/daemon.json",
            f"--host={self.url}",
            f"--data-root={self.data_root}",
            f"--exec-root={self.run_dir}/x",
            f"--pidfile={self.run_dir}/dockerd.pid",
            "--bip=10.219.0.1/24",
            f"--cgroup-parent=/{self.name}",
            "--exec-opt=native.cgroupdriver=cgroupfs",
        ]
        if os.access(GVISOR_WRAPPER, os.X_OK):
            args.append(f"--add-runtime=runsc={GVISOR_WRAPPER}")
        return args

    # ---------------------------------------------------------------------------------------------- lifecycle

    def create(self, *, owned: bool = True) -> None:
        """Directories, owner file and network namespace (once). ``owned``: the instance belongs to this process
        (``sweep_stale`` removes it once the process is gone); else it stays until ``down``."""
        for d in (self.run_dir, f"{self.run_dir}/etc", f"{self.run_dir}/stage", self.data_root):
            os.makedirs(d, exist_ok=True)
        with open(f"{self.run_dir}/daemon.json", "w") as f:
            f.write("{}\n")
        with open(f"{self.run_dir}/owner.json", "w") as f:
            owner = {"pid": os.getpid(), "start": _host.start_time(os.getpid())} if owned else {"manual": True}
            json.dump(owner, f)
        if _host.netns_inode(self.name) is None:
            _host.ip("netns", "add", self.name)
            _host.ip("link", "set", "lo", "up", netns=self.name)

    def start(self, timeout: float = 60.0) -> None:
        """Start dockerd (a stale pid file of a killed one is removed; its exec root, where the shims of running
        containers live, is kept) and wait until it answers."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{self.run_dir}/dockerd.pid")
        self._drop_dead_containerd_pidfile()
        env = dict(os.environ, SBXFT_STAGE=f"{self.run_dir}/stage", SBXFT_ETC=f"{self.run_dir}/etc")
        cmd = [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "nsenter",
            f"--net={_host.NETNS_DIR}/{self.name}",
            "sh",
            "-c",
            _LAUNCH,
            "launch",
            *self._args(),
        ]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log, env=env, start_new_session=True
            )
        self.wait_ready(timeout)

    def _drop_dead_containerd_pidfile(self) -> None:
        """The containerd of a SIGKILLed dockerd dies with it, but this host's pid 1 may not reap it at once: a
        zombie still "exists", and the next dockerd would wait forever for it to answer. A real init reaps it; here
        its pid file is removed instead (the pid file of a live containerd is kept)."""
        path = f"{self.run_dir}/x/containerd/containerd.pid"
        try:
            with open(path) as f:
                pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            return
        if pid <= 0 or _host.comm(pid) != "containerd" or _zombie(pid):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        engine = UnixEngine(self.socket)
        while not (os.path.exists(self.socket) and engine.ping(timeout=1.0)):
            if self.proc is not None and self.proc.poll() is not None:
                raise _host.HostError(f"dockerd {self.name} exited ({self.proc.returncode}):\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise _host.HostError(f"dockerd {self.name} did not answer in time:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop_dockerd(self, sig: signal.Signals, timeout: float = 60.0) -> None:
        """Send ``sig`` to dockerd and wait until it has exited (SIGTERM: it stops its containers first)."""
        assert self.proc is not None, "not started by this process"
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise _host.HostError(f"dockerd {self.name} did not exit within {timeout} s after {sig.name}") from e

    def restart(self, sig: signal.Signals) -> None:
        self.stop_dockerd(sig)
        self.start()

    def import_busybox(self, tag: str = BUSYBOX) -> None:
        """Build ``tag`` as ``scripts/build-images.sh`` builds ``sandbox-core/busybox:1`` (the host's static
        busybox, imported): the private engine needs nothing from the shared one."""
        repo, _, version = tag.partition(":")
        changes = [
            "LABEL sandbox-core.owner=sandbox-core",
            "LABEL sandbox-core.kind=base-image",
            "ENV PATH=/bin",
            'CMD ["sleep", "172800"]',
            "WORKDIR /",
        ]
        params = [("fromSrc", "-"), ("repo", repo), ("tag", version), *(("changes", c) for c in changes)]
        UnixEngine(self.socket).upload("images/create", busybox_rootfs(), params=params)

    def log_tail(self, lines: int = 20) -> str:
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no log)"

    # ------------------------------------------------------------------------------------------------ teardown

    def pids(self) -> set[int]:
        """Every process of the instance: in its network namespace (dockerd, containerd, shims), its cgroup tree
        (containers), and the supervisors serving its engine."""
        found = _host.pids_in_cgroups(f"/{self.name}")
        inode = _host.netns_inode(self.name)
        if inode is not None:
            found |= _host.pids_in_netns(inode)
        return found | supervisors_of(self.url)

    def down(self, timeout: float = 30.0) -> list[str]:
        """Kill and remove everything of the instance; returns what would not go."""
        deadline = time.monotonic() + timeout
        while (pids := {p for p in self.pids() if _host.alive(p, None)}) and time.monotonic() < deadline:
            _host.kill_all(pids)
            time.sleep(0.05)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        problems = [f"processes survived: {sorted(pids)}"] if pids else []
        if left := _host.remove_cgroups(f"/{self.name}", deadline):
            problems.append(f"cgroups: {left}")
        _host.netns_delete(self.name)
        if _host.netns_inode(self.name) is not None:
            problems.append(f"netns {self.name}")
        for root in (self.run_dir, self.data_root):
            _host.unmount_all(root)
            _host.run(["rm", "-rf", "--one-file-system", root], timeout=120, check=False)
            if os.path.exists(root):
                problems.append(f"dir {root}")
        return problems


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return True
    return stat[stat.rfind(b")") + 2 :].startswith(b"Z")


def supervisors_of(url: str) -> set[int]:
    """Supervisor processes serving the engine at ``url`` (their environment names it)."""
    found: set[int] = set()
    needle = f"DOCKER_HOST={url}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if b"sandbox_core._supervisor" not in f.read():
                    continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.add(int(entry))
        except OSError:
            continue
    return found


def sweep_stale() -> list[str]:
    """Tear down instances whose owner process is gone; returns their names."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for instance in os.listdir(RUN_ROOT):
            try:
                with open(f"{RUN_ROOT}/{instance}/owner.json") as f:
                    owner = json.load(f)
            except (OSError, ValueError):
                owner = {"pid": 0}
            if not owner.get("manual") and not _host.alive(int(owner.get("pid", 0)), owner.get("start")):
                PrivateEngine(instance).down()
                removed.append(instance)
    return removed


def up(instance: str, *, owned: bool = True) -> PrivateEngine:
    """Create and start instance ``instance`` with ``BUSYBOX``; torn down again if that fails."""
    engine = PrivateEngine(instance)
    try:
        engine.create(owned=owned)
        engine.start()
        engine.import_busybox()
    except BaseException:
        engine.down()
        raise
    return engine


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.engine", description=__doc__.split("\n\n")[0])
    parser.add_argument("cmd", choices=("up", "down"))
    parser.add_argument("instance")
    args = parser.parse_args(argv)
    if args.cmd == "up":
        engine = up(args.instance, owned=False)
        engine.proc = None  # keeps running after this process
        print(f"DOCKER_HOST={engine.url}")
        return 0
    problems = PrivateEngine(args.instance).down()
    print("\n".join(problems) or "removed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
