"""What the staff console reads from a real roster process: members filtered by branch, lost contact
and pending transfer with their drivers masked, an organisation's pairings with their contact log,
ending a seat's term, and the audit log of unmasked reads and searches; each with what it refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually, read_topic
from roster_support import Roster, synthetic_people

pytestmark = pytest.mark.integration

PEOPLE = synthetic_people("控制台", 5, 1977)
TERM = {"term_start": "2025-01-01"}


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    running = Roster(stack_info, tmp_path_factory.mktemp("console-reads"), clock_control="true").start()
    yield running
    running.stop()


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int, field: str) -> str:
    """The refusal's reason, after checking its status and the field it names."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if status == 422:
        [problem] = error["fields"]
        assert problem["field"] == field, error
        return str(problem["reason"])
    assert error["field"] == field, error
    return str(error.get("reason", ""))


def create(roster: Roster, kind: str, name: str, parent_id: str | None = None) -> str:
    body = {"kind": kind, "name": name, "parent_id": parent_id}
    return str(ok(roster.call("POST", "/v1/organisations", json=body), 201)["organisation_id"])


@pytest.fixture(scope="module")
def world(roster: Roster) -> dict[str, Any]:
    """Five member cases in id order: 0 in the branch, 1 in its party group, 2 in another branch,
    3 verified and not placed, 4 still a candidate."""
    roster.import_drivers(PEOPLE)
    roster.cross_check(PEOPLE)
    cases = ok(roster.call("GET", "/v1/members", params={"status": "candidate"}))["members"]
    ids = sorted(c["member_id"] for c in cases)
    assert len(ids) == 5
    for member_id in ids[:4]:
        assert roster.verify(member_id)["status"] == "verified"
    committee = create(roster, "industry_committee", "控制台行业党委")
    branch = create(roster, "branch", "控制台流动党支部", committee)
    group = create(roster, "party_group", "控制台第一党小组", branch)
    other = create(roster, "branch", "控制台另一支部", committee)
    for member_id, body in (
        (ids[0], {"branch_id": branch}),
        (ids[1], {"branch_id": branch, "group_id": group}),
        (ids[2], {"branch_id": other}),
    ):
        ok(roster.call("POST", f"/v1/members/{member_id}/assignment", json=body))
    drivers = {c["member_id"]: c["driver_id"] for c in cases}
    return {"ids": ids, "drivers": drivers, "branch": branch, "group": group, "other": other}


def listed(roster: Roster, role: str = "work_group_staff", **query: str) -> list[str]:
    return [m["member_id"] for m in ok(roster.call("GET", "/v1/members", role, params=query))["members"]]


def assert_no_personal_data(text: str) -> None:
    for name, id_number, phone in PEOPLE:
        assert name not in text
        assert id_number not in text
        assert phone not in text


def test_members_of_a_branch_are_listed_with_their_drivers_masked(
    roster: Roster, world: dict[str, Any]
) -> None:
    ids = world["ids"]
    answer = roster.call("GET", "/v1/members", "operator", params={"branch_id": world["branch"]})
    members = ok(answer)["members"]
    assert [m["member_id"] for m in members] == ids[:2], "the group's member is in the branch too"
    for member in members:
        driver = member["driver"]
        assert driver["driver_id"] == member["driver_id"] == world["drivers"][member["member_id"]]
        assert all("*" in driver[field] for field in ("name", "id_number", "phone")), driver
    assert_no_personal_data(answer.text)
    assert listed(roster, branch_id=world["group"]) == [ids[1]]
    assert listed(roster, branch_id=world["other"], status="verified") == [ids[2]]

    first = listed(roster, branch_id=world["branch"], limit="1")
    assert first == [ids[0]]
    assert listed(roster, branch_id=world["branch"], limit="1", after=first[0]) == [ids[1]]

    one = roster.call("GET", f"/v1/members/{ids[0]}", "org_department")
    assert ok(one)["driver"]["driver_id"] == world["drivers"][ids[0]]
    assert_no_personal_data(one.text)


def test_the_listing_refuses_unknown_filters_and_other_roles(roster: Roster, world: dict[str, Any]) -> None:
    assert refused(
        roster.call("GET", "/v1/members", params={"lost_contact": "closed"}), 422, "query.lost_contact"
    )
    assert refused(roster.call("GET", "/v1/members", params={"transfer": "done"}), 422, "query.transfer")
    assert refused(roster.call("GET", "/v1/members", params={"branch_id": ""}), 422, "query.branch_id")
    assert roster.call("GET", "/v1/members", "driver").status_code == 403
    assert roster.call("GET", "/v1/members", "administrator").status_code == 403


