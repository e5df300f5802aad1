"""The orchestrator: ``python -m benchmarks [--quick] [--out DIR] [--phases P1,P4,...] [--arms ...]``.

Latency phases (P1, P4, F) run in this process with long-lived arms, interleaved in a random order per round after
a warm-up. Resource phases (P2+P10+P11, P5, P8) run each (arm, round) in a fresh child process (``worker.py``)
watched from outside by a psutil sampler, so RSS, CPU, FDs and threads are that arm's alone.

Exit status: 0 when every phase ran; 1 when a phase crashed or an arm had no successful iteration in a phase
(slow numbers never fail the run).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import random
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiodocker
import aiohttp
import attrs
import psutil  # type: ignore[import-untyped]

from . import common as c
from . import netpolicy_tti, tunnels
from .arms import ALL_ARMS, CONCURRENT_ONLY, Arm, make_arm

ALL_PHASES = ["P1", "P2", "P4", "P5", "P8", "P10", "P11", "F", "NP", "T", "S", "PW", "W"]
#: Relative shares of the run's time budget (see ``Config.budget_s``).
#: Arms whose objects the sweep looks for: the client arms plus the curl engine-floor reference of P8.
SWEPT_ARMS = [*ALL_ARMS, "curl"]
PHASE_WEIGHTS = {"P1": 4, "P2": 45, "P4": 35, "P5": 4, "P8": 10, "F": 2, "NP": 8, "T": 5, "S": 8, "PW": 8, "W": 1}
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


@attrs.define
class Config:
    quick: bool
    arms: list[str]
    phases: list[str]
    seed: int
    p1_rounds: int
    p1_per_round: int
    p2_bursts: list[list[int]]
    p4_seq_rounds: int
    p4_seq_per_round: int
    p4_conc: list[int]
    p4_conc_rounds: int
    p5_size: int
    p5_rounds: int
    p8_sizes: list[int]
    p8_rounds: int
    f_calls: int
    f_rounds: int
    np_rounds: int
    t_rounds: int
    t_per_round: int
    t_rps_total: int
    t_big: int
    #: Phase S (the swarm next to one engine): rounds of (TTIs, sequential execs) per arm, then one burst.
    s_rounds: int
    s_tti: int
    s_execs: int
    s_burst: int
    #: PW: members of the warm pool (also the burst's size) and rounds of cold-vs-warm TTI.
    pw_size: int
    pw_rounds: int
    #: W: rounds of watch events, and events per source (an exec's write, the client's write) per round.
    w_rounds: int
    w_per_round: int
    #: Wall-clock budget of the whole run (None: unbounded). Each phase gets a share of what is left, by weight;
    #: a phase stops starting new rounds past its share (recorded in the notes), so a loaded machine shortens the
    #: run instead of stretching it past the limit.
    budget_s: float | None = None
    sample_interval: float = 0.02

    @classmethod
    def make(cls, quick: bool, arms: list[str], phases: list[str], seed: int) -> Config:
        if quick:
            return cls(
                quick=True,
                arms=arms,
                phases=phases,
                seed=seed,
                p1_rounds=2,
                p1_per_round=1,
                p2_bursts=[[1, 5]],
                p4_seq_rounds=2,
                p4_seq_per_round=10,
                p4_conc=[5],
                p4_conc_rounds=1,
                p5_size=16 * c.MIB,
                p5_rounds=1,
                p8_sizes=[16 * c.MIB],
                p8_rounds=1,
                f_calls=2_000,
                f_rounds=2,
                np_rounds=2,
                t_rounds=1,
                t_per_round=20,
                t_rps_total=320,
                t_big=8 * c.MIB,
                s_rounds=1,
                s_tti=1,
                s_execs=10,
                s_burst=5,
                pw_size=3,
                pw_rounds=2,
                w_rounds=2,
                w_per_round=10,
            )
        return cls(
            quick=False,
            arms=arms,
            phases=phases,
            seed=seed,
            p1_rounds=12,
            p1_per_round=1,
            p2_bursts=[[1, 10, 50, 100], [100]],
            p4_seq_rounds=20,
            p4_seq_per_round=50,
            p4_conc=[10, 50, 100],
            p4_conc_rounds=6,
            p5_size=100 * c.MIB,
            p5_rounds=9,
            p8_sizes=[100 * c.MIB, 1024 * c.MIB],
            p8_rounds=2,
            f_calls=10_000,
            f_rounds=3,
            np_rounds=20,
            t_rounds=6,
            t_per_round=100,
            t_rps_total=3200,
            t_big=64 * c.MIB,
            s_rounds=6,
            s_tti=2,
            s_execs=50,
            s_burst=50,
            pw_size=100,
            pw_rounds=20,
            w_rounds=10,
            w_per_round=10,
            budget_s=18.5 * 60,
        )


_SUPERVISOR_PIDS: dict[int, bool] = {}


def _is_supervisor(p: psutil.Process) -> bool:
    """True for sandbox_core's detached supervisor: a worker may spawn it, but it is not the client."""
    known = _SUPERVISOR_PIDS.get(p.pid)
    if known is None:
        try:
            cmdline = p.cmdline()
            parent = p.parent()
            known = any("sandbox_core._supervisor" in part for part in cmdline)
            # Between its spawn and exec a child still shows its parent's command line: decide later.
            if known or parent is None or cmdline != parent.cmdline():
                _SUPERVISOR_PIDS[p.pid] = known
        except psutil.Error:
            known = False
    return known


