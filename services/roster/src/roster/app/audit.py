"""The roster's audit log (审计日志) of personal data seen unmasked or looked for: unmasked identity
reads, driver searches and register exports; who, as which role, when, and how many, never the
searched value. Read newest first, a page at a time, as identity's `GET /v1/audit` pages its trail.

The next page starts after the last entry seen (its `audit_id`), not at its time: two entries of
the same millisecond would otherwise be split across pages and one of them skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document

from roster.domain.errors import RosterError

NEWEST_FIRST = [("at", DESCENDING), ("_id", DESCENDING)]


class AuditAction:
    READ_IDENTITY = "read_identity"  # 查看完整身份信息
    SEARCH_DRIVER = "search_driver"  # 查找司机
    EXPORT_REGISTER = "export_register"  # 导出登记册
    ALL = (READ_IDENTITY, SEARCH_DRIVER, EXPORT_REGISTER)


@dataclass(frozen=True)
class AuditQuery:
    action: str | None = None
    subject: str | None = None
    since: datetime | None = None  # at or after
    until: datetime | None = None  # before


class AuditLog:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.entries = db.audit_log

    async def create_indexes(self) -> None:
        await self.entries.create_index(NEWEST_FIRST)

    async def record(self, action: str, **entry: object) -> None:
        await self.entries.insert_one({"at": datetime.now(UTC), "action": action, **entry})

    async def recent(self, wanted: AuditQuery, *, limit: int, before: str | None = None) -> list[Document]:
        """Entries newest first; `before`: the `audit_id` of the last entry of the previous page."""
        if wanted.since and wanted.until and wanted.since >= wanted.until:
            raise RosterError("until", "before_since", "结束时间须晚于开始时间", RosterError.INVALID)
        conditions: list[Document] = []
        if wanted.action:
            conditions.append({"action": wanted.action})
        if wanted.subject:
            conditions.append({"subject": wanted.subject})
        if wanted.since:
            conditions.append({"at": {"$gte": wanted.since.astimezone(UTC)}})
        if wanted.until:
            conditions.append({"at": {"$lt": wanted.until.astimezone(UTC)}})
        if before is not None:
            last = await self._entry(before)
            conditions.append(
                {"$or": [{"at": {"$lt": last["at"]}}, {"at": last["at"], "_id": {"$lt": last["_id"]}}]}
            )
        query = {"$and": conditions} if conditions else {}
        found = self.entries.find(query, sort=NEWEST_FIRST, limit=limit)
        return [{"audit_id": str(doc.pop("_id")), **doc} async for doc in found]

    async def _entry(self, audit_id: str) -> Document:
        try:
            key = ObjectId(audit_id)
        except (InvalidId, TypeError):
            key = None
        entry = await self.entries.find_one({"_id": key}, {"at": 1}) if key else None
        if entry is None:
            raise RosterError(
                "before",
                "unknown_entry",
                "没有这条审计记录（before 须为上一页最后一条的 audit_id）",
                RosterError.INVALID,
            )
        return entry
