"""Notify's pure rules: quiet hours, reminder times, backoff, the channel plan, who is told what, and
that every template renders from what its rule provides (no field missing, no personal data)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

from notify.app.templates import Templates
from notify.domain.channels import Recipient, channel_plan
from notify.domain.rules import Audience, AudienceKind, member_welcome, notices_for
from notify.domain.timing import QuietHours, backoff, reminder_times
from roadbranch_shared.contracts import activities, roster, welfare

CST = timezone(timedelta(hours=8))
NIGHT = QuietHours(time(22, 0), time(7, 0), "Asia/Shanghai")


def test_quiet_hours_span_midnight_in_local_time() -> None:
    assert NIGHT.covers(datetime(2026, 12, 1, 22, 0, tzinfo=CST))
    assert NIGHT.covers(datetime(2026, 12, 2, 6, 59, tzinfo=CST))
    assert not NIGHT.covers(datetime(2026, 12, 2, 7, 0, tzinfo=CST))
    assert not NIGHT.covers(datetime(2026, 12, 1, 21, 59, tzinfo=CST))
    # 15:00 UTC is 23:00 in Shanghai.
    assert NIGHT.covers(datetime(2026, 12, 1, 15, 0, tzinfo=UTC))


def test_a_message_due_at_night_is_released_at_seven_the_next_morning() -> None:
    assert NIGHT.release(datetime(2026, 12, 1, 23, 30, tzinfo=CST)) == datetime(2026, 12, 2, 7, 0, tzinfo=CST)
    assert NIGHT.release(datetime(2026, 12, 2, 3, 0, tzinfo=CST)) == datetime(2026, 12, 2, 7, 0, tzinfo=CST)
    day = datetime(2026, 12, 2, 12, 0, tzinfo=CST)
    assert NIGHT.release(day) == day
    assert NIGHT.next_end(day) == datetime(2026, 12, 3, 7, 0, tzinfo=CST), "a digest goes next morning"
    assert NIGHT.local_day(datetime(2026, 12, 1, 17, 0, tzinfo=UTC)) == date(2026, 12, 2)


def test_equal_start_and_end_mean_no_quiet_hours() -> None:
    never = QuietHours(time(0, 0), time(0, 0), "Asia/Shanghai")
    assert not never.covers(datetime(2026, 12, 1, 23, 0, tzinfo=CST))


def test_reminders_come_earliest_first_and_backoff_doubles_up_to_its_cap() -> None:
    starts = datetime(2026, 12, 3, 10, 0, tzinfo=CST)
    assert reminder_times(starts, [60, 1440]) == [
        (1440, datetime(2026, 12, 2, 10, 0, tzinfo=CST)),
        (60, datetime(2026, 12, 3, 9, 0, tzinfo=CST)),
    ]
    assert [backoff(n, 30, 100).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 100, 100]


def test_the_preferred_channel_comes_first_then_the_fallback_order_among_reachable_ones() -> None:
    driver = Recipient("d1", "driver", "wechat", {"wechat": "wx1", "sms": "13900000000", "inbox": "d1"})
    order = ["wechat", "sms", "email", "inbox"]
    assert channel_plan(driver, order, {"sms", "wechat", "inbox"}) == ["wechat", "sms", "inbox"]
    assert channel_plan(driver, order, {"sms", "inbox"}) == ["sms", "inbox"], "no robot configured"
    staff = Recipient("s1", "staff", "email", {"email": "a@b.example", "sms": "13900000001"})
    assert channel_plan(staff, order, {"sms", "email", "inbox"}) == ["email", "sms"]


def test_an_escalated_need_is_urgent_for_the_leader_and_the_handler() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    event = welfare.NeedEscalated(
        need_id="need-000042",
        driver_id="drv1",
        category="medical",
        urgency="urgent",
        handler_id="h1",
        leader_id="l1",
        due_at=now,
        escalated_at=now,
    )
    [notice] = notices_for(event)
    assert notice.urgent
    assert notice.audience.kind == AudienceKind.PEOPLE
    assert notice.audience.ids == ("l1", "h1")


def test_content_for_every_driver_or_one_organisation_and_compliance_to_its_secretary() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    everyone = activities.ContentPublished(
        content_id="c1", category="road_safety", title="冬季防滑", published_at=now
    )
    assert notices_for(everyone)[0].audience.kind == AudienceKind.ALL_DRIVERS
    branch = everyone.model_copy(update={"organisation_id": "br1"})
    assert notices_for(branch)[0].audience.organisation_id == "br1"
    named = branch.model_copy(update={"audience_driver_ids": ["d1", "d2"]})
    assert notices_for(named)[0].audience.ids == ("d1", "d2"), "the audience fixed at publication wins"
    overdue = activities.ComplianceOverdue(
        organisation_id="br1",
        requirement="party_lesson",
        period="2026-Q4",
        period_end=date(2026, 12, 31),
        held=0,
        required=1,
        raised_at=now,
    )
    assert notices_for(overdue)[0].audience.kind == AudienceKind.ORGANISATION_SECRETARY


def test_every_rule_renders_its_template_and_its_sms_variables_without_a_missing_field() -> None:
    templates = Templates("Asia/Shanghai")
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    meeting = activities.MeetingScheduled(
        meeting_id="m1",
        organisation_id="br1",
        kind="theme_party_day",
        title="重温入党誓词",
        starts_at=now,
        venue_kind="repair_shop",
        mode="offline",
        invitee_driver_ids=["d1"],
        scheduled_at=now,
    )
    events = [
        meeting,
        activities.MeetingRescheduled(
            **meeting.model_dump(exclude={"scheduled_at", "host_id"}),
            previous_starts_at=now - timedelta(days=1),
            rescheduled_at=now,
        ),
        welfare.NeedFiled(need_id="n-1234567", driver_id="d1", category="x", urgency="low", filed_at=now),
        welfare.NeedAssigned(
            need_id="n1",
            driver_id="d1",
            category="rights",
            urgency="urgent",
            handler_id="h",
            due_at=now,
            assigned_at=now,
        ),
        welfare.NeedResolved(
            need_id="n1",
            driver_id="d1",
            category="rights",
            urgency="low",
            filed_at=now,
            resolved_at=now,
            within_target=True,
        ),
        roster.PairingContactOverdue(
            organisation_id="br1", pairing_id="p1", committee_person_id="c1", member_id="m1", raised_at=now
        ),
        roster.MemberContactLost(member_id="mem_0000a1", driver_id="d1", raised_at=now),
        activities.ContentPublished(content_id="c1", category="other", title="冬季防滑", published_at=now),
        activities.ComplianceOverdue(
            organisation_id="br1",
            requirement="secretary_lecture",
            period="2026",
            period_end=date(2026, 12, 31),
            held=0,
            required=1,
            raised_at=now,
        ),
    ]
    rendered = [templates.render(n.template, n.context) for e in events for n in notices_for(e)]
    verified = roster.MemberVerified(
        member_id="m1", driver_id="d1", method="x", verified_at=now, branch_id="b"
    )
    rendered += [
        templates.render(n.template, n.context) for n in member_welcome(verified, "货车司机流动党员支部")
    ]
    rendered.append(
        templates.render("meeting_reminder", {**notices_for(meeting)[0].context, "hours_before": 1})
    )
    rendered.append(templates.render("digest", {"items": ["甲", "乙"]}))
    rendered.append(templates.render("meeting_cancelled", notices_for(meeting)[0].context))
    assert all(text.startswith("【") for text in rendered)
    assert "12月1日10:00" in rendered[0], "times are shown in local time"
    assert "还有1小时" in rendered[-3]
    assert set(templates.names()) >= {"meeting_reminder", "meeting_cancelled", "compliance_overdue", "digest"}

    # Each message's SMS template variables (for the providers that send approved templates only):
    # every template has them, and none is empty or carries a link.
    assert set(templates.sms) == set(templates.names())
    params = [templates.sms_params(n.template, n.context) for e in events for n in notices_for(e)]
    params.append(templates.sms_params("digest", {"items": ["甲", "乙"]}))
    assert all(p and all(v and "http" not in v for v in p.values()) for p in params)
    assert params[0]["time"] == "12月1日10:00", "a meeting's time in local time"
    assert params[-1] == {"count": "2"}


def test_a_stored_address_that_does_not_open_leaves_its_channel_out() -> None:
    from notify.app.view import RecipientView
    from roadbranch_shared.pii import PiiKeys, encrypt

    keys = PiiKeys(blind_index_key=b"b" * 32, encryption_key=b"e" * 32)
    view = RecipientView(None, keys)  # type: ignore[arg-type]  # no database: only the sealing
    sealed = encrypt(keys, "13900000001", aad="notify/contacts/drv_1/phone")
    assert view._open("contacts", {"_id": "drv_1", "phone": sealed}, "phone") == "13900000001"
    assert view._open("contacts", {"_id": "drv_2", "phone": sealed}, "phone") is None, "another person's"
    assert view._open("contacts", {"_id": "drv_1", "phone": "13900000001"}, "phone") is None, "plain text"
    assert view._open("contacts", {"_id": "drv_1"}, "phone") is None


def test_the_notices_people_act_on_say_whom_and_where_to_look() -> None:
    """A pairing reminder and a lost-contact notice name the member by his record's number (no name
    or phone) and where his contact is; lost contact goes to his secretaries; a learning push links
    to the item when the driver app's address is set."""
    now = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    templates = Templates("Asia/Shanghai")
    overdue = roster.PairingContactOverdue(
        organisation_id="br1",
        pairing_id="p1",
        committee_person_id="c1",
        member_id="mem_00ab12",
        last_contact_at=now - timedelta(days=40),
        raised_at=now,
    )
    [reminder] = notices_for(overdue)
    text = templates.render(reminder.template, reminder.context)
    assert "档案编号尾号00ab12" in text
    assert "10月22日以来" in text
    assert "“结对帮带”中查看他的联系方式" in text
    lost = roster.MemberContactLost(member_id="mem_00cd34", driver_id="drv-7", raised_at=now)
    [notice] = notices_for(lost)
    assert notice.audience == Audience(AudienceKind.SECRETARIES_OF_DRIVERS, ids=("drv-7",))
    text = templates.render(notice.template, notice.context)
    assert "档案编号尾号00cd34" in text
    assert "一直没有联系记录" in text
    assert "“失联党员”中查看他的联系方式" in text
    content = activities.ContentPublished(
        content_id="cnt_42", category="road_safety", title="冬季防滑", published_at=now
    )
    [push] = notices_for(content)
    assert "cnt_42" not in templates.render(push.template, push.context)
    linked = Templates("Asia/Shanghai", driver_app="https://dangjian.example.invalid/driver/")
    assert "点开 https://dangjian.example.invalid/driver/learn/cnt_42 即可阅读" in linked.render(
        push.template, push.context
    )
