"""A lab for network-policy tests on the real engine.

On one labelled user-defined network (IPv4 and IPv6) the lab starts three targets and a DNS server (``testdns``,
built from agent/internal/egress/testdns, answering only the names it was given and logging every question):

- ``t1``/``t2``: HTTP on 80 (a page saying T1/T2), a one-line answer on 443 (``T1-TLS``/``T2-TLS``), and on 9000
  a line (``T1-DIRECT``/``T2-DIRECT``) on a connection they then hold open;
- ``t3``: on 443 a line (``T3-HOLD``) on a connection it then holds open;
- names: ``t1.test``, ``sub.t1.test`` → t1, ``t2.test`` → t2, ``hold.test`` → t3.

``Lab.sandbox(policy)`` creates a holder (the helper forwards DNS to ``testdns``) and a sandbox-like busybox
container joined to it, hardened as ``Sandbox.create`` does (NET_RAW, MKNOD, AUDIT_WRITE dropped,
no-new-privileges, root user). Everything carries ``sandbox-core.test-run=<run id>`` and is removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import shutil
import ssl
import subprocess
import tarfile
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
import pytest_asyncio

from sandbox_core._engine import EngineAPI
from sandbox_core._engine.docker.engine import DockerEngine
from sandbox_core._engine.netholder import (
    create_holder,
    holder_exec,
    output_until,
    remove_holder,
    sandbox_labels,
    sandbox_network_mode,
    start_holder,
)
from sandbox_core._engine.netpolicy import HOLDER_IMAGE
from sandbox_core._engine.values import ContainerSpec, ExecSpec, PortBinding
from sandbox_core._netpolicy_types import NetworkPolicy
from tests.conftest import BUSYBOX, REPO, RUN_ID, TEST_RUN_LABEL, docker_engine

AGENT = Path(REPO) / "agent"
LABELS = {"sandbox-core.owner": "sandbox-core", "sandbox-core.kind": "egress-test", TEST_RUN_LABEL: RUN_ID}


def source_hash() -> str:
    """The hash scripts/build-images.sh puts on the holder image (same files, same formula)."""
    files = sorted(
        str(p.relative_to(AGENT))
        for p in [
            AGENT / "go.mod",
            *(AGENT / "cmd/sandbox-egress").rglob("*.go"),
            *(AGENT / "internal/egress").rglob("*.go"),
        ]
    )
    listing = "".join(
        f"{hashlib.sha256((AGENT / f).read_bytes()).hexdigest()}  {f}\n" for f in sorted(files, key=str.encode)
    )
    return hashlib.sha256(listing.encode()).hexdigest()[:16]


@pytest.fixture(scope="session")
def holder_image(engine: None) -> str:
    """The holder image, built from the current source (else the session stops with the command to run)."""
    proc = subprocess.run(
        ["docker", "image", "inspect", "-f", '{{index .Config.Labels "sandbox-core.source"}}', HOLDER_IMAGE],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0 or proc.stdout.strip() != source_hash():
        pytest.exit(f"{HOLDER_IMAGE} is missing or older than agent/: run scripts/build-images.sh", 2)
    return HOLDER_IMAGE


@pytest.fixture(scope="session")
def go_tools() -> Iterator[Path]:
    """A directory with the static test binaries: testdns, and sandbox-egress (for the SO_MARK attempt)."""
    go = shutil.which("go")
    if go is None:
        pytest.exit("Go is needed to build the egress test tools (Debian: apt-get install golang-go)", 2)
    with tempfile.TemporaryDirectory() as d:
        for out, pkg in (("testdns", "./internal/egress/testdns"), ("sandbox-egress", "./cmd/sandbox-egress")):
            subprocess.run(
                [go, "build", "-trimpath", "-o", f"{d}/{out}", pkg],
                cwd=AGENT,
                env={**os.environ, "CGO_ENABLED": "0"},
                check=True,
            )
        yield Path(d)


def client_hello(server_name: str) -> bytes:
    """The first flight of a real TLS client asking for ``server_name`` (what the proxy routes by)."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=server_name)
    with contextlib.suppress(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read()


@attrs.frozen
class Box:
    """A sandbox-like container and its holder."""

    sandbox: str
    holder: str


async def run(
    eng: EngineAPI, cid: str, script: str, *, stdin: bytes | None = None, timeout: float = 20
) -> tuple[int, str]:
    """Run ``sh -c script`` in ``cid``; returns (exit code, stdout+stderr)."""
    exec_id = await eng.execs.create(cid, ExecSpec(cmd=("sh", "-c", script)))
    stream = await eng.execs.start(exec_id, tty=False)
    out = bytearray()
    try:
        async with asyncio.timeout(timeout):
            if stdin is not None:
                await stream.write(stdin)
            stream.close_write()
            while (frame := await stream.read_frame()) is not None:
                out += frame[1]
    finally:
        await stream.close()
    code = await eng.execs.exit_code(exec_id)
    return (-1 if code is None else code), out.decode(errors="replace")


async def put_file(eng: EngineAPI, cid: str, path: str, data: bytes, mode: int = 0o644) -> None:
    """Write one file into a container through the archive API."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(os.path.basename(path))
        info.size, info.mode = len(data), mode
        tar.addfile(info, io.BytesIO(data))

    async def body() -> AsyncIterator[bytes]:
        yield buf.getvalue()

    await eng.archive.put(cid, os.path.dirname(path).encode(), body())


async def read_logs(eng: DockerEngine, cid: str) -> str:
    """A container's whole output so far (stdout and stderr, demultiplexed), read raw without following."""
    out = bytearray()
    params = {"stdout": "1", "stderr": "1"}
    resp = await eng.client.open_stream("GET", f"containers/{cid}/logs", "read logs", params=params)
    try:
        while True:
            try:
                head = await resp.content.readexactly(8)
                out += await resp.content.readexactly(int.from_bytes(head[4:], "big"))
            except asyncio.IncompleteReadError:
                return out.decode(errors="replace")
    finally:
        resp.release()


class Lab:
    """The network, the targets, the DNS server, and the sandboxes the tests make."""

    def __init__(
        self, eng: DockerEngine, network: str, ips: Mapping[str, str], target: Mapping[str, str], tools: Path
    ) -> None:
        self.eng = eng
        self.target = dict(target)
        self.dns = self.target["dns"]
        self.network = network
        self.ip = dict(ips)
        self.tools = tools
        self.boxes: list[Box] = []

    async def sandbox(
        self,
        policy: NetworkPolicy,
        *,
        runtime: str | None = None,
        ports: Sequence[PortBinding] = (),
        cmd: Sequence[str] = ("sleep", "600"),
    ) -> Box:
        sid = f"sb-egress-{uuid.uuid4().hex[:10]}"
        holder = await create_holder(
            self.eng, sid, policy, network=self.network, ports=ports, dns_upstream=[self.ip["dns"]], labels=LABELS
        )
        try:
            started = asyncio.ensure_future(start_holder(self.eng, holder))
            spec = ContainerSpec(
                image=BUSYBOX,
                cmd=tuple(cmd),
                labels={**LABELS, **sandbox_labels(holder), "sandbox-core.sandbox-id": sid},
                open_stdin=False,
                cap_drop=("NET_RAW", "MKNOD", "AUDIT_WRITE"),
                pids_limit=256,
                runtime=runtime,
                network_mode=sandbox_network_mode(holder),
            )
            box = Box(sandbox=await self.eng.containers.create(spec), holder=holder)
            self.boxes.append(box)
            await started
            await self.eng.containers.start(box.sandbox)
        except BaseException:
            with contextlib.suppress(Exception):
                await started
            await remove_holder(self.eng, holder)
            raise
        return box

    async def sh(self, box: Box, script: str, **kw: Any) -> tuple[int, str]:
        return await run(self.eng, box.sandbox, script, **kw)

    async def remove(self, box: Box) -> None:
        await self.eng.containers.remove(box.sandbox)
        await remove_holder(self.eng, box.holder)
        with contextlib.suppress(ValueError):
            self.boxes.remove(box)

    async def address(self, box: Box) -> str:
        """The sandbox's address on the lab network (its holder's)."""
        endpoint = (await self.eng.containers.inspect(box.holder)).endpoint(self.network)
        assert endpoint is not None
        return endpoint.ip_address

    async def fetch_published(self, box: Box, port: int) -> str:
        """GET / through the host port published for ``port`` (on 127.0.0.1), once the server answers."""
        info = await self.eng.containers.inspect(box.holder)
        host_port = next(p.host_port for p in info.ports if p.container_port == port and p.protocol == "tcp")
        last: Exception | None = None
        for _ in range(50):  # the server in the sandbox may still be starting: the port accepts before it listens
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", host_port)
                writer.write(b"GET / HTTP/1.0\r\n\r\n")
                data = await asyncio.wait_for(reader.read(), 5)
                writer.close()
                if data:
                    return data.decode(errors="replace")
            except OSError as e:
                last = e
            await asyncio.sleep(0.1)
        raise AssertionError(f"nothing answered on 127.0.0.1:{host_port}: {last}")

    async def holder_tool(self, box: Box, argv: Sequence[str]) -> tuple[int, str]:
        """Run a tool of the holder image (no shell there) inside the holder."""
        return await holder_exec(self.eng, box.holder, argv)

    async def dns_log(self) -> str:
        """Every question the lab's DNS server has received so far."""
        return await read_logs(self.eng, self.dns)


async def _start(eng: EngineAPI, name: str, network: str, script: Sequence[str], files: Mapping[str, Path] = {}) -> str:
    spec = ContainerSpec(
        image=BUSYBOX,
        cmd=tuple(script),
        labels=LABELS,
        network_mode=network,
        open_stdin=False,
        no_new_privileges=False,
    )
    cid = await eng.containers.create(spec, name)
    try:
        for dest, src in files.items():
            await put_file(eng, cid, dest, src.read_bytes(), 0o755)
        await eng.containers.start(cid)
    except BaseException:
        await eng.containers.remove(cid)
        raise
    return cid


def _serve(text: str, port: int, hold: bool = False) -> str:
    after = "; sleep 300" if hold else ""
    return f"nc -ll -p {port} -e sh -c 'echo {text}{after}' &"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def lab(holder_image: str, go_tools: Path) -> AsyncIterator[Lab]:
    eng = await docker_engine()
    tag = uuid.uuid4().hex[:8]
    network = f"sandbox-core-egress-test-{tag}"
    v6 = f"fd5c:{uuid.uuid4().hex[:4]}:{uuid.uuid4().hex[:4]}::/64"
    body = {
        "Name": network,
        "Driver": "bridge",
        "Labels": LABELS,
        "EnableIPv6": True,
        "IPAM": {"Config": [{"Subnet": v6}]},
    }
    await eng.client.request_json("POST", "networks/create", "create lab network", body=body)
    made: list[str] = []
    try:
        ips: dict[str, str] = {}
        for name, text in (("t1", "T1"), ("t2", "T2")):
            script = f"mkdir -p /w && echo {text} > /w/index.html && httpd -p 80 -h /w && {_serve(text + '-TLS', 443)}"
            script += f" {_serve(text + '-DIRECT', 9000, hold=True)} wait"
            made.append(await _start(eng, f"egress-{tag}-{name}", network, ["sh", "-c", script]))
        script = f"{_serve('T3-HOLD', 443, hold=True)} wait"
        made.append(await _start(eng, f"egress-{tag}-t3", network, ["sh", "-c", script]))
        for name, cid in zip(("t1", "t2", "t3"), made, strict=True):
            endpoint = (await eng.containers.inspect(cid)).endpoint(network)
            assert endpoint is not None
            ips[name], ips[f"{name}-v6"] = endpoint.ip_address, endpoint.ipv6_address
        names = [f"t1.test={ips['t1']}", f"sub.t1.test={ips['t1']}", f"t2.test={ips['t2']}", f"hold.test={ips['t3']}"]
        dns = await _start(eng, f"egress-{tag}-dns", network, ["/testdns", *names], {"/testdns": go_tools / "testdns"})
        made.append(dns)
        endpoint = (await eng.containers.inspect(dns)).endpoint(network)
        assert endpoint is not None
        ips["dns"] = endpoint.ip_address
        ready, _ = await output_until(eng, dns, "testdns: ready", 20)
        assert ready, "the lab's DNS server did not start"
        lab = Lab(eng, network, ips, dict(zip(("t1", "t2", "t3", "dns"), made, strict=True)), go_tools)
        yield lab
        for box in list(lab.boxes):
            await lab.remove(box)
    finally:
        for cid in made:
            await eng.containers.remove(cid)
        await eng.networks.remove(network)


# ------------------------------------------------------------------------ targets for sandboxes made by the public API


@attrs.frozen
class Targets:
    """Targets on the engine's default bridge, where ``Sandbox.create`` puts sandboxes (and their holders): ``t1``/
    ``t2``/``t3`` as in the lab, and ``dns`` serving ``t1.test``, ``sub.t1.test``, ``t2.test``, ``hold.test``."""

    eng: DockerEngine
    ip: Mapping[str, str]
    container: Mapping[str, str]
    gateway: str

    async def dns_log(self) -> str:
        return await read_logs(self.eng, self.container["dns"])


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def targets(holder_image: str, go_tools: Path) -> AsyncIterator[Targets]:
    eng = await docker_engine()
    tag = uuid.uuid4().hex[:8]
    made: dict[str, str] = {}
    try:
        for name, text in (("t1", "T1"), ("t2", "T2")):
            script = f"mkdir -p /w && echo {text} > /w/index.html && httpd -p 80 -h /w && {_serve(text + '-TLS', 443)}"
            script += f" {_serve(text + '-DIRECT', 9000, hold=True)} wait"
            made[name] = await _start(eng, f"egress-{tag}-{name}", "bridge", ["sh", "-c", script])
        hold = ["sh", "-c", f"{_serve('T3-HOLD', 443, hold=True)} wait"]
        made["t3"] = await _start(eng, f"egress-{tag}-t3", "bridge", hold)
        ips: dict[str, str] = {}
        for name, cid in made.items():
            endpoint = (await eng.containers.inspect(cid)).endpoint("bridge")
            assert endpoint is not None
            ips[name] = endpoint.ip_address
        names = [f"t1.test={ips['t1']}", f"sub.t1.test={ips['t1']}", f"t2.test={ips['t2']}", f"hold.test={ips['t3']}"]
        made["dns"] = await _start(
            eng, f"egress-{tag}-dns", "bridge", ["/testdns", *names], {"/testdns": go_tools / "testdns"}
        )
        endpoint = (await eng.containers.inspect(made["dns"])).endpoint("bridge")
        assert endpoint is not None
        ips["dns"] = endpoint.ip_address
        ready, _ = await output_until(eng, made["dns"], "testdns: ready", 20)
        assert ready, "the DNS server did not start"
        network = await eng.networks.inspect("bridge")
        assert network is not None
        gateway = next(p.gateway for p in network.pools if "." in p.subnet)
        yield Targets(eng, ips, made, gateway)
    finally:
        for cid in made.values():
            await eng.containers.remove(cid)


IPTABLES_IMAGE = f"sandbox-core-test/netroot:{RUN_ID}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def iptables_image(holder_image: str) -> AsyncIterator[str]:
    """busybox plus the holder image's iptables (and its libraries): root in a sandbox made from it can try."""
    eng = await docker_engine()
    dockerfile = "FROM sandbox-core/busybox:1\n" + "".join(
        f"COPY --from={holder_image} {d} {d}\n" for d in ("/usr/sbin/", "/usr/lib/", "/lib/", "/lib64/")
    )
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile.encode()))

    async def context() -> AsyncIterator[bytes]:
        yield buf.getvalue()

    await eng.images.build(context(), dockerfile="Dockerfile", tag=IPTABLES_IMAGE, labels={TEST_RUN_LABEL: RUN_ID})
    try:
        yield IPTABLES_IMAGE
    finally:
        await eng.images.remove(IPTABLES_IMAGE, force=True)
