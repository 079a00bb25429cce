"""Meetings through a real activities process fed by a real roster process: who is invited comes
from roster events, a committee seat no longer after its term ended; a party lesson's attendance
(check-in code, online, leave, absent, a proxy record, make-up) gives the right figures and events;
moving, cancelling and the role checks."""

from __future__ import annotations

import json
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from activities_support import Activities, assign, pilot_fixtures, published, verified_members
from aiokafka import AIOKafkaProducer
from notify_support import EventPublisher
from roadbranch_shared.contracts.activities import MeetingScheduled
from roadbranch_shared.contracts.roster import OrganisationCreated, SeatAssigned, SeatEnded
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually, read_topic
from roadbranch_shared.topics import ROSTER_ORG
from roster_support import Roster

pytestmark = pytest.mark.integration

MEETINGS = "activities.meeting.v1"
NOV_10 = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


roster, pilot, activities = pilot_fixtures("meetings", 1978)


async def test_a_member_verified_in_roster_becomes_an_invitee(
    roster: Roster, activities: Activities, pilot: dict[str, Any], stack_info: StackInfo
) -> None:
    assert activities.organisation(pilot["group"])["member_driver_ids"] == sorted(pilot["drivers"][:2])
    [(member_id, newcomer)] = verified_members(roster, "新活动党员", 1, 1981)
    assign(roster, member_id, pilot["branch"])
    everyone = [*pilot["drivers"], newcomer]
    activities.wait_for_members(pilot["branch"], everyone)

    lesson = activities.schedule(pilot["branch"], "party_lesson", NOV_10 + timedelta(days=30))
    assert sorted(lesson["invitees"]) == sorted(everyone)
    assert sorted(lesson["invitee_drivers"]) == sorted(everyone)

    async def scheduled() -> list[dict[str, Any]]:
        return await published(
            stack_info.kafka_bootstrap,
            MEETINGS,
            "roadbranch.activities.meeting.scheduled.v1",
            lesson["meeting_id"],
        )

    [event] = await eventually(scheduled, message="meeting.scheduled on Kafka")
    assert sorted(event["data"]["invitee_driver_ids"]) == sorted(everyone)
    assert event["data"]["venue_kind"] == "activity_room"
    assert set(event["data"]) == set(MeetingScheduled.model_fields), "ids, times and places only"

    committee_meeting = activities.schedule(pilot["branch"], "branch_committee_meeting", NOV_10)
    assert sorted(committee_meeting["invitees"]) == sorted(pilot["drivers"])
    group_meeting = activities.schedule(pilot["group"], "party_group_meeting", NOV_10)
    assert sorted(group_meeting["invitees"]) == sorted(pilot["drivers"][:2])
    training = activities.schedule(pilot["committee"], "training_class", NOV_10, venue_name="县委党校")
    staff_seats = [f"staff-c{i}" for i in range(7)]
    assert sorted(training["invitees"]) == sorted(staff_seats + pilot["drivers"])
    assert sorted(training["invitee_drivers"]) == sorted(pilot["drivers"]), "staff are not drivers to remind"


def attendance(
    activities: Activities, meeting_id: str, *records: dict[str, Any], role: str = "branch_secretary"
) -> Any:
    return activities.call(
        "PUT", f"/v1/meetings/{meeting_id}/attendance", role, json={"records": list(records)}
    )


