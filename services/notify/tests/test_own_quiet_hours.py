"""When a non-urgent message to a driver may go: his own quiet hours, none, or the county's."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from notify.domain.timing import QuietHours, own_quiet_hours

CST = timezone(timedelta(hours=8))
COUNTY = QuietHours(time(22, 0), time(7, 0), "Asia/Shanghai")


def at(hour: int, minute: int = 0, day: int = 10) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=CST)


def test_his_own_window_holds_instead_of_the_countys() -> None:
    own = own_quiet_hours(COUNTY, {"mode": "own", "start": "12:00", "end": "15:00"})
    assert own.release(at(13)) == at(15), "inside his window: waits for its end"
    assert own.release(at(23)) == at(23), "the county's night is not his quiet time"


def test_an_overnight_window_of_his_own_ends_the_next_morning() -> None:
    own = own_quiet_hours(COUNTY, {"mode": "own", "start": "20:30", "end": "05:30"})
    assert own.release(at(21)) == at(5, 30, day=11)
    assert own.release(at(5)) == at(5, 30)
    assert own.release(at(6)) == at(6), "the county would still hold it until 07:00"


def test_off_means_any_hour_and_county_or_nothing_means_the_county() -> None:
    off = own_quiet_hours(COUNTY, {"mode": "off", "start": None, "end": None})
    assert off.release(at(3)) == at(3)
    for choice in (None, {"mode": "county", "start": None, "end": None}, {"mode": "weekends"}):
        assert own_quiet_hours(COUNTY, choice).release(at(23)) == at(7, day=11)


def test_a_window_that_does_not_parse_keeps_the_countys_night_quiet() -> None:
    broken = own_quiet_hours(COUNTY, {"mode": "own", "start": "25:00", "end": None})
    assert broken.release(at(23)) == at(7, day=11)
