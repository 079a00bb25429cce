"""HTTP API of the warm-heart stations (暖心之家): directory, check-ins and check-outs, nearest free beds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import Field, StrictFloat
from roadbranch_shared.auth import CurrentPrincipal, Principal, Role, require_roles
from roadbranch_shared.documents import public
from roadbranch_shared.errors import ApiError, ErrorCode
from roadbranch_shared.request_body import RequestBody

from welfare.app.stations import Stations
from welfare.domain.stations import Amenities, Hours
from welfare.entrypoints.errors import Officers, actor, run_command

router = APIRouter(prefix="/v1/stations", tags=["stations"])
Registrars = Annotated[
    Principal,
    Depends(require_roles(Role.DRIVER, Role.STATION_STAFF, Role.WELFARE_OFFICER, Role.WORK_GROUP_STAFF)),
]


def stations_of(request: Request) -> Stations:
    stations: Stations = request.app.state.stations
    return stations


class StationIn(RequestBody):
    station_id: str | None = Field(
        default=None, pattern=r"^stn_[a-z0-9_]{1,40}$", description="chosen id (station staff tokens name it)"
    )
    name: str = Field(min_length=2, max_length=100, description="e.g. 峨曲古乡公路养护站暖心之家")
    road: str = Field(default="", max_length=50)
    km_marker: StrictFloat | None = Field(default=None, ge=0, le=10000)
    latitude: StrictFloat = Field(ge=-90, le=90)
    longitude: StrictFloat = Field(ge=-180, le=180)
    operator_contact: str = Field(
        default="", max_length=100, description="the station's duty phone or office"
    )
    hours: Hours
    amenities: Amenities


class StationPatch(RequestBody):
    name: str | None = Field(default=None, min_length=2, max_length=100)
    road: str | None = Field(default=None, max_length=50)
    km_marker: StrictFloat | None = Field(default=None, ge=0, le=10000)
    latitude: StrictFloat | None = Field(default=None, ge=-90, le=90)
    longitude: StrictFloat | None = Field(default=None, ge=-180, le=180)
    operator_contact: str | None = Field(default=None, max_length=100)
    hours: Hours | None = None
    amenities: Amenities | None = None


class StayIn(RequestBody):
    driver_id: str | None = Field(default=None, min_length=1, max_length=64, description="staff: the driver")


def station_view(station: dict[str, Any], *, with_guests: bool = False) -> dict[str, Any]:
    view = public(station, "station_id")
    view["free_beds"] = station["amenities"]["beds"] - station["occupied"]
    if not with_guests:
        view.pop("guests", None)  # who rests where is for the station's staff and officers
    return view


@router.post("", status_code=201)
async def open_station(request: Request, body: StationIn, principal: Officers) -> dict[str, Any]:
    station = await run_command(stations_of(request).open(body.model_dump(mode="json"), by=principal.subject))
    return station_view(station)


@router.get("")
async def list_stations(request: Request, _: CurrentPrincipal) -> dict[str, Any]:
    return {"stations": [station_view(s) for s in await stations_of(request).all()]}


@router.get("/nearest")
async def nearest(
    request: Request,
    _: CurrentPrincipal,
    latitude: Annotated[float, Query(ge=-90, le=90)],
    longitude: Annotated[float, Query(ge=-180, le=180)],
    limit: Annotated[int, Query(ge=1, le=20)] = 3,
) -> dict[str, Any]:
    """Open stations with a free bed, nearest first, with their distance in km."""
    found = await stations_of(request).nearest_with_free_beds(latitude, longitude, limit=limit)
    return {"stations": [station_view(s) for s in found]}


@router.get("/{station_id}")
async def get_station(request: Request, station_id: str, principal: CurrentPrincipal) -> dict[str, Any]:
    station = await run_command(stations_of(request).get(station_id))
    staff = principal.role in (Role.WELFARE_OFFICER, Role.WORK_GROUP_STAFF) or (
        principal.role == Role.STATION_STAFF and principal.org_scope == station_id
    )
    return station_view(station, with_guests=staff)


@router.patch("/{station_id}")
async def update_station(
    request: Request, station_id: str, body: StationPatch, principal: Officers
) -> dict[str, Any]:
    details = body.model_dump(mode="json", exclude_none=True)
    station = await run_command(stations_of(request).update(station_id, details, by=principal.subject))
    return station_view(station)


def stay_driver(principal: Principal, station_id: str, body: StayIn) -> str:
    """Who is checking in or out: a driver himself; station staff at their own station; officers anywhere."""
    if principal.role == Role.DRIVER:
        if body.driver_id not in (None, principal.driver_id):
            raise ApiError(403, ErrorCode.FORBIDDEN, "司机只能为自己登记", field="driver_id")
        return str(principal.driver_id)
    if principal.role == Role.STATION_STAFF and principal.org_scope != station_id:
        raise ApiError(403, ErrorCode.FORBIDDEN, "驿站工作人员只能在本驿站登记", field="station_id")
    if body.driver_id is None:
        raise ApiError(422, ErrorCode.INVALID, "须填写 driver_id", field="driver_id")
    return body.driver_id


@router.post("/{station_id}/check-ins", status_code=201)
async def check_in(request: Request, station_id: str, body: StayIn, principal: Registrars) -> dict[str, Any]:
    """Check a driver in; 409 `no_free_bed` when every bed is taken."""
    driver_id = stay_driver(principal, station_id, body)
    stay = await run_command(stations_of(request).check_in(station_id, driver_id, by=actor(principal)))
    await request.app.state.drivers.catch_up_erasure(driver_id)
    return stay


@router.post("/{station_id}/check-outs")
async def check_out(request: Request, station_id: str, body: StayIn, principal: Registrars) -> dict[str, Any]:
    driver_id = stay_driver(principal, station_id, body)
    return await run_command(stations_of(request).check_out(station_id, driver_id, by=actor(principal)))
