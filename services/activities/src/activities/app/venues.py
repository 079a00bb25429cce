"""Use cases of the venue directory (活动阵地与蹲点指导员): register a venue, rename it, station or
withdraw its instructors, and answer who is stationed where.

One document per venue (by venue id) holds its instructors as a small list, and is an aggregate with
its outbox: `venue.registered` when it joins the directory, `venue.updated` (the venue as it is now)
after every change, in the venue's own `seq` order on `activities.venue.v1`."""

from __future__ import annotations

import uuid

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.aggregates import AggregateStore, MongoAggregateStore
from roadbranch_shared.auth import Principal
from roadbranch_shared.clock import TimeSource
from roadbranch_shared.documents import Document
from roadbranch_shared.domain import DomainError
from roadbranch_shared.events import source_of

from activities.domain.venues import Venue, check_instructors, check_name

SOURCE = source_of("activities")
NO_SUCH_VENUE = DomainError("venue_id", "not_found", "目录中没有这个活动阵地", DomainError.NOT_FOUND)


def mongo_venues(db: AsyncDatabase[Document]) -> AggregateStore[Venue]:
    return MongoAggregateStore(db.venues, Venue, source=SOURCE)


class Venues:
    def __init__(self, store: AggregateStore[Venue], clock: TimeSource, *, county: str) -> None:
        self.store = store
        self.clock = clock
        self.county = county

    async def find(self, venue_id: str) -> Document | None:
        venue = await self.store.get(venue_id)
        return None if venue is None else stored(venue)

    async def venue(self, venue_id: str) -> Document:
        found = await self.find(venue_id)
        if found is None:
            raise NO_SUCH_VENUE
        return found

    async def view(self, venue_id: str) -> Document:
        return shown(await self.venue(venue_id))

    async def listed(self) -> list[Document]:
        """Every venue, by name. A scan: the directory holds a county's few places."""
        found = [shown(stored(v)) for v in await self.store.find()]
        return sorted(found, key=lambda v: (v["name"], v["venue_id"]))

    async def is_stationed(self, venue_id: str, instructor: str) -> bool:
        """Whether the directory stations this instructor at this venue (one read by `_id`)."""
        found = await self.store.get(venue_id)
        return found is not None and instructor in found.instructor_ids

    async def stations_of(self, instructor: str) -> list[str]:
        """The venues where an instructor is stationed (a scan of the small directory)."""
        return [v.id for v in await self.store.find({"instructor_ids": instructor})]

    # ------------------------------------------------------------------ commands

    async def register(self, principal: Principal, body: Document) -> Document:
        venue, events = Venue.register(
            body.get("venue_id") or f"ven_{uuid.uuid4().hex[:12]}",
            name=body["name"],
            venue_kind=body["venue_kind"],
            county=self.county,
            instructor_ids=body.get("instructor_ids") or [],
            by=principal.subject,
            now=self.clock.now(),
        )
        try:
            await self.store.create(venue, events)
        except DuplicateKeyError:
            raise DomainError("venue_id", "exists", "活动阵地编号已存在", DomainError.CONFLICT) from None
        return await self.view(venue.id)

    async def rename(self, venue_id: str, principal: Principal, name: str) -> Document:
        checked = check_name(name)
        changed = await self.store.change(
            venue_id,
            lambda venue: venue.rename(checked, by=principal.subject, now=self.clock.now()),
            missing=NO_SUCH_VENUE,
        )
        return shown(stored(changed.after))

    async def station(self, venue_id: str, principal: Principal, instructor_ids: list[str]) -> Document:
        """Station exactly these instructors (those left out are withdrawn)."""
        checked = check_instructors(instructor_ids)
        changed = await self.store.change(
            venue_id,
            lambda venue: venue.station(checked, by=principal.subject, now=self.clock.now()),
            missing=NO_SUCH_VENUE,
        )
        return shown(stored(changed.after))


def stored(venue: Venue) -> Document:
    """A venue as it is stored (its version included, which the API shows), without its outbox."""
    return {**venue.document(), "version": venue.version}


def shown(venue: Document) -> Document:
    """A venue as the API shows it."""
    venue = dict(venue)
    venue["venue_id"] = venue.pop("_id")
    return venue
