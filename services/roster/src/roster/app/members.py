"""Cross-checking member records against the drivers (信息比对) and working verification cases.

Member records that match no driver are counted and dropped (data minimisation); a match opens
(or joins) the driver's one verification case, whose id follows from the driver's id.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.aggregates import Decision, change_document, create_document
from roadbranch_shared.contracts.roster import MemberCandidateFound, MemberRejected, MemberVerified
from roadbranch_shared.documents import Document
from roadbranch_shared.pii import IndexPurpose, PiiKeys, blind_index

from roster.adapters.tables import Table
from roster.app.imports import SOURCE
from roster.domain.drivers import RowProblem, header_map_for, missing_columns_for
from roster.domain.members import (
    RECORD_COLUMNS,
    CaseError,
    CaseStatus,
    MemberRecord,
    Outcome,
    can_decide,
    check_record,
)

NO_SUCH_CASE = CaseError("member_id", "not_found", "没有这个核实案", CaseError.NOT_FOUND)


@dataclass
class CheckedRecords:
    records: list[MemberRecord]
    problems: list[RowProblem]
    total_rows: int


def check_records(table: Table) -> CheckedRecords | list[str]:
    mapping = header_map_for(RECORD_COLUMNS, table.headings)
    if missing := missing_columns_for(("name", "id_number"), mapping):
        return missing
    records: list[MemberRecord] = []
    problems: list[RowProblem] = []
    for number, cells in table.rows:
        values = {field: cells[i] if i < len(cells) else "" for i, field in mapping.items()}
        checked = check_record(number, values)
        if isinstance(checked, list):
            problems.extend(checked)
        else:
            records.append(checked)
    return CheckedRecords(records, problems, len(table.rows))


def member_id_of(driver_id: str) -> str:
    """One case per driver: its id follows from the driver's."""
    return "mem_" + driver_id.removeprefix("drv_")


