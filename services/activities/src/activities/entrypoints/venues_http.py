"""HTTP API of the venue directory (活动阵地与蹲点指导员): the work group and the organisation
department register venues and station instructors there; every staff role and operators read it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.domain import run_command

from activities.app.access import BROAD, STAFF
from activities.entrypoints.meetings_http import activities
from activities.entrypoints.models import RegisterVenue, RenameVenue, StationInstructors

router = APIRouter(prefix="/v1/venues", tags=["venues"])
Managers = Depends(require_roles(*BROAD))
Readers = Depends(require_roles(*STAFF, Role.OPERATOR))


@router.post("", status_code=201)
async def register(body: RegisterVenue, request: Request, principal: Principal = Managers) -> dict[str, Any]:
    """A venue joins the directory with the instructors stationed there (venue.registered)."""
    return await run_command(activities(request).venues.register(principal, body.fields()))


@router.get("")
async def list_venues(request: Request, principal: Principal = Readers) -> dict[str, Any]:
    return {"venues": await activities(request).venues.listed()}


@router.get("/{venue_id}")
async def view(venue_id: str, request: Request, principal: Principal = Readers) -> dict[str, Any]:
    return await run_command(activities(request).venues.view(venue_id))


@router.put("/{venue_id}/instructors")
async def station(
    venue_id: str, body: StationInstructors, request: Request, principal: Principal = Managers
) -> dict[str, Any]:
    """Exactly these instructors are stationed here from now on (venue.updated when that changes)."""
    venues = activities(request).venues
    return await run_command(venues.station(venue_id, principal, body.instructor_ids))


@router.patch("/{venue_id}")
async def rename(
    venue_id: str, body: RenameVenue, request: Request, principal: Principal = Managers
) -> dict[str, Any]:
    return await run_command(activities(request).venues.rename(venue_id, principal, body.name))
