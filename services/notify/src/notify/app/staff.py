"""The staff directory (工作人员通讯录): how to reach a handler, a leader or a committee member who is
staff, by his principal's subject. Each entry is an aggregate that publishes `StaffContactSet` on
`notify.staff.v1` through its own outbox: which channels he has and whether a personal notice can
reach him, never an address, so other services can see who would hear of the work they assign.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.aggregates import change_document
from roadbranch_shared.contracts.notify import StaffContactSet
from roadbranch_shared.documents import Document, public_fields, update_if
from roadbranch_shared.events import source_of
from roadbranch_shared.outbox import ConcurrencyConflict, stage_events, update_aggregate
from roadbranch_shared.pii import PiiKeys, encrypt

from notify.app.view import RecipientKind, RecipientView
from notify.domain.channels import Recipient, channel_plan

log = logging.getLogger(__name__)
SOURCE = source_of("notify", "staff")


@dataclass(frozen=True)
class DirectoryEntry:
    recipient: Recipient
    reachable: bool  # a personal notice has a channel this county has set up to go by
    set_at: datetime | None  # None: set before the directory kept the time


class StaffDirectory:
    def __init__(
        self,
        db: AsyncDatabase[Document],
        keys: PiiKeys,
        view: RecipientView,
        *,
        fallback_order: list[str],
        usable: set[str],
    ) -> None:
        self.db = db
        self.keys = keys
        self.view = view
        self.fallback_order = fallback_order
        self.usable = usable

    def entry_event(self, recipient: Recipient, at: datetime) -> StaffContactSet:
        """What other services may know of an entry: its channels, and whether a personal notice
        (every notice notify sends today) has a configured channel to go by."""
        return StaffContactSet(
            subject=recipient.recipient_id,
            channels=sorted(recipient.addresses),
            reachable=bool(channel_plan(recipient, self.fallback_order, self.usable)),
            set_at=at,
        )

    async def set_contact(
        self,
        subject: str,
        *,
        phone: str | None,
        email: str | None,
        wechat_id: str | None,
        preferred: str | None,
        at: datetime,
    ) -> None:
        plain = {"phone": phone, "email": email, "wechat_id": wechat_id}
        fields: Document = {
            field: encrypt(self.keys, value, aad=f"notify/staff/{subject}/{field}") if value else None
            for field, value in plain.items()
        }
        fields["preferred_channel"] = preferred
        fields["set_at"] = at
        addresses = {"sms": phone, "email": email, "wechat": wechat_id}
        recipient = Recipient(
            subject,
            RecipientKind.STAFF,
            preferred,
            {channel: address for channel, address in addresses.items() if address},
        )
        event = self.entry_event(recipient, at)

        await self._number_unnumbered(subject)
        await change_document(
            self.db.staff,
            subject,
            lambda _: ({"$set": fields}, [event]),
            source=SOURCE,
            or_create=lambda: (fields, [event]),
        )

    async def page(self, *, limit: int, after: str) -> list[DirectoryEntry]:
        """Entries in subject order after `after` (the last subject of the previous page)."""
        found = self.db.staff.find(
            {"_id": {"$gt": after}}, public_fields(shown={"version"}), sort=[("_id", 1)], limit=limit
        )
        entries = []
        async for doc in found:
            recipient = self.view.staff_recipient(doc)
            reachable = bool(channel_plan(recipient, self.fallback_order, self.usable))
            entries.append(DirectoryEntry(recipient, reachable, doc.get("set_at")))
        return entries

    async def publish_unpublished(self, at: datetime) -> int:
        """Entries written before the directory published its events get their first event now."""
        published = 0
        async for doc in self.db.staff.find({"version": {"$exists": False}}, {"_id": 1}):
            recipient = await self.view.recipient(doc["_id"], RecipientKind.STAFF)
            if recipient is None:
                continue
            events = stage_events(
                [self.entry_event(recipient, at)], source=SOURCE, subject=doc["_id"], from_version=0
            )
            await self._number_unnumbered(doc["_id"])
            try:
                await update_aggregate(
                    self.db.staff, doc["_id"], expected_version=0, update={}, events=events
                )
            except ConcurrencyConflict:
                continue  # set through the API meanwhile, which published it
            published += 1
        if published:
            log.info("staff directory entries published", extra={"entries": published})
        return published

    async def _number_unnumbered(self, subject: str) -> None:
        """An entry from before the directory kept versions starts at version 0."""
        await update_if(self.db.staff, subject, {"version": {"$exists": False}}, {"$set": {"version": 0}})