class Members:
    def __init__(self, db: AsyncDatabase[Document], keys: PiiKeys, *, on_attempt: Any = None) -> None:
        self.db = db
        self.keys = keys
        self.on_attempt = on_attempt  # metrics hook: on_attempt(method, outcome)

    async def cross_check(self, checked: CheckedRecords, *, started_by: str, county: str) -> Document:
        """Match the records to drivers by blind index; open a case per match; keep only counts."""
        check_id = f"chk_{uuid.uuid4().hex[:16]}"
        now = datetime.now(UTC)
        gate = asyncio.Semaphore(8)

        async def match(record: MemberRecord) -> tuple[MemberRecord, str | None]:
            bi = blind_index(self.keys, record.id_number, purpose=IndexPurpose.ID_NUMBER)
            async with gate:
                key = await self.db.driver_keys.find_one({"_id": bi})
                if key is None:
                    return record, None
                # A driver of another county is not this check's to find.
                driver = await self.db.drivers.find_one({"_id": key["driver_id"]}, {"county": 1})
            return record, key["driver_id"] if driver is not None and driver.get("county") == county else None

        matches = await asyncio.gather(*(match(r) for r in checked.records))
        opened = joined = 0
        for record, driver_id in matches:
            if driver_id is None:
                continue
            details = {
                "branch_of_record": record.branch_of_record,
                "joined_on": record.joined_on,
                "party_status": record.party_status,
            }
            if await self._open_case(driver_id, "cross_check", now, check_id=check_id, record=details):
                opened += 1
            else:
                joined += 1
        summary = {
            "_id": check_id,
            "county": county,
            "started_by": started_by,
            "checked_at": now,
            "records": checked.total_rows,
            "invalid_records": len({p.row for p in checked.problems}),
            "drivers_checked": await self.db.drivers.count_documents({"status": "active", "county": county}),
            "candidates_found": opened + joined,
            "new_cases": opened,
            "unmatched_records": len(checked.records) - opened - joined,
            "problems": [p.as_dict() for p in checked.problems],
        }
        await self.db.member_checks.insert_one(summary)
        return summary

    async def declare(self, driver_id: str) -> Document:
        """A driver declares his membership himself (亮身份): his case opens like a match's."""
        driver = await self.db.drivers.find_one({"_id": driver_id}, {"status": 1})
        if driver is None or driver.get("status") != "active":
            raise CaseError("driver_id", "unknown_driver", "花名册中没有这名司机", CaseError.NOT_FOUND)
        await self._open_case(driver_id, "self_declared", datetime.now(UTC))
        return await self.case(member_id_of(driver_id))

    async def case(self, member_id: str) -> Document:
        case = await self.db.members.find_one({"_id": member_id})
        if case is None:
            raise NO_SUCH_CASE
        return case

    async def record_attempt(
        self, member_id: str, *, method: str, outcome: str, notes: str, by: str, at: datetime | None = None
    ) -> Document:
        attempt = {
            "method": method,
            "outcome": outcome,
            "notes": notes,
            "by": by,
            "at": at or datetime.now(UTC),
        }

        def record(case: Document) -> Decision:
            if case["status"] != CaseStatus.CANDIDATE:
                raise CaseError("member_id", "case_closed", "该核实案已经结案")
            update: Document = {"$push": {"attempts": attempt}}
            if outcome != Outcome.UNREACHABLE:  # they spoke: that is contact (for lost-contact checks)
                update["$max"] = {"last_contact_at": attempt["at"]}
            return update, []

        changed = await change_document(
            self.db.members, member_id, record, source=SOURCE, missing=NO_SUCH_CASE
        )
        if self.on_attempt is not None:
            self.on_attempt(method, outcome)
        return changed.after

    async def decide(self, member_id: str, *, decision: str, reason: str, by: str) -> Document:
        """Close the case: verified (needs a confirming attempt) or rejected. A person decides."""

        def close(case: Document) -> Decision:
            can_decide(case, decision)
            now = datetime.now(UTC)
            payload: Any
            if decision == CaseStatus.VERIFIED:
                confirming = [a for a in case["attempts"] if a["outcome"] == Outcome.CONFIRMED]
                payload = MemberVerified(
                    member_id=member_id,
                    driver_id=case["driver_id"],
                    method=confirming[-1]["method"],
                    verified_at=now,
                )
            else:
                payload = MemberRejected(
                    member_id=member_id, driver_id=case["driver_id"], reason=reason, rejected_at=now
                )
            return {"$set": {"status": decision, "decision": {"by": by, "at": now, "reason": reason}}}, [
                payload
            ]

        changed = await change_document(
            self.db.members, member_id, close, source=SOURCE, missing=NO_SUCH_CASE
        )
        return changed.after

    async def _open_case(
        self,
        driver_id: str,
        origin: str,
        now: datetime,
        *,
        check_id: str | None = None,
        record: Document | None = None,
    ) -> bool:
        """True if a new case was opened; False if the driver already has one (it notes the check)."""
        member_id = member_id_of(driver_id)
        found = MemberCandidateFound(
            member_id=member_id, driver_id=driver_id, origin=origin, check_id=check_id, found_at=now
        )
        doc = {
            "_id": member_id,
            "driver_id": driver_id,
            "status": CaseStatus.CANDIDATE,
            "origin": origin,
            "opened_at": now,
            "record": record,
            "checks": [check_id] if check_id else [],
            "attempts": [],
        }
        try:
            await create_document(self.db.members, doc, [found], source=SOURCE, correlation_id=check_id)
            return True
        except DuplicateKeyError:
            if check_id is not None:
                await self._note_check(member_id, check_id, record)
            return False

    async def _note_check(self, member_id: str, check_id: str, record: Document | None) -> None:
        def note(case: Document) -> Decision:
            update: Document = {"$push": {"checks": check_id}}
            if record is not None and not case.get("record"):
                update["$set"] = {"record": record}
            return update, []

        await change_document(self.db.members, member_id, note, source=SOURCE, missing=NO_SUCH_CASE)
