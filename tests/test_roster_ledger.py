"""The member ledger (一人一档) through a real roster process: transfers, the masked file, lost contact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually, read_topic
from roster_support import Roster, synthetic_people

pytestmark = pytest.mark.integration

PEOPLE = synthetic_people("台账司机", 4, 1968)
NOW = datetime.now(UTC)
SCAN_AS_OF = (NOW + timedelta(days=200)).isoformat()


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    running = Roster(stack_info, tmp_path_factory.mktemp("ledger"), clock_control="true").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def branch(roster: Roster) -> str:
    """The mobile branch members come home to; the `branch_secretary` token is its secretary's."""
    committee = roster.call(
        "POST", "/v1/organisations", json={"kind": "industry_committee", "name": "行业党委"}
    )
    body = {"kind": "branch", "name": "流动党员党支部", "parent_id": committee.json()["organisation_id"]}
    branch_id = str(roster.call("POST", "/v1/organisations", json=body).json()["organisation_id"])
    roster.restart_as_secretary_of(branch_id)
    return branch_id


@pytest.fixture(scope="module")
def members(roster: Roster) -> dict[str, str]:
    """home (verified, for transfers), candidate, reached (contacted 100 days on), missed (verified;
    only an unreachable attempt 100 days on)."""
    assert roster.import_drivers(PEOPLE)["registered"] == len(PEOPLE)
    assert roster.cross_check(PEOPLE)["new_cases"] == len(PEOPLE)
    cases = roster.call("GET", "/v1/members?status=candidate").json()["members"]
    home, candidate, reached, missed = sorted(c["member_id"] for c in cases)
    later = (NOW + timedelta(days=100)).isoformat()
    attempt = roster.call(
        "POST",
        f"/v1/members/{reached}/attempts",
        json={"method": "phone_call", "outcome": "confirmed", "at": later},
    )
    assert attempt.status_code == 200, attempt.text
    assert (
        roster.call("POST", f"/v1/members/{reached}/decision", json={"decision": "verified"}).status_code
        == 200
    )
    roster.call(
        "POST",
        f"/v1/members/{missed}/attempts",
        json={"method": "phone_call", "outcome": "unreachable", "at": later},
    )
    for member_id in (home, missed):
        assert roster.verify(member_id)["status"] == "verified"
    return {"home": home, "candidate": candidate, "reached": reached, "missed": missed}


async def events_of(stack_info: StackInfo, event_type: str) -> list[dict[str, Any]]:
    records = await read_topic(stack_info.kafka_bootstrap, "roster.member.v1")
    return [e for e in (json.loads(r.value) for r in records) if e["type"] == event_type]


async def test_a_member_comes_home_after_a_returned_transfer(
    roster: Roster, members: dict[str, str], stack_info: StackInfo, branch: str
) -> None:
    home = members["home"]
    transfers = f"/v1/members/{home}/transfers"
    letter = {"letter_number": "美组转〔2025〕17号", "from_organisation": "某县交通运输局机关支部"}

    blank = roster.call(
        "POST", transfers, json={**letter, "letter_number": "  ", "requested_on": "2025-03-01"}
    )
    assert blank.status_code == 422
    assert (blank.json()["error"]["fields"][0]["field"], blank.json()["error"]["fields"][0]["reason"]) == (
        "body.letter_number",
        "blank",
    )
    no_date = roster.call("POST", transfers, json=letter)
    assert no_date.status_code == 422
    assert "requested_on" in no_date.json()["error"]["fields"][0]["field"]
    not_verified = roster.call(
        "POST", f"/v1/members/{members['candidate']}/transfers", json={**letter, "requested_on": "2025-03-01"}
    )
    assert (not_verified.status_code, not_verified.json()["error"]["reason"]) == (409, "not_verified")
    assert (
        roster.call("POST", transfers, "operator", json={**letter, "requested_on": "2025-03-01"}).status_code
        == 403
    )

    first = roster.call("POST", transfers, json={**letter, "requested_on": "2025-03-01"})
    assert (first.status_code, first.json()["status"]) == (201, "requested")
    trf_1 = first.json()["transfer_id"]
    twice = roster.call("POST", transfers, json={**letter, "requested_on": "2025-03-02"})
    assert (twice.status_code, twice.json()["error"]["reason"]) == (409, "transfer_open")
    early = roster.call(
        "POST", f"{transfers}/{trf_1}/return", json={"returned_on": "2025-02-28", "reason": "信息不全"}
    )
    assert early.status_code == 422
    assert early.json()["error"]["fields"][0]["field"] == "returned_on"
    returned = roster.call(
        "POST",
        f"{transfers}/{trf_1}/return",
        "branch_secretary",
        json={"returned_on": "2025-03-05", "reason": "介绍信信息不全"},
    )
    assert returned.json()["status"] == "returned"
    answered = roster.call(
        "POST", f"{transfers}/{trf_1}/accept", json={"accepted_on": "2025-03-06", "branch_id": branch}
    )
    assert (answered.status_code, answered.json()["error"]["reason"]) == (409, "transfer_closed")

    second = roster.call(
        "POST",
        transfers,
        json={**letter, "letter_number": "美组转〔2025〕21号", "requested_on": "2025-03-10"},
    )
    trf_2 = second.json()["transfer_id"]
    assert trf_2 != trf_1
    accepted = roster.call(
        "POST",
        f"{transfers}/{trf_2}/accept",
        "branch_secretary",
        json={"accepted_on": "2025-03-12", "branch_id": branch},
    )
    assert (accepted.json()["status"], accepted.json()["branch_id"]) == ("accepted", branch)
    again = roster.call("POST", transfers, json={**letter, "requested_on": "2025-04-01"})
    assert (again.status_code, again.json()["error"]["reason"]) == (409, "already_transferred")

    async def transferred_in() -> list[dict[str, Any]]:
        found = await events_of(stack_info, "roadbranch.roster.member.transferred_in.v1")
        return [e for e in found if e["subject"] == home]

    (event,) = await eventually(transferred_in, message="member.transferred_in on roster.member.v1")
    assert event["data"]["branch_id"] == branch
    assert event["data"]["accepted_on"] == "2025-03-12"
    assert event["data"]["from_organisation"] == letter["from_organisation"]

    file = roster.call("GET", f"/v1/members/{home}/ledger", "org_department").json()
    assert [(t["transfer_id"], t["status"]) for t in file["transfers"]] == [
        (trf_1, "returned"),
        (trf_2, "accepted"),
    ]
    assert file["transfers"][0]["reason"] == "介绍信信息不全"

    # Accepting placed him in the receiving branch: no second call is needed.
    assert file["branch_id"] == branch
    assert home in roster.call("GET", f"/v1/organisations/{branch}").json()["member_ids"]

    async def assigned() -> list[dict[str, Any]]:
        found = await events_of(stack_info, "roadbranch.roster.member.assigned.v1")
        return [e for e in found if e["subject"] == home and e["data"]["branch_id"] == branch]

    assert await eventually(assigned, message="member.assigned with the acceptance")


