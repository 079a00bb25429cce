"""The audit trail: each record is stored with its event in one write (the outbox), so what the
organisation department reads here and what goes on `identity.audit.v1` are the same records."""

from __future__ import annotations

import uuid
from datetime import datetime

from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.documents import Document, public_fields
from roadbranch_shared.events import EventPayload, source_of
from roadbranch_shared.outbox import insert_aggregate, stage_events

SOURCE = source_of("identity")


class Audit:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.records = db.audit

    async def prepare(self) -> None:
        await self.records.create_index([("at", DESCENDING)])

    async def record(self, payload: EventPayload, at: datetime) -> None:
        record_id = f"aud_{uuid.uuid4().hex}"
        events = stage_events([payload], source=SOURCE, subject=record_id, from_version=0)
        document = {
            "_id": record_id,
            "type": payload.event_type,
            "at": at,
            "data": payload.model_dump(mode="json"),
        }
        await insert_aggregate(self.records, document, events)

    async def recent(
        self,
        *,
        limit: int,
        before: datetime | None = None,
        subject: str | None = None,
        kind: str | None = None,
    ) -> list[Document]:
        query: Document = {}
        if before is not None:
            query["at"] = {"$lt": before}
        if subject is not None:
            query["$or"] = [{"data.subject": subject}, {"data.account_id": subject}]
        if kind is not None:
            query["type"] = kind
        cursor = self.records.find(query, public_fields()).sort("at", DESCENDING).limit(limit)
        return [
            {"id": d["_id"], "type": d["type"], "at": d["at"], **d["data"]}
            for d in await cursor.to_list(None)
        ]