def _cpu_now() -> float:
    ru = c.rusage_now()
    return ru["cpu_self"] + ru["cpu_children"]


class Run:
    def __init__(self, cfg: Config, out_dir: str) -> None:
        self.cfg = cfg
        self.out_dir = out_dir
        self.run_id = uuid.uuid4().hex[:12]
        self.rng = random.Random(cfg.seed)
        self.rows: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.crashes: list[str] = []
        self.sweeps: list[dict[str, Any]] = []
        self.phase_seconds: dict[str, float] = {}
        self.arm_sends: dict[str, str] = {}
        self.admin: aiodocker.Docker | None = None
        self._admin_connector: aiohttp.UnixConnector | None = None
        self.scratch = tempfile.mkdtemp(prefix=f"bench-{self.run_id}-")
        self.t_start = time.monotonic()
        self.phase_deadline: float | None = None
        self.pending_phases: list[str] = []

    # ---------------------------------------------------------------------------------------------- budget
    def start_phase(self, phase: str) -> None:
        """Set the phase's deadline: its weighted share of the run's remaining budget."""
        if self.cfg.budget_s is None:
            return
        left = self.cfg.budget_s - (time.monotonic() - self.t_start)
        weights = sum(PHASE_WEIGHTS[p] for p in self.pending_phases) or 1
        self.phase_deadline = time.monotonic() + max(left, 0) * PHASE_WEIGHTS[phase] / weights
        self.pending_phases.remove(phase)

    def may_start(self, what: str, rnd: int, estimate_s: float = 0.0) -> bool:
        """True unless the round (expected to take ``estimate_s``) would end past the phase's share of the budget.

        Round 0 always runs. Notes the first refusal.
        """
        if rnd == 0 or self.phase_deadline is None or time.monotonic() + estimate_s < self.phase_deadline:
            return True
        note = f"{what}: stopped before round {rnd} (its share of the run's time budget was spent)"
        if note not in self.notes:
            self.notes.append(note)
        return False

    # ------------------------------------------------------------------------------------------------ rows
    def row(
        self,
        arm: str,
        phase: str,
        metric: str,
        n: int,
        value: float | None,
        unit: str = "ms",
        error: str | None = None,
        rnd: int | None = None,
        **extra: Any,
    ) -> None:
        r: dict[str, Any] = {
            "arm": arm,
            "phase": phase,
            "metric": metric,
            "n": n,
            "ms": value if unit == "ms" and error is None else None,
            "value": value if error is None else None,
            "unit": unit,
            "error": error,
            "round": rnd,
        }
        r.update(extra)
        self.rows.append(r)

    def arms_for(self, phase: str) -> list[str]:
        arms = [a for a in self.cfg.arms if phase in ("P2", "P4c") or a not in CONCURRENT_ONLY]
        if phase == "F":
            arms = [a for a in arms if a in ("sc", "sc-sync")]
        return arms

    def shuffled(self, arms: list[str]) -> list[str]:
        out = list(arms)
        self.rng.shuffle(out)
        return out

    # ----------------------------------------------------------------------------------------------- engine
    async def open_admin(self) -> aiodocker.Docker:
        self._admin_connector = aiohttp.UnixConnector(c.DOCKER_SOCKET, limit=0)
        self.admin = aiodocker.Docker(url="unix://localhost", connector=self._admin_connector)
        return self.admin

    async def close_admin(self) -> None:
        if self.admin is not None:
            await self.admin.close()
        if self._admin_connector is not None:
            await self._admin_connector.close()

    def _filters(self, arm: str) -> dict[str, list[str]]:
        if arm in ("sc", "sc-sync"):
            return {"label": [f"{c.SC_APP_LABEL}={c.app_name(self.run_id, arm)}"]}
        return {"label": [f"{c.RUN_LABEL}={self.run_id}", f"{c.ARM_LABEL}={arm}"]}

    async def list_containers(self, arm: str) -> list[dict[str, Any]]:
        assert self.admin is not None
        params = {"all": "1", "filters": json.dumps(self._filters(arm))}
        res: list[dict[str, Any]] = await self.admin._query_json("containers/json", params=params)
        return res

    async def count_leftovers(self, arm: str) -> tuple[int, int]:
        """(containers of ``arm`` in this run that still exist, of which running)."""
        cs = await self.list_containers(arm)
        return len(cs), sum(1 for x in cs if x.get("State") == "running")

    async def sweep(self, when: str) -> dict[str, Any]:
        """Remove every container of this run (any arm, any state); returns the counts removed per arm."""
        assert self.admin is not None
        swept: dict[str, Any] = {"when": when, "containers": {}, "running": {}, "volumes": 0, "errors": []}
        for arm in SWEPT_ARMS:
            cs = await self.list_containers(arm)
            swept["containers"][arm] = len(cs)
            swept["running"][arm] = sum(1 for x in cs if x.get("State") == "running")

            async def rm(cid: str) -> None:
                try:
                    await self.admin._query_json(f"containers/{cid}", method="DELETE", params={"force": "1", "v": "1"})  # type: ignore[union-attr]
                except aiodocker.DockerError as e:
                    if e.status != 404:  # the library's own retention may have removed it meanwhile
                        swept["errors"].append(f"{cid[:12]}: {e}")

            await asyncio.gather(*(rm(x["Id"]) for x in cs))
        # sandbox_core keeps state in "record" volumes: the App record carries the App name; the others
        # (end/tags records of each sandbox) carry only the App id.
        for arm in ("sc", "sc-sync"):
            try:
                apps = await self._volumes([f"{c.SC_APP_LABEL}={c.app_name(self.run_id, arm)}"])
                app_ids = {v["Labels"].get("sandbox-core.app-id") for v in apps} - {None}
                vols = list(apps)
                for app_id in app_ids:
                    vols += [v for v in await self._volumes([f"sandbox-core.app-id={app_id}"]) if v not in vols]
                for v in vols:
                    try:
                        await self.admin._query_json(f"volumes/{v['Name']}", method="DELETE")
                        swept["volumes"] += 1
                    except aiodocker.DockerError as e:
                        if e.status != 404:
                            swept["errors"].append(f"volume {v['Name']}: {e}")
            except aiodocker.DockerError as e:
                swept["errors"].append(f"volumes: {e}")
        self.sweeps.append(swept)
        return swept

    async def _volumes(self, labels: list[str]) -> list[dict[str, Any]]:
        assert self.admin is not None
        res = await self.admin._query_json("volumes", params={"filters": json.dumps({"label": labels})})
        return list(res.get("Volumes") or [])

    async def environment(self) -> dict[str, Any]:
        assert self.admin is not None
        info = await self.admin.system.info()
        ver = await self.admin.version()
        try:
            cli = subprocess.run(
                ["docker", "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True, timeout=30
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError) as e:
            cli = f"unavailable: {e}"
        others = await self.admin._query_json("containers/json")
        versions: dict[str, str] = {}
        for mod in ("aiodocker", "aiohttp", "docker", "psutil", "matplotlib", "anyio"):
            try:
                from importlib.metadata import version

                versions[mod] = version(mod)
            except Exception:
                versions[mod] = "missing"
        try:
            commit = subprocess.run(
                ["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            commit = "?"
        return {
            "engine_version": info.get("ServerVersion"),
            "engine_api_version": ver.get("ApiVersion"),
            "docker_cli_version": cli,
            "storage_driver": info.get("Driver"),
            "cgroup_version": info.get("CgroupVersion"),
            "cgroup_driver": info.get("CgroupDriver"),
            "default_runtime": info.get("DefaultRuntime"),
            "kernel": info.get("KernelVersion"),
            "os": info.get("OperatingSystem"),
            "cpus": info.get("NCPU"),
            "mem_total": info.get("MemTotal"),
            "docker_desktop": "Docker Desktop" in str(info.get("OperatingSystem", "")),
            "host_cpus": os.cpu_count(),
            "python": platform.python_version(),
            "packages": versions,
            "git_commit": commit,
            "other_running_containers_at_start": len(others),
            "loadavg_start": os.getloadavg(),
        }

    # ------------------------------------------------------------------------------------- in-process arms
    async def open_arms(self, names: list[str], concurrency: int) -> dict[str, Arm]:
        arms: dict[str, Arm] = {}
        for name in names:
            arm = make_arm(name, self.run_id, concurrency)
            try:
                await arm.open()
            except Exception as e:
                arm.open_error = f"{type(e).__name__}: {e}"
            if arm.open_error:
                self.notes.append(f"arm {name}: not available in-process ({arm.open_error})")
            self.arm_sends[name] = arm.sends()
            arms[name] = arm
        return arms

    async def close_arms(self, arms: dict[str, Arm]) -> None:
        for arm in arms.values():
            with contextlib.suppress(Exception):
                await arm.close()

    async def warm_up(self, arms: dict[str, Arm]) -> None:
        for name, arm in arms.items():
            _, res, err = await arm.call("tti")
            h = res[0] if err is None else res
            if err is None:
                for _ in range(3):
                    await arm.call("echo", h)
            if h is not None:
                await arm.call("remove", h)
            if err:
                self.notes.append(f"warm-up of {name} failed: {err}")

    # ------------------------------------------------------------------------------------------------ P1
    async def phase_p1(self) -> None:
        names = self.arms_for("P1")
        arms = await self.open_arms(names, 1)
        try:
            await self.warm_up(arms)
            for rnd in range(self.cfg.p1_rounds):
                if not self.may_start("P1", rnd):
                    break
                for name in self.shuffled(names):
                    arm = arms[name]
                    for _ in range(self.cfg.p1_per_round):
                        cpu0 = _cpu_now()
                        ms, res, err = await arm.call("tti")
                        self.row(name, "P1", "tti", 1, ms, error=err, rnd=rnd)
                        if err is None:
                            self.row(name, "P1", "tti_client_cpu", 1, (_cpu_now() - cpu0) * 1000, rnd=rnd)
                        h = res[0] if err is None else res
                        if err is None:
                            self.row(name, "P1", "create", 1, res[1], rnd=rnd)
                        if h is not None:
                            ms, _, err = await arm.call("remove", h)
                            self.row(name, "P10", "remove_seq", 1, ms, error=err, rnd=rnd)
        finally:
            await self.close_arms(arms)
        await self.leftovers("P1", names)

    # ------------------------------------------------------------------------------------------------ NP
    async def phase_np(self) -> None:
        """Network isolation and policies on TTI, through the public API (``netpolicy_tti``)."""

        def sink(arm: str, rnd: int, ms: float | None, err: str | None) -> None:
            self.row(arm, "NP", "tti", 1, ms, error=err, rnd=rnd)

        await netpolicy_tti.run_phase(self.cfg.np_rounds, sink, self.notes, c.app_name(self.run_id, "np"))

    async def leftovers(self, phase: str, names: list[str]) -> None:
        for name in names:
            total, running = await self.count_leftovers(name)
            self.row(name, "P10", f"leftover_after_{phase}", 0, total, unit="containers", running=running)

    # ------------------------------------------------------------------------------------------------ P4
    async def phase_p4(self) -> None:
        seq_names = self.arms_for("P4")
        conc_names = self.arms_for("P4c")
        conc = max(self.cfg.p4_conc)
        arms = await self.open_arms(conc_names, conc)
        handles: dict[str, Any] = {}
        try:
            for name in conc_names:
                _, res, err = await arms[name].call("tti")
                if err is None:
                    handles[name] = res[0]
                    for _ in range(20):  # warm-up
                        await arms[name].call("echo", res[0])
                else:
                    self.notes.append(f"P4: could not create the warm sandbox of {name}: {err}")
                    if res is not None:
                        await arms[name].call("remove", res)

            async def echo(name: str, metric: str, n: int, rnd: int) -> None:
                if name not in handles:
                    self.row(name, "P4", metric, n, None, error="no warm sandbox (creation failed)", rnd=rnd)
                    return
                ms, _, err = await arms[name].call("echo", handles[name])
                self.row(name, "P4", metric, n, ms, error=err, rnd=rnd)

            for rnd in range(self.cfg.p4_seq_rounds):
                if not self.may_start("P4 sequential", rnd):
                    break
                for name in self.shuffled(seq_names):
                    cpu0 = _cpu_now()
                    for _ in range(self.cfg.p4_seq_per_round):
                        await echo(name, "exec", 1, rnd)
                    # Client CPU per exec (this process and its waited-for children, i.e. the CLI's `docker`
                    # processes): only this arm runs meanwhile, and it is far less noisy than wall time.
                    cpu_ms = (_cpu_now() - cpu0) * 1000 / self.cfg.p4_seq_per_round
                    self.row(name, "P4", "exec_client_cpu", 1, cpu_ms, rnd=rnd)
            seq_deadline = self.phase_deadline
            for rnd in range(self.cfg.p4_conc_rounds):
                # the concurrent part always gets its first round, even when the sequential one used the share
                self.phase_deadline = None if rnd == 0 else seq_deadline
                if not self.may_start("P4 concurrent", rnd):
                    break
                for n in self.cfg.p4_conc:
                    for name in self.shuffled(conc_names):
                        t0 = time.perf_counter()
                        await asyncio.gather(*(echo(name, "exec_concurrent", n, rnd) for _ in range(n)))
                        self.row(name, "P4", "exec_concurrent_wall", n, (time.perf_counter() - t0) * 1000, rnd=rnd)
        finally:
            for name, h in handles.items():
                await arms[name].call("remove", h)
            await self.close_arms(arms)
        await self.leftovers("P4", conc_names)

    # ------------------------------------------------------------------------------------------------- F
    async def phase_f(self) -> None:
        from . import facade

        await facade.run(self)

    async def phase_s(self) -> None:
        from . import swarm

        await swarm.run(self)

    # ------------------------------------------------------------------------------------------- workers
    async def run_worker(
        self, spec: dict[str, Any], on_event: Callable[[dict[str, Any], dict[str, Any]], Awaitable[None]]
    ) -> str | None:
        """Run one worker; ``on_event(event, window_samples)`` is awaited for each event it prints.

        Returns an error string when the worker crashed (non-zero exit or no ``done`` event).
        """
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.worker",
            json.dumps(spec),
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert proc.stdin is not None
        assert proc.stderr is not None
        window: dict[str, Any] = {"active": False}
        stop = asyncio.Event()

        async def sampler() -> None:
            try:
                root = psutil.Process(proc.pid)
            except psutil.Error:
                return
            while not stop.is_set():
                if window["active"]:
                    rss = fds = threads = child_rss = 0
                    procs = [root]
                    with contextlib.suppress(psutil.Error):
                        procs += [p for p in root.children(recursive=True) if not _is_supervisor(p)]
                    for p in procs:
                        with contextlib.suppress(psutil.Error):
                            with p.oneshot():
                                m = p.memory_info().rss
                                rss += m
                                child_rss += m if p is not root else 0
                                fds += p.num_fds()
                                threads += p.num_threads()
                    window["rss"] = max(window.get("rss", 0), rss)
                    window["child_rss"] = max(window.get("child_rss", 0), child_rss)
                    window["fds"] = max(window.get("fds", 0), fds)
                    window["threads"] = max(window.get("threads", 0), threads)
                    window["procs"] = max(window.get("procs", 0), len(procs))
                    window["samples"] = window.get("samples", 0) + 1
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.cfg.sample_interval)

        stask = asyncio.create_task(sampler())
        err_task = asyncio.create_task(proc.stderr.read())
        done = False
        try:
            async with asyncio.timeout(600):
                while line := await proc.stdout.readline():
                    try:
                        ev = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    kind = ev.get("event")
                    if kind == "begin":
                        window.clear()
                        window["active"] = True
                    elif kind == "end":
                        window["active"] = False
                    await on_event(ev, dict(window))
                    if kind == "wait":
                        proc.stdin.write(b"go\n")
                        await proc.stdin.drain()
                    elif kind == "done":
                        done = True
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return "worker timed out after 600 s"
        finally:
            stop.set()
            await stask
        stderr = (await err_task).decode(errors="replace")
        if proc.returncode != 0 or not done:
            return f"worker exited {proc.returncode}: {stderr.strip()[-800:]}"
        return None

    # ------------------------------------------------------------------------------------------------ T
    async def phase_t(self) -> None:
        """Requests through tunnels and the token proxy against a direct connection (``tunnels.py``)."""
        await tunnels.phase_t(self.cfg, self.row, self.rng, self.may_start, self.run_id)

    # -------------------------------------------------------------------------------------- P2, P10, P11
    async def phase_p2(self) -> None:
        names = self.arms_for("P2")
        conc = max(n for bursts in self.cfg.p2_bursts for n in bursts)
        per_container_s = 0.0  # measured in round 0: each later round is estimated from its container count
        for rnd, bursts in enumerate(self.cfg.p2_bursts):
            if not self.may_start("P2", rnd, per_container_s * sum(bursts) * len(names)):
                break
            t_round = time.monotonic()
            for name in self.shuffled(names):
                spec = {
                    "task": "burst",
                    "arm": name,
                    "run_id": self.run_id,
                    "concurrency": conc,
                    "bursts": bursts,
                }

                async def on_event(ev: dict[str, Any], win: dict[str, Any], name: str = name, rnd: int = rnd) -> None:
                    kind, tag = ev.get("event"), ev.get("tag", "")
                    if kind == "ready" and ev.get("warmup_error"):
                        self.notes.append(f"P2 {name} round {rnd}: warm-up failed: {ev['warmup_error']}")
                    if kind == "end" and tag.startswith("burst-"):
                        n = ev["n"]
                        items = ev["items"]
                        ok = [i for i in items if i[2] is None]
                        self.row(name, "P2", "wall", n, ev["wall_ms"], rnd=rnd, failures=len(items) - len(ok))
                        for ms, create_ms, err in items:
                            self.row(name, "P2", "tti", n, ms, error=err, rnd=rnd)
                            if err is None:
                                self.row(name, "P2", "create", n, create_ms, rnd=rnd)
                        if ok:
                            self.row(name, "P2", "first_ready", n, min(i[0] for i in ok), rnd=rnd)
                        res = ev["resources"]
                        self.row(name, "P11", "cpu", n, res["cpu_s"], unit="s", rnd=rnd)
                        for key, unit in (("rss", "bytes"), ("fds", "fds"), ("threads", "threads")):
                            if key in win:
                                self.row(
                                    name,
                                    "P11",
                                    f"peak_{key}",
                                    n,
                                    win[key],
                                    unit=unit,
                                    rnd=rnd,
                                    samples=win.get("samples"),
                                    procs=win.get("procs"),
                                )
                    elif kind == "end" and tag.startswith("teardown-"):
                        n = ev["n"]
                        self.row(name, "P10", "teardown_wall", n, ev["wall_ms"], rnd=rnd)
                        for ms, _, err in ev["items"]:
                            self.row(name, "P10", "remove", n, ms, error=err, rnd=rnd)
                    elif kind == "wait":
                        total, running = await self.count_leftovers(name)
                        self.row(
                            name,
                            "P10",
                            "leftover_after_teardown",
                            ev["n"],
                            total,
                            unit="containers",
                            rnd=rnd,
                            running=running,
                        )

                err = await self.run_worker(spec, on_event)
                if err:
                    self.row(name, "P2", "worker", 0, None, error=err, rnd=rnd)
                # Between (arm, round) pairs: remove what the arm left (sandbox_core keeps terminated sandboxes
                # for its retention period), so the next arm starts from the same engine state.
                await self.sweep(f"P2 round {rnd} after {name}")
            per_container_s = (time.monotonic() - t_round) / (sum(bursts) * len(names))

    # ------------------------------------------------------------------------------------------- P5, P8
    async def _single(self, phase: str, task: str, size: int, rounds: int) -> None:
        names = self.arms_for(phase)
        local_up = os.path.join(self.scratch, f"up-{size}.bin")
        if task == "upload":
            with open(local_up, "wb") as f:
                for _ in range(size // c.MIB):
                    f.write(os.urandom(c.MIB))
        for rnd in range(rounds):
            if not self.may_start(f"{phase} {task} {size // c.MIB} MiB", rnd):
                break
            for name in self.shuffled(names):
                local = local_up if task == "upload" else os.path.join(self.scratch, f"down-{name}.bin")
                spec = {
                    "task": task,
                    "arm": name,
                    "run_id": self.run_id,
                    "concurrency": 1,
                    "size": size,
                    "local": local,
                }

                async def on_event(ev: dict[str, Any], win: dict[str, Any], name: str = name, rnd: int = rnd) -> None:
                    if ev.get("event") != "end":
                        return
                    err = ev.get("error")
                    metric = task
                    self.row(name, phase, metric, size, ev.get("ms"), error=err, rnd=rnd)
                    if err is None:
                        ms = ev["ms"]
                        self.row(name, phase, f"{task}_rate", size, size / 1e6 / (ms / 1000), unit="MB/s", rnd=rnd)
                        res = ev["resources"]
                        # Python arms: the worker's exact peak RSS (VmHWM, reset just before the operation).
                        # CLI arm: the client is the `docker` process, whose RSS can only be sampled from outside.
                        peak = win.get("child_rss") if name == "cli" else res["peak_rss_self"]
                        how = "sampled docker processes" if name == "cli" else "VmHWM of the worker"
                        self.row(
                            name,
                            phase,
                            f"{task}_peak_rss",
                            size,
                            peak,
                            unit="bytes",
                            rnd=rnd,
                            how=how,
                            rss_before=res["rss_before"],
                            sampled_tree_peak=win.get("rss"),
                        )
                        self.row(name, phase, f"{task}_cpu", size, res["cpu_s"], unit="s", rnd=rnd)

                err = await self.run_worker(spec, on_event)
                if err:
                    self.row(name, phase, task, size, None, error=err, rnd=rnd)
            if phase == "P8":
                await self.engine_floor(task, size, local_up, rnd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(local_up)
        await self.leftovers(phase, names)
        await self.sweep(f"after {phase} {task} {size}")

    async def engine_floor(self, task: str, size: int, local_up: str, rnd: int) -> None:
        """The same transfer with curl on the engine socket: what the engine and disk allow, for reference.

        Download: ``GET /containers/{id}/archive`` with identity encoding to /dev/null. Upload: ``tar | curl -T -``
        (a chunked PUT). Recorded as arm ``curl``; failures (no curl) are recorded, never fatal.
        """
        assert self.admin is not None
        self.arm_sends["curl"] = (
            "reference, not a client: the engine floor of P8 — `curl --unix-socket` GET of the archive with "
            "`Accept-Encoding: identity` to /dev/null, and `tar -cf - file | curl -X PUT -T -` (chunked) for uploads, "
            "into a container with the same create body."
        )
        ctr = await self.admin.containers.create(config=c.create_body(self.run_id, "curl"))
        try:
            await ctr.start()
            base = f"http://localhost/{self.admin.api_version}/containers/{ctr.id}/archive"
            sock = ["curl", "-sSf", "--unix-socket", c.DOCKER_SOCKET]
            if task == "download":
                ex = await ctr.exec(
                    ["dd", "if=/dev/urandom", "of=/tmp/down.bin", "bs=1048576", f"count={size // c.MIB}"]
                )
                async with ex.start(detach=False) as st:
                    while await st.read_out() is not None:
                        pass
                argv = [*sock, "-H", "Accept-Encoding: identity", "-o", "/dev/null", f"{base}?path=/tmp/down.bin"]
                cmd = " ".join(shlex.quote(a) for a in argv)
            else:
                d, name = os.path.split(local_up)
                put = [*sock, "-X", "PUT", "-T", "-", f"{base}?path=/tmp"]
                cmd = f"tar -C {shlex.quote(d)} -cf - {shlex.quote(name)} | " + " ".join(shlex.quote(a) for a in put)
            t0 = time.perf_counter()
            proc = await asyncio.create_subprocess_shell(
                cmd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
            )
            _, err = await proc.communicate()
            ms = (time.perf_counter() - t0) * 1000
            if proc.returncode != 0:
                self.row("curl", "P8", task, size, None, error=f"curl exited {proc.returncode}: {err[:200]!r}", rnd=rnd)
                return
            self.row("curl", "P8", task, size, ms, rnd=rnd)
            self.row("curl", "P8", f"{task}_rate", size, size / 1e6 / (ms / 1000), unit="MB/s", rnd=rnd)
        except (OSError, aiodocker.DockerError) as e:
            self.row("curl", "P8", task, size, None, error=f"{type(e).__name__}: {e}", rnd=rnd)
        finally:
            with contextlib.suppress(aiodocker.DockerError):
                await ctr.delete(force=True)

    async def phase_p5(self) -> None:
        await self._single("P5", "stream", self.cfg.p5_size, self.cfg.p5_rounds)

    async def phase_p8(self) -> None:
        for i, size in enumerate(self.cfg.p8_sizes):
            # ~60 s per GiB for both directions over every arm (measured on the 2-vCPU reference machine)
            if not self.may_start(f"P8 {size // c.MIB} MiB", i, 60.0 * size / (1024 * c.MIB)):
                break
            rounds = self.cfg.p8_rounds if i == 0 else 1
            for task in ("upload", "download"):
                await self._single("P8", task, size, rounds)

    # ------------------------------------------------------------------------------------------------ PW
    async def phase_pw(self) -> None:
        from . import pool

        await pool.run(self)

    # ------------------------------------------------------------------------------------------------- W
    async def phase_w(self) -> None:
        from . import watch

        await watch.run(self)

    # ---------------------------------------------------------------------------------------------- main
    async def execute(self) -> dict[str, Any]:
        t_start = time.time()
        await self.open_admin()
        env = await self.environment()
        selected = set(self.cfg.phases)
        plan: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        if "P1" in selected:
            plan.append(("P1", self.phase_p1))
        if selected & {"P2", "P10", "P11"}:
            plan.append(("P2", self.phase_p2))
        if "P4" in selected:
            plan.append(("P4", self.phase_p4))
        if "P5" in selected:
            plan.append(("P5", self.phase_p5))
        if "P8" in selected:
            plan.append(("P8", self.phase_p8))
        if "F" in selected:
            plan.append(("F", self.phase_f))
        if "NP" in selected:
            plan.append(("NP", self.phase_np))
        if "T" in selected:
            plan.append(("T", self.phase_t))
        if "S" in selected:
            plan.append(("S", self.phase_s))
        if "PW" in selected:
            plan.append(("PW", self.phase_pw))
        if "W" in selected:
            plan.append(("W", self.phase_w))
        self.pending_phases = [name for name, _ in plan]
        try:
            for name, fn in plan:
                self.start_phase(name)
                t0 = time.perf_counter()
                print(f"[bench] {name} ...", file=sys.stderr, flush=True)
                try:
                    await fn()
                except Exception:
                    tb = traceback.format_exc()
                    self.crashes.append(f"{name}: {tb}")
                    print(f"[bench] {name} CRASHED:\n{tb}", file=sys.stderr, flush=True)
                self.phase_seconds[name] = time.perf_counter() - t0
                print(f"[bench] {name} done in {self.phase_seconds[name]:.1f} s", file=sys.stderr, flush=True)
            final_leftovers = {a: await self.count_leftovers(a) for a in SWEPT_ARMS}
            final = await self.sweep("end of run")
            after = {a: (await self.count_leftovers(a))[0] for a in SWEPT_ARMS}
        finally:
            await self.close_admin()
            with contextlib.suppress(OSError):
                for f in os.listdir(self.scratch):
                    os.unlink(os.path.join(self.scratch, f))
                os.rmdir(self.scratch)
        config = attrs.asdict(self.cfg)
        return {
            "schema": "sandbox-core-bench/1",
            "run_id": self.run_id,
            "started_utc": dt.datetime.fromtimestamp(t_start, dt.UTC).isoformat(timespec="seconds"),
            "duration_s": time.time() - t_start,
            "environment": env,
            "config": config,
            "arms": self.arm_sends,
            "create_body": c.create_body(self.run_id, "<arm>"),
            "phase_seconds": self.phase_seconds,
            "notes": self.notes,
            "crashes": self.crashes,
            "sweeps": self.sweeps,
            "loadavg_end": os.getloadavg(),
            "final_leftovers_before_sweep": {a: {"total": t, "running": r} for a, (t, r) in final_leftovers.items()},
            "final_swept": final["containers"],
            "remaining_after_final_sweep": after,
            "rows": self.rows,
        }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--quick", action="store_true", help="smoke run (~1-2 min), written to results/<date>-quick/")
    p.add_argument("--out", help="output directory (default: benchmarks/results/<YYYY-MM-DD>[-quick]/)")
    p.add_argument("--phases", default=",".join(ALL_PHASES), help=f"comma list of {','.join(ALL_PHASES)}")
    p.add_argument("--arms", default=",".join(ALL_ARMS), help=f"comma list of {','.join(ALL_ARMS)}")
    p.add_argument("--seed", type=int, default=None, help="seed of the per-round arm order (default: random)")
    p.add_argument("--no-charts", action="store_true", help="skip the PNG charts")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    arms = [a.strip() for a in args.arms.split(",") if a.strip()]
    phases = [p.strip().upper() for p in args.phases.split(",") if p.strip()]
    for a in arms:
        if a not in ALL_ARMS:
            print(f"unknown arm {a!r}; known: {', '.join(ALL_ARMS)}", file=sys.stderr)
            return 2
    for ph in phases:
        if ph not in ALL_PHASES:
            print(f"unknown phase {ph!r}; known: {', '.join(ALL_PHASES)}", file=sys.stderr)
            return 2
    if "aiodocker" not in arms:
        arms.append("aiodocker")  # every ratio is computed against raw aiodocker in the same run
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    cfg = Config.make(args.quick, arms, phases, seed)
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    out = args.out or os.path.join(HERE, "results", date + ("-quick" if args.quick else ""))
    os.makedirs(out, exist_ok=True)
    run = Run(cfg, out)
    result = asyncio.run(run.execute())

    from . import report

    failures = report.failed_phases(result)
    result["failed_phases"] = failures
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
    md = report.markdown(result, charts=not args.no_charts)
    if not args.no_charts:
        try:
            report.charts(result, out)
        except Exception as e:
            print(f"[bench] charts failed: {type(e).__name__}: {e}", file=sys.stderr)
            failures.append(f"charts: {type(e).__name__}: {e}")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(md)
    print(f"[bench] wrote {out}/results.json, summary.md ({result['duration_s']:.0f} s)", file=sys.stderr)
    if failures:
        print("[bench] FAILED phases:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0
