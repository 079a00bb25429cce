"""The dispatcher's decisions: what happens next to a due message, to a delivery claimed before, and
after the provider's answer."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

import pytest
from notify.domain.channels import Outcome, Recipient, SendResult
from notify.domain.delivery import (
    AlreadySent,
    DeliveryPolicy,
    FallBack,
    GiveUp,
    Hold,
    MarkFailed,
    MarkSent,
    Message,
    Retry,
    Send,
    SendAgain,
    after_send,
    next_step,
    resume_step,
)
from notify.domain.timing import QuietHours

CST = timezone(timedelta(hours=8))
NIGHT = QuietHours(time(22, 0), time(7, 0), "Asia/Shanghai")
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=CST)
MIDNIGHT = datetime(2026, 12, 2, 0, 30, tzinfo=CST)
MORNING = datetime(2026, 12, 2, 7, 0, tzinfo=CST)
POLICY = DeliveryPolicy(
    fallback_order=["wechat", "sms", "inbox"],
    daily_cap=3,
    max_attempts=3,
    retry_base_seconds=30,
    retry_max_seconds=600,
    send_timeout_seconds=5,
    batch_size=100,
    concurrency=4,
)
USABLE = {"wechat", "sms", "inbox"}
DRIVER = Recipient("drv-1", "driver", addresses={"sms": "+86 138", "wechat": "wx-1", "inbox": "drv-1"})
MESSAGE = Message(
    id="evt-1|need_filed|drv-1",
    recipient_id="drv-1",
    template="need_filed",
    urgent=False,
    about_meeting=False,
)


def step(
    message: Message = MESSAGE,
    recipient: Recipient | None = DRIVER,
    invitees: frozenset[str] | None = None,
    now: datetime = NOON,
    usable: set[str] = USABLE,
) -> GiveUp | Hold | Send:
    return next_step(message, recipient, invitees, now, NIGHT, POLICY, usable)


def test_a_message_to_nobody_notify_can_reach_is_cancelled() -> None:
    assert step(recipient=None) == GiveUp("cancelled", "no_contact_point")


def test_a_message_to_an_erased_driver_is_cancelled_even_at_night_and_urgent() -> None:
    erased = Recipient("drv-1", "driver", erased=True)
    assert step(recipient=erased) == GiveUp("cancelled", "recipient_erased")
    urgent = replace(MESSAGE, urgent=True)
    assert step(urgent, recipient=erased, now=MIDNIGHT) == GiveUp("cancelled", "recipient_erased")


def test_a_meeting_message_goes_only_while_the_meeting_is_on_and_invites_him() -> None:
    about = replace(MESSAGE, about_meeting=True)
    assert step(about, invitees=None) == GiveUp("cancelled", "meeting_changed"), "cancelled or moved"
    assert step(about, invitees=frozenset({"drv-2"})) == GiveUp("cancelled", "meeting_changed"), "dropped"
    assert isinstance(step(about, invitees=frozenset({"drv-1", "drv-2"})), Send)


def test_a_message_not_about_a_meeting_ignores_the_invitees() -> None:
    assert isinstance(step(invitees=None), Send)


def test_a_moved_meeting_is_cancelled_before_quiet_hours_hold_it() -> None:
    about = replace(MESSAGE, about_meeting=True)
    assert step(about, invitees=None, now=MIDNIGHT) == GiveUp("cancelled", "meeting_changed")


def test_a_non_urgent_message_waits_for_the_end_of_the_quiet_hours() -> None:
    assert step(now=MIDNIGHT) == Hold(MORNING)


def test_an_urgent_message_goes_at_night() -> None:
    urgent = replace(MESSAGE, urgent=True)
    assert step(urgent, now=MIDNIGHT) == Send(DRIVER, ("wechat", "sms", "inbox"), counts_against_cap=False)


def test_the_drivers_own_quiet_hours_hold_instead_of_the_countys() -> None:
    late = replace(DRIVER, quiet_hours={"mode": "own", "start": "01:00", "end": "05:00"})
    assert isinstance(step(recipient=late, now=MIDNIGHT), Send), "00:30 is outside 01:00–05:00"
    assert step(recipient=late, now=MIDNIGHT + timedelta(hours=1)) == Hold(
        datetime(2026, 12, 2, 5, 0, tzinfo=CST)
    )
    off = replace(DRIVER, quiet_hours={"mode": "off"})
    assert isinstance(step(recipient=off, now=MIDNIGHT), Send)


def test_the_plan_is_the_preferred_channel_then_the_fallback_order_of_what_is_configured() -> None:
    prefers_sms = replace(DRIVER, preferred="sms")
    assert step(recipient=prefers_sms) == Send(
        prefers_sms, ("sms", "wechat", "inbox"), counts_against_cap=True
    )
    only = step(usable={"inbox", "sms"})
    assert isinstance(only, Send)
    assert only.plan == ("sms", "inbox")
    assert only.channel == "sms"


def test_channels_tried_before_are_left_out_and_none_left_fails_the_message() -> None:
    once = step(replace(MESSAGE, tried=("wechat",)))
    assert once == Send(DRIVER, ("sms", "inbox"), counts_against_cap=False), "a fall-back is counted once"
    assert step(replace(MESSAGE, tried=("wechat", "sms", "inbox"))) == GiveUp("failed", "no_channel_left")


def test_a_recipient_with_no_configured_channel_fails_the_message() -> None:
    inbox_only_staff = Recipient("staff-1", "staff", addresses={"email": "a@b"})
    assert step(recipient=inbox_only_staff) == GiveUp("failed", "no_channel_left")


def test_only_a_first_non_urgent_message_counts_against_the_daily_cap() -> None:
    assert MESSAGE.counts_against_cap
    assert not replace(MESSAGE, urgent=True).counts_against_cap
    assert not replace(MESSAGE, template="digest").counts_against_cap
    assert not replace(MESSAGE, tried=("wechat",)).counts_against_cap


def test_a_queued_message_is_read_from_its_queue_document() -> None:
    notice = {
        "_id": "m1",
        "recipient": "drv-1",
        "template": "meeting_scheduled",
        "urgent": False,
        "meeting": {"id": "mtg-1", "starts_at": NOON},
        "tried": ["wechat"],
        "attempted": True,
    }
    assert Message.queued(notice) == Message(
        "m1", "drv-1", "meeting_scheduled", False, True, ("wechat",), True
    )
    fresh = Message.queued(
        {"_id": "m2", "recipient": "drv-1", "template": "digest", "urgent": False, "meeting": None}
    )
    assert fresh == Message("m2", "drv-1", "digest", False, False, (), False)


@pytest.mark.parametrize(
    ("status", "deduplicates", "expected"),
    [
        ("sent", False, AlreadySent()),
        ("failed", False, FallBack()),
        ("sending", False, SendAgain(may_duplicate=True)),
        ("sending", True, SendAgain(may_duplicate=False)),
        ("retrying", False, SendAgain(may_duplicate=False)),
    ],
)
def test_a_delivery_claimed_before_is_done_fallen_back_or_sent_again(
    status: str, deduplicates: bool, expected: object
) -> None:
    assert resume_step(status, deduplicates) == expected


def test_a_sent_message_is_marked_sent_with_the_providers_reference() -> None:
    assert after_send(SendResult(Outcome.SENT, provider_ref="p-9"), 1, NOON, POLICY) == MarkSent("p-9")


def test_a_transient_failure_is_retried_with_backoff_until_the_attempts_run_out() -> None:
    timeout = SendResult(Outcome.TRANSIENT, "timeout")
    assert after_send(timeout, 1, NOON, POLICY) == Retry(NOON + timedelta(seconds=30), "timeout")
    assert after_send(timeout, 2, NOON, POLICY) == Retry(NOON + timedelta(seconds=60), "timeout")
    assert after_send(timeout, 3, NOON, POLICY) == MarkFailed("gave_up:timeout")


def test_the_backoff_is_capped() -> None:
    patient = replace(POLICY, max_attempts=20)
    assert after_send(SendResult(Outcome.TRANSIENT, "busy"), 10, NOON, patient) == Retry(
        NOON + timedelta(seconds=600), "busy"
    )


def test_a_permanent_failure_is_marked_failed_at_once_with_its_reason() -> None:
    assert after_send(SendResult(Outcome.PERMANENT, "unknown_number"), 1, NOON, POLICY) == MarkFailed(
        "unknown_number"
    )
