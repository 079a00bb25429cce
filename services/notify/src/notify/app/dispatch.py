"""Sending what is due, never lost and never doubled (送达保障).

For each due message the dispatcher gathers the facts and carries out what `notify.domain.delivery`
decides (recipient erased? meeting moved? quiet hours? daily cap? which channel?); a send:

1. claims the delivery by creating its ledger aggregate (`Delivery.claim`) with the deterministic
   id `<message id>|<channel>` (message id = cause, template, recipient) in state `sending`;
2. sends it, with that id as the provider's idempotency key;
3. marks it `sent` or `failed` (`Delivery.answered`) in one write that also stages DeliverySent /
   DeliveryFailed.

The ledger is an `AggregateStore[Delivery]` (MongoDB's `deliveries` in the service, a dict in the
in-process tests); the queue and the daily cap's places are behind `DueQueue` and `DailyPlaces`,
each with a MongoDB and an in-memory implementation, so every step runs in process in the tests.

A crash between 2 and 3 leaves the delivery `sending`: the next pass finds the claim and sends
again under the same key. A provider that honours the key drops the repeat; on other channels it is
at most one duplicate, counted in `roadbranch_notify_duplicates_after_crash_total`. Several
replicas may run passes on one queue: a pass leases the messages it takes (`DueQueue`, ADR 0024),
so a `sending` delivery whose message it holds can only be a crash's leftover, its lease run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.aggregates import AggregateStore, Command, MongoAggregateStore
from roadbranch_shared.clock import Clock
from roadbranch_shared.documents import Document
from roadbranch_shared.events import EventPayload, source_of
from roadbranch_shared.sms import Sender

from notify.app.caps import DailyPlaces
from notify.app.metrics import NotifyMetrics
from notify.app.queue import DueQueue
from notify.app.templates import Templates
from notify.domain.channels import Outcome, Recipient, SendResult
from notify.domain.delivery import (
    DIGEST,
    NO_CHANNEL,
    RETRYING,
    SENT,
    AlreadySent,
    Delivery,
    DeliveryPolicy,
    FallBack,
    GiveUp,
    Hold,
    Message,
    Send,
    delivery_id,
    next_step,
    resume_step,
)
from notify.domain.timing import QuietHours

log = logging.getLogger(__name__)
SOURCE = source_of("notify")
ALL_CHANNELS_FAILED = "all_channels_failed"
# Messages that should have reached someone and could not (an erasure or a moved meeting withdraws
# a message on purpose: not counted).
UNDELIVERABLE = frozenset({"no_contact_point", "no_channel_left"})


def mongo_deliveries(db: AsyncDatabase[Document]) -> AggregateStore[Delivery]:
    return MongoAggregateStore(db.deliveries, Delivery, source=SOURCE)


class Recipients(Protocol):
    """How notify can reach someone now (`notify.app.view.RecipientView`)."""

    async def recipient(self, recipient_id: str, kind: str) -> Recipient | None: ...


class MeetingTimes(Protocol):
    """The meetings' reminders and whether a meeting is still on (`notify.app.meetings.Meetings`)."""

    async def fire_due(self) -> int: ...

    async def invitees_if_on(self, meeting_id: str, starts_at: datetime) -> frozenset[str] | None: ...

    async def pending_reminders(self) -> int: ...


