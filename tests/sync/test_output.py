"""``enable_output()``: the process-wide output switch, in both packages (pure logic, no Docker)."""

from __future__ import annotations

import asyncio
import re
import threading

import pytest

import sandbox_core
import sandbox_core.output
import sandbox_core_sync
import sandbox_core_sync.output
from sandbox_core import _output
from sandbox_core.exception import InvalidError
from sandbox_core_sync import _runtime as rt


def test_one_object_under_every_name() -> None:
    assert sandbox_core.enable_output is sandbox_core.output.enable_output
    assert sandbox_core_sync.enable_output is sandbox_core.enable_output
    assert sandbox_core_sync.output.enable_output is sandbox_core.enable_output


def test_blocks_nest_close_in_any_order_and_disable_output_when_the_last_closes() -> None:
    assert _output.current() is None
    outer = sandbox_core.enable_output()
    inner = sandbox_core.enable_output(show_progress=False, show_timestamps=True)
    outer.__enter__()
    assert _output.current() == _output.Output(show_progress=True, show_timestamps=False)
    inner.__enter__()
    assert _output.current() == _output.Output(show_progress=False, show_timestamps=True)
    outer.__exit__(None, None, None)  # concurrent tasks may close them out of order
    assert _output.current() == _output.Output(show_progress=False, show_timestamps=True)
    inner.__exit__(None, None, None)
    assert _output.current() is None


def test_an_exception_in_the_block_still_closes_it() -> None:
    with pytest.raises(ValueError, match="boom"), sandbox_core_sync.enable_output():
        raise ValueError("boom")
    assert _output.current() is None


def test_the_switch_is_process_wide_including_the_facade_loop_and_other_threads() -> None:
    seen: list[object] = []
    with sandbox_core_sync.enable_output():
        assert rt.call_sync(_output.current) == _output.Output()  # where facade calls run
        t = threading.Thread(target=lambda: seen.append(_output.current()))
        t.start()
        t.join()
    assert seen == [_output.Output()]
    assert rt.call_sync(_output.current) is None


def test_usable_in_async_code() -> None:
    async def main() -> _output.Output | None:
        with sandbox_core.enable_output():
            await asyncio.sleep(0)
            return _output.current()

    assert asyncio.run(main()) == _output.Output()


def test_progress_and_logs_go_to_stderr_as_whole_lines(capsys: pytest.CaptureFixture[str]) -> None:
    with sandbox_core.enable_output():
        out = _output.current()
        assert out is not None
        out.progress("Building image im-1")
        out.log("step 1\nstep 2")
    with sandbox_core.enable_output(show_progress=False):
        out = _output.current()
        assert out is not None
        out.progress("not shown")
        out.log("log still shown\n")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "Building image im-1\nstep 1\nstep 2\nlog still shown\n"


def test_timestamps_prefix_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    with sandbox_core.enable_output(show_timestamps=True):
        out = _output.current()
        assert out is not None
        out.log("a\nb\n")
    lines = capsys.readouterr().err.splitlines()
    assert [re.sub(r"^\d\d:\d\d:\d\d\.\d{3} ", "", line) for line in lines] == ["a", "b"]
    assert all(re.match(r"^\d\d:\d\d:\d\d\.\d{3} ", line) for line in lines)


def test_concurrent_writers_never_interleave_within_a_line(capsys: pytest.CaptureFixture[str]) -> None:
    def write(i: int) -> None:
        out = _output.current()
        assert out is not None
        for n in range(200):
            out.log(f"writer {i} line {n} " + "x" * 200 + "\n" + f"writer {i} tail {n}")

    with sandbox_core.enable_output():
        threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 4 * 200 * 2
    assert all(re.fullmatch(r"writer \d line \d+ x{200}|writer \d tail \d+", line) for line in lines)


@pytest.mark.parametrize("kwargs", [{"show_progress": "yes"}, {"show_timestamps": 1}])
def test_bad_arguments_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidError, match="must be True or False"), sandbox_core.enable_output(**kwargs):  # type: ignore[arg-type]
        pass
    assert _output.current() is None
