"""The queue of messages to send (待发消息): one document per (cause, template, recipient), fanned
out in batches. Its deterministic _id makes a redelivered event queue nothing new; the document
leaves the queue once the message is sent, failed for good, cancelled or merged into a digest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError
from roadbranch_shared.clock import TimeSource
from roadbranch_shared.documents import Document

from notify.app.templates import Templates
from notify.app.view import RecipientView
from notify.domain.rules import Notice

log = logging.getLogger(__name__)
DUPLICATE_KEY = 11000


def notice_id(cause: str, template: str, recipient_id: str) -> str:
    return f"{cause}|{template}|{recipient_id}"


class NoticeQueue:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        view: RecipientView,
        templates: Templates,
        clock: TimeSource,
        *,
        batch_size: int,
        on_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self.db = db
        self.view = view
        self.templates = templates
        self.clock = clock
        self.batch_size = batch_size
        self.on_queued = on_queued

    async def publish(self, notice: Notice, *, cause: str, meeting_starts_at: datetime | None = None) -> int:
        """Queue `notice` for each of its recipients; returns how many were newly queued."""
        text = self.templates.render(notice.template, notice.context)
        now = self.clock.now()
        meeting = (
            {"id": notice.meeting_id, "starts_at": meeting_starts_at}
            if notice.meeting_id is not None
            else None
        )
        queued = 0
        audience_size = 0
        # The drivers' local day (the templates' zone): whose term a seat is in.
        today = now.astimezone(self.templates.zone).date()
        async for kind, recipients in self.view.audience(notice.audience, self.batch_size, on=today):
            audience_size += len(recipients)
            docs: list[Document] = [
                {
                    "_id": notice_id(cause, notice.template, recipient_id),
                    "cause": cause,
                    "template": notice.template,
                    "recipient": recipient_id,
                    "kind": kind,
                    "text": text,
                    "urgent": notice.urgent,
                    "meeting": meeting,
                    "tried": [],
                    "created_at": now,
                    "due_at": now,
                }
                for recipient_id in recipients
            ]
            queued += await insert_new(self.db.queue, docs)
            self.on_queued()
        if audience_size == 0:
            # Nobody to tell (no secretary seated yet, an empty branch): said, not silently dropped.
            log.warning("no recipients for %s of %s (%s)", notice.template, cause, notice.audience.kind)
        return queued


async def insert_new(collection: Any, docs: list[Document]) -> int:
    """Insert the documents whose _id is new; the others are there already (a redelivered event)."""
    if not docs:
        return 0
    try:
        result = await collection.insert_many(docs, ordered=False)
        return len(result.inserted_ids)
    except BulkWriteError as e:
        errors = e.details.get("writeErrors", [])
        if any(err.get("code") != DUPLICATE_KEY for err in errors):
            raise
        return int(e.details.get("nInserted", len(docs) - len(errors)))
