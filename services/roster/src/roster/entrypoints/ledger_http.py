"""The roster's HTTP API for the member ledger (一人一档): transfers, the one-person file, lost contact;
and the periodic lost-contact scan."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.domain import run_command
from roadbranch_shared.errors import ApiError, ErrorCode
from roadbranch_shared.instants import IsoDate, IsoDateTime, scan_moment
from roadbranch_shared.request_body import RequestBody

from roster.app.ledger import Ledger, last_contact
from roster.domain.members import CaseStatus
from roster.entrypoints.http import driver_view
from roster.entrypoints.organisation_http import organisations_of, scope_of

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["ledger"])
Keepers = Annotated[Principal, Depends(require_roles(Role.WORK_GROUP_STAFF, Role.BRANCH_SECRETARY))]
Readers = Annotated[
    Principal,
    Depends(require_roles(Role.WORK_GROUP_STAFF, Role.BRANCH_SECRETARY, Role.ORG_DEPARTMENT, Role.OPERATOR)),
]
Scanners = Annotated[Principal, Depends(require_roles(Role.WORK_GROUP_STAFF, Role.OPERATOR))]


# Reasons that are bad input (422 naming the field), not an impossible step (409).
def ledger_of(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


class TransferRequestIn(RequestBody):
    letter_number: str = Field(min_length=1, max_length=50, description="介绍信编号")
    from_organisation: str = Field(min_length=1, max_length=100, description="转出党组织")
    requested_on: IsoDate


class TransferAcceptIn(RequestBody):
    accepted_on: IsoDate
    branch_id: str = Field(min_length=1, max_length=64, description="接收的流动党支部")


class TransferReturnIn(RequestBody):
    returned_on: IsoDate
    reason: str = Field(min_length=1, max_length=500)


class ResolveIn(RequestBody):
    note: str = Field(min_length=1, max_length=1000, description="处理情况")


@router.post("/members/{member_id}/transfers", status_code=201)
async def request_transfer(
    request: Request, member_id: str, body: TransferRequestIn, principal: Keepers
) -> dict[str, Any]:
    """Record the letter that transfers a verified member's organisation relation (组织关系转接)."""
    await run_command(scope_of(request).member(principal, member_id, unassigned_ok=True))
    return await run_command(
        ledger_of(request).request_transfer(
            member_id,
            letter_number=body.letter_number.strip(),
            from_organisation=body.from_organisation.strip(),
            requested_on=body.requested_on,
            by=principal.subject,
        )
    )


@router.post("/members/{member_id}/transfers/{transfer_id}/accept")
async def accept_transfer(
    request: Request, member_id: str, transfer_id: str, body: TransferAcceptIn, principal: Keepers
) -> dict[str, Any]:
    """The mobile branch received the member (回家) and he is placed in it: `member.transferred_in`
    and `member.assigned` are published together. A branch secretary accepts into his own branch."""
    branch_id = body.branch_id.strip()
    await run_command(scope_of(request).organisation(principal, branch_id, field="branch_id"))
    await run_command(scope_of(request).member(principal, member_id, unassigned_ok=True))
    organisations = organisations_of(request)
    await run_command(organisations.branch(branch_id))
    answered, previous = await run_command(
        ledger_of(request).accept_transfer(
            member_id, transfer_id, accepted_on=body.accepted_on, branch_id=branch_id, by=principal.subject
        )
    )
    await organisations.placed(member_id, branch_id, previous)
    return answered


@router.post("/members/{member_id}/transfers/{transfer_id}/return")
async def return_transfer(
    request: Request, member_id: str, transfer_id: str, body: TransferReturnIn, principal: Keepers
) -> dict[str, Any]:
    """The transfer was returned; a new one may be requested."""
    await run_command(scope_of(request).member(principal, member_id, unassigned_ok=True))
    return await run_command(
        ledger_of(request).return_transfer(
            member_id,
            transfer_id,
            returned_on=body.returned_on,
            reason=body.reason.strip(),
            by=principal.subject,
        )
    )


@router.get("/members/{member_id}/ledger")
async def member_ledger(request: Request, member_id: str, principal: Readers) -> dict[str, Any]:
    """The one-person file (一人一档) of a verified member; personal data masked. A branch secretary
    reads the files of his branch's members."""
    await run_command(scope_of(request).member(principal, member_id))
    ledger = ledger_of(request)
    member = await run_command(ledger.member(member_id))
    if member["status"] != CaseStatus.VERIFIED:
        raise ApiError(
            409,
            ErrorCode.CONFLICT,
            "尚未认定为党员，没有党员档案",
            field="member_id",
            details={"reason": "not_verified"},
        )
    driver = await ledger.db.drivers.find_one({"_id": member["driver_id"]})
    pairings = await ledger.pairings_of(member_id)
    return {
        "member_id": member_id,
        # An erased driver keeps his member file without personal data.
        "driver": driver_view(driver) if driver and driver.get("status") != "erased" else None,
        "status": member["status"],
        "origin": member.get("origin"),
        "record": member.get("record"),
        "verification": {"attempts": member.get("attempts", []), "decision": member.get("decision")},
        "transfers": member.get("transfers", []),
        "branch_id": member.get("branch_id"),
        "group_id": member.get("group_id"),
        "pairings": [_pairing_view(p, member_id) for p in pairings],
        "last_contact_at": last_contact(member),
        "lost_contact": member.get("lost_contact"),
        "lost_contact_history": member.get("lost_contact_history", []),
    }


@router.post("/members/{member_id}/lost-contact/resolve")
async def resolve_lost_contact(
    request: Request, member_id: str, body: ResolveIn, principal: Keepers
) -> dict[str, Any]:
    """Close the open lost-contact case with a note; the member's status does not change."""
    await run_command(scope_of(request).member(principal, member_id))
    return await run_command(
        ledger_of(request).resolve_lost_contact(member_id, note=body.note.strip(), by=principal.subject)
    )


@router.post("/ops/scans/lost-contact")
async def scan_lost_contact(
    request: Request, _: Scanners, as_of: IsoDateTime | None = None
) -> dict[str, Any]:
    """Run the lost-contact scan now; `as_of` (ISO datetime with a time zone) only where
    ROADBRANCH_ROSTER_CLOCK_CONTROL is on (403 naming `as_of` elsewhere)."""
    when = scan_moment(as_of, clock_control=request.app.state.clock_control)
    return {"as_of": when, "raised": await ledger_of(request).find_lost_contact(when)}


def _pairing_view(pairing: dict[str, Any], member_id: str) -> dict[str, Any]:
    contacts = pairing.get("contacts", [])
    times = [c["at"] for c in contacts if isinstance(c, dict) and c.get("at") is not None]
    return {
        "pairing_id": pairing["_id"],
        "organisation_id": pairing.get("organisation_id"),
        "role": "committee_person" if pairing.get("committee_person_id") == member_id else "member",
        "committee_person_id": pairing.get("committee_person_id"),
        "member_ids": pairing.get("member_ids", []),
        "contacts": len(contacts),
        "last_contact_at": max(times, default=None),
    }
