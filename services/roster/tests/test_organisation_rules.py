"""Rules of the organisation tree, committee seats, warnings and pairing reminders (no servers)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from roster.domain.organisation import (
    Kind,
    OrgError,
    Overdue,
    SeatRole,
    check_parent,
    check_seat,
    check_term_end,
    current_seats,
    overdue_members,
    warnings_for,
)

START = date(2025, 1, 1)


def seat(role: str, person_id: str, start: str = "2025-01-01", end: str | None = None) -> dict[str, Any]:
    return {"role": role, "person_id": person_id, "term_start": start, "term_end": end}


@pytest.mark.parametrize(
    ("kind", "parent_kind"),
    [
        (Kind.INDUSTRY_COMMITTEE, None),
        (Kind.BRANCH, Kind.INDUSTRY_COMMITTEE),
        (Kind.PARTY_GROUP, Kind.BRANCH),
        (Kind.WORK_GROUP, None),
        (Kind.WORK_SUBGROUP, Kind.WORK_GROUP),
    ],
)
def test_each_kind_hangs_under_its_parent_kind(kind: str, parent_kind: str | None) -> None:
    check_parent(kind, parent_kind)


@pytest.mark.parametrize(
    ("kind", "parent_kind", "field", "reason"),
    [
        ("club", None, "kind", "unknown_kind"),
        (Kind.BRANCH, None, "parent_id", "wrong_parent_kind"),
        (Kind.BRANCH, Kind.WORK_GROUP, "parent_id", "wrong_parent_kind"),
        (Kind.PARTY_GROUP, Kind.INDUSTRY_COMMITTEE, "parent_id", "wrong_parent_kind"),
        (Kind.WORK_SUBGROUP, Kind.BRANCH, "parent_id", "wrong_parent_kind"),
        (Kind.INDUSTRY_COMMITTEE, Kind.BRANCH, "parent_id", "no_parent_allowed"),
    ],
)
def test_a_wrong_parent_names_the_field(kind: str, parent_kind: str | None, field: str, reason: str) -> None:
    with pytest.raises(OrgError) as e:
        check_parent(kind, parent_kind)
    assert (e.value.field, e.value.reason, e.value.status) == (field, reason, "invalid")


def test_one_secretary_per_term_but_a_successor_after_it() -> None:
    seats = [seat(SeatRole.SECRETARY, "staff-1", end="2025-12-31")]
    with pytest.raises(OrgError) as e:
        check_seat(Kind.BRANCH, seats, SeatRole.SECRETARY, "drv_2", START, None)
    assert (e.value.reason, e.value.status) == ("secretary_taken", "conflict")
    check_seat(Kind.BRANCH, seats, SeatRole.SECRETARY, "drv_2", date(2026, 1, 1), None)


def test_roles_must_fit_the_kind() -> None:
    with pytest.raises(OrgError) as e:
        check_seat(Kind.BRANCH, [], SeatRole.CO_LEADER, "staff-1", START, None)
    assert (e.value.field, e.value.reason) == ("role", "role_not_for_kind")
    with pytest.raises(OrgError):
        check_seat(Kind.WORK_GROUP, [], SeatRole.SECRETARY, "staff-1", START, None)
    check_seat(Kind.WORK_GROUP, [], SeatRole.CO_LEADER, "staff-1", START, None)


def test_a_work_group_has_at_most_two_co_leaders() -> None:
    seats = [seat(SeatRole.CO_LEADER, "staff-1"), seat(SeatRole.CO_LEADER, "staff-2")]
    with pytest.raises(OrgError) as e:
        check_seat(Kind.WORK_GROUP, seats, SeatRole.CO_LEADER, "staff-3", START, None)
    assert e.value.reason == "co_leaders_full"
    check_seat(Kind.WORK_GROUP, seats, SeatRole.MEMBER, "staff-3", START, None)


def test_term_dates_and_one_seat_per_person() -> None:
    with pytest.raises(OrgError) as e:
        check_seat(Kind.BRANCH, [], SeatRole.MEMBER, "drv_1", START, date(2024, 12, 31))
    assert (e.value.field, e.value.reason) == ("term_end", "before_start")
    with pytest.raises(OrgError) as e:
        check_seat(Kind.BRANCH, [seat(SeatRole.MEMBER, "drv_1")], SeatRole.MEMBER, "drv_1", START, None)
    assert e.value.reason == "already_seated"


def test_current_seats_are_those_whose_term_includes_the_day() -> None:
    seats = [seat(SeatRole.MEMBER, "a", end="2025-06-30"), seat(SeatRole.MEMBER, "b", start="2025-07-01")]
    assert [s["person_id"] for s in current_seats(seats, date(2025, 7, 1))] == ["b"]


def test_warnings_follow_the_rules_of_thumb() -> None:
    assert [w.code for w in warnings_for(Kind.BRANCH, 5, 2)] == ["branch_too_small"]
    assert warnings_for(Kind.BRANCH, 5, 3) == []
    assert [w.code for w in warnings_for(Kind.INDUSTRY_COMMITTEE, 6, 0)] == ["committee_incomplete"]
    assert warnings_for(Kind.INDUSTRY_COMMITTEE, 7, 0) == []
    assert warnings_for(Kind.PARTY_GROUP, 0, 0) == []
    assert "正式党员" in warnings_for(Kind.BRANCH, 0, 0)[0].message


def test_a_pair_is_overdue_once_until_a_new_contact() -> None:
    assigned = datetime(2025, 1, 1, tzinfo=UTC)
    contacted = assigned + timedelta(days=20)
    pairing: dict[str, Any] = {
        "member_ids": ["mem_a", "mem_b"],
        "assigned_at": assigned,
        "last_contacts": {"mem_a": contacted},
        "overdue_raised": {},
    }
    as_of = assigned + timedelta(days=31)
    assert [(o.member_id, o.last_contact_at) for o in overdue_members(pairing, as_of, 30)] == [
        ("mem_b", None)
    ]
    pairing["overdue_raised"] = {"mem_b": as_of}
    later = as_of + timedelta(days=30)
    assert overdue_members(pairing, later, 30) == [Overdue("mem_a", contacted)], "mem_b was raised already"
    del pairing["overdue_raised"]["mem_b"]  # a new contact resets the reminder
    assert {o.member_id for o in overdue_members(pairing, later, 30)} == {"mem_a", "mem_b"}


TODAY = date(2026, 12, 1)


@pytest.mark.parametrize(
    ("ended_seat", "term_end", "field", "reason"),
    [
        (seat(SeatRole.SECRETARY, "drv_a"), date(2024, 12, 31), "term_end", "before_start"),
        (seat(SeatRole.MEMBER, "drv_a", end="2027-12-31"), date(2028, 1, 1), "term_end", "after_planned_end"),
        (seat(SeatRole.MEMBER, "drv_a", end="2026-11-30"), date(2026, 6, 30), "seat_id", "term_ended"),
        (
            {**seat(SeatRole.MEMBER, "drv_a", end="2026-06-30"), "ended": {}},
            date(2026, 6, 1),
            "seat_id",
            "term_ended",
        ),
    ],
)
def test_a_term_ends_once_within_its_own_dates(
    ended_seat: dict[str, Any], term_end: date, field: str, reason: str
) -> None:
    with pytest.raises(OrgError) as refused:
        check_term_end(ended_seat, term_end, TODAY)
    assert (refused.value.field, refused.value.reason) == (field, reason)


def test_a_term_may_end_on_its_first_day_early_or_backdated() -> None:
    for term_end in (START, date(2026, 6, 30), date(2027, 12, 31)):
        check_term_end(seat(SeatRole.MEMBER, "drv_a", end="2027-12-31"), term_end, TODAY)
    ended = {**seat(SeatRole.SECRETARY, "drv_a"), "term_end": "2026-06-30"}
    successor = date(2026, 7, 1)
    check_seat(Kind.BRANCH, [ended], SeatRole.SECRETARY, "drv_b", successor, None)
