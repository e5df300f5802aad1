"""The engine layer's input values validate where they are built, and the Docker implementation spells them as the
Engine API expects (no engine needed)."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox_core._engine.docker.containers import create_body
from sandbox_core._engine.docker.parse import image_summary, network_info, stream_message
from sandbox_core._engine.values import ContainerSpec, Mount, PortBinding, split_image_ref


def spec(**kw: Any) -> ContainerSpec:
    return ContainerSpec(image="img", labels={}, **kw)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"network_mode": "container:"}, "needs the container's ref"),
        ({"network_mode": ""}, "non-empty"),
        ({"network_disabled": True, "network_mode": "bridge"}, "conflicts"),
        ({"network_mode": "none", "ports": [PortBinding(80)]}, "cannot publish ports"),
        ({"network_mode": "container:abc", "dns": ["192.0.2.1"]}, "set DNS servers"),
        ({"tmpfs": {"run": ""}}, "absolute"),
        ({"memory_swap_bytes": 1 << 20}, "needs memory_bytes"),
        ({"memory_bytes": 2 << 20, "memory_swap_bytes": 1 << 20}, "at least as large"),
        ({"cap_add": ["net_admin"]}, "capability name"),
        ({"log_max_files": 0}, "log_max_files"),
    ],
)
def test_container_spec_refuses_contradictions(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec(**kw)


def test_mounts_and_ports_validate() -> None:
    with pytest.raises(ValueError, match="absolute"):
        Mount(type="volume", source="v", target="relative")
    with pytest.raises(ValueError, match="absolute host path"):
        Mount(type="bind", source="rel", target="/x")
    with pytest.raises(ValueError, match="volume mounts only"):
        Mount(type="bind", source="/h", target="/x", no_copy=True)
    with pytest.raises(ValueError, match="must be in"):
        Mount(type="tmpfs", source="x", target="/x")
    with pytest.raises(ValueError, match="port number"):
        PortBinding(70000)
    with pytest.raises(ValueError, match="1-65535"):
        PortBinding(0)
    with pytest.raises(ValueError, match="must be in"):
        PortBinding(80, protocol="icmp")


def test_create_body_spells_every_field() -> None:
    body = create_body(
        spec(
            cmd=("run",),
            entrypoint=("/bin/x",),
            network_mode="lab",
            ports=[PortBinding(80, host_ip="127.0.0.1"), PortBinding(80, host_port=8080), PortBinding(53, "udp")],
            dns=["192.0.2.53"],
            mounts=[Mount(type="volume", source="v", target="/v", read_only=True, no_copy=True)],
            tmpfs={"/run": "size=1m"},
            read_only_rootfs=True,
            runtime="runsc",
            memory_bytes=1 << 20,
            memory_swap_bytes=1 << 20,
            cap_add=["NET_ADMIN"],
            log_max_size="1m",
            log_max_files=1,
        )
    )
    host = body["HostConfig"]
    assert body["Entrypoint"] == ["/bin/x"] and body["Cmd"] == ["run"]
    assert host["NetworkMode"] == "lab" and host["Dns"] == ["192.0.2.53"] and host["Runtime"] == "runsc"
    assert host["PortBindings"] == {
        "80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}, {"HostIp": "", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "", "HostPort": ""}],
    }
    assert set(body["ExposedPorts"]) == {"80/tcp", "53/udp"}
    assert host["Mounts"] == [
        {"Type": "volume", "Source": "v", "Target": "/v", "ReadOnly": True, "VolumeOptions": {"NoCopy": True}}
    ]
    assert host["Tmpfs"] == {"/run": "size=1m"} and host["ReadonlyRootfs"] is True
    assert host["MemorySwap"] == host["Memory"] == 1 << 20 and host["CapAdd"] == ["NET_ADMIN"]
    assert host["LogConfig"]["Config"] == {"max-size": "1m", "max-file": "1"}
    plain = create_body(spec())["HostConfig"]
    assert not {"NetworkMode", "Dns", "Runtime", "Mounts", "PortBindings", "CapAdd", "Tmpfs"} & set(plain)


def test_parsers_of_listings_and_build_messages() -> None:
    summary = image_summary({"Id": "sha256:1", "RepoTags": ["<none>:<none>"], "Size": 5, "Created": 7})
    assert summary.repo_tags == () and summary.size == 5 and summary.created_at == 7.0
    net = network_info({"Id": "n", "IPAM": {"Config": [{"Subnet": "10.0.0.0/24", "Gateway": "10.0.0.1"}, {}]}})
    assert [(p.subnet, p.gateway) for p in net.pools] == [("10.0.0.0/24", "10.0.0.1")]
    assert stream_message({"errorDetail": {"message": "boom "}}).error == "boom"
    assert stream_message({"aux": {"ID": "sha256:2"}}).image_id == "sha256:2"
    msg = stream_message({"status": "Downloading", "id": "abc", "progress": "[=> ]"})
    assert (msg.status, msg.layer, msg.progress, msg.error) == ("Downloading", "abc", "[=> ]", None)


def test_image_references_split_into_repo_and_tag() -> None:
    assert split_image_ref("busybox") == ("busybox", "latest")
    assert split_image_ref("localhost:5000/a/b:1") == ("localhost:5000/a/b", "1")
    assert split_image_ref("a@sha256:ff") == ("a", "sha256:ff")
