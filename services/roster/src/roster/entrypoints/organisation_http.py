"""The roster's HTTP API for the organisation tree (健全组织体系): organisations, committee seats and
the end of their terms, assigning members to branches, N+1 pairings (结对帮带) and the
pairing-overdue scan."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.documents import public
from roadbranch_shared.domain import run_command
from roadbranch_shared.errors import ApiError, FieldError
from roadbranch_shared.instants import IsoDate, IsoDateTime, scan_moment
from roadbranch_shared.request_body import RequestBody

from roster.app.organisation import Organisations
from roster.app.scope import Scope
from roster.app.seats import Seats
from roster.domain.organisation import Channel, SeatRole

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1", tags=["organisation"])
Writers = Annotated[Principal, Depends(require_roles(Role.WORK_GROUP_STAFF, Role.BRANCH_SECRETARY))]
Readers = Annotated[
    Principal,
    Depends(require_roles(Role.WORK_GROUP_STAFF, Role.BRANCH_SECRETARY, Role.ORG_DEPARTMENT, Role.OPERATOR)),
]
Scanners = Annotated[Principal, Depends(require_roles(Role.WORK_GROUP_STAFF, Role.OPERATOR))]


def organisations_of(request: Request) -> Organisations:
    organisations: Organisations = request.app.state.organisations
    return organisations


def seats_of(request: Request) -> Seats:
    seats: Seats = request.app.state.seats
    return seats


def scope_of(request: Request) -> Scope:
    scope: Scope = request.app.state.scope
    return scope


class OrganisationIn(RequestBody):
    kind: str = Field(
        description="industry_committee | branch | party_group | work_group | work_subgroup",
        json_schema_extra={
            "enum": ["industry_committee", "branch", "party_group", "work_group", "work_subgroup"]
        },
    )
    name: str = Field(min_length=1, max_length=100)
    parent_id: str | None = None
    county: str | None = Field(
        default=None,
        min_length=1,
        max_length=40,
        description="the county it serves; a child takes its parent's",
    )


@router.post("/organisations", status_code=201)
async def create_organisation(request: Request, body: OrganisationIn, principal: Writers) -> dict[str, Any]:
    """Create an organisation under its parent (a branch under the industry committee, …). A branch
    secretary creates only under his own branch (its party groups)."""
    await run_command(scope_of(request).organisation(principal, body.parent_id, field="parent_id"))
    org = await run_command(
        organisations_of(request).create(
            kind=body.kind,
            name=body.name.strip(),
            parent_id=body.parent_id,
            by=principal.subject,
            county=body.county,
        )
    )
    return _org_view(org)


@router.get("/organisations")
async def organisations(request: Request, _: Readers) -> dict[str, Any]:
    """Every organisation of the tree, parents before children (the consoles draw the tree from
    `parent_id`); seats and warnings are on each organisation's own page."""
    return {"organisations": await organisations_of(request).listing()}


@router.get("/organisations/{org_id}")
async def organisation(request: Request, org_id: str, principal: Readers) -> dict[str, Any]:
    """The organisation with its children's ids, its seats and rule-of-thumb warnings. A branch
    secretary reads his own branch and its party groups."""
    await run_command(scope_of(request).organisation(principal, org_id, field="organisation_id"))
    return _org_view(await run_command(organisations_of(request).view(org_id)))


class SeatIn(RequestBody):
    role: str = Field(
        description="secretary | deputy_secretary | member | co_leader (work group)",
        json_schema_extra={"enum": ["secretary", "deputy_secretary", "member", "co_leader"]},
    )
    person_id: str = Field(min_length=1, max_length=100, description="a driver id or a staff subject")
    term_start: IsoDate
    term_end: IsoDate | None = None


@router.post("/organisations/{org_id}/seats", status_code=201)
async def assign_seat(request: Request, org_id: str, body: SeatIn, principal: Writers) -> dict[str, Any]:
    await run_command(scope_of(request).organisation(principal, org_id, field="organisation_id"))
    if body.role not in SeatRole.ALL:
        raise ApiError.invalid([FieldError("role", "unknown_role", "职务须为：" + "、".join(SeatRole.ALL))])
    org = await run_command(
        seats_of(request).assign(
            org_id,
            role=body.role,
            person_id=body.person_id,
            term_start=body.term_start,
            term_end=body.term_end,
        )
    )
    return _org_view(org)


class SeatEndIn(RequestBody):
    term_end: IsoDate = Field(description="the last day of the term (not before its term_start)")


@router.post("/organisations/{org_id}/seats/{seat_id}/end")
async def end_seat(
    request: Request, org_id: str, seat_id: str, body: SeatEndIn, principal: Writers
) -> dict[str, Any]:
    """End a seat's term (任期结束、免职) on `term_end`: from the next day the person no longer holds
    it and a successor's term may start. 409 naming `seat_id` when its term has ended already.
    Published as `seat_ended` on roster.org.v1. Answers the organisation."""
    await run_command(scope_of(request).organisation(principal, org_id, field="organisation_id"))
    org = await run_command(
        seats_of(request).end(org_id, seat_id, term_end=body.term_end, by=principal.subject)
    )
    return _org_view(org)