async def test_a_lesson_with_every_kind_of_attendance_gives_the_right_figures(
    activities: Activities, pilot: dict[str, Any], stack_info: StackInfo
) -> None:
    activities.set_clock(NOV_10 - timedelta(hours=1))
    lesson = activities.schedule(
        pilot["branch"],
        "party_lesson",
        NOV_10,
        role="branch_secretary",
        topic="安全驾驶与党员先锋作用",
        venue_kind="repair_shop",
        venue_name="美姑县汽车修理厂",
        host_id="staff-c0",
        material="第一讲：党员司机在运输一线的先锋作用……",
    )
    meeting_id = lesson["meeting_id"]
    # The five drivers with tokens play the five ways; anyone else invited is signed in by proxy.
    on_site, online, leave, absent, makes_up = pilot["drivers"]
    others = sorted(set(lesson["invitees"]) - set(pilot["drivers"]))

    # The instructor runs the activity room, not a repair shop's lesson; a driver records nothing.
    assert (
        attendance(
            activities, meeting_id, {"person_id": online, "status": "online"}, role="instructor"
        ).status_code
        == 403
    )
    as_driver = activities.call(
        "PUT",
        f"/v1/meetings/{meeting_id}/attendance",
        driver=online,
        json={"records": [{"person_id": online, "status": "on_site"}]},
    )
    assert as_driver.status_code == 403

    code = activities.ok("POST", f"/v1/meetings/{meeting_id}/check-in-code", "branch_secretary")
    assert len(code["code"]) == 6
    assert code["code"].isdigit()
    assert "check_in" not in activities.ok("GET", f"/v1/meetings/{meeting_id}"), (
        "the code is kept hashed only"
    )
    wrong = "000000" if code["code"] != "000000" else "111111"
    refused = activities.call(
        "POST", f"/v1/meetings/{meeting_id}/check-in", driver=on_site, json={"code": wrong}
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["fields"][0]["field"] == "code"
    activities.set_clock(NOV_10 + timedelta(minutes=31))
    expired = activities.call(
        "POST", f"/v1/meetings/{meeting_id}/check-in", driver=on_site, json={"code": code["code"]}
    )
    assert expired.json()["error"]["fields"][0]["reason"] == "expired"
    code = activities.ok("POST", f"/v1/meetings/{meeting_id}/check-in-code", "branch_secretary")
    mine = activities.ok(
        "POST", f"/v1/meetings/{meeting_id}/check-in", driver=on_site, json={"code": code["code"]}
    )
    assert mine["attendance"]["status"] == "on_site"
    assert mine["attendance"]["way"] == "check_in"
    assert "invitees" not in mine, "a driver sees his own attendance only"

    no_reason = attendance(activities, meeting_id, {"person_id": leave, "status": "leave"})
    assert no_reason.status_code == 422
    assert no_reason.json()["error"]["fields"][0]["field"] == "records.0.reason"
    proxy = attendance(
        activities, meeting_id, *({"person_id": p, "status": "on_site", "proxy": True} for p in others)
    )
    if others:
        assert proxy.status_code == 422
        assert proxy.json()["error"]["fields"][0]["field"] == "records.0.reason"
    recorded = attendance(
        activities,
        meeting_id,
        {"person_id": online, "status": "online"},
        {"person_id": leave, "status": "leave", "reason": "长途运输在外"},
        {"person_id": absent, "status": "absent"},
        *(
            {"person_id": p, "status": "on_site", "proxy": True, "reason": "手机没电，书记代签"}
            for p in others
        ),
    )
    assert recorded.status_code == 200, recorded.text
    outsider = attendance(activities, meeting_id, {"person_id": "drv_stranger", "status": "online"})
    assert outsider.json()["error"]["fields"][0]["field"] == "records.0.person_id"

    held = activities.ok(
        "POST",
        f"/v1/meetings/{meeting_id}/hold",
        "branch_secretary",
        json={"summary": "讲授安全驾驶与党员先锋作用"},
    )
    expected = {
        "invited": 5 + len(others),
        "present_on_site": 1 + len(others),
        "present_online": 1,
        "on_leave": 1,
        "absent": 2,
        "made_up": 0,
    }
    assert {k: held["figures"][k] for k in expected} == expected
    assert held["attendance"][makes_up]["way"] == "closing"
    assert held["held_at"].startswith("2026-11-10T09:00")
    late = attendance(activities, meeting_id, {"person_id": absent, "status": "online"})
    assert late.status_code == 409

    async def held_events() -> list[dict[str, Any]]:
        found = []
        for kind in ("meeting.held", "lesson.held"):
            found += await published(
                stack_info.kafka_bootstrap, MEETINGS, f"roadbranch.activities.{kind}.v1", meeting_id
            )
        return found if len(found) == 2 else []

    meeting_held, lesson_held = await eventually(held_events, message="meeting.held and lesson.held")
    assert {
        k: meeting_held["data"][k]
        for k in ("invited", "present_on_site", "present_online", "on_leave", "absent")
    } == {k: expected[k] for k in ("invited", "present_on_site", "present_online", "on_leave", "absent")}
    assert meeting_held["data"]["venue_kind"] == "repair_shop"
    assert (lesson_held["data"]["present"], lesson_held["data"]["lecturer_id"]) == (
        2 + len(others),
        "staff-c0",
    )

    # 补学: the material and a quiz; a failed attempt changes nothing, a pass makes the lesson up.
    questions = [
        activities.ok(
            "POST",
            "/v1/questions",
            "instructor",
            json={"category": "road_safety", "text": t, "options": o, "answer": a},
        )
        for t, o, a in [
            ("连续驾驶不得超过几小时？", ["2 小时", "4 小时", "6 小时"], 1),
            ("党员司机应当？", ["亮身份、作表率", "隐藏身份"], 0),
        ]
    ]
    quiz = activities.ok(
        "POST",
        "/v1/quizzes",
        "branch_secretary",
        json={
            "meeting_id": meeting_id,
            "title": "党课补学测试",
            "purpose": "make_up",
            "pass_mark": 100,
            "question_ids": [q["question_id"] for q in questions],
        },
    )

    def open_make_ups(driver: str) -> list[str]:
        found = activities.ok("GET", "/v1/drivers/me/make-ups", driver=driver)["meetings"]
        return [m["meeting_id"] for m in found]

    assert meeting_id in open_make_ups(makes_up)
    assert meeting_id not in open_make_ups(online), "he was there: nothing to make up"
    material = activities.ok("GET", f"/v1/meetings/{meeting_id}/make-up", driver=makes_up)
    assert material["material"].startswith("第一讲")
    assert "answer" not in str(material["quiz"]["questions"])
    failed = activities.ok(
        "POST", f"/v1/meetings/{meeting_id}/make-up", driver=makes_up, json={"answers": [0, 0]}
    )
    assert failed["passed"] is False
    passed = activities.ok(
        "POST", f"/v1/meetings/{meeting_id}/make-up", driver=makes_up, json={"answers": [1, 0]}
    )
    assert (passed["passed"], passed["score"]) == (True, 100)
    again = activities.call(
        "POST", f"/v1/meetings/{meeting_id}/make-up", driver=makes_up, json={"answers": [1, 0]}
    )
    assert again.json()["error"]["reason"] == "already_made_up"
    assert meeting_id not in open_make_ups(makes_up), "made up: no longer offered"
    present = activities.call("GET", f"/v1/meetings/{meeting_id}/make-up", driver=online)
    assert (present.status_code, present.json()["error"]["reason"]) == (409, "was_present")
    assert meeting_id in open_make_ups(absent)
    activities.set_clock(NOV_10 + timedelta(days=31))
    closed = activities.call(
        "POST", f"/v1/meetings/{meeting_id}/make-up", driver=absent, json={"answers": [1, 0]}
    )
    assert closed.json()["error"]["reason"] == "window_closed"
    assert meeting_id not in open_make_ups(absent), "the window closed: no longer offered"

    view = activities.ok("GET", f"/v1/meetings/{meeting_id}")
    assert view["figures"]["made_up"] == 1
    assert view["figures"]["attendance_rate"] == pytest.approx((2 + len(others)) / (5 + len(others)))
    assert view["figures"]["attendance_rate_with_makeup"] == pytest.approx(
        (3 + len(others)) / (5 + len(others))
    )
    quiz_view = activities.ok("GET", f"/v1/quizzes/{quiz['quiz_id']}", "branch_secretary")
    assert (quiz_view["figures"]["attempts"], quiz_view["figures"]["passed"]) == (2, 1)

    async def made_up() -> list[dict[str, Any]]:
        return await published(
            stack_info.kafka_bootstrap, MEETINGS, "roadbranch.activities.makeup.completed.v1", meeting_id
        )

    [completed] = await eventually(made_up, message="makeup.completed on Kafka")
    assert (completed["data"]["person_id"], completed["data"]["previous_status"]) == (makes_up, "absent")
    recorded_events = await published(
        stack_info.kafka_bootstrap, MEETINGS, "roadbranch.activities.attendance.recorded.v1", meeting_id
    )
    assert len(recorded_events) >= 5 + len(others)
    seqs = [
        e["seq"]
        for e in await published(
            stack_info.kafka_bootstrap, MEETINGS, "roadbranch.activities.makeup.completed.v1", meeting_id
        )
    ]
    assert seqs[0] > meeting_held["seq"], "a make-up follows the meeting's other events in order"

    # The drivers' own words, with consent and without numbers that identify anyone.
    quote = {"speaker_id": on_site, "text": "在修理厂也能听党课，跑车再远也不掉队。", "consent": True}
    refused = activities.call(
        "POST", f"/v1/meetings/{meeting_id}/quotes", "branch_secretary", json={**quote, "consent": False}
    )
    assert refused.json()["error"]["fields"][0]["field"] == "consent"
    phone = activities.call(
        "POST",
        f"/v1/meetings/{meeting_id}/quotes",
        "branch_secretary",
        json={**quote, "text": "有事打我 13912345678"},
    )
    assert phone.json()["error"]["fields"][0]["field"] == "text"
    saved = activities.call("POST", f"/v1/meetings/{meeting_id}/quotes", "branch_secretary", json=quote)
    assert saved.status_code == 201, saved.text
    [quote_id] = [q["quote_id"] for q in saved.json()["quotes"] if q["speaker_id"] == on_site]

    # The speaker reads his words in his app and takes his consent back: the words leave the
    # meeting, once; nobody else may take them back for him.
    [mine] = activities.ok("GET", "/v1/drivers/me/quotes", driver=on_site)["quotes"]
    assert (mine["quote_id"], mine["text"], mine["withdrawn_at"]) == (quote_id, quote["text"], None)
    assert activities.ok("GET", "/v1/drivers/me/quotes", driver=online)["quotes"] == []
    withdraw = f"/v1/meetings/{meeting_id}/quotes/{quote_id}/withdraw"
    not_his = activities.call("POST", withdraw, driver=online)
    assert (not_his.status_code, not_his.json()["error"]["field"]) == (403, "quote_id")
    assert activities.call("POST", withdraw, "branch_secretary").status_code == 403
    missing = activities.call(
        "POST", f"/v1/meetings/{meeting_id}/quotes/quo_nothing/withdraw", driver=on_site
    )
    assert (missing.status_code, missing.json()["error"]["field"]) == (404, "quote_id")
    taken_back = activities.ok("POST", withdraw, driver=on_site)
    assert (taken_back["text"], taken_back["withdrawn_at"] is not None) == ("", True)
    again = activities.ok("POST", withdraw, driver=on_site)
    assert again["withdrawn_at"] == taken_back["withdrawn_at"], "a second withdrawal changes nothing"
    [staff_view] = activities.ok("GET", f"/v1/meetings/{meeting_id}", "branch_secretary")["quotes"]
    assert (staff_view["text"], staff_view["withdrawn_at"]) == ("", taken_back["withdrawn_at"])

    async def withdrawn() -> list[dict[str, Any]]:
        return await published(
            stack_info.kafka_bootstrap, MEETINGS, "roadbranch.activities.quote.withdrawn.v1", meeting_id
        )

    [event] = await eventually(withdrawn, message="quote.withdrawn on Kafka")
    assert (event["data"]["quote_id"], event["data"]["speaker_id"]) == (quote_id, on_site)
    assert "text" not in event["data"]
    activities.set_clock(None)


async def test_moving_and_cancelling_a_meeting_and_who_may(
    activities: Activities, pilot: dict[str, Any], stack_info: StackInfo
) -> None:
    day = activities.schedule(
        pilot["branch"],
        "theme_party_day",
        NOV_10 + timedelta(days=5),
        oath_renewal=True,
        role="branch_secretary",
    )
    meeting_id = day["meeting_id"]
    assert day["oath_renewal"] is True

    def refused(role: str = "work_group_staff", **fields: Any) -> tuple[int, str | None]:
        """Schedule a lesson with `fields` changed; the status and the first field named."""
        body = {
            "organisation_id": pilot["branch"],
            "kind": "party_lesson",
            "topic": "x",
            "starts_at": NOV_10.isoformat(),
            "venue_kind": "activity_room",
            "mode": "offline",
            **fields,
        }
        response = activities.call("POST", "/v1/meetings", role, json=body)
        error = response.json()["error"]
        return response.status_code, (error.get("fields") or [{}])[0].get("field")

    assert refused("branch_secretary", organisation_id=pilot["committee"])[0] == 403, "his own branch only"
    assert refused(kind="tea_party") == (422, "kind")
    assert refused(starts_at="2026-11-10T09:00:00") == (422, "body.starts_at"), "a time needs its zone"
    assert refused(audience="everyone") == (422, "audience")
    assert refused(venue_kind="online") == (422, "mode")
    listed = activities.ok("GET", "/v1/meetings", "branch_secretary")["meetings"]
    assert meeting_id in [m["meeting_id"] for m in listed]
    assert {m["organisation_id"] for m in listed} <= {pilot["branch"]}, "his own branch by default"
    assert (
        activities.call(
            "GET", f"/v1/meetings?organisation_id={pilot['committee']}", "branch_secretary"
        ).status_code
        == 403
    )
    assert activities.ok("GET", "/v1/meetings", "instructor")["meetings"] == [], "no meeting at his venue"

    moved_to = NOV_10 + timedelta(days=6)
    moved = activities.ok(
        "POST",
        f"/v1/meetings/{meeting_id}/reschedule",
        "branch_secretary",
        json={"starts_at": moved_to.isoformat(), "venue_kind": "online", "mode": "online"},
    )
    assert (moved["venue_kind"], moved["mode"]) == ("online", "online")
    cancelled = activities.ok("POST", f"/v1/meetings/{meeting_id}/cancel", json={"reason": "暴雪封路"})
    assert cancelled["status"] == "cancelled"
    refused = activities.call("POST", f"/v1/meetings/{meeting_id}/hold", json={"summary": "x"})
    assert (refused.status_code, refused.json()["error"]["reason"]) == (409, "meeting_cancelled")

    async def story() -> list[str]:
        events = []
        for kind in ("scheduled", "rescheduled", "cancelled"):
            events += await published(
                stack_info.kafka_bootstrap, MEETINGS, f"roadbranch.activities.meeting.{kind}.v1", meeting_id
            )
        return [e["type"] for e in sorted(events, key=lambda e: e["seq"])] if len(events) == 3 else []

    types = await eventually(story, message="scheduled, rescheduled and cancelled on Kafka")
    assert types == [
        f"roadbranch.activities.meeting.{k}.v1" for k in ("scheduled", "rescheduled", "cancelled")
    ]
    [rescheduled] = await published(
        stack_info.kafka_bootstrap, MEETINGS, "roadbranch.activities.meeting.rescheduled.v1", meeting_id
    )
    assert rescheduled["data"]["previous_starts_at"].startswith("2026-11-15T09:00")


async def test_a_committee_seat_ended_in_roster_no_longer_invites_after_its_end(
    roster: Roster, activities: Activities, pilot: dict[str, Any]
) -> None:
    committee = pilot["committee"]
    [seat] = [
        s
        for s in activities.ok("GET", f"/v1/organisations/{committee}")["seats"]
        if s["person_id"] == "staff-c6"
    ]
    ended = roster.call(
        "POST", f"/v1/organisations/{committee}/seats/{seat['seat_id']}/end", json={"term_end": "2026-11-30"}
    )
    assert ended.status_code == 200, ended.text

    def seen() -> dict[str, Any] | None:
        seats = activities.ok("GET", f"/v1/organisations/{committee}")["seats"]
        [shown] = [s for s in seats if s["seat_id"] == seat["seat_id"]]
        return shown if shown["term_end"] == "2026-11-30" else None

    activities.wait_for(seen, "the end of staff-c6's term in activities")
    staff = {f"staff-c{i}" for i in range(7)}
    during = activities.schedule(committee, "training_class", datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    after = activities.schedule(committee, "training_class", datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
    assert staff <= set(during["invitees"]), "his last day is 30 November: he is still invited before it"
    assert staff - set(after["invitees"]) == {"staff-c6"}
    assert set(after["invitee_drivers"]) == set(during["invitee_drivers"]), "the drivers are unchanged"


async def test_seat_ends_apply_once_in_the_organisations_order_and_a_malformed_one_is_dead_lettered(
    activities: Activities, stack_info: StackInfo
) -> None:
    org = f"org_seats_{secrets.token_hex(4)}"
    now = datetime.now(UTC)

    def assigned(seat_id: str, person_id: str) -> SeatAssigned:
        return SeatAssigned(
            organisation_id=org,
            seat_id=seat_id,
            role="member",
            person_id=person_id,
            term_start=date(2025, 1, 1),
            assigned_at=now,
        )

    def ended(seat_id: str, person_id: str, term_end: date) -> SeatEnded:
        return SeatEnded(
            organisation_id=org,
            seat_id=seat_id,
            role="member",
            person_id=person_id,
            term_start=date(2025, 1, 1),
            term_end=term_end,
            ended_at=now,
        )

    created = OrganisationCreated(
        organisation_id=org, kind="industry_committee", name="测试行业党委", created_at=now
    )
    poison = {
        "id": str(uuid.uuid4()),
        "source": "/tests/poison",
        "type": SeatEnded.event_type,
        "specversion": "1.0",
        "time": now.isoformat(),
        "subject": org,
        "correlationid": "poison",
        "seq": 90,
        "data": {"organisation_id": org, "seat_id": "seat_a", "role": "member", "term_end": "soon"},
    }
    async with EventPublisher(stack_info.kafka_bootstrap, source="/tests/roster") as events:
        await events.publish(created, org)
        first = await events.publish(assigned("seat_a", "staff-sa"), org)
        # The end of a seat this view never saw (its assignment left the topic before it read it).
        await events.publish(ended("seat_gone", "staff-sb", date(2026, 6, 30)), org)
        end = await events.publish(ended("seat_a", "staff-sa", date(2026, 11, 30)), org)
        # At-least-once: the assignment and the end come again, after the end.
        await events.send(first, ROSTER_ORG.name)
        await events.send(end, ROSTER_ORG.name)
        producer = AIOKafkaProducer(bootstrap_servers=stack_info.kafka_bootstrap)
        await producer.start()
        try:  # same key, same partition: the record after it is read after it
            await producer.send_and_wait(ROSTER_ORG.name, json.dumps(poison).encode(), key=org.encode())
        finally:
            await producer.stop()
        await events.publish(assigned("seat_c", "staff-sc"), org)

    def caught_up() -> list[dict[str, Any]] | None:
        shown = activities.organisation(org)
        seats = (shown or {}).get("seats", [])
        return seats if any(s["seat_id"] == "seat_c" for s in seats) else None

    seats = activities.wait_for(caught_up, "the last seat of the test organisation")
    assert [(s["seat_id"], s["person_id"], s["term_end"]) for s in seats] == [
        ("seat_a", "staff-sa", "2026-11-30"),
        ("seat_gone", "staff-sb", "2026-06-30"),
        ("seat_c", "staff-sc", None),
    ]
    during = activities.schedule(org, "training_class", datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    after = activities.schedule(org, "training_class", datetime(2026, 12, 10, 9, 0, tzinfo=UTC))
    assert sorted(during["invitees"]) == ["staff-sa", "staff-sc"]
    assert after["invitees"] == ["staff-sc"]

    group = f"{activities.consumer_group}.{ROSTER_ORG.name}"

    async def parked() -> list[dict[str, str]]:
        records = await read_topic(stack_info.kafka_bootstrap, f"{ROSTER_ORG.name}.dlq")
        headers = [{k: v.decode() for k, v in r.headers} for r in records if r.key == org.encode()]
        return [h for h in headers if h.get("dlq-consumer-group") == group]

    [letter] = await eventually(parked, message="the malformed SeatEnded in the dead-letter topic")
    assert letter["dlq-reason"] == "payload_invalid"
    assert "term_end" in letter["dlq-error"]
    assert activities.process.alive
