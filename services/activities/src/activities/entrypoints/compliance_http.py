"""HTTP API of 三会一课 compliance and the learning figures, and the operators' controls (the scan on
demand, and the clock where the setting allows it)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.domain import run_command
from roadbranch_shared.errors import ApiError, ErrorCode
from roadbranch_shared.instants import IsoAwareDateTime, IsoDate

from activities.app.access import BROAD, check_manages
from activities.entrypoints.meetings_http import Staff, activities
from activities.entrypoints.models import Policy, SetClock

router = APIRouter(tags=["compliance"])
Operators = Depends(require_roles(Role.OPERATOR, *BROAD))
Readers = Depends(require_roles(Role.OPERATOR, *BROAD, Role.BRANCH_SECRETARY, Role.INSTRUCTOR))


@router.get("/v1/compliance/{organisation_id}")
async def report(
    organisation_id: str, request: Request, principal: Principal = Staff, on: IsoDate | None = None
) -> dict[str, Any]:
    """Each requirement's standing in the period containing `on` (default today)."""
    a = activities(request)

    async def work() -> dict[str, Any]:
        await check_manages(a.membership, principal, organisation_id)
        return await a.compliance.report(organisation_id, on)

    return await run_command(work())


@router.get("/v1/compliance/{organisation_id}/policy")
async def policy(organisation_id: str, request: Request, principal: Principal = Staff) -> dict[str, Any]:
    return await activities(request).compliance.policy(organisation_id)


@router.put("/v1/compliance/{organisation_id}/policy", dependencies=[Depends(require_roles(*BROAD))])
async def set_policy(
    organisation_id: str, body: Policy, request: Request, principal: Principal = Staff
) -> dict[str, Any]:
    """Replace the organisation's policy (requirement -> {period, count}); count 0 switches one off."""
    return await run_command(
        activities(request).compliance.set_policy(organisation_id, body.requirements, principal.subject)
    )


@router.get("/v1/figures", dependencies=[Readers])
async def figures(
    request: Request, start: IsoAwareDateTime | None = None, end: IsoAwareDateTime | None = None
) -> dict[str, Any]:
    """Meetings held by kind with attendance and make-up, lessons by lecturer, read rates, pass rate."""
    return await activities(request).figures.summary(start, end)


@router.post("/v1/ops/compliance-scan", dependencies=[Operators])
async def scan(request: Request) -> dict[str, Any]:
    """Run the compliance scan now (it also runs periodically)."""
    return {"raised": await activities(request).compliance.scan()}


@router.put("/v1/ops/clock", dependencies=[Depends(require_roles(Role.OPERATOR))])
async def set_clock(body: SetClock, request: Request) -> dict[str, Any]:
    """Set the service's clock (null: real time again); only where ROADBRANCH_ACTIVITIES_CLOCK_CONTROL."""
    clock = activities(request).clock
    if not clock.controllable:
        raise ApiError(403, ErrorCode.FORBIDDEN, "此服务的时钟不可调整（未开启 clock_control）。")
    clock.set(body.now)
    return {"now": clock.now()}
