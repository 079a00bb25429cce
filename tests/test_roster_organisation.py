"""The pilot's organisation tree through a real roster process: committees and seats, members
assigned to the mobile branch, N+1 pairings with their contact log and overdue reminders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually, read_topic
from roster_support import Roster, synthetic_people

pytestmark = pytest.mark.integration

FULL = synthetic_people("组织正式", 4, 1975)
PROBATIONARY = synthetic_people("组织预备", 1, 1976)
TERM = {"term_start": "2025-01-01", "term_end": "2029-12-31"}


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    running = Roster(stack_info, tmp_path_factory.mktemp("organisation"), clock_control="true").start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def members(roster: Roster) -> dict[str, list[str]]:
    """Member ids: three verified full members, one verified probationary, one unverified case."""
    roster.import_drivers(FULL + PROBATIONARY)
    roster.cross_check(FULL)
    roster.cross_check(PROBATIONARY, party_status="预备党员")
    cases = roster.call("GET", "/v1/members?status=candidate").json()["members"]
    assert len(cases) == 5
    by_status: dict[str, list[str]] = {"full": [], "probationary": [], "candidate": []}
    for case in sorted(cases, key=lambda c: c["member_id"]):
        by_status[case["record"]["party_status"]].append(case["member_id"])
    by_status["candidate"] = [by_status["full"].pop()]
    for member_id in by_status["full"] + by_status["probationary"]:
        assert roster.verify(member_id)["status"] == "verified"
    return by_status


def create(roster: Roster, kind: str, name: str, parent_id: str | None = None, **kw: Any) -> dict[str, Any]:
    response = roster.call(
        "POST", "/v1/organisations", json={"kind": kind, "name": name, "parent_id": parent_id}, **kw
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def seat(roster: Roster, org_id: str, role: str, person_id: str) -> Any:
    return roster.call(
        "POST", f"/v1/organisations/{org_id}/seats", json={"role": role, "person_id": person_id, **TERM}
    )


def warnings(roster: Roster, org_id: str) -> list[str]:
    return [
        w["code"] for w in roster.call("GET", f"/v1/organisations/{org_id}", "operator").json()["warnings"]
    ]


@pytest.fixture(scope="module")
def tree(roster: Roster) -> dict[str, str]:
    committee = create(roster, "industry_committee", "县道路货运行业党委")["organisation_id"]
    branch = create(roster, "branch", "流动党员党支部", committee)["organisation_id"]
    group = create(roster, "party_group", "第一党小组", branch)["organisation_id"]
    other_branch = create(roster, "branch", "另一支部", committee)["organisation_id"]
    other_group = create(roster, "party_group", "另一党小组", other_branch)["organisation_id"]
    return {
        "committee": committee,
        "branch": branch,
        "group": group,
        "other_branch": other_branch,
        "other_group": other_group,
    }


def test_the_tree_is_listed_parents_first_for_the_consoles(roster: Roster, tree: dict[str, str]) -> None:
    listed = roster.call("GET", "/v1/organisations", "operator").json()["organisations"]
    ours = [o for o in listed if o["organisation_id"] in tree.values()]
    order = [o["organisation_id"] for o in ours]
    by_id = {o["organisation_id"]: o for o in ours}
    assert by_id[tree["group"]] == {
        "organisation_id": tree["group"],
        "kind": "party_group",
        "name": "第一党小组",
        "parent_id": tree["branch"],
        "members": by_id[tree["group"]]["members"],
    }
    for child, parent in (("branch", "committee"), ("group", "branch"), ("other_group", "other_branch")):
        assert order.index(tree[parent]) < order.index(tree[child])
    assert roster.call("GET", "/v1/organisations", "driver").status_code == 403


def test_the_pilot_chain_is_built_with_its_committees(roster: Roster, tree: dict[str, str]) -> None:
    roles = ["secretary", "deputy_secretary", "deputy_secretary", "member", "member", "member", "member"]
    for i, role in enumerate(roles[:6]):
        assert seat(roster, tree["committee"], role, f"staff-{i}").status_code == 201
    assert warnings(roster, tree["committee"]) == ["committee_incomplete"]
    assert seat(roster, tree["committee"], roles[6], "staff-6").status_code == 201
    committee = roster.call("GET", f"/v1/organisations/{tree['committee']}", "org_department").json()
    assert committee["warnings"] == []
    assert len(committee["seats"]) == 7
    assert tree["branch"] in committee["children"]

    for i, role in enumerate(["secretary", "deputy_secretary", "member", "member", "member"]):
        assert seat(roster, tree["branch"], role, f"drv_b{i}").status_code == 201
    second = seat(roster, tree["branch"], "secretary", "drv_other")
    assert second.status_code == 409
    assert second.json()["error"]["field"] == "role"
    branch = roster.call("GET", f"/v1/organisations/{tree['branch']}").json()
    assert (len(branch["seats"]), branch["children"]) == (5, [tree["group"]])

    work_group = create(roster, "work_group", "试点工作专班")["organisation_id"]
    for leader in ("staff-lead-1", "staff-lead-2"):
        assert seat(roster, work_group, "co_leader", leader).status_code == 201
    assert seat(roster, work_group, "co_leader", "staff-lead-3").status_code == 409
    subgroups = [
        create(roster, "work_subgroup", name, work_group)["organisation_id"]
        for name in ("综合协调组", "党建指导组", "权益保障组")
    ]
    view = roster.call("GET", f"/v1/organisations/{work_group}").json()
    assert (view["children"], view["kind"], view["warnings"]) == (subgroups, "work_group", [])


def test_verified_members_join_the_branch_and_its_warning_goes(
    roster: Roster, tree: dict[str, str], members: dict[str, list[str]]
) -> None:
    def assign(member_id: str, **body: Any) -> Any:
        return roster.call("POST", f"/v1/members/{member_id}/assignment", json=body)

    refused = assign(members["candidate"][0], branch_id=tree["branch"])
    assert refused.status_code == 409
    assert refused.json()["error"]["reason"] == "not_verified"
    wrong_group = assign(members["full"][0], branch_id=tree["branch"], group_id=tree["other_group"])
    assert wrong_group.status_code == 422
    assert wrong_group.json()["error"]["fields"][0]["field"] == "group_id"
    assert assign(members["full"][0], branch_id=tree["committee"]).json()["error"]["fields"][0]["reason"] == (
        "not_a_branch"
    )

    assert warnings(roster, tree["branch"]) == ["branch_too_small"]
    last = members["full"][-1]
    for member_id in members["full"][:-1] + members["probationary"]:
        done = assign(member_id, branch_id=tree["branch"], group_id=tree["group"])
        assert done.status_code == 200, done.text
        assert (done.json()["branch_id"], done.json()["group_id"]) == (tree["branch"], tree["group"])
    assert warnings(roster, tree["branch"]) == ["branch_too_small"], "a probationary member does not count"
    assert assign(last, branch_id=tree["branch"]).status_code == 200
    assert warnings(roster, tree["branch"]) == []
    assert sorted(roster.call("GET", f"/v1/organisations/{tree['branch']}").json()["member_ids"]) == sorted(
        members["full"] + members["probationary"]
    )

    # Moving a member to another branch takes him off this one: the warning is back.
    assert assign(last, branch_id=tree["other_branch"]).status_code == 200
    assert warnings(roster, tree["branch"]) == ["branch_too_small"]
    assert assign(last, branch_id=tree["branch"]).status_code == 200
    assert warnings(roster, tree["branch"]) == []


async def test_a_pairing_logs_contacts_and_is_reminded_once_when_overdue(
    roster: Roster, tree: dict[str, str], members: dict[str, list[str]], stack_info: StackInfo
) -> None:
    a, b = members["full"][0], members["probationary"][0]
    not_seated = roster.call(
        "POST",
        f"/v1/organisations/{tree['branch']}/pairings",
        json={"committee_person_id": "drv_stranger", "member_ids": [a]},
    )
    assert (not_seated.status_code, not_seated.json()["error"]["fields"][0]["field"]) == (
        422,
        "committee_person_id",
    )
    created = roster.call(
        "POST",
        f"/v1/organisations/{tree['branch']}/pairings",
        json={"committee_person_id": "drv_b0", "member_ids": [a, b]},
    )
    assert created.status_code == 201, created.text
    pairing = created.json()
    assert pairing["member_ids"] == [a, b]
    assigned = datetime.fromisoformat(pairing["assigned_at"])

    contact_at = assigned + timedelta(days=10)
    logged = roster.call(
        "POST",
        f"/v1/pairings/{pairing['pairing_id']}/contacts",
        json={"member_id": a, "channel": "wechat", "at": contact_at.isoformat(), "notes": "询问近况"},
    )
    assert logged.status_code == 201, logged.text
    assert logged.json()["contacts"][0]["channel"] == "wechat"
    member = roster.call("GET", f"/v1/members/{a}").json()
    assert datetime.fromisoformat(member["last_contact_at"]) == contact_at

    def scan(as_of: datetime, role: str = "work_group_staff") -> Any:
        return roster.call("POST", "/v1/ops/scans/pairing-overdue", role, params={"as_of": as_of.isoformat()})

    first = scan(assigned + timedelta(days=31)).json()["raised"]
    mine = [r for r in first if r["pairing_id"] == pairing["pairing_id"]]
    assert [(r["member_id"], r["last_contact_at"]) for r in mine] == [(b, None)], (
        "a was contacted 21 days ago"
    )
    again = scan(assigned + timedelta(days=32), "operator").json()["raised"]
    assert [r for r in again if r["pairing_id"] == pairing["pairing_id"] and r["member_id"] == b] == []

    roster.call(
        "POST",
        f"/v1/pairings/{pairing['pairing_id']}/contacts",
        json={"member_id": b, "channel": "visit", "at": (assigned + timedelta(days=33)).isoformat()},
    )
    later = scan(assigned + timedelta(days=64)).json()["raised"]
    assert {r["member_id"] for r in later if r["pairing_id"] == pairing["pairing_id"]} == {a, b}

    async def overdue_events() -> list[dict[str, Any]]:
        records = await read_topic(stack_info.kafka_bootstrap, "roster.org.v1")
        bodies = [json.loads(r.value) for r in records]
        return [
            e
            for e in bodies
            if e["type"] == "roadbranch.roster.org.pairing_contact_overdue.v1"
            and e["subject"] == pairing["pairing_id"]
        ]

    events = await eventually(lambda: _at_least(overdue_events, 3), message="PairingContactOverdue on Kafka")
    assert sorted(e["data"]["member_id"] for e in events) == sorted([b, a, b])


def test_a_branch_secretary_manages_his_branch_and_its_groups_only(
    roster: Roster, tree: dict[str, str], members: dict[str, list[str]]
) -> None:
    roster.restart_as_secretary_of(tree["branch"])

    def as_secretary(path: str, body: dict[str, Any]) -> Any:
        return roster.call("POST", path, "branch_secretary", json=body)

    def refused(response: Any, field: str) -> None:
        assert response.status_code == 403, response.text
        assert (response.json()["error"]["field"], response.json()["error"]["reason"]) == (
            field,
            "out_of_scope",
        )

    group = as_secretary(
        "/v1/organisations", {"kind": "party_group", "name": "第二党小组", "parent_id": tree["branch"]}
    )
    assert group.status_code == 201, group.text
    refused(
        as_secretary(
            "/v1/organisations", {"kind": "party_group", "name": "越权", "parent_id": tree["other_branch"]}
        ),
        "parent_id",
    )
    refused(as_secretary("/v1/organisations", {"kind": "industry_committee", "name": "越权"}), "parent_id")
    seat_body = {"role": "member", "person_id": "drv_g2", **TERM}
    new_group = group.json()["organisation_id"]
    assert as_secretary(f"/v1/organisations/{new_group}/seats", seat_body).status_code == 201
    refused(as_secretary(f"/v1/organisations/{tree['other_group']}/seats", seat_body), "organisation_id")
    member = members["full"][0]
    refused(
        as_secretary(f"/v1/members/{member}/assignment", {"branch_id": tree["other_branch"]}), "branch_id"
    )
    moved = as_secretary(
        f"/v1/members/{member}/assignment", {"branch_id": tree["branch"], "group_id": new_group}
    )
    assert moved.status_code == 200, moved.text
    own_file = roster.call("GET", f"/v1/members/{member}/ledger", "branch_secretary")
    assert (own_file.status_code, own_file.json()["group_id"]) == (200, new_group), own_file.text
    refused(
        as_secretary(
            f"/v1/organisations/{tree['other_branch']}/pairings",
            {"committee_person_id": "drv_b0", "member_ids": [member]},
        ),
        "organisation_id",
    )
    # Pairing a member of another branch, or reading another branch's pair, is out of his reach too.
    elsewhere = members["full"][1]
    moved_away = roster.call(
        "POST", f"/v1/members/{elsewhere}/assignment", json={"branch_id": tree["other_branch"]}
    )
    assert moved_away.status_code == 200, moved_away.text
    refused(
        as_secretary(
            f"/v1/organisations/{tree['branch']}/pairings",
            {"committee_person_id": "drv_b0", "member_ids": [member, elsewhere]},
        ),
        "member_ids",
    )
    # The work group's staff still act county-wide; the secretary cannot read their pair there.
    assert seat(roster, tree["other_branch"], "member", "drv_ob0").status_code == 201
    theirs = roster.call(
        "POST",
        f"/v1/organisations/{tree['other_branch']}/pairings",
        json={"committee_person_id": "drv_ob0", "member_ids": [elsewhere]},
    )
    assert theirs.status_code == 201, theirs.text
    read = roster.call("GET", f"/v1/pairings/{theirs.json()['pairing_id']}", "branch_secretary")
    assert (read.status_code, read.json()["error"]["field"]) == (403, "pairing_id")
    assert seat(roster, tree["other_group"], "member", "drv_g3").status_code == 201


async def _at_least(fetch: Any, n: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await fetch()
    return found if len(found) >= n else []


def test_roles_and_bad_input(roster: Roster, tree: dict[str, str]) -> None:
    assert (
        roster.call("POST", "/v1/organisations", "driver", json={"kind": "branch", "name": "x"}).status_code
        == 403
    )
    assert (
        roster.call("POST", "/v1/organisations", "operator", json={"kind": "branch", "name": "x"}).status_code
        == 403
    )
    assert roster.call("GET", f"/v1/organisations/{tree['branch']}", "driver").status_code == 403
    assert (
        roster.call(
            "POST",
            "/v1/ops/scans/pairing-overdue",
            "org_department",
            params={"as_of": "2030-01-01T00:00:00Z"},
        ).status_code
        == 403
    )
    assert roster.call("GET", "/v1/organisations/org_missing").status_code == 404

    def field_of(response: Any) -> tuple[int, str]:
        return response.status_code, response.json()["error"]["fields"][0]["field"]

    assert field_of(roster.call("POST", "/v1/organisations", json={"kind": "club", "name": "x"})) == (
        422,
        "kind",
    )
    assert field_of(
        roster.call(
            "POST", "/v1/organisations", json={"kind": "branch", "name": "x", "parent_id": tree["group"]}
        )
    ) == (422, "parent_id")
    assert field_of(
        roster.call(
            "POST",
            f"/v1/organisations/{tree['group']}/seats",
            json={
                "role": "member",
                "person_id": "drv_x",
                "term_start": "2025-01-01",
                "term_end": "2024-01-01",
            },
        )
    ) == (422, "term_end")
    assert field_of(
        roster.call(
            "POST",
            f"/v1/organisations/{tree['group']}/seats",
            json={"role": "chair", "person_id": "drv_x", **TERM},
        )
    ) == (422, "role")
    numeric = roster.call("POST", "/v1/ops/scans/pairing-overdue", params={"as_of": "-152"})
    assert field_of(numeric) == (422, "query.as_of"), "a number is no date (it was read as 1969)"
