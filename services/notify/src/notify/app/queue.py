"""The queue of messages to send (待发消息): one document per (cause, template, recipient), fanned
out in batches. Its deterministic _id makes a redelivered event queue nothing new; the document
leaves the queue once the message is sent, failed for good, cancelled or merged into a digest.

`NoticeQueue` fans the messages out; `DueQueue` is the queue as the dispatcher works it (what is
due, and each message's next step), on MongoDB (`MongoDueQueue`) or in a dict (`InMemoryDueQueue`,
for the dispatcher's in-process tests). Queue documents are no aggregates: they raise no events,
keep no version, and their writes are the plain (or conditional) updates below.
"""

from __future__ import annotations

import copy
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError
from roadbranch_shared.aggregates import as_bson_keeps
from roadbranch_shared.clock import TimeSource
from roadbranch_shared.documents import Document, update_if

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
        params = self.templates.sms_params(notice.template, notice.context)
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
            docs = [
                queued_message(
                    cause,
                    notice.template,
                    recipient_id,
                    kind,
                    text,
                    notice.urgent,
                    meeting,
                    now=now,
                    params=params,
                )
                for recipient_id in recipients
            ]
            queued += await insert_new(self.db.queue, docs)
            self.on_queued()
        if audience_size == 0:
            # Nobody to tell (no secretary seated yet, an empty branch): said, not silently dropped.
            log.warning("no recipients for %s of %s (%s)", notice.template, cause, notice.audience.kind)
        return queued


def queued_message(
    cause: str,
    template: str,
    recipient_id: str,
    kind: str,
    text: str,
    urgent: bool,
    meeting: Document | None,
    *,
    now: datetime,
    params: dict[str, str] | None = None,
) -> Document:
    """A message as it is queued for one recipient, due at once; `params`: its SMS template's
    variables (for the providers that send approved templates only)."""
    return {
        "_id": notice_id(cause, template, recipient_id),
        "cause": cause,
        "template": template,
        "recipient": recipient_id,
        "kind": kind,
        "text": text,
        "params": params or {},
        "urgent": urgent,
        "meeting": meeting,
        "tried": [],
        "created_at": now,
        "due_at": now,
    }


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


class DueQueue(Protocol):
    """The queue as the dispatcher works it. Several replicas may work one queue: what a pass takes
    is leased to it, and every next step below ends the lease."""

    async def due(self, now: datetime, limit: int) -> list[Document]:
        """Up to `limit` messages due at `now` and leased to no other pass, leased to this one."""
        ...

    async def retry_at(self, message_id: str, at: datetime) -> None:
        """A transient failure: due again at `at`, its claim in the ledger (`attempted`)."""
        ...

    async def try_next_channel(self, message_id: str, failed: str, now: datetime) -> None:
        """`failed` is done with: due at once on the channels left."""
        ...

    async def hold(self, message_id: str, until: datetime) -> None:
        """Quiet hours: due at `until` (`held_until` shows why)."""
        ...

    async def merge_into_digest(self, digest: Document, message_id: str, text: str | None) -> None:
        """Add the message's text to the digest (`digest`: the digest document, if there is none
        yet). A message merged before (a crash after the merge) is not added twice."""
        ...

    async def remove(self, message_id: str) -> None: ...

    def times(self) -> AsyncIterator[tuple[datetime, datetime]]:
        """(due at, queued at) of every waiting message, for the gauges."""
        ...


# What ends a pass's lease on a message: any next step written for it.
END_LEASE = {"$unset": {"lease_until": "", "lease": ""}}
DEFAULT_LEASE = timedelta(seconds=300)


