"""The roster events this service keeps its own view from (who belongs where): thin handlers that
call the membership view. Poison records go to `<topic>.dlq` through the shared middleware."""

from __future__ import annotations

from roadbranch_shared.consumers import EventSubscription
from roadbranch_shared.contracts.roster import (
    DriverErased,
    DriverRegistered,
    MemberAssignedToBranch,
    MemberRejected,
    MemberTransferredIn,
    MemberVerified,
    OrganisationCreated,
    SeatAssigned,
    SeatEnded,
)
from roadbranch_shared.events import Envelope
from roadbranch_shared.topics import ROSTER_DRIVER, ROSTER_MEMBER, ROSTER_ORG

from activities.app.views import VERIFIED, Membership


def subscriptions(view: Membership, group_id: str) -> list[EventSubscription]:
    """The roster subscriptions, kept in the membership view."""
    members = EventSubscription(
        ROSTER_MEMBER, group_id=group_id, description="member drivers and their branch"
    )
    orgs = EventSubscription(ROSTER_ORG, group_id=group_id, description="organisations and committee seats")
    drivers = EventSubscription(
        ROSTER_DRIVER, group_id=group_id, description="every driver and his county; erasure of a driver"
    )

    @members.on(MemberVerified)
    async def verified(event: MemberVerified, envelope: Envelope) -> None:
        fields = {"status": VERIFIED, **({"branch_id": event.branch_id} if event.branch_id else {})}
        await view.member_changed(event.member_id, event.driver_id, envelope, fields)

    @members.on(MemberAssignedToBranch)
    async def assigned(event: MemberAssignedToBranch, envelope: Envelope) -> None:
        fields = {"branch_id": event.branch_id, "group_id": event.group_id}
        await view.member_changed(event.member_id, event.driver_id, envelope, fields)

    @members.on(MemberTransferredIn)
    async def transferred_in(event: MemberTransferredIn, envelope: Envelope) -> None:
        fields = {"branch_id": event.branch_id}
        await view.member_changed(event.member_id, event.driver_id, envelope, fields)

    @members.on(MemberRejected)
    async def rejected(event: MemberRejected, envelope: Envelope) -> None:
        await view.member_changed(event.member_id, event.driver_id, envelope, {"status": "rejected"})

    @orgs.on(OrganisationCreated)
    async def created(event: OrganisationCreated, envelope: Envelope) -> None:
        await view.organisation_created(event.organisation_id, event.kind, event.parent_id, envelope)

    @orgs.on(SeatAssigned)
    async def seat(event: SeatAssigned, envelope: Envelope) -> None:
        seat = {
            "seat_id": event.seat_id,
            "role": event.role,
            "person_id": event.person_id,
            "term_start": event.term_start.isoformat(),
            "term_end": event.term_end.isoformat() if event.term_end else None,
        }
        await view.seat_assigned(event.organisation_id, seat, envelope)

    @orgs.on(SeatEnded)
    async def seat_ended(event: SeatEnded, envelope: Envelope) -> None:
        ended = {
            "seat_id": event.seat_id,
            "role": event.role,
            "person_id": event.person_id,
            "term_start": event.term_start.isoformat(),
            "term_end": event.term_end.isoformat(),
            "ended_at": event.ended_at,
        }
        await view.seat_ended(event.organisation_id, ended, envelope)

    @drivers.on(DriverRegistered)
    async def registered(event: DriverRegistered, envelope: Envelope) -> None:
        await view.driver_registered(event.driver_id, event.county, envelope)

    @drivers.on(DriverErased)
    async def erased(event: DriverErased, envelope: Envelope) -> None:
        await view.driver_erased(event.driver_id, envelope)

    return [members, orgs, drivers]
