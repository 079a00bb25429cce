"""Use cases of the venue directory (活动阵地与蹲点指导员): register a venue, rename it, station or
withdraw its instructors, and answer who is stationed where.

One document per venue (by venue id) holds its instructors as a small list, and is an aggregate with
its outbox: `venue.registered` when it joins the directory, `venue.updated` (the venue as it is now)
after every change, in the venue's own `seq` order on `activities.venue.v1`."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.auth import Principal
from roadbranch_shared.clock import TimeSource
from roadbranch_shared.contracts.activities import VenueRegistered, VenueUpdated
from roadbranch_shared.documents import Document, public_fields
from roadbranch_shared.domain import DomainError
from roadbranch_shared.events import source_of
from roadbranch_shared.outbox import insert_aggregate, retry_on_conflict, stage_events, update_aggregate

from activities.domain.venues import check_instructors, check_name, check_venue, check_venue_id

SOURCE = source_of("activities")
HIDDEN = public_fields(shown={"version"})


class Venues:
    def __init__(self, db: AsyncDatabase[Document], clock: TimeSource, *, county: str) -> None:
        self.db = db
        self.clock = clock
        self.county = county

    async def find(self, venue_id: str) -> Document | None:
        return await self.db.venues.find_one({"_id": venue_id}, HIDDEN)

    async def venue(self, venue_id: str) -> Document:
        found = await self.find(venue_id)
        if found is None:
            raise DomainError("venue_id", "not_found", "目录中没有这个活动阵地", DomainError.NOT_FOUND)
        return found

    async def view(self, venue_id: str) -> Document:
        return shown(await self.venue(venue_id))

    async def listed(self) -> list[Document]:
        """Every venue, by name. A scan: the directory holds a county's few places."""
        found = [shown(v) async for v in self.db.venues.find({}, HIDDEN)]
        return sorted(found, key=lambda v: (v["name"], v["venue_id"]))

    async def is_stationed(self, venue_id: str, instructor: str) -> bool:
        """Whether the directory stations this instructor at this venue (one read by `_id`)."""
        found = await self.db.venues.find_one({"_id": venue_id}, {"instructor_ids": 1})
        return found is not None and instructor in found.get("instructor_ids", [])

    async def stations_of(self, instructor: str) -> list[str]:
        """The venues where an instructor is stationed (a scan of the small directory)."""
        return [v["_id"] async for v in self.db.venues.find({"instructor_ids": instructor}, {"_id": 1})]

    # ------------------------------------------------------------------ commands

    async def register(self, principal: Principal, body: Document) -> Document:
        venue_id = body.get("venue_id") or f"ven_{uuid.uuid4().hex[:12]}"
        check_venue_id(venue_id)
        instructors = list(body.get("instructor_ids") or [])
        name = check_venue(body["name"], body["venue_kind"], instructors)
        now = self.clock.now()
        venue: Document = {
            "_id": venue_id,
            "name": name,
            "venue_kind": body["venue_kind"],
            "county": self.county,
            "instructor_ids": instructors,
            "registered_by": principal.subject,
            "registered_at": now,
            "updated_at": now,
        }
        event = VenueRegistered(
            venue_id=venue_id,
            name=name,
            venue_kind=venue["venue_kind"],
            county=self.county,
            instructor_ids=instructors,
            registered_at=now,
        )
        try:
            await insert_aggregate(
                self.db.venues, venue, stage_events([event], source=SOURCE, subject=venue_id, from_version=0)
            )
        except DuplicateKeyError:
            raise DomainError("venue_id", "exists", "活动阵地编号已存在", DomainError.CONFLICT) from None
        return await self.view(venue_id)

    async def rename(self, venue_id: str, principal: Principal, name: str) -> Document:
        checked = check_name(name)
        return await self._change(venue_id, principal, lambda _: {"name": checked})

    async def station(self, venue_id: str, principal: Principal, instructor_ids: list[str]) -> Document:
        """Station exactly these instructors (those left out are withdrawn)."""
        checked = check_instructors(instructor_ids)
        return await self._change(venue_id, principal, lambda _: {"instructor_ids": checked})

    async def _change(
        self, venue_id: str, principal: Principal, changes: Callable[[Document], Document]
    ) -> Document:
        """Reload, apply, and write the venue with `venue.updated` as it is now; a request that
        changes nothing writes and publishes nothing (a repeated PUT is harmless)."""

        async def attempt() -> None:
            venue = await self.venue(venue_id)
            fields = {k: v for k, v in changes(venue).items() if venue.get(k) != v}
            if not fields:
                return
            now = self.clock.now()
            after = {**venue, **fields}
            event = VenueUpdated(
                venue_id=venue_id,
                name=after["name"],
                venue_kind=after["venue_kind"],
                county=after["county"],
                instructor_ids=after["instructor_ids"],
                updated_at=now,
            )
            await update_aggregate(
                self.db.venues,
                venue_id,
                expected_version=venue["version"],
                update={"$set": {**fields, "updated_by": principal.subject, "updated_at": now}},
                events=stage_events([event], source=SOURCE, subject=venue_id, from_version=venue["version"]),
            )

        await retry_on_conflict(attempt)
        return await self.view(venue_id)


def shown(venue: Document) -> Document:
    """A venue as the API shows it."""
    venue = dict(venue)
    venue["venue_id"] = venue.pop("_id")
    return venue
