"""Welfare with a real roster process: membership at visit time comes from the roster's events, the
pilot's care campaigns add up to the briefing's figures, and a driver erased in roster is anonymised."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually
from roster_support import Roster, synthetic_people
from welfare_support import Welfare

pytestmark = pytest.mark.integration

PEOPLE = synthetic_people("关怀司机", 31, 1979)
MEMBERS = PEOPLE[:9]


@pytest.fixture(scope="module")
def roster(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roster]:
    running = Roster(stack_info, tmp_path_factory.mktemp("roster")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def welfare(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Welfare]:
    running = Welfare(stack_info, tmp_path_factory.mktemp("welfare")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def drivers(roster: Roster, welfare: Welfare) -> dict[str, list[str]]:
    """31 drivers in the roster, 9 of them verified members, all known to welfare."""
    assert roster.import_drivers(PEOPLE)["registered"] == 31
    assert roster.cross_check(MEMBERS)["new_cases"] == 9
    members = roster.call("GET", "/v1/members").json()["members"]
    for case in members:
        assert roster.verify(case["member_id"])["status"] == "verified"
    member_ids = sorted(c["driver_id"] for c in members)
    everyone = [
        d["driver_id"] for d in roster.call("GET", "/v1/drivers", params={"limit": 100}).json()["drivers"]
    ]
    others = sorted(set(everyone) - set(member_ids))
    for d in member_ids:
        welfare.wait_for(lambda d=d: welfare.knows(d, member=True), message=f"member {d} in welfare's view")
    for d in others:
        welfare.wait_for(lambda d=d: welfare.knows(d, member=False), message=f"driver {d} in welfare's view")
    return {"members": member_ids, "others": others}


def test_the_pilots_three_campaigns_add_up_to_the_briefing(
    welfare: Welfare, drivers: dict[str, list[str]]
) -> None:
    """3 campaigns; 9 member and 22 non-member drivers visited; 223 items; 3 problems solved."""
    everyone = drivers["members"] + drivers["others"]
    problems = {
        everyone[25]: "certificate_review",
        everyone[27]: "certificate_review",
        everyone[29]: "medical",
    }
    welfare.play_care_campaigns(everyone, items=223, problems=problems)
    visits = [v for c in welfare.ok("GET", "/v1/campaigns")["campaigns"] for v in c["visits"]]
    assert {v["driver_id"] for v in visits if v["member"]} == set(drivers["members"])

    total = welfare.ok("GET", "/v1/figures/campaigns")["total"]
    assert (total["campaigns"], total["visits_to_members"], total["visits_to_non_members"]) == (3, 9, 22)
    assert (total["items_issued_total"], total["problems_solved"]) == (223, 3)
    assert total["items_issued"] == {"gloves": 83, "heatstroke_relief": 70, "epidemic_supplies": 70}
    needs = welfare.ok("GET", "/v1/figures/needs")
    resolved = {c: needs["by_category"][c]["resolved"] for c in ("certificate_review", "medical")}
    assert resolved == {"certificate_review": 2, "medical": 1}


@pytest.fixture(scope="module")
async def welfare_db(stack_info: StackInfo, welfare: Welfare) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    yield client[welfare.database]
    await client.close()


async def test_a_driver_erased_in_the_roster_is_anonymised_here_and_the_figures_keep_counting(
    roster: Roster, welfare: Welfare, drivers: dict[str, list[str]], welfare_db: Any
) -> None:
    target = drivers["others"][-1]
    welfare.restart_with_drivers([target])
    me = f"driver:{target}"
    need = welfare.ok(
        "POST",
        "/v1/needs",
        me,
        json={
            "category": "family_hardship",
            "description": "孩子生病急需用钱",
            "location": {"text": "家在巴普镇"},
        },
    )
    welfare.solve_need(need["need_id"], "联系民政临时救助")
    rate = f"/v1/needs/{need['need_id']}/rating"
    welfare.ok("POST", rate, me, json={"rating": 2, "comment": "钱还没到账"})
    welfare.ok("POST", f"/v1/needs/{need['need_id']}/reopen", me, json={"reason": "救助金还没发下来"})
    welfare.solve_need(need["need_id"], "救助金已发放")
    welfare.ok("POST", rate, me, json={"rating": 4, "comment": "谢谢专班的同志"})
    station = welfare.open_station(amenities={"beds": 2})["station_id"]
    assert welfare.call("POST", f"/v1/stations/{station}/check-ins", me, json={}).status_code == 201
    campaign_id = welfare.start_campaign("warmth", "回访")["campaign_id"]
    welfare.receive(campaign_id, "gloves", 5)
    thanks = {"text": "感谢组织送来的手套，暖到心里", "consent": True}
    assert welfare.visit(campaign_id, target, {"gloves": 2}, words=thanks).status_code == 201
    before = (welfare.ok("GET", "/v1/figures/needs"), welfare.ok("GET", "/v1/figures/campaigns")["total"])

    erased = roster.call(
        "POST",
        f"/v1/drivers/{target}/erasure",
        json={"reason": "本人申请删除", "request_reference": "PIPL-9"},
    )
    assert erased.status_code == 200, erased.text
    welfare.wait_for(lambda: welfare.knows(target, erased=True), message="the erasure in welfare's view")

    async def traces() -> list[str]:
        found = []
        for name in await welfare_db.list_collection_names():
            if name == "drivers":
                continue  # the view keeps an erased marker under the id, as the roster does
            async for doc in welfare_db[name].find({}):
                text = json.dumps(doc, default=str, ensure_ascii=False)
                words = (
                    target,
                    "孩子生病",
                    "谢谢专班",
                    "巴普镇",
                    "钱还没到账",
                    "救助金还没发下来",
                    "暖到心里",
                )
                if any(w in text for w in words):
                    found.append(f"{name}/{doc['_id']}")
        return found

    try:
        await eventually(lambda: _empty(traces), message="no trace of the erased driver in welfare")
    except AssertionError:
        assert await traces() == [], "documents still naming the erased driver or holding his words"
        raise
    kept = welfare.ok("GET", f"/v1/needs/{need['need_id']}")
    assert kept["driver_id"].startswith("anon_")
    assert (kept["category"], kept["status"], kept["rating"]["rating"], kept["description"]) == (
        "family_hardship",
        "resolved",
        4,
        "",
    )
    visit = welfare.ok("GET", f"/v1/campaigns/{campaign_id}")["visits"][0]
    assert visit["driver_id"] == kept["driver_id"], "one marker for all his records"
    assert kept["driver_id"] in welfare.ok("GET", f"/v1/stations/{station}")["guests"]
    after = (welfare.ok("GET", "/v1/figures/needs"), welfare.ok("GET", "/v1/figures/campaigns")["total"])
    assert after == before, "erasure keeps the counts"
    refused = welfare.call(
        "POST", "/v1/needs", json={"driver_id": target, "category": "other", "description": "新诉求"}
    )
    assert (refused.status_code, refused.json()["error"]["fields"][0]["reason"]) == (422, "erased")


async def _empty(check: Any) -> bool:
    return not await check()


def test_a_driver_the_roster_never_registered_is_refused_and_counts_nowhere(
    welfare: Welfare, drivers: dict[str, list[str]]
) -> None:
    """Phantom people: welfare's figures would disagree with the briefing's."""
    before = welfare.ok("GET", "/v1/figures/needs")["filed"]
    station = welfare.open_station(amenities={"beds": 2})["station_id"]
    campaign = welfare.start_campaign("warmth", "送温暖")["campaign_id"]
    phantom = "drv_never_registered"
    attempts = [
        welfare.call("POST", f"/v1/stations/{station}/check-ins", json={"driver_id": phantom}),
        welfare.call(
            "POST",
            f"/v1/campaigns/{campaign}/visits",
            json={
                "driver_id": phantom,
                "visitor_ids": ["welfare_officer-1"],
                "items": {},
                "solved_need_ids": [],
            },
        ),
        welfare.call(
            "POST",
            "/v1/needs",
            json={"driver_id": phantom, "category": "medical", "urgency": "normal", "description": "看病"},
        ),
    ]
    for answer in attempts:
        assert answer.status_code == 404, answer.text
        error = answer.json()["error"]
        assert (error["field"], error["reason"]) == ("driver_id", "unknown_driver")
        assert "花名册" in error["message"]
    assert welfare.ok("GET", "/v1/figures/needs")["filed"] == before
    assert welfare.ok("GET", f"/v1/stations/{station}")["occupied"] == 0
    real = drivers["others"][0]
    checked_in = welfare.call("POST", f"/v1/stations/{station}/check-ins", json={"driver_id": real})
    assert checked_in.status_code == 201, "a driver the roster registered is served"
