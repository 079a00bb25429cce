"""What the driver app does with meetings, through a real activities process fed by a real roster:
his upcoming meetings, asking for leave or joining online (seen by staff, counted in the figures,
published like staff's records), and his writes replayed with one `Idempotency-Key` (a check-in, a
read, a quiz attempt) taking effect once, also after a crash before the answer was stored."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from activities_support import Activities, pilot_fixtures, published
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually

pytestmark = pytest.mark.integration

MEETINGS = "activities.meeting.v1"
RECORDED = "roadbranch.activities.attendance.recorded.v1"
DEC_1 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

roster, pilot, activities = pilot_fixtures("answers", 1983)


@pytest.fixture
async def keys(stack_info: StackInfo, activities: Activities) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    yield client[activities.database].idempotency_keys
    await client.close()


def answer(activities: Activities, meeting_id: str, driver: str, key: str | None = None, **body: Any) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return activities.call(
        "POST", f"/v1/meetings/{meeting_id}/answer", driver=driver, json=body, headers=headers
    )


async def drained(activities: Activities) -> None:
    """Every event the meetings staged is on Kafka (the outbox is empty)."""

    async def empty() -> bool:
        return activities.ok("GET", "/v1/ops/outbox")["pending"]["meetings"] == 0

    await eventually(empty, message="the meetings' outbox drained")


async def test_a_driver_asks_for_leave_or_joins_online_and_staff_see_it(
    activities: Activities, pilot: dict[str, Any], stack_info: StackInfo
) -> None:
    activities.set_clock(DEC_1 - timedelta(days=1))
    lesson = activities.schedule(
        pilot["branch"], "party_lesson", DEC_1, ends_at=(DEC_1 + timedelta(hours=2)).isoformat()
    )
    on_site_only = activities.schedule(
        pilot["branch"], "theme_party_day", DEC_1 + timedelta(days=2), mode="offline"
    )
    staff_only = activities.schedule(pilot["committee"], "branch_committee_meeting", DEC_1)
    meeting_id = lesson["meeting_id"]
    leaver, joiner, late, replayer, _ = pilot["drivers"]

    mine = activities.ok("GET", "/v1/drivers/me/meetings", driver=leaver)["meetings"]
    ids = [m["meeting_id"] for m in mine]
    assert ids.index(meeting_id) < ids.index(on_site_only["meeting_id"]), "soonest first"
    assert staff_only["meeting_id"] not in ids, "only meetings he is invited to"
    assert all("invitees" not in m and "figures" not in m for m in mine), "nobody else's data"

    no_reason = answer(activities, meeting_id, leaver, status="leave")
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["fields"][0]["field"] == "reason"
    asked = answer(activities, meeting_id, leaver, status="leave", reason="在新疆出车，赶不回来")
    assert asked.status_code == 200, asked.text
    assert asked.json()["attendance"]["status"] == "leave"
    assert asked.json()["attendance"]["way"] == "driver_answer"

    online = answer(activities, meeting_id, joiner, status="online")
    assert (online.status_code, online.json()["attendance"]["status"]) == (200, "online")
    not_online = answer(activities, on_site_only["meeting_id"], joiner, status="online")
    assert not_online.status_code == 422
    assert not_online.json()["error"]["fields"][0] == {
        **not_online.json()["error"]["fields"][0],
        "field": "status",
        "reason": "not_online",
    }
    uninvited = answer(activities, staff_only["meeting_id"], leaver, status="leave", reason="出车")
    assert uninvited.status_code == 403

    sheet = activities.ok("GET", f"/v1/meetings/{meeting_id}", "branch_secretary")
    assert sheet["attendance"][leaver]["reason"] == "在新疆出车，赶不回来"
    assert sheet["attendance"][joiner]["status"] == "online"
    assert (sheet["figures"]["on_leave"], sheet["figures"]["present_online"]) == (1, 1)

    # The same answer with one key, twice: one record, one event, the second answer replayed.
    key = str(uuid.uuid4())
    first = answer(activities, meeting_id, replayer, key, status="leave", reason="车坏在半路")
    second = answer(activities, meeting_id, replayer, key, status="leave", reason="车坏在半路")
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    other = answer(activities, meeting_id, replayer, key, status="leave", reason="改了理由")
    assert (other.status_code, other.json()["error"]["field"]) == (422, "Idempotency-Key")

    await drained(activities)
    events = await published(stack_info.kafka_bootstrap, MEETINGS, RECORDED, meeting_id)
    by_person = [(e["data"]["person_id"], e["data"]["status"], e["data"]["way"]) for e in events]
    assert by_person.count((replayer, "leave", "driver_answer")) == 1
    assert (leaver, "leave", "driver_answer") in by_person
    assert (joiner, "online", "driver_answer") in by_person

    activities.set_clock(DEC_1 + timedelta(hours=3))
    over = answer(activities, meeting_id, late, status="leave", reason="出车")
    assert (over.status_code, over.json()["error"]["reason"]) == (409, "meeting_over")
    assert meeting_id not in [
        m["meeting_id"] for m in activities.ok("GET", "/v1/drivers/me/meetings", driver=late)["meetings"]
    ]
    activities.set_clock(None)


async def test_a_check_in_replayed_counts_once_even_after_the_code_expired(
    activities: Activities, pilot: dict[str, Any], stack_info: StackInfo
) -> None:
    starts = DEC_1 + timedelta(days=10)
    activities.set_clock(starts - timedelta(minutes=10))
    lesson = activities.schedule(pilot["branch"], "party_lesson", starts)
    meeting_id = lesson["meeting_id"]
    driver = pilot["drivers"][0]
    code = activities.ok("POST", f"/v1/meetings/{meeting_id}/check-in-code", "branch_secretary")["code"]
    key = str(uuid.uuid4())

    def check_in(code: str = code, key: str = key) -> Any:
        return activities.call(
            "POST",
            f"/v1/meetings/{meeting_id}/check-in",
            driver=driver,
            json={"code": code},
            headers={"Idempotency-Key": key},
        )

    with ThreadPoolExecutor(max_workers=3) as pool:
        racing = list(pool.map(lambda _: check_in(), range(3)))
    assert {a.status_code for a in racing} <= {200, 409}
    done = [a for a in racing if a.status_code == 200]
    assert done, [a.text for a in racing]
    assert all(a.json() == done[0].json() for a in done)
    replay = check_in()
    assert (replay.status_code, replay.json()) == (200, done[0].json())
    assert replay.headers["Idempotent-Replayed"] == "true"

    # His phone sends it again later under another key: still checked in, the same record.
    activities.set_clock(starts + timedelta(hours=1))
    later = check_in(key=str(uuid.uuid4()))
    assert later.status_code == 200, later.text
    assert later.json()["attendance"] == done[0].json()["attendance"]

    await drained(activities)
    events = await published(stack_info.kafka_bootstrap, MEETINGS, RECORDED, meeting_id)
    assert [e["data"]["way"] for e in events if e["data"]["person_id"] == driver] == ["check_in"]
    activities.set_clock(None)


async def test_a_read_and_a_quiz_attempt_replayed_after_a_crash_count_once(
    activities: Activities, pilot: dict[str, Any], keys: Any
) -> None:
    driver = pilot["drivers"][1]
    item = activities.ok(
        "POST",
        "/v1/contents",
        json={"organisation_id": pilot["branch"], "category": "road_safety", "title": "冬季防滑安全"},
    )
    path = f"/v1/contents/{item['content_id']}/reads"
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    first = activities.call("POST", path, driver=driver, json={"confirmed": True}, headers=headers)
    second = activities.call("POST", path, driver=driver, json={"confirmed": True}, headers=headers)
    assert (first.status_code, second.json()) == (200, first.json())
    assert second.headers["Idempotent-Replayed"] == "true"
    figures = activities.ok("GET", f"/v1/contents/{item['content_id']}")["figures"]
    assert (figures["opened"], figures["confirmed"]) == (1, 1)

    lesson = activities.schedule(pilot["branch"], "training_class", DEC_1 + timedelta(days=20))
    question = activities.ok(
        "POST",
        "/v1/questions",
        json={
            "category": "road_safety",
            "text": "冰雪路面应当？",
            "options": ["减速慢行", "急刹"],
            "answer": 0,
        },
    )
    quiz = activities.ok(
        "POST",
        "/v1/quizzes",
        json={
            "meeting_id": lesson["meeting_id"],
            "title": "冬季安全测试",
            "purpose": "knowledge_test",
            "pass_mark": 100,
            "question_ids": [question["question_id"]],
        },
    )
    attempts = f"/v1/quizzes/{quiz['quiz_id']}/attempts"
    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    taken = activities.call("POST", attempts, driver=driver, json={"answers": [0]}, headers=headers)
    assert (taken.status_code, taken.json()["passed"]) == (201, True)

    # The crash: the attempt and the pass were written, the answer was not stored.
    digest = hashlib.sha256(
        f"driver-{driver}\nPOST /v1/quizzes/{{quiz_id}}/attempts\n{key}".encode()
    ).hexdigest()
    crashed = await keys.update_one(
        {"_id": digest, "state": "done"},
        {"$set": {"state": "running", "lease_until": datetime.now(UTC) - timedelta(minutes=5)}},
    )
    assert crashed.modified_count == 1
    replay = activities.call("POST", attempts, driver=driver, json={"answers": [0]}, headers=headers)
    assert replay.status_code == 201
    assert replay.json() == taken.json()
    coverage = activities.ok("GET", f"/v1/quizzes/{quiz['quiz_id']}")["figures"]
    assert (coverage["attempts"], coverage["passed"]) == (1, 1), "one attempt, not two"
