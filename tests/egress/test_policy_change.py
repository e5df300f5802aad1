"""Changing a running sandbox's policy, many sandboxes at once, failures, and cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import attrs
import pytest

from sandbox_core import exception as exc
from sandbox_core._engine import netholder
from sandbox_core._engine.api import ExecStream
from sandbox_core._engine.netholder import (
    create_holder,
    find_holders,
    holder_exec,
    holder_spec,
    network_facts,
    orphan_holders,
    remove_holder,
    remove_holders_of,
    replace_egress,
    replace_policy,
    start_holder,
)
from sandbox_core._engine.netpolicy import helper_config
from sandbox_core._engine.values import ExecSpec
from sandbox_core._netpolicy_types import EgressPolicy, NetworkPolicy
from tests.conftest import RUN_ID, TEST_RUN_LABEL

from .conftest import LABELS, Box, Lab, client_hello
from .test_enforcement import allow, http

pytestmark = pytest.mark.asyncio(loop_scope="session")


class Held:
    """A command in the sandbox whose stdin stays open: it runs until its connection ends."""

    def __init__(self, stream: ExecStream) -> None:
        self.stream = stream
        self.out = bytearray()

    @classmethod
    async def open(cls, lab: Lab, box: Box, argv: list[str], stdin: bytes = b"") -> Held:
        exec_id = await lab.eng.execs.create(box.sandbox, ExecSpec(cmd=tuple(argv)))
        held = cls(await lab.eng.execs.start(exec_id, tty=False))
        if stdin:
            await held.stream.write(stdin)
        return held

    async def read_until(self, text: bytes, timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while text not in self.out:
                frame = await self.stream.read_frame()
                assert frame is not None, f"ended before {text!r}: {bytes(self.out)!r}"
                self.out += frame[1]

    async def ended(self, timeout: float) -> bool:
        """Whether the command ends (its output stream reaches EOF) within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                while (frame := await self.stream.read_frame()) is not None:
                    self.out += frame[1]
        except TimeoutError:
            return False
        return True

    async def close(self) -> None:
        await self.stream.close()


@contextlib.asynccontextmanager
async def both_held(lab: Lab, box: Box) -> AsyncIterator[tuple[Held, Held]]:
    """One connection through the proxy (TLS to hold.test, i.e. t3) and one direct (t2:9000), both held open."""
    proxied = await Held.open(lab, box, ["nc", "hold.test", "443"], client_hello("hold.test"))
    try:
        direct = await Held.open(lab, box, ["nc", lab.ip["t2"], "9000"])
        try:
            await proxied.read_until(b"T3-HOLD")
            await direct.read_until(b"T2-DIRECT")
            yield proxied, direct
        finally:
            await direct.close()
    finally:
        await proxied.close()


async def test_policy_change_cuts_connections_it_no_longer_allows(lab: Lab) -> None:
    box = await lab.sandbox(allow([f"{lab.ip['t2']}/32"], ["hold.test"]))
    async with both_held(lab, box) as (proxied, direct):
        # A wider policy keeps both connections.
        wider = allow([f"{lab.ip['t2']}/32", f"{lab.ip['t1']}/32"], ["hold.test", "t1.test"])
        res = await replace_policy(lab.eng, box.holder, wider, network=lab.network)
        assert (res.flows_cut, res.sockets_cut) == (0, 0)
        assert not await proxied.ended(0.5) and not await direct.ended(0.1)
        _, out = await lab.sh(box, http(lab.ip["t1"]))
        assert "T1" in out
        # Nothing allowed: both end at once, and nothing new gets out.
        res = await replace_policy(lab.eng, box.holder, allow([]), network=lab.network)
        assert (res.flows_cut, res.sockets_cut) == (1, 1)
        assert await proxied.ended(5) and await direct.ended(5)
        _, out = await lab.sh(box, f"{http(lab.ip['t1'])}; {http(lab.ip['t2'], port=9000)}; nslookup hold.test")
        assert out.count("Connection refused") == 2 and "NXDOMAIN" in out
    # OPEN again (Modal: no arguments), here without isolation: the allowlist is gone.
    await replace_policy(lab.eng, box.holder, NetworkPolicy(isolate=False), network=lab.network)
    _, out = await lab.sh(box, f"{http(lab.ip['t2'])}; nslookup t2.test")
    assert "T2" in out and lab.ip["t2"] in out
    await lab.remove(box)


async def test_domain_removed_from_the_list_cuts_its_proxied_connection_only(lab: Lab) -> None:
    box = await lab.sandbox(allow([f"{lab.ip['t2']}/32"], ["hold.test"]))
    async with both_held(lab, box) as (proxied, direct):
        # Only the egress part is given: isolation, network and DNS upstream are read back from the holder.
        res = await replace_egress(lab.eng, box.holder, EgressPolicy.build([f"{lab.ip['t2']}/32"], []))
        assert (res.flows_cut, res.sockets_cut) == (1, 0)
        assert await proxied.ended(5)
        assert not await direct.ended(0.5), "the direct connection to an allowed CIDR must survive"
    await lab.remove(box)


