"""This service's own view of who belongs where (from roster events), for staff to check what a
meeting will invite before scheduling it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from roadbranch_shared.auth import Principal
from roadbranch_shared.domain import DomainError, run_command

from activities.entrypoints.meetings_http import Staff, activities

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])


@router.get("/{organisation_id}")
async def organisation(
    organisation_id: str, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    """Kind, parent, children, committee seats and the member drivers (ids only)."""

    async def work() -> dict[str, Any]:
        membership = activities(request).membership
        org = await membership.organisation(organisation_id)
        if org is None:
            raise DomainError(
                "organisation_id", "not_found", "没有这个组织（或尚未从花名册同步）", "not_found"
            )
        return {
            "organisation_id": organisation_id,
            "kind": org.get("kind"),
            "parent_id": org.get("parent_id"),
            "children": org.get("children", []),
            "seats": org.get("seats", []),
            "member_driver_ids": await membership.member_drivers([organisation_id]),
        }

    return await run_command(work())


drivers_router = APIRouter(prefix="/v1/drivers", tags=["organisations"])


@drivers_router.get("/{driver_id}")
async def driver(driver_id: str, request: Request, principal: Principal = Staff) -> dict[str, Any]:
    """What this service knows of a driver from the roster's events: his county and whether he was
    erased (ids only); whether content for every driver of the county will reach him."""

    async def work() -> dict[str, Any]:
        doc = await activities(request).membership.db.drivers.find_one({"_id": driver_id})
        if doc is None:
            raise DomainError("driver_id", "not_found", "没有这名司机（或尚未从花名册同步）", "not_found")
        return {"driver_id": driver_id, "county": doc.get("county"), "erased": bool(doc.get("erased"))}

    return await run_command(work())
