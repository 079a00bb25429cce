"""Finding drivers for the staff console (查找司机) and reading the whole register (一人一档登记册).

A search matches exactly: phone, ID number and name through their blind indexes, the plate as
stored. Every search and every export goes to the audit log with who, how many and when, never
with the searched value.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document
from roadbranch_shared.pii import IndexPurpose, PiiKeys, blind_index

from roster.app.audit import AuditAction, AuditLog
from roster.app.members import member_id_of
from roster.domain.search import SearchBy, SearchKey

MAX_FOUND = 50
REGISTER_PAGE = 500
# Where each key is stored on a driver, and the blind-index purpose of the indexed ones.
STORED_AT = {
    SearchBy.NAME: "identity.name_index",
    SearchBy.PHONE: "identity.phone_index",
    SearchBy.ID_NUMBER: "identity.id_number_index",
    SearchBy.PLATE: "plate",
}
PURPOSES = {
    SearchBy.NAME: IndexPurpose.NAME,
    SearchBy.PHONE: IndexPurpose.PHONE,
    SearchBy.ID_NUMBER: IndexPurpose.ID_NUMBER,
}


@dataclass(frozen=True)
class Found:
    """Drivers that matched (at most MAX_FOUND, in id order) and their member cases by driver id."""

    drivers: list[Document]
    cases: dict[str, Document]
    truncated: bool  # more matched than are shown


class DriverSearch:
    def __init__(self, db: AsyncDatabase[Document], keys: PiiKeys) -> None:
        self.db = db
        self.keys = keys
        self.audit = AuditLog(db)

    async def create_indexes(self) -> None:
        for field in STORED_AT.values():
            await self.db.drivers.create_index(field)

    async def find(self, key: SearchKey, *, subject: str, role: str) -> Found:
        """Active drivers whose `key.by` equals the key's value; the search is audited
        before anything is returned."""
        value = key.value
        if key.by in PURPOSES:
            value = blind_index(self.keys, key.value, purpose=PURPOSES[key.by])
        found = self.db.drivers.find(
            {STORED_AT[key.by]: value, "status": "active"}, sort=[("_id", 1)], limit=MAX_FOUND + 1
        )
        drivers = [doc async for doc in found]
        shown = drivers[:MAX_FOUND]
        await self.audit.record(
            AuditAction.SEARCH_DRIVER, subject=subject, role=role, count=len(shown), by=key.by
        )
        return Found(shown, await self._cases_of([d["_id"] for d in shown]), len(drivers) > MAX_FOUND)

    async def register(self) -> AsyncIterator[list[tuple[Document, Document | None]]]:
        """Every active driver with his member case (or None), a page at a time in id order."""
        cases = {c["driver_id"]: c async for c in self.db.members.find({}, {"driver_id": 1, "status": 1})}
        after = ""
        while True:
            found = self.db.drivers.find(
                {"_id": {"$gt": after}, "status": "active"}, sort=[("_id", 1)], limit=REGISTER_PAGE
            )
            page = [doc async for doc in found]
            if not page:
                return
            yield [(doc, cases.get(doc["_id"])) for doc in page]
            after = page[-1]["_id"]

    async def audit_export(self, *, subject: str, role: str, count: int) -> None:
        await self.audit.record(AuditAction.EXPORT_REGISTER, subject=subject, role=role, count=count)

    async def _cases_of(self, driver_ids: list[str]) -> dict[str, Document]:
        # One lookup by _id each: on FerretDB an `$in` reads the whole collection.
        gate = asyncio.Semaphore(8)

        async def case_of(driver_id: str) -> tuple[str, Document | None]:
            async with gate:
                return driver_id, await self.db.members.find_one({"_id": member_id_of(driver_id)})

        found = await asyncio.gather(*(case_of(d) for d in driver_ids))
        return {driver_id: case for driver_id, case in found if case is not None}
