"""Whom notify tells as an organisation's secretary on a day, from its secretary seats (no servers)."""

from __future__ import annotations

from datetime import date

from notify.domain.seats import secretary_on


def seat(person_id: str, term_start: str, term_end: str | None = None) -> dict[str, str | None]:
    return {"person_id": person_id, "term_start": term_start, "term_end": term_end}


def test_an_ended_secretary_counts_up_to_his_last_day_and_his_successor_after() -> None:
    seats = [seat("old", "2026-01-01", "2026-11-30"), seat("new", "2026-12-01")]
    assert secretary_on(seats, date(2026, 11, 30)) == "old"
    assert secretary_on(seats, date(2026, 12, 1)) == "new"


def test_with_nobody_in_office_a_secretary_seated_ahead_of_his_term_hears() -> None:
    seats = [seat("old", "2026-01-01", "2026-11-30"), seat("new", "2027-01-01")]
    assert secretary_on(seats, date(2026, 12, 22)) == "new"
    assert secretary_on([seat("only", "2027-01-01")], date(2026, 12, 22)) == "only"


def test_a_secretary_whose_term_ended_is_nobody_to_tell() -> None:
    assert secretary_on([seat("old", "2026-01-01", "2026-11-30")], date(2026, 12, 1)) is None
    assert secretary_on([], date(2026, 12, 1)) is None


def test_the_secretary_in_office_goes_before_one_still_to_start() -> None:
    seats = [seat("next", "2027-01-01"), seat("now", "2026-01-01", "2026-12-31")]
    assert secretary_on(seats, date(2026, 12, 22)) == "now"
