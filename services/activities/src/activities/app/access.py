"""Who may manage what: secretaries their own branch (and what lies under it), instructors the
meetings at the venues where they are stationed, the work group and the organisation department
everything."""

from __future__ import annotations

from roadbranch_shared.auth import Principal, Role
from roadbranch_shared.domain import DomainError

from activities.app.venues import Venues
from activities.app.views import Membership

BROAD = (Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT)
STAFF = (*BROAD, Role.BRANCH_SECRETARY, Role.INSTRUCTOR)


async def check_manages(
    membership: Membership,
    principal: Principal,
    organisation_id: str | None,
    venue_id: str | None = None,
    venues: Venues | None = None,
) -> None:
    """Refuse (403) a principal who may not manage this organisation's (or venue's) activities.
    An instructor manages a venue's meetings where the venue directory stations him (蹲点), or the
    venue his token's org_scope names (tokens issued before the directory existed)."""
    if principal.role in BROAD:
        return
    secretary = principal.role == Role.BRANCH_SECRETARY and principal.org_scope and organisation_id
    if secretary and principal.org_scope in await membership.lineage(organisation_id or ""):
        return
    if principal.role == Role.INSTRUCTOR and venue_id:
        if principal.org_scope == venue_id:
            return
        if venues is not None and await venues.is_stationed(venue_id, principal.subject):
            return
    raise DomainError("organisation_id", "out_of_scope", "只能管理本组织（或本活动阵地）的活动", "forbidden")


async def venues_of(principal: Principal, venues: Venues) -> list[str]:
    """The venues whose meetings an instructor manages: his token's and the directory's."""
    stationed = await venues.stations_of(principal.subject)
    return list(dict.fromkeys([*([principal.org_scope] if principal.org_scope else []), *stationed]))


def person_of(principal: Principal) -> str:
    """The person a caller acts as: a driver by his driver id, staff by their subject."""
    return principal.driver_id if principal.role == Role.DRIVER and principal.driver_id else principal.subject
