"""The ledger's rules: when a transfer may be requested or answered, when a member is out of contact;
and that the periodic scan outlives a failure."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from roster.app.ledger import (
    can_request_transfer,
    contact_lost,
    last_contact,
    open_transfer,
    transfer_to_answer,
)
from roster.domain.members import CaseError

DECIDED = datetime(2025, 1, 10, tzinfo=UTC)
HALF_YEAR = timedelta(days=183)


def member(status: str = "verified", **fields: Any) -> dict[str, Any]:
    return {"_id": "mem_1", "status": status, "attempts": [], "decision": {"at": DECIDED}, **fields}


def transfer(transfer_id: str, status: str, requested_on: str = "2025-02-01") -> dict[str, Any]:
    return {
        "transfer_id": transfer_id,
        "status": status,
        "requested_on": requested_on,
        "from_organisation": "x",
    }


def reason_of(error: pytest.ExceptionInfo[CaseError]) -> tuple[str, str]:
    return error.value.field, error.value.reason


def test_a_verified_member_may_ask_to_come_home_again_after_a_return() -> None:
    can_request_transfer(member())
    can_request_transfer(member(transfers=[transfer("trf_1", "returned")]))


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        (member("candidate"), "not_verified"),
        (member("rejected"), "not_verified"),
        (member(transfers=[transfer("trf_1", "requested")]), "transfer_open"),
        (
            member(transfers=[transfer("trf_1", "returned"), transfer("trf_2", "accepted")]),
            "already_transferred",
        ),
    ],
)
def test_a_transfer_request_is_refused_when_the_step_is_impossible(case: dict[str, Any], reason: str) -> None:
    with pytest.raises(CaseError) as error:
        can_request_transfer(case)
    assert reason_of(error) == ("member_id", reason)


def test_only_a_requested_transfer_is_answered_and_not_before_its_letter() -> None:
    case = member(transfers=[transfer("trf_1", "returned"), transfer("trf_2", "requested")])
    assert open_transfer(case) == case["transfers"][1]
    assert transfer_to_answer(case, "trf_2", date(2025, 2, 1), "accepted_on")["transfer_id"] == "trf_2"
    with pytest.raises(CaseError) as closed:
        transfer_to_answer(case, "trf_1", date(2025, 3, 1), "accepted_on")
    assert reason_of(closed) == ("transfer_id", "transfer_closed")
    with pytest.raises(CaseError) as unknown:
        transfer_to_answer(case, "trf_9", date(2025, 3, 1), "accepted_on")
    assert reason_of(unknown) == ("transfer_id", "not_found")
    with pytest.raises(CaseError) as early:
        transfer_to_answer(case, "trf_2", date(2025, 1, 31), "returned_on")
    assert reason_of(early) == ("returned_on", "before_request")


def test_last_contact_is_the_latest_attempt_that_reached_the_member() -> None:
    attempts = [
        {"outcome": "confirmed", "at": DECIDED - timedelta(days=2)},
        {"outcome": "unreachable", "at": DECIDED + timedelta(days=50)},
        {"outcome": "not_a_member", "at": DECIDED - timedelta(days=1)},
    ]
    assert last_contact(member(attempts=attempts)) == DECIDED - timedelta(days=1)
    later = DECIDED + timedelta(days=30)
    assert last_contact(member(attempts=attempts, last_contact_at=later)) == later
    assert last_contact(member()) is None


def test_without_contact_the_clock_starts_at_the_decision() -> None:
    assert not contact_lost(member(), DECIDED + HALF_YEAR, HALF_YEAR)
    assert contact_lost(member(), DECIDED + HALF_YEAR + timedelta(seconds=1), HALF_YEAR)


def test_a_contact_moves_the_clock_and_an_unreachable_attempt_does_not() -> None:
    as_of = DECIDED + timedelta(days=200)
    reached = member(last_contact_at=DECIDED + timedelta(days=30))
    assert not contact_lost(reached, as_of, HALF_YEAR)
    missed = member(attempts=[{"outcome": "unreachable", "at": DECIDED + timedelta(days=30)}])
    assert contact_lost(missed, as_of, HALF_YEAR)


def test_only_verified_members_without_an_open_case_are_raised() -> None:
    as_of = DECIDED + timedelta(days=400)
    assert not contact_lost(member("candidate"), as_of, HALF_YEAR)
    assert not contact_lost(member("rejected"), as_of, HALF_YEAR)
    assert not contact_lost(member(lost_contact={"status": "open", "raised_at": as_of}), as_of, HALF_YEAR)


def test_a_resolved_case_restarts_the_clock() -> None:
    resolved = DECIDED + timedelta(days=200)
    case = member(lost_contact={"status": "resolved", "raised_at": resolved, "resolved_at": resolved})
    assert not contact_lost(case, resolved + timedelta(days=100), HALF_YEAR)
    assert contact_lost(case, resolved + timedelta(days=184), HALF_YEAR)
