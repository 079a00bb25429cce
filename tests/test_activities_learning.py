"""Online learning and knowledge tests through a real activities process: content pushed to the
branch and read by its drivers gives read rates; a training class's knowledge test covers every
committee member of the industry committee and the branch."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from activities_support import VENUE, Activities, pilot_fixtures, published
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually
from roster_support import Roster, synthetic_people

pytestmark = pytest.mark.integration


COUNTY = f"learning-{secrets.token_hex(3)}"  # county-wide content reaches this module's drivers only
roster, pilot, activities = pilot_fixtures("learning", 1979, county=COUNTY)


async def test_pushed_content_is_read_by_drivers_and_gives_read_rates(
    activities: Activities, pilot: dict[str, Any], stack_info: StackInfo
) -> None:
    item = activities.ok(
        "POST",
        "/v1/contents",
        "branch_secretary",
        json={
            "organisation_id": pilot["branch"],
            "category": "theory_policy",
            "title": "离乡不离党、流动不流学：本周学习要点",
            "body": "……",
        },
    )
    content_id = item["content_id"]
    assert item["figures"] == {
        "audience": 5,
        "opened": 0,
        "confirmed": 0,
        "read_rate": 0.0,
        "confirmed_rate": 0.0,
    }
    unknown = activities.call("POST", "/v1/contents", json={"category": "gossip", "title": "x"})
    assert unknown.json()["error"]["fields"][0]["field"] == "category"
    assert (
        activities.call(
            "POST", "/v1/contents", "operator", json={"category": "other", "title": "x"}
        ).status_code
        == 403
    )

    first, second, *_ = pilot["drivers"]

    def pushed_to(driver: str) -> dict[str, Any] | None:
        mine = activities.ok("GET", "/v1/drivers/me/contents", driver=driver)["contents"]
        return next((c for c in mine if c["content_id"] == content_id), None)

    listed = pushed_to(first)
    assert listed is not None, "his app lists what was pushed to him"
    assert (listed["title"], listed["category"], listed["read"]) == (item["title"], "theory_policy", None)
    assert activities.call("GET", "/v1/drivers/me/contents").status_code == 403, "drivers only"
    opened = activities.ok("GET", f"/v1/contents/{content_id}", driver=first)
    assert opened["title"].startswith("离乡不离党")
    assert "figures" not in opened, "a driver sees the item, not who read it"
    assert "audience" not in opened
    activities.ok("GET", f"/v1/contents/{content_id}", driver=first)  # opening again counts once
    confirmed = activities.ok(
        "POST", f"/v1/contents/{content_id}/reads", driver=second, json={"confirmed": True}
    )
    assert confirmed["read"]["confirmed_at"]
    assert (pushed_to(first) or {}).get("read", {}).get("opened_at"), "his own read, as recorded"
    assert (pushed_to(second) or {}).get("read", {}).get("confirmed_at")
    staff_read = activities.call("POST", f"/v1/contents/{content_id}/reads", json={"confirmed": True})
    assert staff_read.status_code == 403, "reads are recorded by drivers for themselves only"

    view = activities.ok("GET", f"/v1/contents/{content_id}")
    assert view["figures"] == {
        "audience": 5,
        "opened": 2,
        "confirmed": 1,
        "read_rate": 0.4,
        "confirmed_rate": 0.2,
    }

    async def reads() -> list[dict[str, Any]]:
        found = await published(
            stack_info.kafka_bootstrap,
            "activities.content.v1",
            "roadbranch.activities.content.read.v1",
            content_id,
        )
        return found if len(found) == 2 else []

    events = await eventually(reads, message="two content.read events")
    assert sorted((e["data"]["driver_id"], e["data"]["confirmed"]) for e in events) == sorted(
        [(first, False), (second, True)]
    )
    [pushed] = await published(
        stack_info.kafka_bootstrap,
        "activities.content.v1",
        "roadbranch.activities.content.published.v1",
        content_id,
    )
    assert pushed["data"]["organisation_id"] == pilot["branch"]

    everyone = activities.ok(
        "POST",
        "/v1/contents",
        "instructor",
        json={"category": "road_safety", "title": "冬季山区道路安全驾驶提示", "venue_id": VENUE},
    )
    # Every member driver this service knows of (the session's other rosters publish on the same
    # topic, so there may be more than the pilot's five), each of whom may open it.
    assert everyone["figures"]["audience"] >= 5
    for driver in pilot["drivers"]:
        activities.ok("GET", f"/v1/contents/{everyone['content_id']}", driver=driver)
    assert activities.ok("GET", f"/v1/contents/{everyone['content_id']}")["figures"]["opened"] == 5

    async def gauge() -> bool:
        async with httpx.AsyncClient(base_url=activities.process.url) as http:
            text = (await http.get("/metrics")).text
        return 'roadbranch_activities_read_rate{category="theory_policy"} 0.4' in text

    await eventually(gauge, message="the read rate gauge")


async def test_a_training_class_knowledge_test_covers_every_committee_member(
    activities: Activities, pilot: dict[str, Any], stack_info: StackInfo
) -> None:
    training = activities.schedule(
        pilot["committee"],
        "training_class",
        datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
        role="instructor",
        topic="党务工作者培训班：模拟演练与知识测试",
        venue_id=VENUE,
        mode="offline",
    )
    meeting_id = training["meeting_id"]
    staff = [f"staff-c{i}" for i in range(7)]
    assert sorted(training["invitees"]) == sorted(staff + pilot["drivers"])
    questions = [
        activities.ok(
            "POST",
            "/v1/questions",
            "instructor",
            json={"category": "theory_policy", "text": text, "options": ["对", "错"], "answer": answer},
        )["question_id"]
        for text, answer in [("三会一课包括党课。", 0), ("预备党员有表决权。", 1)]
    ]
    quiz = activities.ok(
        "POST",
        "/v1/quizzes",
        "instructor",
        json={
            "meeting_id": meeting_id,
            "title": "党务知识测试",
            "purpose": "knowledge_test",
            "pass_mark": 100,
            "question_ids": questions,
        },
    )
    quiz_id = quiz["quiz_id"]
    seen = activities.ok("GET", f"/v1/quizzes/{quiz_id}", driver=pilot["drivers"][0])
    assert "answer" not in str(seen["questions"])
    wrong_count = activities.call(
        "POST", f"/v1/quizzes/{quiz_id}/attempts", driver=pilot["drivers"][0], json={"answers": [0]}
    )
    assert wrong_count.json()["error"]["fields"][0]["field"] == "answers"
    for_another = activities.call(
        "POST",
        f"/v1/quizzes/{quiz_id}/attempts",
        driver=pilot["drivers"][0],
        json={"answers": [0, 1], "person_id": pilot["drivers"][1]},
    )
    assert for_another.status_code == 403

    failed = activities.ok(
        "POST", f"/v1/quizzes/{quiz_id}/attempts", driver=pilot["drivers"][0], json={"answers": [1, 1]}
    )
    assert (failed["passed"], failed["score"]) == (False, 50)
    for driver in pilot["drivers"]:
        activities.ok("POST", f"/v1/quizzes/{quiz_id}/attempts", driver=driver, json={"answers": [0, 1]})
    partial = activities.ok("GET", f"/v1/quizzes/{quiz_id}", "instructor")["figures"]
    assert (partial["covered"], partial["invited"], sorted(partial["not_yet_passed"])) == (
        5,
        12,
        sorted(staff),
    )
    for person in staff:  # the committee's paper tests, entered by the instructor who ran them
        activities.ok(
            "POST",
            f"/v1/quizzes/{quiz_id}/attempts",
            "instructor",
            json={"answers": [0, 1], "person_id": person},
        )
    figures = activities.ok("GET", f"/v1/quizzes/{quiz_id}", "instructor")["figures"]
    assert (figures["coverage"], figures["not_yet_passed"]) == (1.0, [])
    assert (figures["attempts"], figures["pass_rate"]) == (13, pytest.approx(12 / 13))

    async def passes() -> list[dict[str, Any]]:
        found = await published(
            stack_info.kafka_bootstrap,
            "activities.meeting.v1",
            "roadbranch.activities.quiz.passed.v1",
            meeting_id,
        )
        return found if len(found) == 12 else []

    events = await eventually(passes, message="twelve quiz.passed events")
    assert sorted(e["data"]["person_id"] for e in events) == sorted(staff + pilot["drivers"])
    activities.ok("POST", f"/v1/meetings/{meeting_id}/hold", "instructor", json={"summary": "培训与测试完成"})
    summary = activities.ok("GET", "/v1/figures", "org_department")
    assert summary["meetings"]["training_class"]["held"] == 1
    assert summary["quizzes"]["pass_rate"] == pytest.approx(12 / 13)
    naive = activities.call("GET", "/v1/figures?start=2026-11-01T00:00:00", "org_department")
    assert naive.json()["error"]["fields"][0]["field"] == "query.start"
    later = activities.ok("GET", "/v1/figures?start=2027-01-01T00:00:00%2B08:00", "org_department")
    assert later["meetings"] == {}, "nothing was held after the start"


async def test_content_for_every_driver_reaches_members_and_non_members_of_the_county(
    activities: Activities, roster: Roster, pilot: dict[str, Any], stack_info: StackInfo
) -> None:
    assert roster.import_drivers(synthetic_people("学习司机", 3, 1981))["registered"] == 3
    listed = roster.call("GET", "/v1/drivers", params={"limit": 1000}).json()["drivers"]
    others = sorted(d["driver_id"] for d in listed if d["driver_id"] not in pilot["drivers"])
    assert len(others) == 3
    for driver_id in others:
        activities.wait_for(
            lambda d=driver_id: activities.call("GET", f"/v1/drivers/{d}").status_code == 200,
            f"activities to know {driver_id}",
        )
    assert activities.ok("GET", f"/v1/drivers/{others[0]}") == {
        "driver_id": others[0],
        "county": COUNTY,
        "erased": False,
    }

    bad = activities.call(
        "POST",
        "/v1/contents",
        json={
            "organisation_id": pilot["branch"],
            "audience": "all_drivers",
            "category": "road_safety",
            "title": "x",
        },
    )
    assert (bad.status_code, bad.json()["error"]["fields"][0]["field"]) == (422, "audience")
    item = activities.ok(
        "POST",
        "/v1/contents",
        json={"audience": "all_drivers", "category": "road_safety", "title": "冬季冰雪路面安全驾驶提示"},
    )
    assert (item["audience_kind"], item["figures"]["audience"]) == ("all_drivers", 8), (
        "5 members and 3 others"
    )
    members_only = activities.ok(
        "POST", "/v1/contents", json={"category": "theory_policy", "title": "党员学习要点"}
    )
    assert members_only["figures"]["audience"] == 5

    async def audience() -> list[str]:
        found = await published(
            stack_info.kafka_bootstrap,
            "activities.content.v1",
            "roadbranch.activities.content.published.v1",
            item["content_id"],
        )
        return found[0]["data"]["audience_driver_ids"] if found else []

    assert sorted(await eventually(audience, message="the push's audience for notify")) == sorted(
        pilot["drivers"] + others
    )