def test_members_waiting_for_a_transfer_are_listed_until_it_is_answered(
    roster: Roster, world: dict[str, Any]
) -> None:
    ids = world["ids"]
    letter = {"from_organisation": "某县运管所党支部", "requested_on": "2026-03-01"}

    def request(member_id: str, number: str) -> str:
        body = {**letter, "letter_number": number}
        return str(
            ok(roster.call("POST", f"/v1/members/{member_id}/transfers", json=body), 201)["transfer_id"]
        )

    waiting = request(ids[3], "介字001")
    returned = request(ids[2], "介字002")
    assert sorted(listed(roster, transfer="pending")) == [ids[2], ids[3]]
    ok(
        roster.call(
            "POST",
            f"/v1/members/{ids[2]}/transfers/{returned}/return",
            json={"returned_on": "2026-03-05", "reason": "介绍信信息有误"},
        )
    )
    assert listed(roster, transfer="pending") == [ids[3]]
    assert listed(roster, transfer="pending", branch_id=world["other"]) == [], "he is not placed yet"
    ok(
        roster.call(
            "POST",
            f"/v1/members/{ids[3]}/transfers/{waiting}/accept",
            json={"accepted_on": "2026-03-10", "branch_id": world["other"]},
        )
    )
    assert listed(roster, transfer="pending") == []
    assert sorted(listed(roster, branch_id=world["other"])) == [ids[2], ids[3]]


def test_members_with_an_open_lost_contact_case_are_listed_until_it_is_resolved(
    roster: Roster, world: dict[str, Any]
) -> None:
    ids = world["ids"]
    as_of = (datetime.now(UTC) + timedelta(days=400)).isoformat()
    raised = ok(roster.call("POST", "/v1/ops/scans/lost-contact", params={"as_of": as_of}))["raised"]
    assert sorted(raised) == ids[:4], "every verified member, none of them reached since"
    assert listed(roster, lost_contact="open") == ids[:4]
    ok(roster.call("POST", f"/v1/members/{ids[0]}/lost-contact/resolve", json={"note": "已电话联系上"}))
    assert listed(roster, lost_contact="open") == ids[1:4]
    assert listed(roster, lost_contact="open", branch_id=world["branch"]) == [ids[1]]


def test_an_organisations_pairings_are_listed_with_their_contact_log(
    roster: Roster, world: dict[str, Any]
) -> None:
    branch, member = world["branch"], world["ids"][0]
    body = {"role": "member", "person_id": "drv_console_committee", **TERM}
    ok(roster.call("POST", f"/v1/organisations/{branch}/seats", json=body), 201)
    pairing = ok(
        roster.call(
            "POST",
            f"/v1/organisations/{branch}/pairings",
            json={"committee_person_id": "drv_console_committee", "member_ids": [member]},
        ),
        201,
    )
    at = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    contact = {"member_id": member, "channel": "visit", "at": at.isoformat(), "notes": "到停车场走访"}
    ok(roster.call("POST", f"/v1/pairings/{pairing['pairing_id']}/contacts", json=contact), 201)

    answer = ok(roster.call("GET", f"/v1/organisations/{branch}/pairings", "org_department"))
    [found] = answer["pairings"]
    assert answer["organisation_id"] == branch
    assert (found["pairing_id"], found["committee_person_id"], found["member_ids"]) == (
        pairing["pairing_id"],
        "drv_console_committee",
        [member],
    )
    [logged] = found["contacts"]
    assert {**logged, "at": datetime.fromisoformat(logged["at"])} == {
        "member_id": member,
        "channel": "visit",
        "at": at,
        "notes": "到停车场走访",
        "by": "work_group_staff-1",
    }
    assert (
        ok(roster.call("GET", f"/v1/organisations/{world['other']}/pairings", "operator"))["pairings"] == []
    )
    assert roster.call("GET", f"/v1/organisations/{branch}/pairings", "driver").status_code == 403
    assert refused(roster.call("GET", "/v1/organisations/org_missing/pairings"), 404, "organisation_id")


