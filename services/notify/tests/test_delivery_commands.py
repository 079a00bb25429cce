"""The delivery ledger's commands and the dispatcher's use cases, in process on the in-memory stores:
each state of a delivery, what it refuses, a crash between the send and the mark, the daily cap,
quiet hours and the messages that are not sent. tests/test_notify_*.py drive the same dispatcher
through a real notify process, FerretDB, Kafka and local providers (test_notify_crash.py kills it
with SIGKILL between the send and the mark)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any

import pytest
from notify.app.caps import InMemoryDailyPlaces
from notify.app.dispatch import SOURCE, Dispatcher
from notify.app.metrics import NotifyMetrics
from notify.app.queue import InMemoryDueQueue, queued_message
from notify.app.templates import Templates
from notify.domain.channels import Outcome, Recipient, SendResult
from notify.domain.delivery import (
    Delivery,
    DeliveryPolicy,
    SendAgain,
    delivery_id,
    resume_step,
)
from notify.domain.timing import QuietHours
from prometheus_client import CollectorRegistry
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.aggregates import InMemoryAggregateStore
from roadbranch_shared.clock import Clock
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


class Crash(BaseException):
    """The process dies (SIGKILL): nothing after this point runs."""


class Provider:
    """A channel's provider: takes every message (keeping what and under which key) and answers
    what `answers` says, then `sent`; a Crash answer stands for the process dying before the mark."""

    def __init__(self, channel: str, *, deduplicates: bool = False) -> None:
        self.channel = channel
        self.deduplicates = deduplicates
        self.taken: list[tuple[str, str, str]] = []  # address, text, key
        self.templates: list[tuple[str, dict[str, str]]] = []  # template, its SMS variables
        self.answers: list[SendResult | BaseException] = []

    async def send(
        self,
        address: str,
        text: str,
        *,
        key: str,
        at: datetime,
        template: str = "",
        params: Mapping[str, str] | None = None,
    ) -> SendResult:
        self.taken.append((address, text, key))
        self.templates.append((template, dict(params or {})))
        answer = self.answers.pop(0) if self.answers else SENT
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def keys(self) -> list[str]:
        return [key for _, _, key in self.taken]


class People:
    """Whom notify can reach (its view of contact points and the staff directory)."""

    def __init__(self, *known: Recipient) -> None:
        self.known = {r.recipient_id: r for r in known}

    async def recipient(self, recipient_id: str, kind: str) -> Recipient | None:
        return self.known.get(recipient_id)


class MeetingsOn:
    """The meetings still on as their messages say, with their invitees."""

    def __init__(self) -> None:
        self.on: dict[tuple[str, datetime], frozenset[str]] = {}

    async def fire_due(self) -> int:
        return 0

    async def invitees_if_on(self, meeting_id: str, starts_at: datetime) -> frozenset[str] | None:
        return self.on.get((meeting_id, starts_at))

    async def pending_reminders(self) -> int:
        return 0


class World:
    """A dispatcher on in-memory stores, its clock held at noon, one driver by SMS and inbox."""

    def __init__(self, *, sms_deduplicates: bool = False) -> None:
        self.deliveries: InMemoryAggregateStore[Delivery] = InMemoryAggregateStore(Delivery, source=SOURCE)
        self.queue = InMemoryDueQueue()
        self.places = InMemoryDailyPlaces()
        self.people = People(DRIVER)
        self.meetings = MeetingsOn()
        self.sms = Provider("sms", deduplicates=sms_deduplicates)
        self.inbox = Provider("inbox", deduplicates=True)
        self.clock = Clock(controllable=True, runs=False)
        self.clock.set(NOON)
        self.templates = Templates("Asia/Shanghai")
        self.queued = 0
        self.restart()

    def restart(self) -> None:
        """A (re)started process: the same database, a new dispatcher, its figures from zero."""
        self.registry = CollectorRegistry()
        self.dispatcher = Dispatcher(
            deliveries=self.deliveries,
            queue=self.queue,
            places=self.places,
            view=self.people,
            senders={"sms": self.sms, "inbox": self.inbox},
            templates=self.templates,
            meetings=self.meetings,
            clock=self.clock,
            quiet=NIGHT,
            policy=POLICY,
            metrics=NotifyMetrics(self.registry),
        )

    def restart_after_crash(self) -> None:
        """A process started again after one died mid-pass: the messages that pass had taken are
        leased to it until their lease ends, and only then taken up again."""
        self.clock.set(self.clock.now() + self.queue.lease)
        self.restart()

    def message(
        self,
        recipient: str = "drv-1",
        *,
        urgent: bool = False,
        kind: str = "driver",
        meeting: Document | None = None,
        template: str = "need_filed",
    ) -> str:
        """Queue one message, as the fan-out does; its id."""
        self.queued += 1
        text = f"【诉求受理】您的诉求已受理（编号 00012{self.queued}）。"
        queued = queued_message(
            f"evt-{self.queued}",
            template,
            recipient,
            kind,
            text,
            urgent,
            meeting,
            now=self.clock.now(),
            params={"category": "证件审验", "need": f"00012{self.queued}"},
        )
        self.queue.add(queued)
        return str(queued["_id"])

    async def run(self) -> int:
        return await self.dispatcher.run_once()

    def ledger(self, message_id: str) -> dict[str, Document]:
        """The message's ledger lines, by channel, as stored."""
        lines = self.deliveries.documents.values()
        return {d["channel"]: d for d in lines if d["notice_id"] == message_id}

    def figure(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0

    def deliveries_figure(self, channel: str, outcome: str) -> float:
        return self.figure("roadbranch_notify_deliveries_total", channel=channel, outcome=outcome)


@pytest.fixture
def world() -> World:
    return World()


def local(moment: datetime) -> datetime:
    return moment.astimezone(CST)


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


# ---- the dispatcher's use cases


async def test_a_message_is_claimed_sent_under_its_key_marked_and_dequeued(world: World) -> None:
    message = world.message()
    assert await world.run() == 1

    [(address, text, key)] = world.sms.taken
    line = world.ledger(message)["sms"]
    assert (address, key) == ("13800000001", line["_id"])
    assert "00012" in text
    assert world.sms.templates == [("need_filed", {"category": "证件审验", "need": "000121"})], (
        "with its variables"
    )
    assert set(line) == LEDGER_FIELDS | {"attempted_at", "sent_at", "provider_ref"}
    assert (line["status"], line["attempts"], line["provider_ref"], line["version"]) == ("sent", 1, "p-1", 1)
    assert (line["recipient"], line["recipient_kind"], line["cause"]) == ("drv-1", "driver", "evt-1")
    [event] = world.deliveries.events(SENT_TYPE)
    assert event["delivery_id"] == line["_id"]
    assert "13800000001" not in str(world.deliveries.published), "no address on the topic"
    assert world.queue.documents == {}
    assert world.deliveries_figure("sms", "sent") == 1
    assert await world.run() == 0


async def test_a_transient_failure_is_tried_again_on_the_same_key_after_its_backoff(world: World) -> None:
    world.sms.answers = [BUSY]
    message = world.message()
    await world.run()
    line = world.ledger(message)["sms"]
    assert (line["status"], line["reason"], line["version"]) == ("retrying", "http_503", 0)
    waiting = world.queue.documents[message]
    assert (waiting["attempted"], local(waiting["due_at"])) == (True, NOON + timedelta(seconds=30))
    assert world.deliveries.published == []
    assert await world.run() == 0, "not due before its backoff"

    world.clock.advance(30)
    await world.run()
    line = world.ledger(message)["sms"]
    assert (line["status"], line["attempts"]) == ("sent", 2)
    assert world.sms.keys() == [line["_id"]] * 2
    assert world.deliveries_figure("sms", "retried") == 1
    assert world.figure("roadbranch_notify_duplicates_after_crash_total", channel="sms") == 0
    assert len(world.deliveries.events(SENT_TYPE)) == 1


async def test_when_the_attempts_run_out_the_channel_fails_and_the_next_one_is_tried(world: World) -> None:
    world.sms.answers = [BUSY, BUSY, BUSY]
    message = world.message()
    for _ in range(3):
        await world.run()
        world.clock.advance(600)
    ledger = world.ledger(message)
    assert (ledger["sms"]["status"], ledger["sms"]["reason"], ledger["sms"]["attempts"]) == (
        "failed",
        "gave_up:http_503",
        3,
    )
    [failed] = world.deliveries.events(FAILED_TYPE)
    assert (failed["channel"], failed["permanent"]) == ("sms", True)
    assert world.queue.documents[message]["tried"] == ["sms"]

    await world.run()
    assert world.ledger(message)["inbox"]["status"] == "sent"
    assert world.queue.documents == {}
    assert (world.deliveries_figure("sms", "failed"), world.deliveries_figure("sms", "fell_back")) == (1, 1)


async def test_a_permanent_failure_falls_back_at_once_and_a_fall_back_takes_no_place(world: World) -> None:
    world.sms.answers = [REFUSED]
    message = world.message()
    await world.run()
    await world.run()
    ledger = world.ledger(message)
    assert (ledger["sms"]["status"], ledger["sms"]["attempts"]) == ("failed", 1)
    assert ledger["inbox"]["status"] == "sent"
    assert world.places.days == {"drv-1|2026-12-02": [message]}, "counted once, on its first channel"


async def test_every_channel_failing_leaves_each_failure_in_the_ledger_and_is_counted(world: World) -> None:
    world.sms.answers = [REFUSED]
    world.inbox.answers = [SendResult(Outcome.PERMANENT, "inbox_closed")]
    message = world.message()
    await world.run()
    await world.run()
    assert {c: d["status"] for c, d in world.ledger(message).items()} == {"sms": "failed", "inbox": "failed"}
    assert len(world.deliveries.events(FAILED_TYPE)) == 2
    assert world.queue.documents == {}
    undeliverable = "roadbranch_notify_undeliverable_total"
    assert world.figure(undeliverable, reason="all_channels_failed", recipient_kind="driver") == 1


@pytest.mark.parametrize(
    "deduplicates", [False, True], ids=["provider_without_keys", "provider_honours_keys"]
)
async def test_a_crash_between_send_and_mark_sends_again_under_the_same_key_once(deduplicates: bool) -> None:
    world = World(sms_deduplicates=deduplicates)
    world.sms.answers = [Crash()]  # the provider took it; the process died before the mark
    message = world.message()
    with pytest.raises(Crash):
        await world.run()
    line = world.ledger(message)["sms"]
    assert (line["status"], line["attempts"]) == ("sending", 1)
    assert message in world.queue.documents

    world.restart_after_crash()
    await world.run()
    line = world.ledger(message)["sms"]
    assert (line["status"], line["attempts"], line["version"]) == ("sent", 2, 1)
    assert world.sms.keys() == [line["_id"], line["_id"]], "both tries under the claim's key"
    assert len(world.deliveries.events(SENT_TYPE)) == 1
    duplicates = world.figure("roadbranch_notify_duplicates_after_crash_total", channel="sms")
    assert duplicates == (0 if deduplicates else 1)
    assert world.places.days == {"drv-1|2026-12-02": [message]}, "it kept the place it took before"
    assert world.queue.documents == {}


async def test_a_crash_after_the_mark_sends_nothing_again(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = world.message()

    async def dies(message_id: str) -> None:
        raise Crash

    monkeypatch.setattr(world.queue, "remove", dies)
    with pytest.raises(Crash):
        await world.run()
    monkeypatch.undo()
    world.restart_after_crash()
    await world.run()
    assert len(world.sms.taken) == 1
    assert world.ledger(message)["sms"]["status"] == "sent"
    assert len(world.deliveries.events(SENT_TYPE)) == 1
    assert world.queue.documents == {}


async def test_a_message_taken_by_one_pass_is_left_alone_by_another_until_its_lease_ends(
    world: World,
) -> None:
    """Two replicas on one queue: the second's pass finds nothing the first holds; once the first
    has died and the lease has ended, the message is taken up (the ledger says what was sent)."""
    world.sms.answers = [Crash()]
    message = world.message()
    with pytest.raises(Crash):
        await world.run()  # the first replica took the message and died before the mark
    world.restart()  # another replica's dispatcher on the same stores
    assert await world.run() == 0
    assert len(world.sms.taken) == 1, "not sent again while the first replica's lease holds"
    world.clock.set(world.clock.now() + world.queue.lease - timedelta(seconds=1))
    assert await world.run() == 0
    world.clock.set(world.clock.now() + timedelta(seconds=1))
    assert await world.run() == 1
    assert world.ledger(message)["sms"]["status"] == "sent"
    assert world.queue.documents == {}


async def test_every_next_step_ends_the_lease(world: World) -> None:
    """A transient failure is due again at its retry time, not when the pass's lease would end."""
    world.sms.answers = [BUSY]
    message = world.message()
    await world.run()
    left = world.queue.documents[message]
    assert not {"lease_until", "lease"} & left.keys()
    assert left["due_at"] - world.clock.now() < world.queue.lease


async def test_quiet_hours_hold_a_message_for_the_morning_and_write_no_ledger_line(world: World) -> None:
    world.clock.set(LATE)
    message = world.message()
    urgent = world.message(urgent=True)
    await world.run()
    held = world.queue.documents[message]
    assert local(held["due_at"]) == local(held["held_until"]) == NEXT_MORNING
    assert world.ledger(message) == {}
    assert world.ledger(urgent)["sms"]["status"] == "sent", "an urgent message goes at night"
    assert world.deliveries_figure("none", "held") == 1

    world.clock.set(NEXT_MORNING - timedelta(minutes=1))
    assert await world.run() == 0
    world.clock.set(NEXT_MORNING)
    await world.run()
    assert world.ledger(message)["sms"]["status"] == "sent"


async def test_the_daily_cap_merges_the_surplus_into_one_digest_sent_next_morning(world: World) -> None:
    messages = [world.message() for _ in range(4)]
    urgent = world.message(urgent=True)
    await world.run()
    lines = {m: world.ledger(m) for m in messages}
    assert [next(iter(lines[m])) for m in messages] == ["sms", "sms", "digest", "digest"]
    digest_id = "digest:2026-12-02|digest|drv-1"
    assert {lines[m]["digest"]["reason"] for m in messages[2:]} == {digest_id}
    assert {lines[m]["digest"]["status"] for m in messages[2:]} == {"merged"}
    assert world.ledger(urgent)["sms"]["status"] == "sent", "urgent messages take no place"
    assert world.deliveries_figure("digest", "merged") == 2
    assert world.deliveries.events(FAILED_TYPE) == []

    digest = world.queue.documents[digest_id]
    assert (digest["merged"], len(digest["items"]), local(digest["due_at"])) == (
        messages[2:],
        2,
        NEXT_MORNING,
    )
    world.clock.set(NEXT_MORNING)
    await world.run()
    [sent] = world.ledger(digest_id).values()
    assert (sent["template"], sent["status"], sent["channel"]) == ("digest", "sent", "sms")
    text = world.sms.taken[-1][1]
    assert text.startswith("【今日汇总】您有2条未单独发送的消息")
    assert world.places.days.keys() == {"drv-1|2026-12-02"}, "a digest takes no place"


async def test_a_message_merged_before_a_crash_is_merged_once(world: World) -> None:
    for _ in range(2):
        world.message()
    surplus = world.message()
    await world.run()
    world.queue.add(queued_message("evt-3", "need_filed", "drv-1", "driver", "again", False, None, now=NOON))
    await world.run()  # handled again, as after a crash before its dequeue
    digest = world.queue.documents["digest:2026-12-02|digest|drv-1"]
    assert digest["merged"] == [surplus]
    assert len([d for d in world.deliveries.documents.values() if d["status"] == "merged"]) == 1


@pytest.mark.parametrize(
    ("recipient", "status", "reason", "undeliverable"),
    [
        (Recipient("drv-1", "driver", erased=True), "cancelled", "recipient_erased", False),
        (None, "cancelled", "no_contact_point", True),
        (Recipient("drv-1", "staff", addresses={"email": "a@b.example"}), "failed", "no_channel_left", True),
    ],
    ids=["erased", "unknown", "no_configured_channel"],
)
async def test_a_message_that_cannot_be_sent_is_closed_in_the_ledger_and_dequeued(
    world: World, recipient: Recipient | None, status: str, reason: str, undeliverable: bool
) -> None:
    world.people.known = {recipient.recipient_id: recipient} if recipient else {}
    message = world.message(kind="person")
    await world.run()
    [(channel, line)] = world.ledger(message).items()
    assert (channel, line["status"], line["reason"], line["attempts"]) == ("none", status, reason, 0)
    assert (line["recipient_kind"], line["version"]) == ("person", 1 if status == "failed" else 0)
    failures = world.deliveries.events(FAILED_TYPE)
    assert [(e["channel"], e["reason"]) for e in failures] == (
        [("none", reason)] if status == "failed" else []
    )
    assert world.sms.taken == world.inbox.taken == []
    assert world.queue.documents == {}
    assert world.deliveries_figure("none", status) == 1
    counted = world.figure("roadbranch_notify_undeliverable_total", reason=reason, recipient_kind="person")
    assert counted == (1 if undeliverable else 0)

    world.queue.add(queued_message("evt-1", "need_filed", "drv-1", "person", "x", False, None, now=NOON))
    await world.run()  # handled again, as after a crash before its dequeue: recorded once
    assert len(world.ledger(message)) == 1
    assert len(world.deliveries.events(FAILED_TYPE)) == len(failures)


async def test_a_meeting_message_goes_only_while_the_meeting_is_on_and_invites_him(world: World) -> None:
    starts = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    world.meetings.on[("mtg-1", starts)] = frozenset({"drv-1"})
    on = world.message(meeting={"id": "mtg-1", "starts_at": starts}, template="meeting_scheduled")
    moved = world.message(meeting={"id": "mtg-1", "starts_at": starts - timedelta(days=1)})
    await world.run()
    assert world.ledger(on)["sms"]["status"] == "sent"
    assert (world.ledger(moved)["none"]["status"], world.ledger(moved)["none"]["reason"]) == (
        "cancelled",
        "meeting_changed",
    )


async def test_the_gauges_count_what_waits_and_how_long_the_oldest_due_one_has(world: World) -> None:
    world.clock.set(LATE)
    world.message()
    await world.run()  # held for the morning: waiting, not due
    world.clock.advance(60)
    world.message(urgent=True)
    world.inbox.answers = []
    world.sms.answers = [BUSY]
    await world.run()  # retrying in 30 s
    world.clock.advance(10)
    await world.dispatcher.refresh_gauges()
    assert world.figure("roadbranch_notify_queue_depth") == 2
    assert world.figure("roadbranch_notify_oldest_pending_age_seconds") == 0, "neither is due"
    world.clock.advance(30)
    await world.dispatcher.refresh_gauges()
    assert world.figure("roadbranch_notify_oldest_pending_age_seconds") == 40
