"""Reading verification cases and members for the consoles: a filtered page in member-id order,
each case beside its driver record (the route shows it masked).

Filters other than the id scan the members collection on FerretDB, as `status` always has. A
pending transfer is found as "a transfer with status requested": a new transfer cannot be
requested while one is open nor after one was accepted (`ledger.can_request_transfer`), so a
requested transfer is always the member's latest.

Drivers are read by `_id`, a few at a time, rather than with one `$in` per page: FerretDB 1.24
answers an `$in` by reading the whole drivers collection (100 of 20,000 drivers: about 2.5 s by
`$in`, about 0.1 s by 100 lookups by `_id`, measured on the devstack's FerretDB).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document

from roster.app.ledger import TransferStatus

LOOKUPS_AT_ONCE = 8


@dataclass(frozen=True)
class CaseFilter:
    status: str | None = None
    # Members placed in this branch, or in this party group when a group's id is given.
    branch_id: str | None = None
    lost_contact_open: bool = False
    transfer_pending: bool = False

    def query(self, after: str) -> Document:
        query: Document = {"_id": {"$gt": after}}
        if self.status:
            query["status"] = self.status
        if self.branch_id:
            query["$or"] = [{"branch_id": self.branch_id}, {"group_id": self.branch_id}]
        if self.lost_contact_open:
            query["lost_contact.status"] = "open"
        if self.transfer_pending:
            query["transfers.status"] = TransferStatus.REQUESTED
        return query


class MemberCases:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.db = db

    async def page(
        self, wanted: CaseFilter, *, limit: int, after: str
    ) -> list[tuple[Document, Document | None]]:
        """Cases in id order after `after` (the last id of the previous page), each with its driver
        (None when he was erased or is unknown)."""
        found = self.db.members.find(wanted.query(after), sort=[("_id", 1)], limit=limit)
        cases = [case async for case in found]
        drivers = await self.drivers([c["driver_id"] for c in cases])
        return [(case, drivers.get(case["driver_id"])) for case in cases]

    async def drivers(self, driver_ids: list[str]) -> dict[str, Document]:
        """The drivers with these ids that are not erased, by id."""
        gate = asyncio.Semaphore(LOOKUPS_AT_ONCE)

        async def driver(driver_id: str) -> Document | None:
            async with gate:
                return await self.db.drivers.find_one({"_id": driver_id})

        found = await asyncio.gather(*(driver(d) for d in dict.fromkeys(driver_ids)))
        return {doc["_id"]: doc for doc in found if doc is not None and doc.get("status") != "erased"}
