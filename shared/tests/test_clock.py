"""The service clock: real time unless an operator moved it, and only where that is allowed."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from roadbranch_shared.clock import Clock, TimeSource

MOMENT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_an_unmoved_clock_tells_real_time() -> None:
    before = datetime.now(UTC)
    assert before <= Clock().now() <= datetime.now(UTC)


def test_a_clock_that_is_not_controllable_refuses_to_move() -> None:
    clock = Clock()
    with pytest.raises(PermissionError):
        clock.set(MOMENT)
    with pytest.raises(PermissionError):
        clock.advance(60)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_running_clock_keeps_running_from_the_moment_set() -> None:
    clock = Clock(controllable=True)
    answered = clock.set(MOMENT)
    assert MOMENT <= answered < MOMENT + timedelta(seconds=5)
    assert clock.offset.total_seconds() < 0  # MOMENT lies before the real time
    assert MOMENT + timedelta(hours=3) <= clock.advance(3 * 3600) < MOMENT + timedelta(hours=3, seconds=5)


def test_a_held_clock_stays_at_the_moment_set_until_set_again() -> None:
    clock = Clock(controllable=True, runs=False)
    assert clock.set(MOMENT.astimezone(timezone(timedelta(hours=8)))) == MOMENT
    assert clock.now() == MOMENT
    assert clock.now().tzinfo is UTC
    assert clock.advance(60) == MOMENT + timedelta(minutes=1)
    clock.set(None)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_a_fixed_clock_of_a_test_is_a_time_source() -> None:
    class Fixed:
        def now(self) -> datetime:
            return MOMENT

    sources: list[TimeSource] = [Fixed(), Clock()]  # mypy checks both satisfy the protocol
    assert [s.now() == MOMENT for s in sources] == [True, False]
