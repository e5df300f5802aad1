"""Self-tests of the harness's pure helpers: ``.venv/bin/pytest benchmarks/test_common.py``."""

from __future__ import annotations

import io
import os
import random
import tarfile
from pathlib import Path

import pytest

from . import common as c


def _feed_in_random_chunks(sink: c.TarFileSink, data: bytes, seed: int) -> None:
    rng = random.Random(seed)
    i = 0
    while i < len(data):
        k = rng.choice([1, 7, 511, 512, 513, 4096, 1 << 20])
        sink.feed(data[i : i + k])
        i += k
    sink.close()


def test_tar_chunks_round_trip_through_sink(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    payload = os.urandom(3 * 1024 * 1024 + 123)
    src.write_bytes(payload)
    tar = b"".join(c.tar_chunks(str(src), "up.bin"))
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        assert tf.extractfile("up.bin").read() == payload  # type: ignore[union-attr]
    for seed in range(3):
        out = tmp_path / f"out{seed}.bin"
        sink = c.TarFileSink(str(out))
        _feed_in_random_chunks(sink, tar, seed)
        assert out.read_bytes() == payload
        assert sink.written == len(payload)


def test_sink_skips_pax_and_directory_members(tmp_path: Path) -> None:
    buf = io.BytesIO()
    payload = b"x" * 1000
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        d = tarfile.TarInfo("dir")
        d.type = tarfile.DIRTYPE
        tf.addfile(d)
        info = tarfile.TarInfo("dir/" + "n" * 150)  # long name: forces a PAX header
        info.size = len(payload)
        info.pax_headers = {"comment": "ü" * 600}
        tf.addfile(info, io.BytesIO(payload))
    out = tmp_path / "out.bin"
    sink = c.TarFileSink(str(out))
    _feed_in_random_chunks(sink, buf.getvalue(), 1)
    assert out.read_bytes() == payload


def test_sink_rejects_truncated_stream(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(b"y" * 5000)
    tar = b"".join(c.tar_chunks(str(src), "f"))
    sink = c.TarFileSink(str(tmp_path / "out.bin"))
    sink.feed(tar[:2000])
    with pytest.raises(ValueError, match="ended before"):
        sink.close()


def test_percentile_and_summary() -> None:
    vals = [float(x) for x in range(1, 101)]
    assert c.percentile(vals, 95) == 95.0
    assert c.percentile(vals, 100) == 100.0
    assert c.percentile([3.0], 95) == 3.0
    s = c.summarize(vals)
    assert (s["median"], s["min"], s["max"], s["count"]) == (50.5, 1.0, 100.0, 100)
