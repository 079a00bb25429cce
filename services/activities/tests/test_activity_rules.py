"""Rules of meetings, attendance, quizzes and 三会一课 compliance (no servers)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from activities.domain.compliance import DEFAULT_POLICY, check_policy, closing_unmet, period_of, standings
from activities.domain.learning import grade
from activities.domain.meetings import (
    Way,
    check_code,
    check_record,
    check_schedule,
    code_digest,
    figures,
    quorum_met,
)
from roadbranch_shared.domain import DomainError

NOON = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "kind", "label", "start", "end"),
    [
        (date(2026, 11, 10), "month", "2026-11", date(2026, 11, 1), date(2026, 11, 30)),
        (date(2026, 12, 31), "month", "2026-12", date(2026, 12, 1), date(2026, 12, 31)),
        (date(2026, 2, 3), "month", "2026-02", date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 11, 10), "quarter", "2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
        (date(2026, 4, 1), "quarter", "2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
        (date(2026, 7, 9), "year", "2026", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_periods_are_calendar_months_quarters_and_years(
    day: date, kind: str, label: str, start: date, end: date
) -> None:
    period = period_of(day, kind)
    assert (period.label, period.start, period.end) == (label, start, end)


def held(kind: str, on: date, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "held_on": on, **extra}


def test_standings_count_meetings_by_their_own_dates_and_the_secretary_lectures() -> None:
    meetings = [
        held("branch_committee_meeting", date(2026, 10, 31)),
        held("theme_party_day", date(2026, 11, 5)),
        held("party_lesson", date(2026, 11, 8), secretary_lecture=False),
        held("party_lesson", date(2026, 3, 8), secretary_lecture=True),
    ]
    found = {s.requirement: (s.held, s.met) for s in standings(DEFAULT_POLICY, meetings, date(2026, 11, 25))}
    assert found["branch_committee_meeting"] == (0, False)
    assert found["theme_party_day"] == (1, True)
    assert found["party_lesson"] == (1, True)
    assert found["secretary_lecture"] == (1, True)
    assert found["branch_member_meeting"] == (0, False)


def test_only_a_closing_period_without_its_meetings_is_overdue() -> None:
    [standing] = standings({"theme_party_day": {"period": "month", "count": 1}}, [], date(2026, 11, 23))
    assert closing_unmet(standing, date(2026, 11, 23), 7)
    assert not closing_unmet(standing, date(2026, 11, 22), 7)
    [met] = standings(
        {"theme_party_day": {"period": "month", "count": 1}},
        [held("theme_party_day", date(2026, 11, 1))],
        date(2026, 11, 30),
    )
    assert not closing_unmet(met, date(2026, 11, 30), 7)


@pytest.mark.parametrize(
    ("requirements", "field"),
    [
        ({"tea_party": {"period": "month", "count": 1}}, "requirements.tea_party"),
        ({"party_lesson": {"period": "week", "count": 1}}, "requirements.party_lesson.period"),
        ({"party_lesson": {"period": "month", "count": -1}}, "requirements.party_lesson.count"),
        ({"party_lesson": {"period": "month", "count": True}}, "requirements.party_lesson.count"),
    ],
)
def test_a_bad_policy_names_its_field(requirements: dict[str, Any], field: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_policy(requirements)
    assert (refused.value.field, refused.value.status) == (field, DomainError.INVALID)


def test_figures_count_every_invitee_once_and_missing_records_as_absent() -> None:
    attendance = {
        "a": {"status": "on_site"},
        "b": {"status": "online"},
        "c": {"status": "leave", "made_up_at": NOON},
        "d": {"status": "absent"},
        "x": {"status": "on_site"},  # not invited: not counted
    }
    f = figures(["a", "b", "c", "d", "e"], attendance)
    assert (f.invited, f.present_on_site, f.present_online, f.on_leave, f.absent, f.made_up) == (
        5,
        1,
        1,
        1,
        2,
        1,
    )
    assert f.as_dict()["attendance_rate"] == pytest.approx(0.4)
    assert f.as_dict()["attendance_rate_with_makeup"] == pytest.approx(0.6)


def test_a_member_meeting_needs_more_than_half_of_the_voters_present() -> None:
    present = {p: {"status": "on_site"} for p in ("a", "b")}
    assert quorum_met("branch_member_meeting", ["a", "b", "c", "d"], present) is False
    assert quorum_met("branch_member_meeting", ["a", "b", "c"], present) is True
    assert quorum_met("party_lesson", ["a"], {}) is None


def test_a_leave_or_a_proxy_record_needs_a_reason() -> None:
    check_record("on_site", way=Way.RECORDED, reason=None, field="records.0")
    for status, way in (("leave", Way.RECORDED), ("on_site", Way.PROXY)):
        with pytest.raises(DomainError) as refused:
            check_record(status, way=way, reason="  ", field="records.3")
        assert refused.value.field == "records.3.reason"


def test_a_schedule_refuses_an_online_meeting_at_a_repair_shop_and_an_end_before_the_start() -> None:
    with pytest.raises(DomainError) as mismatch:
        check_schedule("party_lesson", "repair_shop", "online", NOON, None)
    assert mismatch.value.field == "mode"
    with pytest.raises(DomainError) as backwards:
        check_schedule("party_lesson", "repair_shop", "offline", NOON, NOON - timedelta(hours=1))
    assert backwards.value.field == "ends_at"


def test_a_check_in_code_is_bound_to_its_meeting_and_expires() -> None:
    meeting = {"_id": "m1", "check_in": {"digest": code_digest("m1", "123456"), "expires_at": NOON}}
    check_code(meeting, "drv_a", "123456", NOON - timedelta(seconds=1))
    with pytest.raises(DomainError, match="过期"):
        check_code(meeting, "drv_a", "123456", NOON)
    with pytest.raises(DomainError, match="不正确"):
        check_code({**meeting, "_id": "m2"}, "drv_a", "123456", NOON - timedelta(minutes=1))
    with pytest.raises(DomainError, match="次数过多"):
        check_code({**meeting, "wrong_codes": {"drv_a": 5}}, "drv_a", "123456", NOON - timedelta(minutes=1))


def test_a_quiz_is_graded_in_percent_against_its_pass_mark() -> None:
    questions = [{"answer": 0}, {"answer": 1}, {"answer": 2}]
    result = grade(questions, [0, 1, 0], pass_mark=60)
    assert (result.correct, result.score, result.passed) == (2, 66, True)
    with pytest.raises(DomainError) as short:
        grade(questions, [0], pass_mark=60)
    assert short.value.field == "answers"