class Dispatcher:
    def __init__(
        self,
        *,
        deliveries: AggregateStore[Delivery],
        queue: DueQueue,
        places: DailyPlaces,
        view: Recipients,
        senders: Mapping[str, Sender],
        templates: Templates,
        meetings: MeetingTimes,
        clock: Clock,
        quiet: QuietHours,
        policy: DeliveryPolicy,
        metrics: NotifyMetrics,
    ) -> None:
        self.deliveries = deliveries
        self.queue = queue
        self.places = places
        self.view = view
        self.senders = dict(senders)
        self.templates = templates
        self.meetings = meetings
        self.clock = clock
        self.quiet = quiet
        self.policy = policy
        self.metrics = metrics
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run_forever(self, interval: float) -> None:
        """Pass after pass; a full batch goes straight on, otherwise wait for a wake-up or `interval`."""
        while True:
            try:
                fired = await self.meetings.fire_due()
                done = await self.run_once()
            except Exception:
                log.exception("delivery pass failed; the next one retries")
                fired, done = 0, 0
            if done >= self.policy.batch_size or fired:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)

    async def run_once(self) -> int:
        """Handle the messages due now (up to a batch); returns how many were handled."""
        now = self.clock.now()
        due = await self.queue.due(now, self.policy.batch_size)
        # Urgent first; one recipient's messages in order, so his daily count is exact.
        by_recipient: dict[str, list[Document]] = defaultdict(list)
        for notice in sorted(due, key=lambda n: (not n["urgent"], n["created_at"])):
            by_recipient[notice["recipient"]].append(notice)
        limit = asyncio.Semaphore(self.policy.concurrency)
        meetings_on: dict[tuple[str, datetime], frozenset[str] | None] = {}

        async def one_recipient(notices: list[Document]) -> None:
            async with limit:
                for notice in notices:
                    try:
                        await self._handle(notice, now, meetings_on)
                    except Exception:
                        log.exception("a message could not be handled; it stays queued")

        await asyncio.gather(*(one_recipient(n) for n in by_recipient.values()))
        return len(due)

    async def _handle(
        self, notice: Document, now: datetime, meetings_on: dict[tuple[str, datetime], frozenset[str] | None]
    ) -> None:
        """One due message: gather what the decision needs, decide (`next_step`), carry the step out."""
        message = Message.queued(notice)
        recipient = await self.view.recipient(message.recipient_id, notice["kind"])
        invitees = await self._invitees(notice["meeting"], meetings_on) if message.about_meeting else None
        step = next_step(message, recipient, invitees, now, self.quiet, self.policy, self.senders.keys())
        if isinstance(step, GiveUp):
            return await self._give_up(notice, now, step.status, step.reason)
        if isinstance(step, Hold):
            return await self._hold(notice, step.until)
        return await self._deliver(notice, message, step, now)

    async def _invitees(
        self, meeting: Document, meetings_on: dict[tuple[str, datetime], frozenset[str] | None]
    ) -> frozenset[str] | None:
        """Who the meeting invites if it is still on; asked once a pass for all its messages."""
        key = (meeting["id"], meeting["starts_at"])
        if key not in meetings_on:
            meetings_on[key] = await self.meetings.invitees_if_on(*key)
        return meetings_on[key]

    async def _deliver(self, notice: Document, message: Message, step: Send, now: datetime) -> None:
        """Claim the delivery on the step's channel, or take up the claim an earlier pass left."""
        # A message seen before (a retry) has its claim: read it. A fresh one is claimed straight
        # away; the claim only fails if a crash left one behind, which is read then.
        claim_id = delivery_id(message.id, step.channel)
        delivery = await self.deliveries.get(claim_id) if message.attempted else None
        if delivery is None:
            if step.counts_against_cap and not await self._reserve(step.recipient, message.id, now):
                return await self._merge_into_digest(notice, step.recipient, now)
            claimed, events = Delivery.claim(
                notice, step.recipient, step.channel, self._text(notice), now=now
            )
            try:
                await self.deliveries.create(claimed, events)
            except DuplicateKeyError:
                delivery = await self.deliveries.get(claim_id)
                if delivery is None:
                    return None  # cannot be: the claim was refused as a duplicate; the next pass looks again
            else:
                return await self._attempt(notice, step, claimed, now)
        return await self._resume(notice, step, delivery, now)

    async def _resume(self, notice: Document, step: Send, delivery: Delivery, now: datetime) -> None:
        """A delivery claimed before: done, failed (next channel), or to be sent again under its key."""
        channel = delivery.channel
        then = resume_step(delivery.status, self.senders[channel].deduplicates)
        if isinstance(then, AlreadySent):
            return await self._dequeue(notice)
        if isinstance(then, FallBack):
            return await self._fall_back(notice, channel, now, step.plan)
        if then.may_duplicate:
            self.metrics.duplicates_after_crash.labels(channel).inc()
        again = await self._change(delivery, lambda d: d.send_again(now=now))
        return await self._attempt(notice, step, again, now)

    async def _change(self, delivery: Delivery, command: Command[Delivery]) -> Delivery:
        """Run a command on the delivery as this pass holds it (no read first) and write it."""
        changed = await self.deliveries.change(
            delivery.id, command, missing=LookupError(f"no delivery {delivery.id}"), current=delivery
        )
        return changed.after

    # ---- the send

    async def _send(
        self, channel: str, recipient: Recipient, notice: Document, key: str, now: datetime
    ) -> SendResult:
        sender = self.senders[channel]
        template, params = self._template(notice)
        try:
            return await asyncio.wait_for(
                sender.send(
                    recipient.addresses[channel],
                    self._text(notice),
                    key=key,
                    at=now,
                    template=template,
                    params=params,
                ),
                timeout=self.policy.send_timeout_seconds,
            )
        except TimeoutError:
            return SendResult(Outcome.TRANSIENT, "timeout")
        except Exception as e:  # a bug or an odd answer must not stop the other sends
            log.warning("send on %s raised %s", channel, type(e).__name__)
            return SendResult(Outcome.TRANSIENT, f"error_{type(e).__name__}")

    async def _attempt(self, notice: Document, step: Send, delivery: Delivery, now: datetime) -> None:
        """Send under the claim's key and mark what came of it (`Delivery.answered`)."""
        channel = delivery.channel
        result = await self._send(channel, step.recipient, notice, delivery.id, now)
        marked = await self._change(delivery, lambda d: d.answered(result, now=now, policy=self.policy))
        if marked.status == SENT:
            self.metrics.deliveries.labels(channel, "sent").inc()
            return await self._dequeue(notice)
        if marked.status == RETRYING:
            await self.queue.retry_at(notice["_id"], marked.next_attempt_at or now)  # set with it
            self.metrics.deliveries.labels(channel, "retried").inc()
            return None
        self.metrics.deliveries.labels(channel, "failed").inc()
        return await self._fall_back(notice, channel, now, step.plan)

    # ---- what happens instead of a send

    async def _fall_back(self, notice: Document, channel: str, now: datetime, plan: Sequence[str]) -> None:
        remaining = [c for c in plan if c != channel]
        if not remaining:
            # Every channel failed; each failure is in the ledger.
            self.metrics.undeliverable.labels(ALL_CHANNELS_FAILED, notice["kind"]).inc()
            return await self._dequeue(notice)
        self.metrics.deliveries.labels(channel, "fell_back").inc()
        await self.queue.try_next_channel(notice["_id"], channel, now)
        return None

    async def _hold(self, notice: Document, until: datetime) -> None:
        """Quiet hours: the message waits for the morning."""
        await self.queue.hold(notice["_id"], until)
        self.metrics.deliveries.labels(NO_CHANNEL, "held").inc()

    async def _reserve(self, recipient: Recipient, message_id: str, now: datetime) -> bool:
        """Count one message against the recipient's cap for the local day; False if it is full."""
        day = self.quiet.local_day(now).isoformat()
        return await self.places.reserve(f"{recipient.recipient_id}|{day}", message_id, self.policy.daily_cap)

    async def _merge_into_digest(self, notice: Document, recipient: Recipient, now: datetime) -> None:
        """Over the daily cap: the message joins the recipient's digest, sent next morning."""
        day = self.quiet.local_day(now).isoformat()
        digest_id = f"digest:{day}|{DIGEST}|{recipient.recipient_id}"
        digest = {
            "_id": digest_id,
            "cause": f"digest:{day}",
            "template": DIGEST,
            "recipient": recipient.recipient_id,
            "kind": notice["kind"],
            "text": None,
            "urgent": False,
            "meeting": None,
            "tried": [],
            "items": [notice["text"]],
            "merged": [notice["_id"]],
            "created_at": now,
            "due_at": self.quiet.next_end(now),
        }
        await self.queue.merge_into_digest(digest, notice["_id"], notice["text"])
        await self._record(*Delivery.merge(notice, digest_id, now=now))
        self.metrics.deliveries.labels(DIGEST, "merged").inc()
        await self._dequeue(notice)

    async def _give_up(self, notice: Document, now: datetime, status: str, reason: str) -> None:
        """No send: cancelled (erased recipient, moved meeting) or failed (no channel at all)."""
        await self._record(*Delivery.give_up(notice, status, reason, now=now))
        self.metrics.deliveries.labels(NO_CHANNEL, status).inc()
        if reason in UNDELIVERABLE:
            self.metrics.undeliverable.labels(reason, notice["kind"]).inc()
        await self._dequeue(notice)

    async def _record(self, closed: Delivery, events: Sequence[EventPayload]) -> None:
        """The ledger line of a message that was not sent (merged, cancelled, or failed everywhere);
        a failure is published as DeliveryFailed on channel `none`."""
        with contextlib.suppress(DuplicateKeyError):  # recorded before a crash
            await self.deliveries.create(closed, events)

    async def _dequeue(self, notice: Document) -> None:
        await self.queue.remove(notice["_id"])

    # ---- helpers

    def _template(self, notice: Document) -> tuple[str, dict[str, str]]:
        """The message's template and its SMS variables (a digest's: how many it holds)."""
        if notice["template"] == DIGEST:
            return DIGEST, {"count": str(len(notice.get("items", [])))}
        return notice["template"], dict(notice.get("params") or {})

    def _text(self, notice: Document) -> str:
        if notice["template"] == DIGEST:
            return self.templates.render(DIGEST, {"items": notice.get("items", [])})
        text: str = notice["text"]
        return text

    # ---- figures

    async def refresh_gauges(self) -> None:
        now = self.clock.now()
        depth = 0
        oldest: datetime | None = None
        async for due_at, created_at in self.queue.times():
            depth += 1
            if due_at <= now and (oldest is None or created_at < oldest):
                oldest = created_at
        self.metrics.queue_depth.set(depth)
        self.metrics.oldest_pending_age.set(max((now - oldest).total_seconds(), 0) if oldest else 0)
        self.metrics.reminders_pending.set(await self.meetings.pending_reminders())
