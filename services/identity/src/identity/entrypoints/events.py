"""Identity's subscriptions: roster's contact points give the phone-to-driver blind index; an
erased driver can no longer sign in and his sessions end."""

from __future__ import annotations

from datetime import UTC, datetime

from roadbranch_shared.consumers import EventSubscription
from roadbranch_shared.contracts import identity as audit_events
from roadbranch_shared.contracts import roster
from roadbranch_shared.events import Envelope
from roadbranch_shared.pii import open_contact_point
from roadbranch_shared.topics import ROSTER_CONTACT, ROSTER_DRIVER

from identity.main_parts import Parts


def subscriptions(group: str, parts: Parts) -> list[EventSubscription]:
    contact = EventSubscription(ROSTER_CONTACT, group_id=group)

    @contact.on(roster.ContactPointChanged)
    async def contact_changed(e: roster.ContactPointChanged, envelope: Envelope) -> None:
        sealed = e.phone_sealed
        phone = open_contact_point(parts.pii, e.driver_id, "phone", sealed) if sealed else e.phone
        await parts.drivers.contact_changed(e.driver_id, phone, envelope.seq, e.changed_at)

    @contact.on_tombstone
    async def contact_erased(driver_id: str) -> None:
        await _erase(parts, driver_id)

    driver = EventSubscription(ROSTER_DRIVER, group_id=group)

    @driver.on(roster.DriverErased)
    async def driver_erased(e: roster.DriverErased, envelope: Envelope) -> None:
        await _erase(parts, e.driver_id)

    return [contact, driver]


async def _erase(p: Parts, driver_id: str) -> None:
    at = datetime.now(UTC)
    await p.drivers.erase(driver_id)
    subject = f"driver:{driver_id}"
    for session_id in await p.sessions.end_all(subject, "driver_erased", at):
        await p.audit.record(
            audit_events.SessionEnded(subject=subject, session_id=session_id, reason="driver_erased", at=at),
            at,
        )
