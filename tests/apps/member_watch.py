"""A test consumer of roster.member.v1: keeps each member's status as another service would."""

from roadbranch_shared.consumers import EventSubscription, apply_in_order
from roadbranch_shared.contracts.roster import MemberCandidateFound, MemberRejected, MemberVerified
from roadbranch_shared.events import Envelope
from roadbranch_shared.service import Service
from roadbranch_shared.settings import settings_for
from roadbranch_shared.topics import ROSTER_MEMBER

service = Service(name="memberwatch", settings=settings_for("memberwatch")())
members = EventSubscription(ROSTER_MEMBER, group_id="member-watch")


@members.on(MemberCandidateFound)
async def found(event: MemberCandidateFound, envelope: Envelope) -> None:
    await apply_in_order(
        service.db.members,
        event.member_id,
        envelope,
        {"$set": {"driver_id": event.driver_id, "status": "candidate", "origin": event.origin}},
    )


@members.on(MemberVerified)
async def verified(event: MemberVerified, envelope: Envelope) -> None:
    await apply_in_order(
        service.db.members,
        event.member_id,
        envelope,
        {"$set": {"driver_id": event.driver_id, "status": "verified", "method": event.method}},
    )


@members.on(MemberRejected)
async def rejected(event: MemberRejected, envelope: Envelope) -> None:
    await apply_in_order(
        service.db.members,
        event.member_id,
        envelope,
        {"$set": {"driver_id": event.driver_id, "status": "rejected"}},
    )


service.subscribe(members)
app = service.app
