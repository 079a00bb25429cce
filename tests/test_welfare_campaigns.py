"""Care campaigns (送温暖、送健康、送服务) through a real welfare process: stock ledger, visits, figures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually, read_topic
from roadbranch_shared.topics import WELFARE_CAMPAIGN
from welfare_support import Welfare

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def welfare(stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Welfare]:
    running = Welfare(stack_info, tmp_path_factory.mktemp("welfare"), drivers=["drv_camp_self"]).start()
    yield running
    running.stop()


async def test_stock_never_goes_negative_under_concurrent_issues(
    welfare: Welfare, stack_info: StackInfo
) -> None:
    campaign_id = welfare.start_campaign("warmth", "冬季送温暖")["campaign_id"]
    welfare.receive(campaign_id, "gloves", 20, "手套")
    welfare.register(*(f"drv_cold_{i:02d}" for i in range(12)))
    headers = {"Authorization": f"Bearer {welfare.tokens['welfare_officer']}"}
    async with httpx.AsyncClient(base_url=welfare.process.url, headers=headers, timeout=120) as client:
        answers = await asyncio.gather(
            *(
                client.post(
                    f"/v1/campaigns/{campaign_id}/visits",
                    json={"driver_id": f"drv_cold_{i:02d}", "visitor_ids": ["v-1"], "items": {"gloves": 3}},
                )
                for i in range(12)
            )
        )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 6 + [409] * 6, [a.text for a in answers]
    refusal = next(a.json()["error"] for a in answers if a.status_code == 409)
    assert (refusal["field"], refusal["reason"], refusal["item"]) == (
        "items.gloves",
        "insufficient_stock",
        "gloves",
    )
    assert "手套" in refusal["message"]
    campaign = welfare.ok("GET", f"/v1/campaigns/{campaign_id}")
    assert campaign["stock"]["gloves"] == {"label": "手套", "received": 20, "issued": 18, "on_hand": 2}
    assert campaign["totals"]["visits"] == 6

    async def issued_events() -> list[dict]:
        records = await read_topic(stack_info.kafka_bootstrap, WELFARE_CAMPAIGN.name)
        events = [json.loads(r.value) for r in records if r.key == campaign_id.encode()]
        issued = [e["data"] for e in events if e["type"].endswith("items_issued.v1")]
        return events if len(issued) == 6 else []

    events = await eventually(issued_events, message="six items-issued events")
    received = [e["data"] for e in events if e["type"].endswith("stock_received.v1")]
    assert [(r["item"], r["label"], r["quantity"], r["on_hand"]) for r in received] == [
        ("gloves", "手套", 20, 20)
    ]
    issued = [e["data"] for e in events if e["type"].endswith("items_issued.v1")]
    assert sorted(e["on_hand"]["gloves"] for e in issued) == [2, 5, 8, 11, 14, 17]


def test_a_visit_short_of_one_item_hands_out_nothing(welfare: Welfare) -> None:
    campaign_id = welfare.start_campaign("health", "送健康")["campaign_id"]
    welfare.receive(campaign_id, "heatstroke_relief", 5)
    short = welfare.visit(campaign_id, "drv_short", {"heatstroke_relief": 2, "epidemic_supplies": 1})
    assert short.status_code == 409
    assert short.json()["error"]["item"] == "epidemic_supplies"
    campaign = welfare.ok("GET", f"/v1/campaigns/{campaign_id}")
    assert campaign["stock"]["heatstroke_relief"]["on_hand"] == 5
    assert campaign["totals"]["visits"] == 0
    zero = welfare.visit(campaign_id, "drv_short", {"heatstroke_relief": 0})
    assert (zero.status_code, zero.json()["error"]["fields"][0]["field"]) == (422, "items.heatstroke_relief")
    bad_kind = welfare.call(
        "POST",
        "/v1/campaigns",
        json={
            "kind": "party",
            "title": "x活动",
            "organiser_id": "o",
            "starts_on": "2026-07-01",
            "ends_on": "2026-07-02",
        },
    )
    assert (bad_kind.status_code, bad_kind.json()["error"]["fields"][0]["field"]) == (422, "kind")
    backwards = welfare.call(
        "POST",
        "/v1/campaigns",
        json={
            "kind": "health",
            "title": "倒序",
            "organiser_id": "o",
            "starts_on": "2026-07-02",
            "ends_on": "2026-07-01",
        },
    )
    assert backwards.json()["error"]["fields"][0]["field"] == "ends_on"
    assert welfare.call("GET", "/v1/campaigns", "driver:drv_camp_self").status_code == 403


def test_problems_solved_on_the_spot_link_to_the_drivers_needs_and_a_closed_campaign_takes_no_visit(
    welfare: Welfare,
) -> None:
    campaign_id = welfare.start_campaign("service", "送服务")["campaign_id"]
    welfare.receive(campaign_id, "epidemic_supplies", 10)
    need = welfare.file_need("drv_helped", "certificate_review", description="咨询证件年审程序")
    welfare.solve_need(need["need_id"], "现场讲解年审程序")
    someone_elses = welfare.visit(campaign_id, "drv_other", {}, [need["need_id"]])
    assert (someone_elses.status_code, someone_elses.json()["error"]["fields"][0]["field"]) == (
        422,
        "solved_need_ids",
    )
    visit = welfare.visit(campaign_id, "drv_helped", {"epidemic_supplies": 4}, [need["need_id"]])
    assert visit.status_code == 201, visit.text
    assert (visit.json()["member"], visit.json()["solved_need_ids"]) == (False, [need["need_id"]])
    closed = welfare.ok("POST", f"/v1/campaigns/{campaign_id}/close")
    assert closed["status"] == "closed"
    assert closed["totals"]["problems_solved"] == 1
    assert welfare.visit(campaign_id, "drv_late", {}).json()["error"]["reason"] == "closed"


async def test_a_drivers_words_at_a_visit_are_kept_only_with_consent_and_without_numbers(
    welfare: Welfare, stack_info: StackInfo
) -> None:
    campaign_id = welfare.start_campaign("warmth", "送温暖回访")["campaign_id"]
    welfare.receive(campaign_id, "gloves", 4, "手套")
    words = "感谢组织！不管车轮到哪里，我都会铭记自己是一名党员。"
    for body, field, reason in (
        ({"text": words, "consent": False}, "words.consent", "required"),
        ({"text": "有事打我电话13912345678", "consent": True}, "words.text", "contains_pii"),
    ):
        refused = welfare.visit(campaign_id, "drv_words", {"gloves": 2}, words=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["fields"][0] | {"message": ""} == {
            "field": field,
            "reason": reason,
            "message": "",
        }
    campaign = welfare.ok("GET", f"/v1/campaigns/{campaign_id}")
    assert (campaign["totals"]["visits"], campaign["stock"]["gloves"]["on_hand"]) == (0, 4), "nothing kept"

    # No items here: the figures test below counts every glove this module hands out.
    visit = welfare.visit(campaign_id, "drv_words", {}, words={"text": words, "consent": True})
    assert visit.status_code == 201, visit.text
    assert visit.json()["words"] == {"text": words}

    async def recorded() -> list[dict[str, object]]:
        return [
            json.loads(r.value)
            for r in await read_topic(stack_info.kafka_bootstrap, WELFARE_CAMPAIGN.name)
            if r.key == campaign_id.encode()
            and json.loads(r.value)["type"] == "roadbranch.welfare.campaign.words_recorded.v1"
        ]

    [event] = await eventually(recorded, message="the words on the campaign topic")
    assert event["data"] | {"consent_at": None, "recorded_at": None} == {
        "campaign_id": campaign_id,
        "visit_id": visit.json()["visit_id"],
        "kind": "warmth",
        "driver_id": "drv_words",
        "member": False,
        "text": words,
        "consent_at": None,
        "recorded_at": None,
    }


def test_the_figures_count_visits_items_and_problems_per_campaign_and_in_total(welfare: Welfare) -> None:
    figures = welfare.ok("GET", "/v1/figures/campaigns")
    rows = {r["campaign_id"]: r for r in figures["campaigns"]}
    campaigns = welfare.ok("GET", "/v1/campaigns")["campaigns"]
    assert set(rows) == {c["campaign_id"] for c in campaigns}
    total = figures["total"]
    assert total["campaigns"] == len(campaigns)
    assert total["visits"] == sum(c["totals"]["visits"] for c in campaigns)
    assert total["items_issued"] == {"gloves": 18, "epidemic_supplies": 4}
    assert total["items_issued_total"] == 22
    assert total["problems_solved"] == 1
    assert total["visits_to_members"] + total["visits_to_non_members"] == total["visits"]

    def exported() -> bool:
        text = welfare.call("GET", "/metrics", "").text
        return 'roadbranch_welfare_items_issued{item="gloves"} 18.0' in text and (
            f'roadbranch_welfare_visits{{member="false"}} {float(total["visits"])}' in text
        )

    welfare.wait_for(exported, message="the campaign gauges")