def free_at(now: datetime) -> Document:
    """Due at `now` and leased to no pass (never, or a lease that has ended)."""
    return {"due_at": {"$lte": now}, "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}]}


class MongoDueQueue:
    """The queue in its collection. A pass leases the messages it takes (`lease_until`, and `lease`:
    a token of its own) with one conditional update, which MongoDB applies to each document
    atomically: of two replicas' passes only one takes a message, and a replica killed mid-pass
    leaves its messages to the others once their lease ends (the ledger's claim then says what was
    sent). On FerretDB, whose filtered updates are not atomic, one process per service stays the rule."""

    def __init__(self, collection: AsyncCollection[Document], *, lease: timedelta = DEFAULT_LEASE) -> None:
        self.collection = collection
        self.lease = lease

    async def due(self, now: datetime, limit: int) -> list[Document]:
        free = free_at(now)
        found = await self.collection.find(free).to_list(limit)
        if not found:
            return []
        token = uuid.uuid4().hex
        lease = {"lease_until": now + self.lease, "lease": token}
        leased = await self.collection.update_many(
            {**free, "_id": {"$in": [d["_id"] for d in found]}}, {"$set": lease}
        )
        if leased.modified_count == len(found):  # no other pass took any of them meanwhile
            return [{**d, **lease} for d in found]
        return await self.collection.find({"lease": token}).to_list(limit)

    async def retry_at(self, message_id: str, at: datetime) -> None:
        await update_if(
            self.collection, message_id, {}, {"$set": {"due_at": at, "attempted": True}, **END_LEASE}
        )

    async def try_next_channel(self, message_id: str, failed: str, now: datetime) -> None:
        await update_if(
            self.collection,
            message_id,
            {},
            {"$push": {"tried": failed}, "$set": {"due_at": now}, **END_LEASE},
        )

    async def hold(self, message_id: str, until: datetime) -> None:
        await update_if(
            self.collection, message_id, {}, {"$set": {"due_at": until, "held_until": until}, **END_LEASE}
        )

    async def merge_into_digest(self, digest: Document, message_id: str, text: str | None) -> None:
        merged = {"$push": {"items": text, "merged": message_id}}
        if await update_if(self.collection, digest["_id"], {"merged": {"$ne": message_id}}, merged):
            return
        # Absent, or this message merged before a crash: insert, or find it there already.
        if await self.collection.find_one({"_id": digest["_id"]}) is None:
            await self.collection.insert_one(dict(digest))

    async def remove(self, message_id: str) -> None:
        await self.collection.delete_one({"_id": message_id})

    async def times(self) -> AsyncIterator[tuple[datetime, datetime]]:
        async for doc in self.collection.find({}, {"due_at": 1, "created_at": 1}):
            yield doc["due_at"], doc["created_at"]


class InMemoryDueQueue:
    """The same queue in a dict (times kept to the millisecond, as BSON keeps them), leased alike."""

    def __init__(self, *, lease: timedelta = DEFAULT_LEASE) -> None:
        self.documents: dict[str, Document] = {}
        self.lease = lease

    def add(self, *messages: Document) -> None:
        """Queue messages as `NoticeQueue` does (one already queued stays as it is)."""
        for message in messages:
            self.documents.setdefault(message["_id"], as_bson_keeps(message))

    async def due(self, now: datetime, limit: int) -> list[Document]:
        free = [
            d
            for d in self.documents.values()
            if d["due_at"] <= now and (d.get("lease_until") is None or d["lease_until"] <= now)
        ][:limit]
        token = uuid.uuid4().hex
        for doc in free:
            doc.update(as_bson_keeps({"lease_until": now + self.lease, "lease": token}))
        return [copy.deepcopy(d) for d in free]

    def _set(self, message_id: str, **fields: Any) -> None:
        """A next step: its fields set, the lease ended."""
        if message_id in self.documents:
            self.documents[message_id].update(as_bson_keeps(fields))
            self.documents[message_id].pop("lease_until", None)
            self.documents[message_id].pop("lease", None)

    async def retry_at(self, message_id: str, at: datetime) -> None:
        self._set(message_id, due_at=at, attempted=True)

    async def try_next_channel(self, message_id: str, failed: str, now: datetime) -> None:
        if message_id in self.documents:
            tried = self.documents[message_id].get("tried", [])
            self._set(message_id, tried=[*tried, failed], due_at=now)

    async def hold(self, message_id: str, until: datetime) -> None:
        self._set(message_id, due_at=until, held_until=until)

    async def merge_into_digest(self, digest: Document, message_id: str, text: str | None) -> None:
        found = self.documents.get(digest["_id"])
        if found is None:
            self.documents[digest["_id"]] = as_bson_keeps(digest)
        elif message_id not in found.get("merged", []):
            found["items"] = [*found.get("items", []), text]
            found["merged"] = [*found.get("merged", []), message_id]

    async def remove(self, message_id: str) -> None:
        self.documents.pop(message_id, None)

    async def times(self) -> AsyncIterator[tuple[datetime, datetime]]:
        for doc in list(self.documents.values()):
            yield doc["due_at"], doc["created_at"]
