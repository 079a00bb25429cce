"""What happens next to a due message (送达保障): the dispatcher's decisions, and the delivery ledger's
aggregate (`Delivery`), pure, no I/O.

The dispatcher (`notify.app.dispatch`) gathers the facts (the recipient, the meeting, the ledger's
claim, the provider's answer), asks these functions for the next step and carries it out; each
ledger line changes through a `Delivery` command on the deliveries' store.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from roadbranch_shared.aggregates import Aggregate
from roadbranch_shared.contracts.notify import DeliveryFailed, DeliverySent
from roadbranch_shared.domain import DomainError
from roadbranch_shared.events import EventPayload

from notify.domain.channels import Outcome, Recipient, SendResult, channel_plan
from notify.domain.timing import QuietHours, backoff, own_quiet_hours

DIGEST = "digest"
NO_CHANNEL = "none"  # the channel of a ledger line for a message sent on none
# A delivery's states in the ledger: claimed and in flight, waiting for its retry, and closed.
SENDING = "sending"
RETRYING = "retrying"
SENT = "sent"
FAILED = "failed"
CANCELLED = "cancelled"
MERGED = "merged"
IN_FLIGHT = (SENDING, RETRYING)


@dataclass(frozen=True)
class DeliveryPolicy:
    fallback_order: list[str]
    daily_cap: int
    max_attempts: int
    retry_base_seconds: float
    retry_max_seconds: float
    send_timeout_seconds: float
    batch_size: int
    concurrency: int


@dataclass(frozen=True)
class Message:
    """What the decisions read of a queued message."""

    id: str
    recipient_id: str
    template: str
    urgent: bool
    about_meeting: bool  # withdrawn if its meeting moves, is cancelled or drops the recipient
    tried: tuple[str, ...] = ()  # channels that failed for it, in order
    attempted: bool = False  # sent before and due again (a retry): its claim is in the ledger

    @classmethod
    def queued(cls, notice: Mapping[str, Any]) -> Message:
        return cls(
            id=notice["_id"],
            recipient_id=notice["recipient"],
            template=notice["template"],
            urgent=notice["urgent"],
            about_meeting=bool(notice.get("meeting")),
            tried=tuple(notice.get("tried") or ()),
            attempted=bool(notice.get("attempted")),
        )

    @property
    def counts_against_cap(self) -> bool:
        """Urgent messages, digests and fall-backs (counted on their first channel) take no place."""
        return not self.urgent and self.template != DIGEST and not self.tried


# ---- before a send


@dataclass(frozen=True)
class GiveUp:
    """No send: `cancelled` (no contact point, erased recipient, moved meeting) or `failed` (no
    channel left); `reason` goes to the ledger."""

    status: str
    reason: str


@dataclass(frozen=True)
class Hold:
    """Quiet hours: the message waits until `until`."""

    until: datetime


@dataclass(frozen=True)
class Send:
    """Send to `recipient` on the first channel of `plan`, the channels still to try in order."""

    recipient: Recipient
    plan: tuple[str, ...]
    counts_against_cap: bool  # a first claim takes a place under the daily cap, or joins the digest

    @property
    def channel(self) -> str:
        return self.plan[0]


def next_step(
    message: Message,
    recipient: Recipient | None,
    invitees: frozenset[str] | None,
    now: datetime,
    quiet: QuietHours,
    policy: DeliveryPolicy,
    usable: Set[str],
) -> GiveUp | Hold | Send:
    """What to do with `message` due `now`. `recipient`: how notify can reach him (None: no way);
    `invitees`: for a message about a meeting, who is invited if the meeting is still on as the
    message says (None: cancelled or moved); `usable`: the channels configured."""
    if recipient is None:
        return GiveUp(CANCELLED, "no_contact_point")
    if recipient.erased:
        return GiveUp(CANCELLED, "recipient_erased")
    if message.about_meeting and (invitees is None or message.recipient_id not in invitees):
        return GiveUp(CANCELLED, "meeting_changed")
    if not message.urgent:
        # A driver's own quiet hours, when he chose them, instead of the county's.
        release = own_quiet_hours(quiet, recipient.quiet_hours).release(now)
        if release > now:
            return Hold(release)
    plan = tuple(
        c for c in channel_plan(recipient, policy.fallback_order, set(usable)) if c not in message.tried
    )
    if not plan:
        return GiveUp(FAILED, "no_channel_left")
    return Send(recipient, plan, message.counts_against_cap)


# ---- a delivery claimed before


@dataclass(frozen=True)
class AlreadySent:
    """The claim is marked sent: only the queue entry is left to remove."""


@dataclass(frozen=True)
class FallBack:
    """The claim is marked failed: the next channel, or none."""


@dataclass(frozen=True)
class SendAgain:
    """Send again under the claim's key. `may_duplicate`: a crash left it in flight on a channel
    whose provider may have it already and cannot tell a repeat."""

    may_duplicate: bool


def resume_step(status: str, provider_deduplicates: bool) -> AlreadySent | FallBack | SendAgain:
    """What to do with a delivery the ledger holds already, in `status` (sending, retrying, sent, failed)."""
    if status == SENT:
        return AlreadySent()
    if status == FAILED:
        return FallBack()
    return SendAgain(may_duplicate=status == SENDING and not provider_deduplicates)


# ---- after a send


@dataclass(frozen=True)
class MarkSent:
    provider_ref: str | None


@dataclass(frozen=True)
class Retry:
    """A transient failure with attempts left: the same channel again at `at`."""

    at: datetime
    reason: str


@dataclass(frozen=True)
class MarkFailed:
    """This channel is done with: marked failed (published), then the next channel."""

    reason: str


def after_send(
    result: SendResult, attempts: int, now: datetime, policy: DeliveryPolicy
) -> MarkSent | Retry | MarkFailed:
    """What the provider's answer to the `attempts`-th try means for the delivery."""
    if result.outcome is Outcome.SENT:
        return MarkSent(result.provider_ref)
    if result.outcome is Outcome.TRANSIENT and attempts < policy.max_attempts:
        return Retry(
            now + backoff(attempts, policy.retry_base_seconds, policy.retry_max_seconds), result.reason
        )
    return MarkFailed(result.reason if result.outcome is Outcome.PERMANENT else f"gave_up:{result.reason}")


