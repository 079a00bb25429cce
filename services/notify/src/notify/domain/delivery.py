"""What happens next to a due message (送达保障): the dispatcher's decisions, pure, no I/O.

The dispatcher (`notify.app.dispatch`) gathers the facts (the recipient, the meeting, the ledger's
claim, the provider's answer), asks these functions for the next step and carries it out.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from notify.domain.channels import Outcome, Recipient, SendResult, channel_plan
from notify.domain.timing import QuietHours, backoff, own_quiet_hours

DIGEST = "digest"
CANCELLED = "cancelled"
FAILED = "failed"


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
    if status == "sent":
        return AlreadySent()
    if status == "failed":
        return FallBack()
    return SendAgain(may_duplicate=status == "sending" and not provider_deduplicates)


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