class AssignmentIn(RequestBody):
    branch_id: str
    group_id: str | None = None


@router.post("/members/{member_id}/assignment")
async def assign_member(
    request: Request, member_id: str, body: AssignmentIn, principal: Writers
) -> dict[str, Any]:
    """Assign a verified member to a branch and optionally one of its party groups. A branch
    secretary assigns to his own branch, members not yet placed or already in it."""
    await run_command(scope_of(request).organisation(principal, body.branch_id, field="branch_id"))
    await run_command(scope_of(request).member(principal, member_id, unassigned_ok=True))
    member = await run_command(
        organisations_of(request).assign_member(member_id, branch_id=body.branch_id, group_id=body.group_id)
    )
    return {k: member.get(k) for k in ("status", "branch_id", "group_id")} | {"member_id": member["_id"]}


class PairingIn(RequestBody):
    committee_person_id: str = Field(min_length=1, max_length=100)
    member_ids: list[str] = Field(min_length=1, max_length=50)


@router.post("/organisations/{org_id}/pairings", status_code=201)
async def create_pairing(
    request: Request, org_id: str, body: PairingIn, principal: Writers
) -> dict[str, Any]:
    """Pair a committee member with member drivers (N+1 结对帮带). A branch secretary pairs in his
    branch, members of his branch."""
    scope = scope_of(request)
    await run_command(scope.organisation(principal, org_id, field="organisation_id"))
    for member_id in body.member_ids:
        await run_command(scope.member(principal, member_id, field="member_ids"))
    member_ids = list(dict.fromkeys(body.member_ids))  # a member named twice is paired once
    pairing = await run_command(
        organisations_of(request).create_pairing(
            org_id, person_id=body.committee_person_id, member_ids=member_ids
        )
    )
    return _pairing_view(pairing)


@router.get("/organisations/{org_id}/pairings")
async def pairings(request: Request, org_id: str, principal: Readers) -> dict[str, Any]:
    """The organisation's N+1 pairings (结对帮带), oldest first, each with its contact log
    (`contacts`: member_id, channel, at, notes, by). A branch secretary reads his own branch's."""
    await run_command(scope_of(request).organisation(principal, org_id, field="organisation_id"))
    found = await run_command(organisations_of(request).pairings_in(org_id))
    return {"organisation_id": org_id, "pairings": [_pairing_view(p) for p in found]}


@router.get("/pairings/{pairing_id}")
async def pairing(request: Request, pairing_id: str, principal: Readers) -> dict[str, Any]:
    found = await run_command(organisations_of(request).pairing(pairing_id))
    await run_command(
        scope_of(request).organisation(principal, found.get("organisation_id"), field="pairing_id")
    )
    return _pairing_view(found)


class ContactIn(RequestBody):
    member_id: str
    channel: str = Field(
        description="phone | wechat | visit", json_schema_extra={"enum": ["phone", "wechat", "visit"]}
    )
    at: IsoDateTime | None = None
    notes: str = Field(default="", max_length=1000)


@router.post("/pairings/{pairing_id}/contacts", status_code=201)
async def log_contact(
    request: Request, pairing_id: str, body: ContactIn, principal: Writers
) -> dict[str, Any]:
    """Log one contact of the pair (by phone, WeChat or a visit)."""
    paired = await run_command(organisations_of(request).pairing(pairing_id))
    await run_command(
        scope_of(request).organisation(principal, paired.get("organisation_id"), field="pairing_id")
    )
    if body.channel not in Channel.ALL:
        raise ApiError.invalid(
            [FieldError("channel", "unknown_channel", "联系方式须为：" + "、".join(Channel.ALL))]
        )
    pairing = await run_command(
        organisations_of(request).log_contact(
            pairing_id,
            member_id=body.member_id,
            channel=body.channel,
            at=_utc(body.at or datetime.now(UTC)),
            notes=body.notes,
            by=principal.subject,
        )
    )
    return _pairing_view(pairing)


@router.post("/ops/scans/pairing-overdue")
async def scan_pairing_overdue(
    request: Request, _: Scanners, as_of: IsoDateTime | None = None
) -> dict[str, Any]:
    """Run the pairing-overdue scan now; `as_of` only where ROADBRANCH_ROSTER_CLOCK_CONTROL is on
    (the periodic scan uses the real clock)."""
    when = scan_moment(as_of, clock_control=request.app.state.clock_control)
    raised = await organisations_of(request).find_overdue_pairings(when)
    return {"as_of": when, "raised": raised}


def _utc(at: datetime) -> datetime:
    # A time without an offset is taken as UTC, as everything is stored.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _org_view(org: dict[str, Any]) -> dict[str, Any]:
    return public(org, "organisation_id")


def _pairing_view(pairing: dict[str, Any]) -> dict[str, Any]:
    return public(pairing, "pairing_id")