# ---- the ledger (发送台账)


def delivery_id(message_id: str, channel: str) -> str:
    """A delivery's id, also the provider's idempotency key: the message (cause, template,
    recipient) and the channel, so a message is claimed once per channel."""
    return f"{message_id}|{channel}"


class Delivery(Aggregate):
    """One message on one channel in the ledger. Each command checks the state it may change,
    changes it and returns the events it raises; the store writes both at once.

    A send is claimed first (`sending`, stored before the send); the provider's answer then marks it
    `sent` (DeliverySent), `retrying` (a transient failure: the same channel again at
    `next_attempt_at`) or `failed` (DeliveryFailed: the next channel). A claim found `sending` or
    `retrying` is sent again under the same key: after a crash between the send and the mark, or
    for its retry. A message that is not sent is recorded closed at once: `cancelled`, `failed` on
    channel `none` (DeliveryFailed) or `merged` into a digest. The events carry ids and codes only;
    the text stays in the ledger."""

    notice_id: str
    cause: str
    recipient: str
    recipient_kind: str
    channel: str
    template: str
    text: str | None  # None: a digest closed before it was rendered
    urgent: bool
    status: str
    attempts: int
    created_at: datetime
    # Set by the steps that get there only (absent from deliveries that never did).
    attempted_at: datetime | None = None
    reason: str | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    provider_ref: str | None = None
    failed_at: datetime | None = None
    closed_at: datetime | None = None

    @classmethod
    def claim(
        cls, notice: Mapping[str, Any], recipient: Recipient, channel: str, text: str, *, now: datetime
    ) -> tuple[Delivery, list[EventPayload]]:
        """Claim the queued message's send to `recipient` on `channel`: its first attempt. Stored
        before the send; a second claim of the same message and channel is refused by its id."""
        delivery = cls(
            id=delivery_id(notice["_id"], channel),
            notice_id=notice["_id"],
            cause=notice["cause"],
            recipient=recipient.recipient_id,
            recipient_kind=recipient.kind,
            channel=channel,
            template=notice["template"],
            text=text,
            urgent=notice["urgent"],
            status=SENDING,
            attempts=1,
            created_at=now,
            attempted_at=now,
        )
        return delivery, []

    @classmethod
    def give_up(
        cls, notice: Mapping[str, Any], status: str, reason: str, *, now: datetime
    ) -> tuple[Delivery, list[EventPayload]]:
        """The queued message is sent on no channel: `cancelled` (nobody to reach, an erased
        recipient, a moved meeting) or `failed` (no channel left, published as DeliveryFailed)."""
        if status not in (CANCELLED, FAILED):
            raise ValueError(f"a message is given up as cancelled or failed, not {status!r}")
        return cls._closed(notice, NO_CHANNEL, status, reason, now)

    @classmethod
    def merge(
        cls, notice: Mapping[str, Any], digest_id: str, *, now: datetime
    ) -> tuple[Delivery, list[EventPayload]]:
        """Over the daily cap: the queued message went into the digest `digest_id`."""
        return cls._closed(notice, DIGEST, MERGED, digest_id, now)

    @classmethod
    def _closed(
        cls, notice: Mapping[str, Any], channel: str, status: str, reason: str, now: datetime
    ) -> tuple[Delivery, list[EventPayload]]:
        closed = {"failed_at": now} if status == FAILED else {"closed_at": now}
        delivery = cls(
            id=delivery_id(notice["_id"], channel),
            notice_id=notice["_id"],
            cause=notice["cause"],
            recipient=notice["recipient"],
            recipient_kind=notice["kind"],
            channel=channel,
            template=notice["template"],
            text=notice["text"],
            urgent=notice["urgent"],
            status=status,
            reason=reason,
            attempts=0,
            created_at=now,
            **closed,
        )
        return delivery, [delivery._failed(reason, now)] if status == FAILED else []

    def send_again(self, *, now: datetime) -> list[EventPayload]:
        """Another attempt under the same key: a claim a crash left in flight, or one whose retry
        came due. A delivery sent or failed is never sent again."""
        self._require(IN_FLIGHT, "再次发送")
        self.status, self.attempts, self.attempted_at = SENDING, self.attempts + 1, now
        return []

    def answered(self, result: SendResult, *, now: datetime, policy: DeliveryPolicy) -> list[EventPayload]:
        """The provider's answer to the attempt in flight (`after_send`): sent, retried or failed."""
        then = after_send(result, self.attempts, now, policy)
        if isinstance(then, MarkSent):
            return self.mark_sent(then.provider_ref, now=now)
        if isinstance(then, Retry):
            return self.retry_at(then.at, then.reason)
        return self.mark_failed(then.reason, now=now)

    def mark_sent(self, provider_ref: str | None, *, now: datetime) -> list[EventPayload]:
        self._require((SENDING,), "记为已发送")
        self.status, self.sent_at, self.provider_ref = SENT, now, provider_ref
        return [DeliverySent(**self._event_fields(), sent_at=now)]

    def retry_at(self, at: datetime, reason: str) -> list[EventPayload]:
        """A transient failure: the same channel again at `at` (nothing published)."""
        self._require((SENDING,), "安排重试")
        self.status, self.reason, self.next_attempt_at = RETRYING, reason, at
        return []

    def mark_failed(self, reason: str, *, now: datetime) -> list[EventPayload]:
        """This channel is done with (a permanent failure, or the attempts ran out)."""
        self._require((SENDING,), "记为失败")
        self.status, self.failed_at, self.reason = FAILED, now, reason
        return [self._failed(reason, now)]

    def _require(self, allowed: tuple[str, ...], action: str) -> None:
        if self.status not in allowed:
            raise DomainError(
                "status",
                "wrong_status",
                f"发送记录当前状态为 {self.status}，不能{action}",
                current_status=self.status,
            )

    def _failed(self, reason: str, now: datetime) -> DeliveryFailed:
        return DeliveryFailed(**self._event_fields(), reason=reason, permanent=True, failed_at=now)

    def _event_fields(self) -> dict[str, Any]:
        """What a delivery event says of its delivery: ids and codes, no address, no text."""
        return {
            "delivery_id": self.id,
            "recipient_driver_id": self.recipient,
            "recipient_kind": self.recipient_kind,
            "channel": self.channel,
            "template": self.template,
            "caused_by_event_id": self.cause,
        }