async def test_the_ledger_shows_a_verified_member_masked_with_his_history(
    roster: Roster, members: dict[str, str], branch: str
) -> None:
    for member_id in (members["home"], members["reached"], members["missed"]):
        response = roster.call("GET", f"/v1/members/{member_id}/ledger", "operator")
        assert response.status_code == 200, response.text
        text = json.dumps(response.json(), ensure_ascii=False)
        for name, id_number, phone in PEOPLE:
            assert name not in text
            assert id_number not in text
            assert phone not in text
    # The secretary of the branch reads the files of his branch's members only (his own members' files
    # in tests/test_roster_organisation.py); `missed` is in no branch.
    others = roster.call("GET", f"/v1/members/{members['missed']}/ledger", "branch_secretary")
    assert (others.status_code, others.json()["error"]["reason"]) == (403, "out_of_scope")
    file = roster.call("GET", f"/v1/members/{members['missed']}/ledger", "org_department").json()
    assert file["status"] == "verified"
    assert file["driver"]["id_number"].count("*") >= 8
    assert file["record"]["party_status"] == "full"
    assert [a["outcome"] for a in file["verification"]["attempts"]] == ["unreachable", "confirmed"]
    assert file["verification"]["decision"]["by"] == "work_group_staff-1"
    assert (file["pairings"], file["transfers"], file["lost_contact"]) == ([], [], None)
    assert file["last_contact_at"] is not None

    candidate = roster.call("GET", f"/v1/members/{members['candidate']}/ledger")
    assert (candidate.status_code, candidate.json()["error"]["reason"]) == (409, "not_verified")
    assert roster.call("GET", "/v1/members/mem_nobody/ledger").status_code == 404
    assert roster.call("GET", f"/v1/members/{members['home']}/ledger", "driver").status_code == 403


async def test_lost_contact_is_raised_once_and_closed_by_a_person(
    roster: Roster, members: dict[str, str], stack_info: StackInfo
) -> None:
    scan = "/v1/ops/scans/lost-contact"
    assert roster.call("POST", scan, "driver", params={"as_of": SCAN_AS_OF}).status_code == 403
    naive = roster.call("POST", scan, params={"as_of": "2030-01-01T00:00:00"})
    assert naive.json()["error"]["fields"][0]["field"] == "as_of"

    first = roster.call("POST", scan, params={"as_of": SCAN_AS_OF}).json()
    assert sorted(first["raised"]) == sorted([members["home"], members["missed"]]), (
        "reached 100 days on: not lost"
    )
    assert roster.call("POST", scan, "operator", params={"as_of": SCAN_AS_OF}).json()["raised"] == []

    raised = {members["home"], members["missed"]}

    async def contact_lost() -> list[str]:
        # The topic is the session's: other tests' rosters raise lost contact too. Only this test's
        # members are counted.
        found = await events_of(stack_info, "roadbranch.roster.member.contact_lost.v1")
        subjects = [e["subject"] for e in found if e["subject"] in set(members.values())]
        return subjects if raised <= set(subjects) else []

    subjects = await eventually(contact_lost, message="member.contact_lost for both lost members")
    assert sorted(subjects) == sorted(raised), "one event per member, none for the member reached later"
    missed = f"/v1/members/{members['missed']}"
    assert roster.call("GET", f"{missed}/ledger").json()["lost_contact"]["status"] == "open"
    assert roster.call("POST", f"{missed}/lost-contact/resolve", json={"note": ""}).status_code == 422
    assert (
        roster.call("POST", f"{missed}/lost-contact/resolve", "driver", json={"note": "x"}).status_code == 403
    )
    not_his = roster.call("POST", f"{missed}/lost-contact/resolve", "branch_secretary", json={"note": "x"})
    assert (not_his.status_code, not_his.json()["error"]["field"]) == (403, "member_id")
    resolved = roster.call("POST", f"{missed}/lost-contact/resolve", json={"note": "已电话联系上"})
    assert (resolved.json()["status"], resolved.json()["note"]) == ("resolved", "已电话联系上")
    again = roster.call("POST", f"{missed}/lost-contact/resolve", json={"note": "再次"})
    assert (again.status_code, again.json()["error"]["reason"]) == (409, "no_open_case")
    file = roster.call("GET", f"{missed}/ledger").json()
    assert (file["status"], file["lost_contact"]["status"]) == ("verified", "resolved")
    assert roster.call("GET", f"/v1/members/{members['missed']}").json()["status"] == "verified"
