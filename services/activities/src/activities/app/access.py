"""Who may manage what: secretaries their own branch (and what lies under it), instructors the
meetings at their venue, the work group and the organisation department everything."""

from __future__ import annotations

from roadbranch_shared.auth import Principal, Role
from roadbranch_shared.domain import DomainError

from activities.app.views import Membership

BROAD = (Role.WORK_GROUP_STAFF, Role.ORG_DEPARTMENT)
STAFF = (*BROAD, Role.BRANCH_SECRETARY, Role.INSTRUCTOR)


async def check_manages(
    membership: Membership, principal: Principal, organisation_id: str | None, venue_id: str | None = None
) -> None:
    """Refuse (403) a principal who may not manage this organisation's (or venue's) activities.
    An instructor's org_scope names the venue he is stationed at (e.g. the activity room)."""
    if principal.role in BROAD:
        return
    secretary = principal.role == Role.BRANCH_SECRETARY and principal.org_scope and organisation_id
    if secretary and principal.org_scope in await membership.lineage(organisation_id or ""):
        return
    if principal.role == Role.INSTRUCTOR and venue_id and principal.org_scope == venue_id:
        return
    raise DomainError("organisation_id", "out_of_scope", "只能管理本组织（或本活动阵地）的活动", "forbidden")


def person_of(principal: Principal) -> str:
    """The person a caller acts as: a driver by his driver id, staff by their subject."""
    return principal.driver_id if principal.role == Role.DRIVER and principal.driver_id else principal.subject
