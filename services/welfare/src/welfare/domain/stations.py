"""Warm-heart stations (暖心之家): amenities as typed data, opening hours, occupancy and distance.

Occupancy is the count of drivers checked in; a check-in is refused when every bed is taken.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, StrictBool, field_validator, model_validator
from roadbranch_shared.instants import IsoTime
from roadbranch_shared.request_body import JsonInt, RequestBody

from welfare.domain.errors import WelfareError

EARTH_RADIUS_KM = 6371.0088
LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


class Amenities(RequestBody):
    """What a station offers: yes/no facilities and the two counted ones (beds, parking spaces)."""

    rest_room: StrictBool = False
    drinking_water: StrictBool = False
    hot_water: StrictBool = False
    food_heating: StrictBool = False
    shower: StrictBool = False
    laundry: StrictBool = False
    beds: JsonInt = Field(default=0, ge=0, le=500)
    parking_spaces: JsonInt = Field(default=0, ge=0, le=2000)

    def offered(self) -> list[str]:
        """The facilities on offer, by name (counted ones when their count is above zero)."""
        return [name for name, value in self.model_dump().items() if value]


class Hours(RequestBody):
    """Opening hours in local time (Asia/Shanghai); `closes` before `opens` runs past midnight.

    A time given with a UTC offset (`08:00:00+08:00`, `00:00Z`) is turned into the local time it
    names and stored without offset, so hours always compare with the local clock.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"open_all_day": {"const": True}}, "required": ["open_all_day"]},
                {
                    "properties": {"opens": {"type": "string"}, "closes": {"type": "string"}},
                    "required": ["opens", "closes"],
                },
            ]
        }
    )

    open_all_day: StrictBool = False
    opens: IsoTime | None = None
    closes: IsoTime | None = None

    @field_validator("opens", "closes")
    @classmethod
    def _local_without_offset(cls, value: time | None) -> time | None:
        if value is None or value.utcoffset() is None:
            return value
        # China keeps one offset all year, so any day gives the same local time.
        moment = datetime.combine(date(2026, 1, 1), value).astimezone(LOCAL_ZONE)
        return moment.time().replace(tzinfo=None)

    @model_validator(mode="after")
    def _both_or_all_day(self) -> Hours:
        if not self.open_all_day and (self.opens is None or self.closes is None):
            raise ValueError("须填写 opens 和 closes，或设 open_all_day 为 true")
        return self

    def is_open(self, local: time) -> bool:
        if self.open_all_day:
            return True
        assert self.opens is not None
        assert self.closes is not None
        if self.opens <= self.closes:
            return self.opens <= local < self.closes
        return local >= self.opens or local < self.closes


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance; good to a few metres at a county's scale."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def free_beds(station: Mapping[str, Any]) -> int:
    return int(station["amenities"]["beds"]) - int(station["occupied"])


def check_can_check_in(station: Mapping[str, Any], driver_id: str) -> None:
    if station.get("status") != "open":
        raise WelfareError("station_id", "closed", "驿站已停用，不能登记入住")
    if driver_id in station.get("guests", {}):
        raise WelfareError("driver_id", "already_checked_in", "这名司机已在本驿站登记入住")
    if free_beds(station) <= 0:
        raise WelfareError(
            "station_id", "no_free_bed", f"驿站床位已满（共 {station['amenities']['beds']} 张）"
        )


def check_beds_hold_guests(beds: int, occupied: int) -> None:
    if beds < occupied:
        raise WelfareError(
            "amenities.beds",
            "below_occupancy",
            f"床位数不能少于在住人数（{occupied} 人）",
            WelfareError.INVALID,
        )


def month_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m")
