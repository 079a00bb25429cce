"""Sending what is due, never lost and never doubled (送达保障).

For each due message the dispatcher gathers the facts and carries out what `notify.domain.delivery`
decides (recipient erased? meeting moved? quiet hours? daily cap? which channel?); a send:

1. claims the delivery by inserting its ledger document with the deterministic _id
   `<message id>|<channel>` (message id = cause, template, recipient) in state `sending`;
2. sends it, with that _id as the provider's idempotency key;
3. marks it `sent` or `failed` in one write that also stages DeliverySent / DeliveryFailed.

A crash between 2 and 3 leaves the delivery `sending`: the next pass finds the claim and sends
again under the same key. A provider that honours the key drops the repeat; on other channels it is
at most one duplicate, counted in `roadbranch_notify_duplicates_after_crash_total`. One dispatcher
runs per service (the same rule as for FerretDB writes), so a `sending` delivery seen at the start
of a pass can only be a crash's leftover.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.clock import Clock
from roadbranch_shared.contracts.notify import DeliveryFailed, DeliverySent
from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.events import EventPayload, source_of
from roadbranch_shared.outbox import insert_aggregate, stage_events, update_aggregate

from notify.adapters.channels import Sender
from notify.app.meetings import Meetings
from notify.app.metrics import NotifyMetrics
from notify.app.templates import Templates
from notify.app.view import RecipientView
from notify.domain.channels import Outcome, Recipient, SendResult
from notify.domain.delivery import (
    DIGEST,
    AlreadySent,
    DeliveryPolicy,
    FallBack,
    GiveUp,
    Hold,
    MarkSent,
    Message,
    Retry,
    Send,
    after_send,
    next_step,
    resume_step,
)
from notify.domain.timing import QuietHours

log = logging.getLogger(__name__)
SOURCE = source_of("notify")
NO_CHANNEL = "none"
ALL_CHANNELS_FAILED = "all_channels_failed"
# Messages that should have reached someone and could not (an erasure or a moved meeting withdraws
# a message on purpose: not counted).
UNDELIVERABLE = frozenset({"no_contact_point", "no_channel_left"})


class Dispatcher:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        *,
        view: RecipientView,
        senders: Mapping[str, Sender],
        templates: Templates,
        meetings: Meetings,
        clock: Clock,
        quiet: QuietHours,
        policy: DeliveryPolicy,
        metrics: NotifyMetrics,
    ) -> None:
        self.db = db
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
        due = await self.db.queue.find({"due_at": {"$lte": now}}).to_list(self.policy.batch_size)
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
        delivery_id = f"{message.id}|{step.channel}"
        # A message seen before (a retry) has its claim: read it. A fresh one is claimed straight
        # away; the claim only fails if a crash left one behind, which is read then.
        delivery = await self._find(delivery_id) if message.attempted else None
        if delivery is None:
            if step.counts_against_cap and not await self._reserve(step.recipient, message.id, now):
                return await self._merge_into_digest(notice, step.recipient, now)
            delivery = await self._claim(notice, step.recipient, step.channel, delivery_id, now)
            if delivery is not None:
                return await self._attempt(notice, step, delivery, now)
            delivery = await self._find(delivery_id)
            if delivery is None:
                return None  # cannot be: the claim was refused as a duplicate; the next pass looks again
        return await self._resume(notice, step, delivery, now)

    async def _resume(self, notice: Document, step: Send, delivery: Document, now: datetime) -> None:
        """A delivery claimed before: done, failed (next channel), or to be sent again under its key."""
        channel = delivery["channel"]
        then = resume_step(delivery["status"], self.senders[channel].deduplicates)
        if isinstance(then, AlreadySent):
            return await self._dequeue(notice)
        if isinstance(then, FallBack):
            return await self._fall_back(notice, channel, now, step.plan)
        if then.may_duplicate:
            self.metrics.duplicates_after_crash.labels(channel).inc()
        delivery["attempts"] += 1
        await update_if(
            self.db.deliveries,
            delivery["_id"],
            {},
            {"$set": {"status": "sending", "attempts": delivery["attempts"], "attempted_at": now}},
        )
        return await self._attempt(notice, step, delivery, now)

    async def _find(self, delivery_id: str) -> Document | None:
        return await self.db.deliveries.find_one({"_id": delivery_id}, {"outbox": 0})

    # ---- the three steps

    async def _claim(
        self, notice: Document, recipient: Recipient, channel: str, delivery_id: str, now: datetime
    ) -> Document | None:
        delivery = {
            "_id": delivery_id,
            "notice_id": notice["_id"],
            "cause": notice["cause"],
            "recipient": recipient.recipient_id,
            "recipient_kind": recipient.kind,
            "channel": channel,
            "template": notice["template"],
            "text": self._text(notice),
            "urgent": notice["urgent"],
            "status": "sending",
            "attempts": 1,
            "created_at": now,
            "attempted_at": now,
        }
        try:
            await insert_aggregate(self.db.deliveries, delivery, [])
        except DuplicateKeyError:
            return None
        delivery["version"] = 0
        return delivery

    async def _send(
        self, channel: str, recipient: Recipient, text: str, delivery_id: str, now: datetime
    ) -> SendResult:
        sender = self.senders[channel]
        try:
            return await asyncio.wait_for(
                sender.send(recipient.addresses[channel], text, key=delivery_id, at=now),
                timeout=self.policy.send_timeout_seconds,
            )
        except TimeoutError:
            return SendResult(Outcome.TRANSIENT, "timeout")
        except Exception as e:  # a bug or an odd answer must not stop the other sends
            log.warning("send on %s raised %s", channel, type(e).__name__)
            return SendResult(Outcome.TRANSIENT, f"error_{type(e).__name__}")

    async def _attempt(self, notice: Document, step: Send, delivery: Document, now: datetime) -> None:
        """Send under the claim's key and mark what came of it (`after_send`)."""
        channel = delivery["channel"]
        result = await self._send(channel, step.recipient, self._text(notice), delivery["_id"], now)
        then = after_send(result, delivery["attempts"], now, self.policy)
        if isinstance(then, MarkSent):
            await self._finish(
                delivery,
                {"status": "sent", "sent_at": now, "provider_ref": then.provider_ref},
                self._sent_event(delivery, now),
            )
            self.metrics.deliveries.labels(channel, "sent").inc()
            return await self._dequeue(notice)
        if isinstance(then, Retry):
            await update_if(
                self.db.deliveries,
                delivery["_id"],
                {},
                {"$set": {"status": "retrying", "reason": then.reason, "next_attempt_at": then.at}},
            )
            await update_if(
                self.db.queue, notice["_id"], {}, {"$set": {"due_at": then.at, "attempted": True}}
            )
            self.metrics.deliveries.labels(channel, "retried").inc()
            return None
        await self._finish(
            delivery,
            {"status": "failed", "failed_at": now, "reason": then.reason},
            self._failed_event(delivery, then.reason, now),
        )
        self.metrics.deliveries.labels(channel, "failed").inc()
        return await self._fall_back(notice, channel, now, step.plan)

    async def _finish(self, delivery: Document, fields: Document, event: EventPayload) -> None:
        events = stage_events(
            [event], source=SOURCE, subject=delivery["_id"], from_version=delivery.get("version", 0)
        )
        await update_aggregate(
            self.db.deliveries,
            delivery["_id"],
            expected_version=delivery.get("version", 0),
            update={"$set": fields},
            events=events,
        )

    # ---- what happens instead of a send

    async def _fall_back(self, notice: Document, channel: str, now: datetime, plan: Sequence[str]) -> None:
        remaining = [c for c in plan if c != channel]
        if not remaining:
            # Every channel failed; each failure is in the ledger.
            self.metrics.undeliverable.labels(ALL_CHANNELS_FAILED, notice["kind"]).inc()
            return await self._dequeue(notice)
        self.metrics.deliveries.labels(channel, "fell_back").inc()
        await update_if(
            self.db.queue, notice["_id"], {}, {"$push": {"tried": channel}, "$set": {"due_at": now}}
        )
        return None

    async def _hold(self, notice: Document, until: datetime) -> None:
        """Quiet hours: the message waits for the morning."""
        await update_if(self.db.queue, notice["_id"], {}, {"$set": {"due_at": until, "held_until": until}})
        self.metrics.deliveries.labels(NO_CHANNEL, "held").inc()

    async def _reserve(self, recipient: Recipient, message_id: str, now: datetime) -> bool:
        """Count one message against the recipient's cap for the local day; False if it is full."""
        day = self.quiet.local_day(now).isoformat()
        return await reserve_daily_place(
            self.db.daily_counts, f"{recipient.recipient_id}|{day}", message_id, self.policy.daily_cap
        )

    async def _merge_into_digest(self, notice: Document, recipient: Recipient, now: datetime) -> None:
        """Over the daily cap: the message joins the recipient's digest, sent next morning."""
        day = self.quiet.local_day(now).isoformat()
        digest_id = f"digest:{day}|{DIGEST}|{recipient.recipient_id}"
        merged = {"$push": {"items": notice["text"], "merged": notice["_id"]}}
        if not await update_if(self.db.queue, digest_id, {"merged": {"$ne": notice["_id"]}}, merged):
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
            # Absent, or this message merged before a crash: insert, or find it there already.
            if await self.db.queue.find_one({"_id": digest_id}) is None:
                await self.db.queue.insert_one(digest)
        await self._ledger_only(notice, now, "merged", digest_id)
        self.metrics.deliveries.labels(DIGEST, "merged").inc()
        await self._dequeue(notice)

    async def _give_up(self, notice: Document, now: datetime, status: str, reason: str) -> None:
        """No send: cancelled (erased recipient, moved meeting) or failed (no channel at all)."""
        await self._ledger_only(notice, now, status, reason)
        self.metrics.deliveries.labels(NO_CHANNEL, status).inc()
        if reason in UNDELIVERABLE:
            self.metrics.undeliverable.labels(reason, notice["kind"]).inc()
        await self._dequeue(notice)

    async def _ledger_only(self, notice: Document, now: datetime, status: str, reason: str) -> None:
        """A ledger line for a message that was not sent (merged, cancelled, or failed everywhere);
        a failure is published as DeliveryFailed on channel `none`."""
        channel = DIGEST if status == "merged" else NO_CHANNEL
        doc = {
            "_id": f"{notice['_id']}|{channel}",
            "notice_id": notice["_id"],
            "cause": notice["cause"],
            "recipient": notice["recipient"],
            "recipient_kind": notice["kind"],
            "channel": channel,
            "template": notice["template"],
            "text": notice["text"],
            "urgent": notice["urgent"],
            "status": status,
            "reason": reason,
            "attempts": 0,
            "created_at": now,
            "failed_at" if status == "failed" else "closed_at": now,
        }
        events = (
            stage_events(
                [self._failed_event(doc, reason, now)], source=SOURCE, subject=doc["_id"], from_version=0
            )
            if status == "failed"
            else []
        )
        with contextlib.suppress(DuplicateKeyError):  # recorded before a crash
            await insert_aggregate(self.db.deliveries, doc, events)

    async def _dequeue(self, notice: Document) -> None:
        await self.db.queue.delete_one({"_id": notice["_id"]})

    # ---- helpers

    def _text(self, notice: Document) -> str:
        if notice["template"] == DIGEST:
            return self.templates.render(DIGEST, {"items": notice.get("items", [])})
        text: str = notice["text"]
        return text

    def _sent_event(self, delivery: Document, now: datetime) -> DeliverySent:
        return DeliverySent(**_event_fields(delivery), sent_at=now)

    def _failed_event(self, delivery: Document, reason: str, now: datetime) -> DeliveryFailed:
        return DeliveryFailed(**_event_fields(delivery), reason=reason, permanent=True, failed_at=now)

    # ---- figures

    async def refresh_gauges(self) -> None:
        now = self.clock.now()
        depth = 0
        oldest: datetime | None = None
        async for doc in self.db.queue.find({}, {"due_at": 1, "created_at": 1}):
            depth += 1
            if doc["due_at"] <= now and (oldest is None or doc["created_at"] < oldest):
                oldest = doc["created_at"]
        self.metrics.queue_depth.set(depth)
        self.metrics.oldest_pending_age.set(max((now - oldest).total_seconds(), 0) if oldest else 0)
        self.metrics.reminders_pending.set(await self.meetings.pending_reminders())


async def reserve_daily_place(counts: AsyncCollection[Document], key: str, message_id: str, cap: int) -> bool:
    """Take one of the day's `cap` places for `message_id`; True if it has one (now or from before).

    The place is taken by the message's id, so a message counted before a crash, and handled again
    after it, keeps its place instead of counting twice."""
    free = {
        "$or": [{"count": {"$exists": False}}, {"count": {"$lt": cap}}],
        "messages": {"$ne": message_id},
    }
    if await update_if(
        counts, key, free, {"$inc": {"count": 1}, "$push": {"messages": message_id}}, upsert=True
    ):
        return True
    taken = await counts.find_one({"_id": key}, {"messages": 1})
    return bool(taken and message_id in taken.get("messages", []))


def _event_fields(delivery: Document) -> dict[str, Any]:
    """What a delivery event says of its delivery: ids and codes, no address, no text."""
    return {
        "delivery_id": delivery["_id"],
        "recipient_driver_id": delivery["recipient"],
        "recipient_kind": delivery["recipient_kind"],
        "channel": delivery["channel"],
        "template": delivery["template"],
        "caused_by_event_id": delivery["cause"],
    }
