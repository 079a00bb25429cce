"""三会一课 compliance and the roster view's resilience, through real processes: a branch without its
monthly committee meeting is reported once when the month is about to close (counted by the
meetings' dates); a poison record on roster.member.v1 goes to the dead-letter topic while the view
keeps following the roster."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from activities_support import Activities, assign, pilot_fixtures, published
from aiokafka import AIOKafkaProducer
from roadbranch_shared.contracts.roster import DriverErased
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.events import encode_envelope, kafka_headers, new_event
from roadbranch_shared.testing import eventually, read_topic
from roster_support import Roster, synthetic_people

pytestmark = pytest.mark.integration


roster, pilot, activities = pilot_fixtures("compliance", 1980)


def at(day: int, month: int = 11, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=UTC)


def hold(activities: Activities, org_id: str, kind: str, when: datetime, **fields: Any) -> dict[str, Any]:
    meeting = activities.schedule(org_id, kind, when, **fields)
    return activities.ok("POST", f"/v1/meetings/{meeting['meeting_id']}/hold", json={"summary": "按期召开"})


async def test_a_branch_without_its_monthly_committee_meeting_is_reported_once(
    activities: Activities, pilot: dict[str, Any], stack_info: StackInfo
) -> None:
    branch = pilot["branch"]
    branch_secretary = pilot["drivers"][0]
    activities.set_clock(at(20))
    hold(activities, branch, "theme_party_day", at(5), oath_renewal=True)
    hold(activities, pilot["group"], "party_group_meeting", at(6))  # a group's meeting counts for its branch
    hold(activities, branch, "branch_member_meeting", at(15, 10))
    hold(activities, branch, "party_lesson", at(8), host_id=branch_secretary)
    # Recorded in November, but held on the last day of October: it counts for October only.
    hold(activities, branch, "branch_committee_meeting", at(31, 10, 18))

    assert [r for r in activities.scan() if r["organisation_id"] == branch] == [], (
        "ten days left: no alert yet"
    )

    report = activities.ok("GET", f"/v1/compliance/{branch}?on=2026-11-25", "branch_secretary")
    standing = {s["requirement"]: (s["period"], s["held"], s["met"]) for s in report["standings"]}
    assert standing == {
        "branch_member_meeting": ("2026-Q4", 1, True),
        "branch_committee_meeting": ("2026-11", 0, False),
        "party_group_meeting": ("2026-11", 1, True),
        "party_lesson": ("2026-Q4", 1, True),
        "secretary_lecture": ("2026", 1, True),
        "theme_party_day": ("2026-11", 1, True),
    }
    october = activities.ok("GET", f"/v1/compliance/{branch}?on=2026-10-10")["standings"]
    assert {s["requirement"]: s["held"] for s in october}["branch_committee_meeting"] == 1

    activities.set_clock(at(25))
    raised = [r for r in activities.scan() if r["organisation_id"] == branch]
    assert [(r["requirement"], r["period"], r["held"], r["required"]) for r in raised] == [
        ("branch_committee_meeting", "2026-11", 0, 1)
    ]
    assert [r for r in activities.scan() if r["organisation_id"] == branch] == [], "raised once per period"

    async def overdue() -> list[dict[str, Any]]:
        return await published(
            stack_info.kafka_bootstrap,
            "activities.compliance.v1",
            "roadbranch.activities.compliance.overdue.v1",
            branch,
        )

    [event] = await eventually(overdue, message="compliance.overdue on Kafka")
    assert (event["data"]["requirement"], event["data"]["period_end"]) == (
        "branch_committee_meeting",
        "2026-11-30",
    )

    async def gauge() -> bool:
        async with httpx.AsyncClient(base_url=activities.process.url) as http:
            text = (await http.get("/metrics")).text
        series = (
            f'roadbranch_activities_compliance_met{{organisation_id="{branch}",period="2026-11",'
            'requirement="branch_committee_meeting"} 0.0'
        )
        return series in text and 'roadbranch_activities_meetings_held{kind="theme_party_day"} 1.0' in text

    await eventually(gauge, message="compliance and meetings-held gauges")

    # Holding the meeting late in the month meets the requirement; the alert is not raised again.
    hold(activities, branch, "branch_committee_meeting", at(26))
    assert activities.ok("GET", f"/v1/compliance/{branch}?on=2026-11-26")["met"] is True
    activities.set_clock(None)


async def test_the_policy_is_set_per_organisation_by_the_work_group(
    activities: Activities, pilot: dict[str, Any]
) -> None:
    path = f"/v1/compliance/{pilot['group']}/policy"
    assert activities.ok("GET", path)["custom"] is False
    wrong = activities.call(
        "PUT", path, json={"requirements": {"party_group_meeting": {"period": "week", "count": 1}}}
    )
    assert wrong.json()["error"]["fields"][0]["field"] == "requirements.party_group_meeting.period"
    extra = activities.call(
        "PUT", path, json={"requirements": {"party_group_meeting": {"period": "month", "count": 1, "x": 1}}}
    )
    assert extra.status_code == 422
    assert extra.json()["error"]["fields"][0]["field"] == "requirements.party_group_meeting.x"
    secretary = activities.call(
        "PUT",
        path,
        "branch_secretary",
        json={"requirements": {"party_group_meeting": {"period": "month", "count": 1}}},
    )
    assert secretary.status_code == 403
    policy = activities.ok(
        "PUT", path, json={"requirements": {"party_group_meeting": {"period": "month", "count": 2}}}
    )
    assert policy["requirements"] == {"party_group_meeting": {"period": "month", "count": 2}}
    report = activities.ok("GET", f"/v1/compliance/{pilot['group']}?on=2026-11-06")
    assert [(s["requirement"], s["held"], s["required"]) for s in report["standings"]] == [
        ("party_group_meeting", 1, 2)
    ]
    other = activities.call("GET", f"/v1/compliance/{pilot['committee']}", "branch_secretary")
    assert other.status_code == 403, "a secretary sees his own branch only"


async def test_a_poison_roster_event_goes_to_the_dead_letters_and_the_view_keeps_going(
    roster: Roster, activities: Activities, pilot: dict[str, Any], stack_info: StackInfo
) -> None:
    people = synthetic_people("毒丸后党员", 1, 1982)
    roster.import_drivers(people)
    roster.cross_check(people)
    [case] = [
        c
        for c in roster.call("GET", "/v1/members?status=candidate").json()["members"]
        if c["member_id"] not in {m for m, _ in pilot["members"]}
    ]
    member_id, driver_id = case["member_id"], case["driver_id"]
    # Two malformed records, still JSON objects with a type and a correlation id so that other
    # readers of the topic in this session can skip them: no envelope id or seq, and a payload
    # without the driver and with a time that is not one.
    no_envelope = {
        "type": "roadbranch.roster.member.verified.v1",
        "subject": member_id,
        "correlationid": "poison",
        "data": {"member_id": member_id, "driver_id": driver_id},
    }
    bad_payload = {
        **no_envelope,
        "id": str(uuid.uuid4()),
        "source": "/tests/poison",
        "time": "2026-11-28T08:00:00Z",
        "seq": 99,
        "data": {"member_id": member_id, "verified_at": "yesterday"},
    }
    producer = AIOKafkaProducer(bootstrap_servers=stack_info.kafka_bootstrap)
    await producer.start()
    try:
        # Same key as the member's real events: same partition, so the real ones come after the poison.
        for record in (no_envelope, bad_payload):
            await producer.send_and_wait(
                "roster.member.v1", json.dumps(record).encode(), key=member_id.encode()
            )
    finally:
        await producer.stop()

    assert roster.verify(member_id)["status"] == "verified"
    assign(roster, member_id, pilot["branch"])
    activities.wait_for_members(pilot["branch"], [*pilot["drivers"], driver_id])

    async def parked() -> list[dict[str, str]]:
        records = await read_topic(stack_info.kafka_bootstrap, "roster.member.v1.dlq")
        ours = [{k: v.decode() for k, v in r.headers} for r in records if r.key == member_id.encode()]
        return [
            h for h in ours if h.get("dlq-consumer-group") == f"{activities.consumer_group}.roster.member.v1"
        ]

    headers = await eventually(lambda: _two(parked), message="two dead letters from activities")
    assert sorted(h["dlq-reason"] for h in headers) == ["envelope_invalid", "payload_invalid"]
    assert activities.process.alive
    async with httpx.AsyncClient(base_url=activities.process.url) as http:
        metrics = (await http.get("/metrics")).text
    assert 'roadbranch_dead_letters_total{reason="payload_invalid",topic="roster.member.v1"}' in metrics


async def _two(check: Any) -> list[dict[str, str]]:
    found: list[dict[str, str]] = await check()
    return found if len(found) >= 2 else []


async def test_an_erased_driver_leaves_the_branch_and_his_words_go(
    activities: Activities, pilot: dict[str, Any], stack_info: StackInfo
) -> None:
    leaving = pilot["drivers"][4]
    lesson = hold(activities, pilot["branch"], "party_lesson", at(12))
    quote = {"speaker_id": leaving, "text": "流动不流学，跑到哪里学到哪里。", "consent": True}
    activities.ok("POST", f"/v1/meetings/{lesson['meeting_id']}/quotes", json=quote)

    # The erasure event as the roster publishes it, sent with the real broker: erasing through the
    # roster would also put a tombstone on the session's shared contact topic.
    erased = new_event(
        DriverErased(driver_id=leaving, erased_at=at(20)),
        source="/services/roster",
        subject=leaving,
        seq=50,
    )
    producer = AIOKafkaProducer(bootstrap_servers=stack_info.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            "roster.driver.v1",
            encode_envelope(erased),
            key=leaving.encode(),
            headers=[(k, v.encode()) for k, v in kafka_headers(erased).items()],
        )
    finally:
        await producer.stop()
    org = activities.organisation(pilot["branch"])
    assert org is not None
    staying = [d for d in org["member_driver_ids"] if d != leaving]
    activities.wait_for_members(pilot["branch"], staying)

    def blanked() -> bool:
        quotes = activities.ok("GET", f"/v1/meetings/{lesson['meeting_id']}")["quotes"]
        return [(q["text"], q.get("erased")) for q in quotes] == [("", True)]

    activities.wait_for(blanked, "the erased driver's quote blanked")
    later = activities.schedule(pilot["branch"], "theme_party_day", at(28))
    assert leaving not in later["invitees"]
