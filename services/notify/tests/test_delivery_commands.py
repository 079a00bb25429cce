"""The delivery ledger's commands, in process on the in-memory store: each state of a delivery, what
it refuses and a crash between the send and the mark. tests/test_notify_*.py drive the same
deliveries through a real notify process, FerretDB, Kafka and local providers."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

import pytest
from notify.app.dispatch import SOURCE
from notify.domain.channels import Outcome, Recipient, SendResult
from notify.domain.delivery import (
    Delivery,
    DeliveryPolicy,
    SendAgain,
    delivery_id,
    resume_step,
)
from notify.domain.timing import QuietHours
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.aggregates import InMemoryAggregateStore
from roadbranch_shared.documents import Document
from roadbranch_shared.domain import DomainError

CST = timezone(timedelta(hours=8))
NOON = datetime(2026, 12, 2, 12, 0, tzinfo=CST)
LATE = datetime(2026, 12, 2, 23, 30, tzinfo=CST)
NEXT_MORNING = datetime(2026, 12, 3, 7, 0, tzinfo=CST)
NIGHT = QuietHours(time(22, 0), time(7, 0), "Asia/Shanghai")
POLICY = DeliveryPolicy(
    fallback_order=["wechat", "sms", "inbox"],
    daily_cap=2,
    max_attempts=3,
    retry_base_seconds=30,
    retry_max_seconds=600,
    send_timeout_seconds=5,
    batch_size=100,
    concurrency=4,
)
DRIVER = Recipient("drv-1", "driver", addresses={"sms": "13800000001", "inbox": "drv-1"})
SENT = SendResult(Outcome.SENT, provider_ref="p-1")
BUSY = SendResult(Outcome.TRANSIENT, "http_503")
REFUSED = SendResult(Outcome.PERMANENT, "http_400:rejected_number")
LEDGER_FIELDS = {
    "_id",
    "notice_id",
    "cause",
    "recipient",
    "recipient_kind",
    "channel",
    "template",
    "text",
    "urgent",
    "status",
    "attempts",
    "created_at",
    "version",
}
SENT_TYPE = "roadbranch.notify.delivery.sent.v1"
FAILED_TYPE = "roadbranch.notify.delivery.failed.v1"


# ---- the aggregate's commands


def notice(message_id: str = "evt-1|need_filed|drv-1", **fields: Any) -> Document:
    return {
        "_id": message_id,
        "cause": "evt-1",
        "template": "need_filed",
        "recipient": "drv-1",
        "kind": "driver",
        "text": "【诉求受理】您的诉求已受理。",
        "urgent": False,
        **fields,
    }


def claimed(now: datetime = NOON) -> Delivery:
    delivery, events = Delivery.claim(notice(), DRIVER, "sms", "【诉求受理】您的诉求已受理。", now=now)
    assert events == []
    return delivery


def test_a_claim_is_the_first_attempt_in_flight_by_the_message_and_channel() -> None:
    delivery = claimed()
    assert delivery.id == delivery_id("evt-1|need_filed|drv-1", "sms") == "evt-1|need_filed|drv-1|sms"
    assert (delivery.status, delivery.attempts, delivery.attempted_at) == ("sending", 1, NOON)
    assert set(delivery.document()) == (LEDGER_FIELDS - {"version"}) | {"attempted_at"}


def test_the_answer_marks_it_sent_retrying_or_failed() -> None:
    sent = claimed()
    [event] = sent.answered(SENT, now=NOON, policy=POLICY)
    assert (sent.status, sent.sent_at, sent.provider_ref) == ("sent", NOON, "p-1")
    assert event.model_dump(exclude={"sent_at"}) == {
        "delivery_id": sent.id,
        "recipient_driver_id": "drv-1",
        "recipient_kind": "driver",
        "channel": "sms",
        "template": "need_filed",
        "caused_by_event_id": "evt-1",
    }

    retrying = claimed()
    assert retrying.answered(BUSY, now=NOON, policy=POLICY) == []
    assert (retrying.status, retrying.reason) == ("retrying", "http_503")
    assert retrying.next_attempt_at == NOON + timedelta(seconds=30)

    failed = claimed()
    [event] = failed.answered(REFUSED, now=NOON, policy=POLICY)
    assert (failed.status, failed.reason, failed.failed_at) == ("failed", "http_400:rejected_number", NOON)
    assert (event.reason, event.permanent) == ("http_400:rejected_number", True)  # type: ignore[attr-defined]


def test_a_retry_is_sent_again_under_its_key_until_the_attempts_run_out() -> None:
    delivery = claimed()
    for attempt in (1, 2):
        delivery.answered(BUSY, now=NOON, policy=POLICY)
        assert delivery.send_again(now=NOON) == []
        assert (delivery.status, delivery.attempts) == ("sending", attempt + 1)
    [event] = delivery.answered(BUSY, now=NOON, policy=POLICY)
    assert (delivery.status, delivery.reason) == ("failed", "gave_up:http_503")
    assert event.channel == "sms"  # type: ignore[attr-defined]


def test_a_claim_left_in_flight_by_a_crash_is_sent_again_and_marked_once() -> None:
    delivery = claimed()  # sent to the provider, then the process died before the mark
    assert resume_step(delivery.status, provider_deduplicates=False) == SendAgain(may_duplicate=True)
    assert resume_step(delivery.status, provider_deduplicates=True) == SendAgain(may_duplicate=False)
    delivery.send_again(now=NOON + timedelta(minutes=1))
    assert (delivery.attempts, delivery.attempted_at) == (2, NOON + timedelta(minutes=1))
    assert len(delivery.answered(SENT, now=NOON, policy=POLICY)) == 1


@pytest.mark.parametrize("outcome", [SENT, REFUSED])
def test_a_delivery_sent_or_failed_is_never_sent_or_marked_again(outcome: SendResult) -> None:
    delivery = claimed()
    delivery.answered(outcome, now=NOON, policy=POLICY)
    before = delivery.model_copy(deep=True)
    for command in (
        lambda: delivery.send_again(now=NOON),
        lambda: delivery.answered(SENT, now=NOON, policy=POLICY),
        lambda: delivery.mark_sent("p-2", now=NOON),
        lambda: delivery.mark_failed("again", now=NOON),
        lambda: delivery.retry_at(NOON, "again"),
    ):
        with pytest.raises(DomainError) as refused:
            command()
        assert (refused.value.field, refused.value.reason) == ("status", "wrong_status")
    assert delivery == before


def test_a_retry_waits_for_its_send_again_before_an_answer() -> None:
    delivery = claimed()
    delivery.answered(BUSY, now=NOON, policy=POLICY)
    with pytest.raises(DomainError):
        delivery.answered(SENT, now=NOON, policy=POLICY)


def test_messages_not_sent_are_closed_at_once_and_only_a_failure_is_published() -> None:
    cancelled, none = Delivery.give_up(notice(), "cancelled", "recipient_erased", now=NOON)
    assert none == []
    assert (cancelled.id, cancelled.channel, cancelled.status, cancelled.attempts) == (
        "evt-1|need_filed|drv-1|none",
        "none",
        "cancelled",
        0,
    )
    assert (cancelled.reason, cancelled.closed_at, cancelled.failed_at) == ("recipient_erased", NOON, None)

    failed, [event] = Delivery.give_up(notice(kind="person"), "failed", "no_channel_left", now=NOON)
    assert (failed.status, failed.failed_at, "closed_at" in failed.document()) == ("failed", NOON, False)
    assert (event.channel, event.recipient_kind, event.reason) == ("none", "person", "no_channel_left")  # type: ignore[attr-defined]

    merged, none = Delivery.merge(notice(), "digest:2026-12-02|digest|drv-1", now=NOON)
    assert (merged.id, merged.status, merged.reason, none) == (
        "evt-1|need_filed|drv-1|digest",
        "merged",
        "digest:2026-12-02|digest|drv-1",
        [],
    )
    with pytest.raises(ValueError, match="sent"):
        Delivery.give_up(notice(), "sent", "no", now=NOON)


async def test_on_the_store_a_claim_is_taken_once_and_a_refusal_writes_nothing() -> None:
    store: InMemoryAggregateStore[Delivery] = InMemoryAggregateStore(Delivery, source=SOURCE)
    delivery = claimed()
    await store.create(delivery, [])
    with pytest.raises(DuplicateKeyError):
        await store.create(claimed(), [])
    marked = await store.change(
        delivery.id,
        lambda d: d.answered(SENT, now=NOON, policy=POLICY),
        missing=LookupError(),
        current=delivery,
    )
    assert (marked.after.status, marked.after.version) == ("sent", 1)
    with pytest.raises(DomainError):
        await store.change(delivery.id, lambda d: d.send_again(now=NOON), missing=LookupError())
    assert store.documents[delivery.id]["status"] == "sent"
    assert [e["delivery_id"] for e in store.events(SENT_TYPE)] == [delivery.id]
    assert store.published[0]["key"] == delivery.id
