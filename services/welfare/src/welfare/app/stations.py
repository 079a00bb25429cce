"""Warm-heart stations (暖心之家): the directory, check-ins and check-outs, usage and nearest free beds.

A station is one document: its details, `occupied`, the drivers in it now (`guests`, keyed by driver
id) and check-ins per month. A check-in decides on the station as read and writes at that version,
so two concurrent check-ins for the last bed cannot both succeed. A finished stay is also written
to `stays` under its id (station id and check-in number), so a repeated write changes nothing.
"""

from __future__ import annotations

import contextlib
import uuid
from zoneinfo import ZoneInfo

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.clock import TimeSource
from roadbranch_shared.contracts.welfare import (
    StationCheckedIn,
    StationCheckedOut,
    StationOpened,
    StationUpdated,
)
from roadbranch_shared.documents import Document

from welfare.adapters.aggregates import Decision, change, create
from welfare.app.drivers import refuse_unless_known
from welfare.domain import stations as rules
from welfare.domain.errors import WelfareError
from welfare.domain.stations import Amenities, Hours

NO_SUCH_STATION = WelfareError("station_id", "not_found", "没有这个驿站", WelfareError.NOT_FOUND)
DETAIL_FIELDS = (
    "name",
    "road",
    "km_marker",
    "latitude",
    "longitude",
    "operator_contact",
    "hours",
    "amenities",
)