async def test_ending_a_seat_frees_it_for_a_successor_and_is_published(
    roster: Roster, world: dict[str, Any], stack_info: StackInfo
) -> None:
    group = world["group"]
    seats = f"/v1/organisations/{group}/seats"

    def secretary(person_id: str, term_start: str) -> httpx.Response:
        return roster.call(
            "POST", seats, json={"role": "secretary", "person_id": person_id, "term_start": term_start}
        )

    first = ok(secretary("drv_console_leader_a", "2025-01-01"), 201)
    [seat] = [s for s in first["seats"] if s["person_id"] == "drv_console_leader_a"]
    end = f"{seats}/{seat['seat_id']}/end"
    assert refused(secretary("drv_console_leader_b", "2026-07-01"), 409, "role") == "secretary_taken"

    assert (
        refused(roster.call("POST", end, json={"term_end": "2024-12-31"}), 422, "term_end") == "before_start"
    )
    assert refused(roster.call("POST", end, json={"term_end": "20260630"}), 422, "body.term_end")
    assert roster.call("POST", end, "operator", json={"term_end": "2026-06-30"}).status_code == 403
    assert roster.call("POST", end, "driver", json={"term_end": "2026-06-30"}).status_code == 403
    missing = roster.call("POST", f"{seats}/seat_missing/end", json={"term_end": "2026-06-30"})
    assert refused(missing, 404, "seat_id") == "not_found"

    ended = ok(roster.call("POST", end, json={"term_end": "2026-06-30"}))
    [shown] = [s for s in ended["seats"] if s["seat_id"] == seat["seat_id"]]
    assert (shown["term_end"], shown["ended"]["by"], shown["ended"]["planned_term_end"]) == (
        "2026-06-30",
        "work_group_staff-1",
        None,
    )
    assert refused(roster.call("POST", end, json={"term_end": "2026-05-31"}), 409, "seat_id") == "term_ended"
    assert refused(secretary("drv_console_leader_b", "2026-06-30"), 409, "role") == "secretary_taken"
    assert ok(secretary("drv_console_leader_b", "2026-07-01"), 201)

    # A seat whose term ran out long ago has nothing left to end.
    old = {
        "role": "member",
        "person_id": "drv_console_old",
        "term_start": "2020-01-01",
        "term_end": "2020-12-31",
    }
    [past] = [
        s
        for s in ok(roster.call("POST", seats, json=old), 201)["seats"]
        if s["person_id"] == "drv_console_old"
    ]
    assert refused(
        roster.call("POST", f"{seats}/{past['seat_id']}/end", json={"term_end": "2020-06-30"}), 409, "seat_id"
    )

    async def seat_ended() -> list[dict[str, Any]]:
        records = await read_topic(stack_info.kafka_bootstrap, "roster.org.v1")
        bodies = [json.loads(r.value) for r in records if r.value]
        return [
            e for e in bodies if e["type"] == "roadbranch.roster.org.seat_ended.v1" and e["subject"] == group
        ]

    [event] = await eventually(seat_ended, message="SeatEnded on roster.org.v1")
    assert event["data"] == {
        "organisation_id": group,
        "seat_id": seat["seat_id"],
        "role": "secretary",
        "person_id": "drv_console_leader_a",
        "term_start": "2025-01-01",
        "term_end": "2026-06-30",
        "ended_at": event["data"]["ended_at"],
    }


def audit(roster: Roster, role: str = "org_department", **query: str) -> httpx.Response:
    return roster.call("GET", "/v1/audit", role, params=query)


async def test_the_audit_log_shows_unmasked_reads_and_searches_newest_first(
    roster: Roster, world: dict[str, Any], stack_info: StackInfo
) -> None:
    since = datetime.now(UTC).isoformat()
    _, id_number, phone = PEOPLE[0]
    found = ok(roster.call("POST", "/v1/driver-searches", json={"by": "phone", "value": phone}))["drivers"]
    driver_id = found[0]["driver_id"]
    ok(roster.call("POST", "/v1/driver-searches", "operator", json={"by": "id_number", "value": id_number}))
    read = roster.call(
        "GET", f"/v1/drivers/{driver_id}/identity", "org_department", params={"purpose": "核实党员身份"}
    )
    assert ok(read)["phone"] == phone

    answer = audit(roster, since=since)
    records = ok(answer)["records"]
    assert [(r["action"], r["subject"]) for r in records] == [
        ("read_identity", "org_department-1"),
        ("search_driver", "operator-1"),
        ("search_driver", "work_group_staff-1"),
    ]
    assert (records[0]["driver_id"], records[0]["purpose"]) == (driver_id, "核实党员身份")
    assert [(r["by"], r["count"]) for r in records[1:]] == [("id_number", 1), ("phone", 1)]
    assert answer.json()["next_before"] is None
    assert_no_personal_data(answer.text)

    searches = ok(audit(roster, "administrator", since=since, action="search_driver"))["records"]
    assert [r["subject"] for r in searches] == ["operator-1", "work_group_staff-1"]
    assert [r["action"] for r in ok(audit(roster, since=since, subject="operator-1"))["records"]] == [
        "search_driver"
    ]

    pages, before = [], None
    while True:
        page = ok(audit(roster, since=since, limit="1", **({"before": before} if before else {})))
        pages += page["records"]
        before = page["next_before"]
        if before is None:
            break
    assert [r["audit_id"] for r in pages] == [r["audit_id"] for r in records], "pages of one, none lost"
    until = records[1]["at"]
    assert [r["action"] for r in ok(audit(roster, since=since, until=until))["records"]] == ["search_driver"]

    async def indexed() -> bool:
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri)
        try:
            info = await client[roster.database].audit_log.index_information()
        finally:
            await client.close()
        return any(spec["key"] == [("at", -1), ("_id", -1)] for spec in info.values())

    assert await eventually(indexed, message="the index behind the newest-first sort")


