"""Committee seats of an organisation (委员、书记、双组长): assigning a seat for a term, and ending
its term (任期结束、免职), each published on `roster.org.v1` through the organisation's outbox.

A seat is addressed by its `seat_id`, kept in the seat itself, so it stays the same whatever seats
are added or ended around it (an index into the list would not survive a concurrent assignment).
Every seat has had one since seats were introduced, so no seat needs an id made up on read.
Ending a seat sets its `term_end` (the term then stops counting as current, and the next holder's
term may start the day after) and records who ended it when; the seat stays in the list, so an
organisation's past committees remain readable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.aggregates import Decision, change_document
from roadbranch_shared.contracts.roster import SeatAssigned, SeatEnded
from roadbranch_shared.documents import Document

from roster.app.imports import SOURCE
from roster.app.organisation import NO_SUCH_ORGANISATION, Organisations
from roster.domain.organisation import OrgError, check_seat, check_term_end


class Seats:
    def __init__(self, db: AsyncDatabase[Document], organisations: Organisations) -> None:
        self.db = db
        self.organisations = organisations

    async def assign(
        self, org_id: str, *, role: str, person_id: str, term_start: date, term_end: date | None
    ) -> Document:
        """Add a seat; the organisation as `Organisations.view` shows it."""
        seat_id = f"seat_{uuid.uuid4().hex[:12]}"

        def decide(org: Document) -> Decision:
            check_seat(org["kind"], org["seats"], role, person_id, term_start, term_end)
            now = datetime.now(UTC)
            seat = {
                "seat_id": seat_id,
                "role": role,
                "person_id": person_id,
                # BSON has no date type: terms are kept as ISO dates.
                "term_start": term_start.isoformat(),
                "term_end": term_end.isoformat() if term_end else None,
                "assigned_at": now,
            }
            event = SeatAssigned(
                organisation_id=org_id,
                seat_id=seat_id,
                role=role,
                person_id=person_id,
                term_start=term_start,
                term_end=term_end,
                assigned_at=now,
            )
            return {"$push": {"seats": seat}}, [event]

        return await self.organisations.view_of(await self._change(org_id, decide))

    async def end(self, org_id: str, seat_id: str, *, term_end: date, by: str) -> Document:
        """End the seat's term on `term_end`; the organisation as `Organisations.view` shows it."""

        def decide(org: Document) -> Decision:
            seat = next((s for s in org["seats"] if s.get("seat_id") == seat_id), None)
            if seat is None:
                raise OrgError("seat_id", "not_found", "该组织没有这个职务", OrgError.NOT_FOUND)
            now = datetime.now(UTC)
            check_term_end(seat, term_end, now.date())
            ended = {
                **seat,
                "term_end": term_end.isoformat(),
                "ended": {"at": now, "by": by, "planned_term_end": seat.get("term_end")},
            }
            seats = [ended if s.get("seat_id") == seat_id else s for s in org["seats"]]
            event = SeatEnded(
                organisation_id=org_id,
                seat_id=seat_id,
                role=seat["role"],
                person_id=seat["person_id"],
                term_start=date.fromisoformat(seat["term_start"]),
                term_end=term_end,
                ended_at=now,
            )
            return {"$set": {"seats": seats}}, [event]

        return await self.organisations.view_of(await self._change(org_id, decide))

    async def _change(self, org_id: str, decide: Callable[[Document], Decision]) -> Document:
        """The organisation as stored after the change."""
        changed = await change_document(
            self.db.organisations, org_id, decide, source=SOURCE, missing=NO_SUCH_ORGANISATION
        )
        return changed.after