class Stations:
    def __init__(
        self, db: AsyncDatabase[Document], clock: TimeSource, *, county: str, timezone: str = "Asia/Shanghai"
    ) -> None:
        self.db = db
        self.clock = clock
        self.county = county
        self.zone = ZoneInfo(timezone)

    async def open(self, details: Document, *, by: str) -> Document:
        now = self.clock.now()
        station_id = details.pop("station_id", None) or f"stn_{uuid.uuid4().hex[:12]}"
        amenities = Amenities.model_validate(details["amenities"])
        station = {
            "_id": station_id,
            **details,
            "county": self.county,
            "status": "open",
            "occupied": 0,
            "check_ins": 0,
            "guests": {},
            "usage": {},
            "opened_at": now,
            "opened_by": by,
        }
        event = StationOpened(
            station_id=station_id,
            name=details["name"],
            county=self.county,
            road=details.get("road") or "",
            km_marker=details.get("km_marker"),
            latitude=details["latitude"],
            longitude=details["longitude"],
            beds=amenities.beds,
            parking_spaces=amenities.parking_spaces,
            amenities=amenities.offered(),
            opened_at=now,
        )
        try:
            await create(self.db.stations, station, [event])
        except DuplicateKeyError:
            raise WelfareError("station_id", "exists", "驿站编号已存在") from None
        return station

    async def update(self, station_id: str, details: Document, *, by: str) -> Document:
        def decide(station: Document) -> Decision:
            changed = sorted(k for k, v in details.items() if station.get(k) != v)
            amenities: Document = details.get("amenities") or station["amenities"]
            rules.check_beds_hold_guests(amenities["beds"], station["occupied"])
            if not changed:
                return {}, []
            event = StationUpdated(
                station_id=station_id,
                changed=changed,
                beds=amenities["beds"],
                parking_spaces=amenities["parking_spaces"],
                updated_at=self.clock.now(),
            )
            return {"$set": {**details, "updated_by": by}}, [event]

        return (await change(self.db.stations, station_id, decide, missing=NO_SUCH_STATION)).after

    async def get(self, station_id: str) -> Document:
        station = await self.db.stations.find_one({"_id": station_id})
        if station is None:
            raise NO_SUCH_STATION
        return station

    async def all(self) -> list[Document]:
        """Every station: a county has a handful, so a full read is the simple, fast answer."""
        return [s async for s in self.db.stations.find({}, sort=[("_id", 1)])]

    async def check_in(self, station_id: str, driver_id: str, *, by: str) -> Document:
        """Check a driver in if a bed is free; returns the stay. Many concurrent check-ins retry on
        the station's version until each either got a bed or learnt there is none."""
        await refuse_unless_known(self.db, driver_id)
        now = self.clock.now()

        def decide(station: Document) -> Decision:
            rules.check_can_check_in(station, driver_id)
            stay_id = f"{station_id}:{station['check_ins'] + 1}"
            occupied = station["occupied"] + 1
            event = StationCheckedIn(
                station_id=station_id,
                stay_id=stay_id,
                driver_id=driver_id,
                occupied=occupied,
                beds=station["amenities"]["beds"],
                checked_in_at=now,
            )
            update = {
                "$set": {f"guests.{driver_id}": {"stay_id": stay_id, "at": now, "by": by}},
                "$inc": {"occupied": 1, "check_ins": 1, f"usage.{rules.month_of(now)}.check_ins": 1},
            }
            return update, [event]

        changed = await change(self.db.stations, station_id, decide, missing=NO_SUCH_STATION, tries=100)
        guest = changed.after["guests"][driver_id]  # ours: only this driver checks himself out
        return {
            "station_id": station_id,
            "stay_id": guest["stay_id"],
            "driver_id": driver_id,
            "checked_in_at": guest["at"],
            "occupied": changed.after["occupied"],
            "beds": changed.after["amenities"]["beds"],
        }

    async def check_out(self, station_id: str, driver_id: str, *, by: str) -> Document:
        now = self.clock.now()

        def decide(station: Document) -> Decision:
            guest = station.get("guests", {}).get(driver_id)
            if guest is None:
                raise WelfareError("driver_id", "not_checked_in", "这名司机不在本驿站")
            event = StationCheckedOut(
                station_id=station_id,
                stay_id=guest["stay_id"],
                driver_id=driver_id,
                occupied=station["occupied"] - 1,
                checked_in_at=guest["at"],
                checked_out_at=now,
            )
            update = {
                "$unset": {f"guests.{driver_id}": ""},
                "$inc": {"occupied": -1, f"usage.{rules.month_of(now)}.check_outs": 1},
            }
            return update, [event]

        changed = await change(self.db.stations, station_id, decide, missing=NO_SUCH_STATION, tries=100)
        guest = changed.before["guests"][driver_id]
        stay = {
            "_id": guest["stay_id"],
            "station_id": station_id,
            "driver_id": driver_id,
            "checked_in_at": guest["at"],
            "checked_out_at": now,
            "checked_out_by": by,
        }
        with contextlib.suppress(DuplicateKeyError):
            await self.db.stays.insert_one(stay)
        return {**stay, "stay_id": stay.pop("_id"), "occupied": changed.after["occupied"]}

    async def nearest_with_free_beds(
        self, latitude: float, longitude: float, *, limit: int
    ) -> list[Document]:
        """Open stations with a free bed, nearest first. Reads every station (a handful); with
        hundreds, a geo index on MongoDB would be the next step."""
        local = self.clock.now().astimezone(self.zone).time()
        found = []
        for station in await self.all():
            hours = Hours.model_validate(station["hours"])
            if station["status"] != "open" or not hours.is_open(local) or rules.free_beds(station) <= 0:
                continue
            distance = rules.haversine_km(latitude, longitude, station["latitude"], station["longitude"])
            found.append((distance, station))
        found.sort(key=lambda pair: pair[0])
        return [{**station, "distance_km": round(d, 2)} for d, station in found[:limit]]

    async def anonymise(self, driver_id: str, marker: str) -> int:
        """Erasure: a driver still checked in keeps his bed under `marker`; finished stays too."""
        count = 0
        for station in await self.all():
            if driver_id not in station.get("guests", {}):
                continue

            def decide(s: Document) -> Decision:
                guest = s.get("guests", {}).get(driver_id)
                if guest is None:
                    return {}, []
                return {"$unset": {f"guests.{driver_id}": ""}, "$set": {f"guests.{marker}": guest}}, []

            await change(self.db.stations, station["_id"], decide, missing=NO_SUCH_STATION, tries=100)
            count += 1
        result = await self.db.stays.update_many({"driver_id": driver_id}, {"$set": {"driver_id": marker}})
        return count + result.modified_count
