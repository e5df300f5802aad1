"""When the supervisor gives up (pure logic: no engine): only after the engine has not answered for the whole
give-up time; an engine that answers, even with an error, keeps it serving."""

from __future__ import annotations

from sandbox_core import exception as exc
from sandbox_core._supervisor import _Unanswered


def test_gives_up_once_the_engine_has_not_answered_for_the_whole_time() -> None:
    u = _Unanswered(after=600)
    assert not u.failed(exc.ConnectionError("refused"), now=1000)
    assert not u.failed(exc.TimeoutError("no answer in 60 s"), now=1599)
    assert u.failed(exc.ConnectionError("refused"), now=1600)


def test_an_answer_starts_the_count_again() -> None:
    u = _Unanswered(after=600)
    assert not u.failed(exc.ConnectionError("refused"), now=1000)
    u.answered()
    assert not u.failed(exc.ConnectionError("refused"), now=1500)
    assert not u.failed(exc.ConnectionError("refused"), now=2099)
    assert u.failed(exc.ConnectionError("refused"), now=2100)


def test_an_engine_refusing_something_is_no_reason_to_give_up() -> None:
    u = _Unanswered(after=0)
    for now in range(0, 3600, 10):
        assert not u.failed(exc.ServiceError("unable to remove filesystem: device or resource busy"), now=now)
        assert not u.failed(exc.ConflictError("removal already in progress"), now=now + 5)
    # and a refusal between two unanswered passes is an answer: the count starts again
    u = _Unanswered(after=600)
    assert not u.failed(exc.ConnectionError("refused"), now=0)
    assert not u.failed(exc.ServiceError("busy"), now=300)
    assert not u.failed(exc.ConnectionError("refused"), now=700)
    assert u.failed(exc.ConnectionError("refused"), now=1300)
