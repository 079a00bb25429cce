"""Meeting reminders, quiet hours and the daily cap, on notify's controllable clock: the clock is set
through the operator's endpoint, never slept for. Contact points are published on the real
roster.contact.v1 (synthetic numbers), meetings and needs with the real broker in the shared envelope."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from notify_support import EventPublisher, Notify, SmsProviderServer, running
from roadbranch_shared.contracts.activities import (
    ComplianceOverdue,
    ContentPublished,
    MeetingCancelled,
    MeetingRescheduled,
    MeetingScheduled,
)
from roadbranch_shared.contracts.roster import (
    DriverErased,
    MemberAssignedToBranch,
    MemberContactLost,
    MemberVerified,
    OrganisationCreated,
    SeatAssigned,
    SeatEnded,
)
from roadbranch_shared.contracts.welfare import NeedEscalated, NeedFiled
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.pii import PiiKeys
from roadbranch_shared.testing import eventually
from roadbranch_shared.topics import ROSTER_CONTACT, ROSTER_ORG
from roster.app.contact_points import contact_point_changed

pytestmark = pytest.mark.integration

CST = timezone(timedelta(hours=8))  # Asia/Shanghai has no daylight saving
RUN = secrets.token_hex(3)


def driver(n: int) -> str:
    return f"drv_rem_{RUN}_{n}"


def phone(n: int) -> str:
    return f"1371{int(RUN, 16) % 10000:04d}{n:03d}"


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsProviderServer]:
    server = SmsProviderServer()
    with running(server):
        yield server


@pytest.fixture(scope="module")
def notify(
    stack_info: StackInfo, tmp_path_factory: pytest.TempPathFactory, sms: SmsProviderServer
) -> Iterator[Notify]:
    process = Notify(stack_info, tmp_path_factory.mktemp("notify"), sms=sms, daily_cap="3").start()
    process.set_clock(datetime(2026, 12, 1, 9, 0, tzinfo=CST))
    yield process
    process.stop()


@pytest.fixture
async def events(stack_info: StackInfo) -> AsyncIterator[EventPublisher]:
    async with EventPublisher(stack_info.kafka_bootstrap, source="/tests/activities") as publisher:
        yield publisher


@pytest.fixture(scope="module")
async def contacts(stack_info: StackInfo, notify: Notify) -> list[str]:
    """Drivers 0-5 with a phone, published as the roster does (sealed), and known to notify."""
    ids = [driver(n) for n in range(6)]
    keys = PiiKeys.from_env(environ=notify.process.env)  # the stack's shared contact key
    async with EventPublisher(stack_info.kafka_bootstrap, source="/tests/roster") as publisher:
        for n, driver_id in enumerate(ids):
            await publisher.publish(
                contact_point_changed(keys, driver_id, phone=phone(n), at=datetime.now(CST)), driver_id
            )
    for driver_id in ids:
        await eventually(lambda d=driver_id: _known(notify, d), message=f"contact point of {driver_id}")
    return ids


async def _known(notify: Notify, driver_id: str) -> bool:
    return notify.knows_contact(driver_id)


def meeting(meeting_id: str, starts_at: datetime, invitees: list[str], at: datetime) -> MeetingScheduled:
    return MeetingScheduled(
        meeting_id=meeting_id,
        organisation_id="org_branch_1",
        kind="branch_member_meeting",
        title="学习贯彻安全生产法",
        starts_at=starts_at,
        venue_kind="rest_station",
        mode="hybrid",
        invitee_driver_ids=invitees,
        scheduled_at=at,
    )


def rescheduled(
    meeting_id: str,
    starts_at: datetime,
    previous: datetime,
    invitees: list[str],
    at: datetime,
    venue_kind: str = "rest_station",
) -> MeetingRescheduled:
    return MeetingRescheduled(
        meeting_id=meeting_id,
        organisation_id="org_branch_1",
        kind="branch_member_meeting",
        title="学习贯彻安全生产法",
        starts_at=starts_at,
        previous_starts_at=previous,
        venue_kind=venue_kind,
        mode="hybrid",
        invitee_driver_ids=invitees,
        rescheduled_at=at,
    )


def need(driver_id: str, need_id: str) -> NeedFiled:
    return NeedFiled(
        need_id=need_id, driver_id=driver_id, category="medical", urgency="normal", filed_at=datetime.now(CST)
    )


async def sent(notify: Notify, recipient: str, template: str, count: int = 1) -> list[dict[str, Any]]:
    async def check() -> list[dict[str, Any]]:
        found = notify.sent(recipient, template)
        return found if len(found) >= count else []

    return await eventually(check, timeout=90, message=f"{count} {template} sent to {recipient}")


async def handled(notify: Notify, events: EventPublisher, recipient: str) -> None:
    """A marker: publish a message for `recipient` and wait until it is closed. The dispatcher fires
    due reminders before it sends, so once the marker is closed, a pass at the current clock ran."""
    envelope = await events.publish(need(recipient, f"need-mark-{secrets.token_hex(3)}"), "marker")

    async def closed() -> bool:
        return bool(notify.ledger(cause=envelope.id)["deliveries"])

    await eventually(closed, message="the marker message to be handled")


def reminders_of(notify: Notify, meeting_id: str) -> dict[str, Any]:
    response = notify.call("GET", f"/v1/meetings/{meeting_id}/reminders")
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_scheduled_meeting_is_announced_and_reminded_24_hours_and_1_hour_before(
    notify: Notify, sms: SmsProviderServer, contacts: list[str], events: EventPublisher
) -> None:
    invitees = contacts[:2]
    starts = datetime(2026, 12, 3, 10, 0, tzinfo=CST)
    notify.set_clock(datetime(2026, 12, 1, 9, 0, tzinfo=CST))
    await events.publish(
        meeting(f"mtg-{RUN}-1", starts, invitees, datetime(2026, 12, 1, 9, 0, tzinfo=CST)), "m1"
    )
    for invitee in invitees:
        await sent(notify, invitee, "meeting_scheduled")
    planned = reminders_of(notify, f"mtg-{RUN}-1")
    assert [(r["minutes_before"], datetime.fromisoformat(r["fire_at"])) for r in planned["reminders"]] == [
        (1440, datetime(2026, 12, 2, 10, 0, tzinfo=CST)),
        (60, datetime(2026, 12, 3, 9, 0, tzinfo=CST)),
    ]

    notify.set_clock(datetime(2026, 12, 2, 9, 58, tzinfo=CST))
    await handled(notify, events, contacts[5])
    assert notify.sent(invitees[0], "meeting_reminder") == [], "no reminder before its time"

    notify.set_clock(datetime(2026, 12, 2, 10, 0, 5, tzinfo=CST))
    for invitee in invitees:
        [first] = await sent(notify, invitee, "meeting_reminder")
        sent_at = datetime.fromisoformat(first["sent_at"])
        assert datetime(2026, 12, 2, 10, 0, tzinfo=CST) <= sent_at < datetime(2026, 12, 2, 10, 5, tzinfo=CST)
    [text] = [m.text for m in sms.to(phone(0)) if m.text.startswith("【会议提醒】")]
    assert "还有1天" in text
    assert "12月3日10:00" in text

    notify.set_clock(datetime(2026, 12, 3, 9, 0, 5, tzinfo=CST))
    for invitee in invitees:
        both = await sent(notify, invitee, "meeting_reminder", count=2)
        assert len(both) == 2
    texts = [m.text for m in sms.to(phone(1)) if m.text.startswith("【会议提醒】")]
    assert len(texts) == 2
    assert "还有1小时" in texts[1]
    assert all(r["fired"] for r in reminders_of(notify, f"mtg-{RUN}-1")["reminders"])
    assert notify.metric("roadbranch_notify_deliveries_total", channel="sms", outcome="sent") >= 6


async def test_a_rescheduled_meeting_moves_its_reminders_and_a_cancelled_one_withdraws_them(
    notify: Notify, sms: SmsProviderServer, contacts: list[str], events: EventPublisher
) -> None:
    invitee = contacts[2]
    mid = f"mtg-{RUN}-2"
    at = datetime(2026, 12, 5, 9, 0, tzinfo=CST)
    notify.set_clock(at)
    first = datetime(2026, 12, 6, 15, 0, tzinfo=CST)
    moved = datetime(2026, 12, 7, 15, 0, tzinfo=CST)
    await events.publish(meeting(mid, first, [invitee], at), mid)
    await sent(notify, invitee, "meeting_scheduled")
    await events.publish(rescheduled(mid, moved, first, [invitee], at), mid)
    [notice] = await sent(notify, invitee, "meeting_rescheduled")
    assert "12月7日15:00" in notice["text"]
    assert "12月6日15:00" in notice["text"]
    fire_times = [datetime.fromisoformat(r["fire_at"]) for r in reminders_of(notify, mid)["reminders"]]
    assert fire_times == [moved - timedelta(hours=24), moved - timedelta(hours=1)]

    # The old 24-hour time passes: nothing, since the meeting moved.
    notify.set_clock(first - timedelta(hours=23, minutes=59))
    await handled(notify, events, contacts[5])
    assert notify.sent(invitee, "meeting_reminder") == []
    notify.set_clock(moved - timedelta(hours=24) + timedelta(seconds=5))
    [reminder] = await sent(notify, invitee, "meeting_reminder")
    assert "12月7日15:00" in reminder["text"]

    await events.publish(
        MeetingCancelled(
            meeting_id=mid,
            organisation_id="org_branch_1",
            kind="branch_member_meeting",
            reason="暴雪封路",
            cancelled_at=moved - timedelta(hours=20),
        ),
        mid,
    )
    await sent(notify, invitee, "meeting_cancelled")
    assert reminders_of(notify, mid)["status"] == "cancelled"
    notify.set_clock(moved - timedelta(minutes=59))
    await handled(notify, events, contacts[5])
    assert len(notify.sent(invitee, "meeting_reminder")) == 1, "the 1-hour reminder was withdrawn"


async def test_an_invitee_dropped_by_a_reschedule_at_the_same_time_gets_nothing_queued_for_him(
    notify: Notify, sms: SmsProviderServer, contacts: list[str], events: EventPublisher
) -> None:
    kept, dropped = contacts[0], contacts[2]
    mid = f"mtg-{RUN}-3"
    night = datetime(2026, 12, 12, 23, 0, tzinfo=CST)  # the invitations wait for the morning
    notify.set_clock(night)
    starts = datetime(2026, 12, 14, 15, 0, tzinfo=CST)
    scheduled = await events.publish(meeting(mid, starts, [kept, dropped], night), mid)

    async def held() -> list[dict[str, Any]]:
        pending = notify.ledger(cause=scheduled.id)["pending"]
        return [p for p in pending if p["held_until"]] if len(pending) == 2 else []

    await eventually(held, message="the dropped invitee's invitation held for the night")
    # Same time, another venue, one invitee fewer.
    await events.publish(
        rescheduled(mid, starts, starts, [kept], night + timedelta(minutes=30), venue_kind="repair_shop"), mid
    )
    await eventually(
        lambda: _async(reminders_of(notify, mid)["invitees"] == 1), message="the reschedule in notify's view"
    )
    notify.set_clock(datetime(2026, 12, 13, 7, 0, 5, tzinfo=CST))
    await sent(notify, kept, "meeting_scheduled")

    async def withdrawn() -> list[dict[str, Any]]:
        done = notify.ledger(cause=scheduled.id)["deliveries"]
        return [d for d in done if d["recipient_id"] == dropped]

    [record] = await eventually(withdrawn, message="the dropped invitee's invitation withdrawn")
    assert (record["status"], record["reason"]) == ("cancelled", "meeting_changed")

    async def kept_sent() -> list[dict[str, Any]]:
        # The provider has his SMS; the ledger marks it sent a moment after the provider's answer.
        done = notify.ledger(cause=scheduled.id)["deliveries"]
        return [d for d in done if d["recipient_id"] == kept and d["status"] == "sent"]

    assert len(await eventually(kept_sent, message="the kept invitee's invitation marked sent")) == 1


async def test_quiet_hours_hold_messages_until_morning_but_an_escalated_need_goes_at_once(
    notify: Notify, sms: SmsProviderServer, contacts: list[str], events: EventPublisher
) -> None:
    night = datetime(2026, 12, 10, 23, 0, tzinfo=CST)
    notify.set_clock(night)
    saved = notify.call(
        "PUT", "/v1/staff/leader-9/contact", json={"phone": "+86 139-0000-0909", "preferred_channel": "sms"}
    )
    assert saved.status_code == 200, saved.text
    driver_id = contacts[3]
    filed = await events.publish(need(driver_id, f"need-{RUN}-q1"), "need-q1")

    async def held() -> list[dict[str, Any]]:
        return [p for p in notify.ledger(cause=filed.id)["pending"] if p["held_until"]]

    [pending] = await eventually(held, message="the message to be held for the night")
    assert datetime.fromisoformat(pending["held_until"]) == datetime(2026, 12, 11, 7, 0, tzinfo=CST)

    await events.publish(
        NeedEscalated(
            need_id=f"need-{RUN}-q1",
            driver_id=driver_id,
            category="medical",
            urgency="urgent",
            handler_id=None,
            leader_id="leader-9",
            due_at=night - timedelta(hours=1),
            escalated_at=night,
        ),
        "need-q1",
    )
    [urgent] = await sent(notify, "leader-9", "need_escalated")
    assert urgent["urgent"] is True
    assert datetime.fromisoformat(urgent["sent_at"]) < datetime(2026, 12, 11, 7, 0, tzinfo=CST)
    assert [m.text for m in sms.to("13900000909") if "紧急" in m.text]
    assert notify.sent(driver_id, "need_filed") == [], "still night for the driver's message"

    notify.set_clock(datetime(2026, 12, 11, 7, 0, 5, tzinfo=CST))
    [morning] = await sent(notify, driver_id, "need_filed")
    assert datetime.fromisoformat(morning["sent_at"]) >= datetime(2026, 12, 11, 7, 0, tzinfo=CST)
    assert notify.metric("roadbranch_notify_deliveries_total", channel="none", outcome="held") >= 1


async def test_the_daily_cap_merges_the_surplus_into_one_digest_next_morning(
    notify: Notify, sms: SmsProviderServer, contacts: list[str], events: EventPublisher
) -> None:
    driver_id = contacts[4]
    notify.set_clock(datetime(2026, 12, 15, 10, 0, tzinfo=CST))
    for n in range(5):
        await events.publish(need(driver_id, f"need-{RUN}-cap{n}"), f"need-cap{n}")

    async def merged() -> list[dict[str, Any]]:
        ledger = notify.ledger(recipient=driver_id)["deliveries"]
        return [d for d in ledger if d["status"] == "merged"] if len(ledger) >= 5 else []

    assert len(await eventually(merged, message="the surplus to be merged")) == 2
    assert len(notify.sent(driver_id, "need_filed")) == 3
    [digest] = [p for p in notify.ledger(recipient=driver_id)["pending"] if p["template"] == "digest"]
    assert digest["items"] == 2
    assert datetime.fromisoformat(digest["due_at"]) == datetime(2026, 12, 16, 7, 0, tzinfo=CST)

    notify.set_clock(datetime(2026, 12, 16, 7, 0, 5, tzinfo=CST))
    [sent_digest] = await sent(notify, driver_id, "digest")
    assert "2条" in sent_digest["text"]
    assert len([m for m in sms.to(phone(4)) if m.text.startswith("【今日汇总】")]) == 1


async def test_an_erased_driver_gets_nothing_and_his_pending_reminders_are_cancelled(
    notify: Notify, sms: SmsProviderServer, contacts: list[str], events: EventPublisher
) -> None:
    kept, erased = contacts[0], contacts[1]
    mid = f"mtg-{RUN}-5"
    at = datetime(2026, 12, 20, 9, 0, tzinfo=CST)
    notify.set_clock(at)
    starts = datetime(2026, 12, 21, 14, 0, tzinfo=CST)
    await events.publish(meeting(mid, starts, [kept, erased], at), mid)
    await sent(notify, erased, "meeting_scheduled")

    # What the roster publishes on erasure: DriverErased, and a tombstone on the contact topic.
    async with EventPublisher(events.bootstrap, source="/tests/roster") as roster:
        await roster.publish(DriverErased(driver_id=erased, erased_at=at), erased)
        await roster.tombstone(ROSTER_CONTACT.name, erased)

    async def forgotten() -> bool:
        return bool(notify.call("GET", f"/v1/recipients/{erased}").json().get("erased"))

    await eventually(forgotten, message="notify to forget the erased driver")
    # Counted once he is forgotten: moving the clock to this test's day can release messages other
    # tests left queued for him (a digest, a held message), sent before the erasure arrived.
    before = len(sms.to(phone(1)))
    notify.set_clock(starts - timedelta(hours=24) + timedelta(seconds=5))
    await sent(notify, kept, "meeting_reminder", count=3)  # two from the first meeting, this one

    async def cancelled() -> list[dict[str, Any]]:
        ledger = notify.ledger(recipient=erased, template="meeting_reminder")["deliveries"]
        return [d for d in ledger if d["status"] == "cancelled"]

    [record] = await eventually(cancelled, message="the erased driver's reminder to be cancelled")
    assert record["reason"] == "recipient_erased"
    assert len(sms.to(phone(1))) == before


async def test_content_for_a_branch_reaches_its_members_and_an_overdue_requirement_its_secretary(
    notify: Notify, sms: SmsProviderServer, contacts: list[str], events: EventPublisher
) -> None:
    notify.set_clock(datetime(2026, 12, 22, 10, 0, tzinfo=CST))
    branch, members, outsider = f"org-br-{RUN}", contacts[2:4], contacts[5]
    saved = notify.call("PUT", "/v1/staff/secretary-3/contact", json={"phone": "13900000303"})
    assert saved.status_code == 200, saved.text
    now = datetime.now(CST)
    async with EventPublisher(events.bootstrap, source="/tests/roster") as roster:
        await roster.publish(
            OrganisationCreated(
                organisation_id=branch, kind="branch", name="货车司机流动党员第一支部", created_at=now
            ),
            branch,
        )
        await roster.publish(
            SeatAssigned(
                organisation_id=branch,
                seat_id=f"seat-{RUN}",
                role="secretary",
                person_id="secretary-3",
                term_start=date(2026, 1, 1),
                assigned_at=now,
            ),
            branch,
        )

    async def seated() -> bool:
        answer = notify.call("GET", f"/v1/organisations/{branch}")
        return answer.status_code == 200 and answer.json()["secretary_id"] == "secretary-3"

    await eventually(seated, message="the branch's secretary")
    await events.publish(
        ComplianceOverdue(
            organisation_id=branch,
            requirement="party_lesson",
            period="2026-Q4",
            period_end=date(2026, 12, 31),
            held=0,
            required=1,
            raised_at=now,
        ),
        branch,
    )
    [overdue] = await sent(notify, "secretary-3", "compliance_overdue")
    assert overdue["recipient_kind"] == "staff"
    assert [m for m in sms.to("13900000303") if "党课" in m.text]

    async with EventPublisher(events.bootstrap, source="/tests/roster") as roster:
        for n, member in enumerate(members):
            await roster.publish(
                MemberAssignedToBranch(
                    member_id=f"mem-{RUN}-{n}", driver_id=member, branch_id=branch, assigned_at=now
                ),
                f"mem-{RUN}-{n}",
            )
        await roster.publish(
            MemberVerified(
                member_id=f"mem-{RUN}-9",
                driver_id=contacts[0],
                method="field_visit",
                verified_at=now,
                branch_id=branch,
            ),
            f"mem-{RUN}-9",
        )
    [welcome] = await sent(notify, contacts[0], "member_welcome")
    assert "货车司机流动党员第一支部" in welcome["text"], "the welcome names his branch"

    for member in members:

        async def placed(member: str = member) -> bool:
            return branch in notify.call("GET", f"/v1/recipients/{member}").json()["organisations"]

        await eventually(placed, message=f"{member} in the branch")
    await events.publish(
        ContentPublished(
            content_id=f"c-{RUN}",
            organisation_id=branch,
            category="road_safety",
            title="冬季防滑",
            published_at=now,
        ),
        f"c-{RUN}",
    )
    for member in members:
        await sent(notify, member, "content_published")
    await handled(notify, events, outsider)
    assert notify.sent(outsider, "content_published") == []

    # Contact with a member of the branch lost: its secretary is told which record to look up.
    async with EventPublisher(events.bootstrap, source="/tests/roster") as roster:
        await roster.publish(
            MemberContactLost(member_id=f"mem-{RUN}-0", driver_id=members[0], raised_at=now), f"mem-{RUN}-0"
        )
    [lost] = await sent(notify, "secretary-3", "member_contact_lost")
    assert f"档案编号尾号{f'mem-{RUN}-0'[-6:]}" in lost["text"]
    assert [m for m in sms.to("13900000303") if "【失联提醒】" in m.text]
    assert notify.sent(members[0], "member_contact_lost") == [], "told to his secretary, not to him"


async def test_a_secretary_whose_term_ended_is_told_nothing_more_of_the_branch(
    notify: Notify, sms: SmsProviderServer, events: EventPublisher
) -> None:
    branch, old_seat, new_seat = f"org-end-{RUN}", f"seat-old-{RUN}", f"seat-new-{RUN}"
    for subject, number in (("secretary-4", "13900000404"), ("secretary-5", "13900000505")):
        saved = notify.call("PUT", f"/v1/staff/{subject}/contact", json={"phone": number})
        assert saved.status_code == 200, saved.text
    now = datetime.now(CST)
    async with EventPublisher(events.bootstrap, source="/tests/roster") as roster:
        await roster.publish(
            OrganisationCreated(
                organisation_id=branch, kind="branch", name="货车司机流动党员第二支部", created_at=now
            ),
            branch,
        )
        first = await roster.publish(
            SeatAssigned(
                organisation_id=branch,
                seat_id=old_seat,
                role="secretary",
                person_id="secretary-4",
                term_start=date(2026, 1, 1),
                assigned_at=now,
            ),
            branch,
        )
        end = await roster.publish(
            SeatEnded(
                organisation_id=branch,
                seat_id=old_seat,
                role="secretary",
                person_id="secretary-4",
                term_start=date(2026, 1, 1),
                term_end=date(2026, 11, 30),
                ended_at=now,
            ),
            branch,
        )
        # At-least-once: his assignment and its end come again; the assignment must not seat him anew.
        await roster.send(first, ROSTER_ORG.name)
        await roster.send(end, ROSTER_ORG.name)
        await roster.publish(
            SeatAssigned(
                organisation_id=branch,
                seat_id=new_seat,
                role="secretary",
                person_id="secretary-5",
                term_start=date(2027, 1, 1),
                assigned_at=now,
            ),
            branch,
        )

    async def successor_seated() -> bool:
        answer = notify.call("GET", f"/v1/organisations/{branch}")
        return answer.status_code == 200 and answer.json()["secretary_id"] == "secretary-5"

    await eventually(successor_seated, message="the branch's next secretary, after the redeliveries")

    async def overdue(period: str, period_end: date) -> None:
        await events.publish(
            ComplianceOverdue(
                organisation_id=branch,
                requirement="party_lesson",
                period=period,
                period_end=period_end,
                held=0,
                required=1,
                raised_at=datetime.now(CST),
            ),
            branch,
        )

    notify.set_clock(datetime(2026, 11, 25, 10, 0, tzinfo=CST))  # his last day is 30 November
    await overdue("2026-11", date(2026, 11, 30))
    [told] = await sent(notify, "secretary-4", "compliance_overdue")
    notify.set_clock(datetime(2026, 12, 22, 10, 0, tzinfo=CST))
    await overdue("2026-12", date(2026, 12, 31))
    # Nobody is in office now: the secretary seated for the coming term hears, never the past one.
    [successor] = await sent(notify, "secretary-5", "compliance_overdue")
    assert successor["cause"] != told["cause"]
    assert notify.sent("secretary-4", "compliance_overdue") == [told]
    assert len([m for m in sms.to("13900000404") if "党课" in m.text]) == 1


async def _async(value: Any) -> Any:
    return value
