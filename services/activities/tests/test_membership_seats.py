"""Ending a committee seat in activities' own view of the roster (no servers): the seat keeps its
place with its term cut to the end, one never seen is kept from the end, and it stops inviting."""

from __future__ import annotations

from datetime import UTC, date, datetime

from activities.app.views import current_seats, with_seat_ended

AT = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def seat(seat_id: str, person_id: str, term_end: str | None = None) -> dict[str, str | None]:
    return {
        "seat_id": seat_id,
        "role": "member",
        "person_id": person_id,
        "term_start": "2025-01-01",
        "term_end": term_end,
    }


def end_of(seat_id: str, person_id: str, term_end: str) -> dict[str, object]:
    return {**seat(seat_id, person_id, term_end), "ended_at": AT}


def test_an_ended_seat_keeps_its_place_and_gets_its_end() -> None:
    seats = [seat("s1", "p1", "2029-12-31"), seat("s2", "p2")]
    ended = with_seat_ended(seats, end_of("s1", "p1", "2026-11-30"))
    assert [(s["seat_id"], s["term_end"]) for s in ended] == [("s1", "2026-11-30"), ("s2", None)]
    assert ended[0]["ended_at"] == AT
    assert seats[0]["term_end"] == "2029-12-31", "the stored list is not changed in place"


def test_the_end_of_a_seat_never_seen_adds_it_ended() -> None:
    ended = with_seat_ended([seat("s2", "p2")], end_of("s9", "p9", "2026-06-30"))
    assert [(s["seat_id"], s["person_id"], s["term_end"]) for s in ended] == [
        ("s2", "p2", None),
        ("s9", "p9", "2026-06-30"),
    ]


def test_an_ended_seat_counts_up_to_its_last_day_only() -> None:
    seats = with_seat_ended([seat("s1", "p1"), seat("s2", "p2")], end_of("s1", "p1", "2026-11-30"))
    assert [s["person_id"] for s in current_seats(seats, date(2026, 11, 30))] == ["p1", "p2"]
    assert [s["person_id"] for s in current_seats(seats, date(2026, 12, 1))] == ["p2"]


def test_ending_twice_gives_the_same_seats() -> None:
    end = end_of("s1", "p1", "2026-11-30")
    once = with_seat_ended([seat("s1", "p1")], end)
    assert with_seat_ended(once, end) == once
