"""Volume arguments checked without an engine: names, constructors, versions."""

from __future__ import annotations

import pytest

import sandbox_core as sc
from sandbox_core import exception as exc


@pytest.mark.parametrize("bad", ["", "a b", "x" * 65, "ap-" + "a" * 22, "slash/name"])
def test_from_name_checks_the_name_with_modals_message(bad: str) -> None:
    with pytest.raises(exc.InvalidError, match=r"Invalid Volume name: '.*'\.\n\nNames may contain only alphanumeric"):
        sc.Volume.from_name(bad)


def test_constructors_reject_what_does_not_exist_locally() -> None:
    with pytest.raises(exc.InvalidError, match="Class Volume has no constructor"):
        sc.Volume()
    with pytest.raises(exc.InvalidError, match="environment_name is not supported"):
        sc.Volume.from_name("v", environment_name="dev")
    with pytest.raises(exc.InvalidError, match="does not start with vo"):
        sc.Volume.from_id("sb-123")
    with pytest.raises(exc.InvalidError, match="VolumeFS version must be either 1 or 2"):
        sc.Volume.ephemeral(version=3)