async def test_twenty_sandboxes_with_different_policies_at_once(lab: Lab) -> None:
    policies = [
        allow([f"{lab.ip['t1']}/32"]) if i % 3 == 0 else allow([f"{lab.ip['t2']}/32"]) if i % 3 == 1 else allow([])
        for i in range(20)
    ]
    boxes = await asyncio.gather(*(lab.sandbox(p) for p in policies))
    try:
        outs = await asyncio.gather(
            *(lab.sh(b, f"{http(lab.ip['t1'])}; {http(lab.ip['t2'])}", timeout=60) for b in boxes)
        )
        for i, (_, out) in enumerate(outs):
            expect = {0: ["T1"], 1: ["T2"], 2: []}[i % 3]
            got = [t for t in ("T1", "T2") if f"\n{t}\n" in out]
            assert got == expect, f"sandbox {i}: {out}"
    finally:
        await asyncio.gather(*(lab.remove(b) for b in boxes))
    left = {c.id for c in await find_holders(lab.eng, {TEST_RUN_LABEL: RUN_ID})}
    assert not left & {b.holder for b in boxes}


async def test_a_holder_that_cannot_install_rules_is_an_invalid_error(lab: Lab) -> None:
    """No CAP_NET_ADMIN (as on an engine that refuses it) means no sandbox, with the helper's reason."""
    facts = await network_facts(lab.eng, lab.network)
    spec = holder_spec("sb-nocap", helper_config(NetworkPolicy(), facts, initial=True), labels=LABELS)
    holder = await lab.eng.containers.create(attrs.evolve(spec, cap_add=()))
    try:
        with pytest.raises(exc.InvalidError, match=r"cannot enforce the sandbox's network policy: .*iptables-restore"):
            await start_holder(lab.eng, holder)
    finally:
        await remove_holder(lab.eng, holder)


async def test_a_missing_holder_image_is_an_invalid_error(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netholder, "HOLDER_IMAGE", "sandbox-core/netpolicy:does-not-exist")
    with pytest.raises(exc.InvalidError, match=r"scripts/build-images\.sh"):
        await create_holder(lab.eng, "sb-noimage", NetworkPolicy(), network=lab.network, labels=LABELS)
    assert not await find_holders(lab.eng, {"sandbox-core.holder-of": "sb-noimage"})


async def test_a_loopback_resolver_is_refused_rather_than_looped(lab: Lab) -> None:
    holder = await create_holder(
        lab.eng, "sb-loop", NetworkPolicy(), network=lab.network, dns_upstream=["127.0.0.11"], labels=LABELS
    )
    try:
        with pytest.raises(exc.InvalidError, match="loopback address"):
            await start_holder(lab.eng, holder)
    finally:
        await remove_holders_of(lab.eng, "sb-loop")


async def test_replace_on_a_stopped_holder_is_a_conflict_and_bad_config_an_internal_error(lab: Lab) -> None:
    box = await lab.sandbox(allow([]))
    code, out = await holder_exec(lab.eng, box.holder, ["/sandbox-egress", "set", json.dumps({"mark": 1})])
    assert code == 1 and "port 0 out of range" in out
    await lab.eng.containers.kill(box.holder)
    with pytest.raises(exc.ConflictError):
        await replace_policy(lab.eng, box.holder, allow([]), network=lab.network)
    await lab.remove(box)


async def test_orphans_are_found_and_nothing_is_left(lab: Lab) -> None:
    box = await lab.sandbox(allow([]))
    await lab.eng.containers.remove(box.sandbox)  # the sandbox is gone, its holder is not
    assert box.holder not in await orphan_holders(lab.eng, set()), "too young: its create may be under way"
    orphans = await orphan_holders(lab.eng, set(), min_age=0)
    assert box.holder in orphans
    sandbox_id = (await lab.eng.containers.inspect(box.holder)).labels["sandbox-core.holder-of"]
    assert await remove_holders_of(lab.eng, sandbox_id) == 1
    with contextlib.suppress(ValueError):
        lab.boxes.remove(box)
    mine = await find_holders(lab.eng, {TEST_RUN_LABEL: RUN_ID})
    assert [c.id for c in mine if c.id == box.holder] == []


async def test_nothing_outlives_a_removed_sandbox(lab: Lab) -> None:
    box = await lab.sandbox(NetworkPolicy(egress=EgressPolicy.build([], ["t1.test"])))
    pid = (await lab.eng.containers.inspect(box.holder)).state.pid
    await lab.remove(box)
    for cid in (box.sandbox, box.holder):
        with pytest.raises(exc.NotFoundError):
            await lab.eng.containers.inspect(cid)
    # The rules lived in the namespace, which went with its last process: nothing on the host to clean.
    with pytest.raises(FileNotFoundError):
        open(f"/proc/{pid}/ns/net").close()
