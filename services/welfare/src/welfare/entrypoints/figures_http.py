"""HTTP API of the welfare figures, the roster view of a driver, and the operators' clock (tests, demos)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field, StrictFloat
from roadbranch_shared.auth import Principal, Role, require_roles
from roadbranch_shared.clock import Clock
from roadbranch_shared.errors import ApiError, ErrorCode
from roadbranch_shared.instants import IsoDateTime
from roadbranch_shared.request_body import RequestBody

from welfare.app.figures import WelfareFigures
from welfare.entrypoints.errors import Readers

router = APIRouter(prefix="/v1", tags=["figures"])
Operators = Annotated[Principal, Depends(require_roles(Role.OPERATOR))]


def figures_of(request: Request) -> WelfareFigures:
    figures: WelfareFigures = request.app.state.figures
    return figures


@router.get("/figures/needs")
async def need_figures(
    request: Request, _: Readers, since: IsoDateTime | None = None, until: IsoDateTime | None = None
) -> dict[str, Any]:
    """Needs filed in [since, until): filed, resolved, median hours to resolve by category, share
    resolved within target, ratings."""
    return await figures_of(request).needs(_utc(since), _utc(until))


@router.get("/figures/stations")
async def station_figures(
    request: Request, _: Readers, month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None
) -> dict[str, Any]:
    """Per station: beds, occupancy now, check-ins per month (`month`: YYYY-MM, else every month)."""
    return await figures_of(request).stations(month)


@router.get("/figures/campaigns")
async def campaign_figures(request: Request, _: Readers) -> dict[str, Any]:
    """Per campaign and in total: visits to members and non-members, items by kind, problems solved."""
    return await figures_of(request).campaigns()


class ClockIn(RequestBody):
    now: IsoDateTime | None = None
    advance_seconds: StrictFloat | None = Field(default=None, ge=0)


@router.put("/ops/clock", tags=["operations"])
async def move_clock(request: Request, body: ClockIn, _: Operators) -> dict[str, Any]:
    """Move the service's clock (only with `clock_control` on: tests and demos)."""
    clock: Clock = request.app.state.clock
    if not clock.controllable:
        raise ApiError(404, ErrorCode.NOT_FOUND, "未启用时钟控制", field="clock")
    if body.now is not None:
        clock.set(body.now)
    if body.advance_seconds:
        clock.advance(body.advance_seconds)
    return {"now": clock.now()}


@router.get("/drivers/{driver_id}", tags=["drivers"])
async def driver(request: Request, driver_id: str, _: Readers) -> dict[str, Any]:
    """What welfare knows of a driver from the roster's events: member or not, erased or not."""
    view = await request.app.state.drivers.view(driver_id)
    if view is None:
        raise ApiError(404, ErrorCode.NOT_FOUND, "福利服务尚未收到这名司机的信息", field="driver_id")
    return {
        "driver_id": driver_id,
        "registered": bool(view.get("registered")),
        "member": bool(view.get("member")),
        "erased": bool(view.get("erased")),
    }


def _utc(moment: datetime | None) -> datetime | None:
    """A time without a zone is taken as UTC, the zone every stored time is in."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment
