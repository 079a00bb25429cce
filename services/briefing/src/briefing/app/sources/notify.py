"""Notify's events in the view: what reached the drivers. One small document per delivery (their
counts are grouped in the database, see `FigureBook`): a counter would count an event the outbox
published twice (a new offset, the same event) twice."""

from __future__ import annotations

from roadbranch_shared.contracts import notify as nt
from roadbranch_shared.events import Envelope

from briefing.app.sources.rules import Rule, View, put
from briefing.domain.periods import LOCAL


async def _delivery(db: View, e: nt.DeliverySent | nt.DeliveryFailed, envelope: Envelope) -> None:
    if isinstance(e, nt.DeliverySent):
        outcome, at = "sent", e.sent_at
    elif e.permanent:
        outcome, at = "failed", e.failed_at
    else:
        return  # a transient failure is retried: its outcome comes later
    if e.recipient_kind != "driver":
        return  # a notice to staff (a handler, a secretary): the briefing counts what reached drivers
    # Filed under the recipient's county as the view knows it now: a driver is registered long
    # before anything is sent to him, so "unknown" only shows a message to a stranger.
    driver = await db.drivers.find_one({"_id": e.recipient_driver_id}, {"county": 1})
    fields = {
        "county": (driver or {}).get("county") or "unknown",
        "month": at.astimezone(LOCAL).strftime("%Y-%m"),
        "channel": e.channel,
        "outcome": outcome,
    }
    await put(db, "deliveries", e.delivery_id, envelope, fields)


RULES: tuple[Rule, ...] = (Rule(nt.DeliverySent, _delivery), Rule(nt.DeliveryFailed, _delivery))