def test_the_audit_log_refuses_other_roles_and_bad_filters(roster: Roster) -> None:
    for role in ("operator", "work_group_staff", "branch_secretary", "driver"):
        assert audit(roster, role).status_code == 403, role
    assert refused(audit(roster, since="2026-01-01T00:00:00"), 422, "query.since")
    assert refused(audit(roster, action="delete"), 422, "query.action")
    assert refused(audit(roster, since="2026-02-01T00:00:00Z", until="2026-01-01T00:00:00Z"), 422, "until")
    assert refused(audit(roster, before="not-an-entry"), 422, "before") == "unknown_entry"
    assert refused(audit(roster, limit="0"), 422, "query.limit")


def test_a_branch_secretary_reads_his_own_branch_only(roster: Roster, world: dict[str, Any]) -> None:
    roster.restart_as_secretary_of(world["branch"])
    ids, branch, group, other = world["ids"], world["branch"], world["group"], world["other"]

    assert refused(roster.call("GET", "/v1/members", "branch_secretary"), 403, "branch_id") == "required"
    mine = roster.call("GET", "/v1/members", "branch_secretary", params={"branch_id": other})
    assert refused(mine, 403, "branch_id") == "out_of_scope"
    assert listed(roster, "branch_secretary", branch_id=branch) == ids[:2]
    assert listed(roster, "branch_secretary", branch_id=group) == [ids[1]]
    assert listed(roster, "branch_secretary", branch_id=branch, lost_contact="open") == [ids[1]]

    assert (
        ok(roster.call("GET", f"/v1/organisations/{branch}", "branch_secretary"))["organisation_id"] == branch
    )
    assert (
        ok(roster.call("GET", f"/v1/organisations/{group}", "branch_secretary"))["organisation_id"] == group
    )
    assert refused(
        roster.call("GET", f"/v1/organisations/{other}", "branch_secretary"), 403, "organisation_id"
    )
    assert (
        len(ok(roster.call("GET", f"/v1/organisations/{branch}/pairings", "branch_secretary"))["pairings"])
        == 1
    )
    theirs = roster.call("GET", f"/v1/organisations/{other}/pairings", "branch_secretary")
    assert refused(theirs, 403, "organisation_id") == "out_of_scope"

    body = {"role": "member", "person_id": "drv_console_other", **TERM}
    [seat] = ok(roster.call("POST", f"/v1/organisations/{other}/seats", json=body), 201)["seats"]
    end = f"/v1/organisations/{other}/seats/{seat['seat_id']}/end"
    assert refused(
        roster.call("POST", end, "branch_secretary", json={"term_end": "2026-06-30"}), 403, "organisation_id"
    )
    own = ok(
        roster.call(
            "POST", f"/v1/organisations/{branch}/seats", json={**body, "person_id": "drv_console_own"}
        ),
        201,
    )
    [own_seat] = [s for s in own["seats"] if s["person_id"] == "drv_console_own"]
    own_end = f"/v1/organisations/{branch}/seats/{own_seat['seat_id']}/end"
    assert ok(roster.call("POST", own_end, "branch_secretary", json={"term_end": "2026-06-30"}))


def test_an_erased_driver_leaves_his_case_without_a_driver(roster: Roster, world: dict[str, Any]) -> None:
    # Last: the audit test searches for drivers, one of whom this erases.
    candidate = world["ids"][4]
    driver_id = world["drivers"][candidate]
    body = {"reason": "本人申请删除", "request_reference": "删除申请-控制台-1"}
    ok(roster.call("POST", f"/v1/drivers/{driver_id}/erasure", "org_department", json=body))
    assert ok(roster.call("GET", f"/v1/members/{candidate}"))["driver"] is None
    [case] = ok(roster.call("GET", "/v1/members", params={"status": "candidate"}))["members"]
    assert (case["member_id"], case["driver"]) == (candidate, None)
