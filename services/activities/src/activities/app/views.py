"""Who belongs where, as this service knows it: member drivers, organisations and their committee
seats, built only from roster events (签收、分配、转入; 组织、席位、任期结束; 删除).

One document per member (by member id: driver, status, branch, group; events applied in the member
aggregate's order), per driver (by driver id: erased or not) and per organisation (kind, parent,
children, seats with their terms, an ended seat's term cut to its end). Events are applied by `_id`
only; who is in an organisation is read when a meeting or an item needs it, by one filtered scan of
the members, so no second document has to follow the member's (a crash between two writes could
leave it behind, and a growing member list would make every assignment rewrite it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.consumers import apply_in_order, apply_once
from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.events import Envelope

from activities.domain.meetings import Audience

VERIFIED = "verified"


class Membership:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    # ------------------------------------------------------------------ roster events

    async def member_changed(
        self, member_id: str, driver_id: str, envelope: Envelope, fields: dict[str, Any]
    ) -> None:
        """Apply one member event, in the member aggregate's order (a redelivery changes nothing)."""
        if await self.db.drivers.find_one({"_id": driver_id}, {"_id": 1}) is None:
            await update_if(self.db.drivers, driver_id, {}, {"$set": {"seen_at": envelope.time}}, upsert=True)
        await apply_in_order(
            self.db.members, member_id, envelope, {"$set": {"driver_id": driver_id, **fields}}
        )

    async def driver_registered(self, driver_id: str, county: str, envelope: Envelope) -> None:
        """Every driver of the roster, member or not, with his county: the audience of content for all
        drivers. An erased driver stays erased."""
        await apply_once(self.db.drivers, driver_id, envelope, {"$set": {"county": county}})

    async def drivers_of_county(self, county: str) -> list[str]:
        """Every driver registered in the county and not erased (a scan: at publication only)."""
        query = {"county": county, "erased": {"$ne": True}}
        return sorted([d["_id"] async for d in self.db.drivers.find(query, {"_id": 1})])

    async def drivers_elsewhere(self, county: str) -> set[str]:
        """The drivers the roster filed under another county (a scan: at publication only)."""
        query = {"county": {"$exists": True, "$ne": county}}
        return {d["_id"] async for d in self.db.drivers.find(query, {"_id": 1})}

    async def driver_erased(self, driver_id: str, envelope: Envelope) -> None:
        """Erasure (PIPL): the driver leaves every list and future invitation; his recorded words go."""
        await apply_once(self.db.drivers, driver_id, envelope, {"$set": {"erased": True}})
        # A rare operation: the scan finds the meetings holding his quotes.
        async for meeting in self.db.meetings.find({"quotes.speaker_id": driver_id}, {"_id": 1}):
            await self._forget_quotes(meeting["_id"], driver_id)

    async def organisation_created(
        self, org_id: str, kind: str, parent_id: str | None, envelope: Envelope
    ) -> None:
        await apply_in_order(
            self.db.organisations, org_id, envelope, {"$set": {"kind": kind, "parent_id": parent_id}}
        )
        if parent_id:
            await update_if(
                self.db.organisations, parent_id, {}, {"$addToSet": {"children": org_id}}, upsert=True
            )

    async def seat_assigned(self, org_id: str, seat: Document, envelope: Envelope) -> None:
        await apply_in_order(self.db.organisations, org_id, envelope, {"$push": {"seats": seat}})

    async def seat_ended(self, org_id: str, ended: Document, envelope: Envelope) -> None:
        """A seat's term ended (任期结束、免职): its copy here gets the end, in the organisation's
        order, so a redelivery (or an older event after it) changes nothing. The seats are read,
        then replaced: an organisation's events come one at a time from its partition, so no other
        write of its seats falls in between."""
        org = await self.organisation(org_id) or {}
        seats = with_seat_ended(org.get("seats", []), ended)
        await apply_in_order(self.db.organisations, org_id, envelope, {"$set": {"seats": seats}})

    async def _forget_quotes(self, meeting_id: str, driver_id: str) -> None:
        meeting = await self.db.meetings.find_one({"_id": meeting_id}, {"quotes": 1})
        quotes = [
            {**q, "text": "", "erased": True} if q.get("speaker_id") == driver_id else q
            for q in (meeting or {}).get("quotes", [])
        ]
        await update_if(self.db.meetings, meeting_id, {}, {"$set": {"quotes": quotes}})

    # ------------------------------------------------------------------ reads

    async def organisation(self, org_id: str) -> Document | None:
        return await self.db.organisations.find_one({"_id": org_id})

    async def lineage(self, org_id: str) -> list[str]:
        """The organisation and its ancestors, nearest first."""
        chain: list[str] = []
        current: str | None = org_id
        while current and current not in chain:
            chain.append(current)
            org = await self.organisation(current)
            current = (org or {}).get("parent_id")
        return chain

    async def subtree(self, org_id: str) -> list[Document]:
        """The organisation and every organisation under it."""
        found: list[Document] = []
        queue, seen = [org_id], set()
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.add(current)
            org = await self.organisation(current)
            if org is not None:
                found.append(org)
                queue.extend(org.get("children", []))
        return found

    async def member_drivers(self, org_ids: list[str]) -> list[str]:
        """The verified, not erased member drivers of these organisations (as branch or as group)."""
        if not org_ids:
            return []
        query = {"status": VERIFIED, "$or": [{"branch_id": {"$in": org_ids}}, {"group_id": {"$in": org_ids}}]}
        found = [m["driver_id"] async for m in self.db.members.find(query, {"driver_id": 1})]
        erased = {d["_id"] async for d in self.db.drivers.find({"erased": True}, {"_id": 1})}
        return sorted({d for d in found if d not in erased})

    async def audience(self, org_id: str, audience: str, on: date) -> list[str]:
        """The person ids a meeting of `org_id` invites: member drivers or committee seat holders."""
        if audience == Audience.MEMBERS:
            return await self.member_drivers([o["_id"] for o in await self.subtree(org_id)])
        orgs = (
            await self.subtree(org_id)
            if audience == Audience.COMMITTEES
            else [await self.organisation(org_id)]
        )
        people = [s["person_id"] for org in orgs if org for s in current_seats(org.get("seats", []), on)]
        return list(dict.fromkeys(people))

    async def secretaries(self, org_id: str, on: date) -> list[str]:
        org = await self.organisation(org_id) or {}
        return [s["person_id"] for s in current_seats(org.get("seats", []), on) if s["role"] == "secretary"]

    async def drivers_among(self, people: Iterable[str]) -> list[str]:
        """The people who are drivers (known here from member events) and not erased, in the order
        given: notify reaches them; staff subjects are not among them. One query for them all."""
        wanted = list(dict.fromkeys(people))
        if not wanted:
            return []
        known = {
            d["_id"]
            async for d in self.db.drivers.find({"_id": {"$in": wanted}}, {"erased": 1})
            if not d.get("erased")
        }
        return [p for p in wanted if p in known]


def with_seat_ended(seats: Iterable[Document], ended: Document) -> list[Document]:
    """The seats with the seat `ended` (as SeatEnded describes it) ending on its `term_end`.

    A seat this view never saw (its assignment was dead-lettered, or left the topic before this
    view read it) is added from the end event, which names everything a seat holds: the past
    committee stays complete, and the seat does not count after its end."""
    kept = list(seats)
    for i, seat in enumerate(kept):
        if seat.get("seat_id") == ended["seat_id"]:
            kept[i] = {**seat, "term_end": ended["term_end"], "ended_at": ended["ended_at"]}
            return kept
    return [*kept, ended]


def current_seats(seats: Iterable[Document], on: date) -> list[Document]:
    day = on.isoformat()
    return [s for s in seats if s["term_start"] <= day and (not s.get("term_end") or day <= s["term_end"])]
