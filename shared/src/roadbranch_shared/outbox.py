"""Transactional outbox kept inside the aggregate document, and the relay that drains it to Kafka.

A command changes the aggregate and appends its events to `outbox` in one single-document update
(optimistic concurrency on `version`). The relay publishes each document's entries in order with
the idempotent producer (acks=all), then removes exactly what Kafka acknowledged. A crash between
the two republishes: at-least-once, which idempotent consumers absorb.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError

from roadbranch_shared.documents import (
    Document,
    document_locks,
    update_if,
    update_if_returning,
    updates_are_atomic,
)
from roadbranch_shared.events import (
    Envelope,
    EventPayload,
    encode_envelope,
    kafka_headers,
    new_event,
    spec_for,
)
from roadbranch_shared.metrics import OutboxMetrics
from roadbranch_shared.owners import new_owner
from roadbranch_shared.topics import Topic

log = logging.getLogger(__name__)

OutboxEntry = dict[str, Any]
Publish = Callable[[OutboxEntry], Awaitable[None]]

# One small marker document (its _id is the aggregate's) per aggregate with events waiting to be
# published, in a collection per aggregate collection: the relay reads them with an empty filter
# and a limit, the one query FerretDB answers without reading the whole collection.
PENDING = "outbox_pending"


def pending_markers(collection: AsyncCollection[Document]) -> AsyncCollection[Document]:
    """The marker collection of an aggregate collection."""
    return collection.database[f"{PENDING}_{collection.name}"]


class ConcurrencyConflict(Exception):
    """The aggregate changed since it was read (its version moved on); reload and retry the command."""

    def __init__(self, collection: str, aggregate_id: Any, expected_version: int) -> None:
        super().__init__(f"{collection}/{aggregate_id} is no longer at version {expected_version}")
        self.aggregate_id = aggregate_id
        self.expected_version = expected_version


T = TypeVar("T")


async def retry_on_conflict(command: Callable[[], Awaitable[T]], *, tries: int = 20) -> T:
    """Optimistic concurrency: run `command` (which reloads the aggregate, decides and writes) again
    while another write got there first; after `tries` conflicts the last one is raised."""
    for attempt in range(1, tries + 1):
        try:
            return await command()
        except ConcurrencyConflict:
            if attempt == tries:
                raise
    raise AssertionError("unreachable")


def stage_events(
    payloads: Sequence[EventPayload],
    *,
    source: str,
    subject: str,
    from_version: int,
    correlation_id: str | None = None,
    caused_by: Envelope | None = None,
) -> list[Envelope]:
    """Envelopes for a command's events, numbered on from the aggregate's current version."""
    return [
        new_event(
            p,
            source=source,
            subject=subject,
            seq=from_version + i + 1,
            correlation_id=correlation_id,
            caused_by=caused_by,
        )
        for i, p in enumerate(payloads)
    ]


def outbox_entry(envelope: Envelope) -> OutboxEntry:
    spec = spec_for(envelope.type)
    if spec is None:
        raise ValueError(f"event type {envelope.type!r} is not registered")
    return {
        "id": envelope.id,
        "topic": spec.topic.name,
        "key": envelope.subject,
        "type": envelope.type,
        # Stored as the exact bytes to publish, so every retry sends the same record.
        "body": encode_envelope(envelope).decode(),
        "headers": kafka_headers(envelope),
        "created_at": datetime.now(UTC),
    }


def tombstone_entry(topic: Topic, key: str) -> OutboxEntry:
    """A null-valued record for `key` on a compacted topic: Kafka's compaction then forgets the key
    (an erasure). It travels through the outbox like an event, in order after the aggregate's events."""
    if not topic.compacted:
        raise ValueError(f"{topic.name} is not compacted: a tombstone there would erase nothing")
    return {
        "id": str(uuid.uuid4()),
        "topic": topic.name,
        "key": key,
        "type": "tombstone",
        "body": None,
        "headers": {},
        "created_at": datetime.now(UTC),
    }


async def insert_aggregate(
    collection: AsyncCollection[Document], document: Document, events: Sequence[Envelope]
) -> None:
    """Create an aggregate with its first events (its version is the number of events so far)."""
    doc = dict(document, version=len(events), outbox=[outbox_entry(e) for e in events])
    async with document_locks.hold(collection.full_name, doc["_id"]):
        await collection.insert_one(doc)
    if events:
        await _mark_pending(collection, doc["_id"])


async def insert_aggregates(
    collection: AsyncCollection[Document], created: Sequence[tuple[Document, Sequence[Envelope]]]
) -> None:
    """Create many new aggregates with their first events in one bulk write (e.g. an import).

    The ids must be new (no other writer can know them yet), so no per-document lock is needed.
    If one exists already, BulkWriteError is raised once the aggregates before it are marked.
    """
    if not created:
        return
    docs = [
        dict(doc, version=len(events), outbox=[outbox_entry(e) for e in events]) for doc, events in created
    ]
    try:
        await collection.insert_many(docs, ordered=True)
    except BulkWriteError as e:
        # Ordered: the first nInserted were written and need their markers; the caller decides
        # what to do with the rest (an id another writer created first).
        await _mark_inserted(collection, created[: int(e.details.get("nInserted", 0))])
        raise
    await _mark_inserted(collection, created)


async def _mark_inserted(
    collection: AsyncCollection[Document], created: Sequence[tuple[Document, Sequence[Envelope]]]
) -> None:
    now = datetime.now(UTC)
    markers = [{"_id": doc["_id"], "since": now} for doc, events in created if events]
    if markers:
        with contextlib.suppress(BulkWriteError):  # a marker that exists already is what we want
            await pending_markers(collection).insert_many(markers, ordered=False)
        _wake_relays(collection)


async def update_aggregate(
    collection: AsyncCollection[Document],
    aggregate_id: Any,
    *,
    expected_version: int,
    update: Mapping[str, Any],
    events: Sequence[Envelope],
    tombstones: Sequence[OutboxEntry] = (),
) -> int:
    """Apply `update` and append `events` (then `tombstones`) in one write, if the aggregate is still
    at `expected_version`.

    Returns the new version; raises ConcurrencyConflict when another command got there first.
    """
    merged, has_entries = _versioned_update(expected_version, update, events, tombstones)
    if not await update_if(collection, aggregate_id, {"version": expected_version}, merged):
        raise ConcurrencyConflict(collection.name, aggregate_id, expected_version)
    if has_entries:
        await _mark_pending(collection, aggregate_id)
    return expected_version + len(events)


async def update_aggregate_returning(
    collection: AsyncCollection[Document],
    aggregate_id: Any,
    *,
    expected_version: int,
    update: Mapping[str, Any],
    events: Sequence[Envelope],
) -> Document:
    """`update_aggregate` that answers with the aggregate as the write left it (without its outbox
    or the relay's lease), in the same round trips, saving the read a command would make after it."""
    merged, has_entries = _versioned_update(expected_version, update, events, ())
    after = await update_if_returning(
        collection, aggregate_id, {"version": expected_version}, merged, projection=NOT_THE_OUTBOX
    )
    if after is None:
        raise ConcurrencyConflict(collection.name, aggregate_id, expected_version)
    if has_entries:
        await _mark_pending(collection, aggregate_id)
    return {k: v for k, v in after.items() if k not in NOT_THE_OUTBOX}


# The outbox and the relay's lease: the relay's business, never part of a command's view.
NOT_THE_OUTBOX = {"outbox": 0, "outbox_lease": 0}


def _versioned_update(
    expected_version: int,
    update: Mapping[str, Any],
    events: Sequence[Envelope],
    tombstones: Sequence[OutboxEntry],
) -> tuple[dict[str, Any], bool]:
    """`update` with the next version set and the events' (then the tombstones') entries pushed."""
    merged: dict[str, Any] = {op: dict(fields) for op, fields in update.items()}
    merged.setdefault("$set", {})["version"] = expected_version + len(events)
    entries = [outbox_entry(e) for e in events] + list(tombstones)
    if entries:
        merged.setdefault("$push", {})["outbox"] = {"$each": entries}
    return merged, bool(entries)


async def _mark_pending(collection: AsyncCollection[Document], aggregate_id: Any) -> None:
    """Note that an aggregate has events to publish, so relays need not scan the whole collection.

    Written after the aggregate: a crash in between leaves events without a marker, which the
    relay's occasional full scan adopts; a marker without events costs one empty look.
    """
    # FerretDB runs an upsert as look-then-insert, so a concurrent marking of the same aggregate
    # can fail on the unique _id: the marker exists, which is all this wanted.
    with contextlib.suppress(DuplicateKeyError):
        await pending_markers(collection).update_one(
            {"_id": aggregate_id}, {"$setOnInsert": {"since": datetime.now(UTC)}}, upsert=True
        )
    _wake_relays(collection)


# The relays running in this process, by the collection they drain: a write wakes them at once,
# so the poll interval only matters for events written by other processes.
_RELAYS: dict[str, weakref.WeakSet[OutboxRelay]] = {}


def _wake_relays(collection: AsyncCollection[Document]) -> None:
    for relay in _RELAYS.get(collection.full_name, ()):
        relay.wake()


class OutboxRelay:
    """Drains the outbox arrays of some collections to Kafka, in order per aggregate.

    A lease on the document keeps two relays from draining the same aggregate at once; if a relay
    dies its lease runs out and another takes over, republishing what was not yet pulled.
    """

    def __init__(
        self,
        db: AsyncDatabase[Document],
        collections: Sequence[str],
        publish: Publish,
        *,
        metrics: OutboxMetrics | None = None,
        owner: str | None = None,
        lease: timedelta = timedelta(seconds=30),
        idle_interval: float = 1.0,
        max_documents: int = 500,
        concurrency: int = 16,
        full_scan_every: timedelta = timedelta(minutes=1),
    ) -> None:
        self.db = db
        self.collections = list(collections)
        self.publish = publish
        self.metrics = metrics
        self.owner = owner or new_owner()
        self.lease = lease
        self.idle_interval = idle_interval
        self.max_documents = max_documents
        self.concurrency = concurrency
        self.full_scan_every = full_scan_every
        self._next_full_scan: datetime | None = None
        self._backlog: dict[str, list[OutboxEntry]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Tell the relay that new events were written, so it does not wait for the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbox-relay")
        for name in self.collections:
            _RELAYS.setdefault(self.db[name].full_name, weakref.WeakSet()).add(self)

    async def stop(self) -> None:
        for name in self.collections:
            _RELAYS.get(self.db[name].full_name, weakref.WeakSet()).discard(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        backoff = self.idle_interval
        while True:
            # Cleared before draining, so a write during the drain still wakes the next round.
            self._wake.clear()
            try:
                published = await self.drain_once()
                backoff = self.idle_interval
            except (ConnectionFailure, OSError) as e:
                # The database is unreachable: nothing is lost (the events stay in the outbox).
                log.warning("outbox relay cannot reach the database, retrying", extra={"error": str(e)})
                published = 0
                backoff = min(backoff * 2, 5.0)
            except Exception as e:  # the relay must outlive any one bad round
                log.error("outbox relay failed, retrying", extra={"error": repr(e)})
                published = 0
                backoff = min(backoff * 2, 5.0)
            if published == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=backoff)

    async def drain_once(self) -> int:
        """Publish everything pending now; returns the number of events published."""
        now = datetime.now(UTC)
        if self._next_full_scan is None or now >= self._next_full_scan:
            await self.adopt_unmarked()
            self._next_full_scan = now + self.full_scan_every
        markers: list[tuple[str, Document]] = []
        for name in self.collections:
            # No filter and no sort: FerretDB then reads only `limit` rows (in insertion order).
            async for marker in pending_markers(self.db[name]).find({}, limit=self.max_documents):
                markers.append((name, marker))
        self._backlog = {}
        gate = asyncio.Semaphore(self.concurrency)

        async def drain(name: str, marker: Document) -> int:
            async with gate:
                return await self._drain_document(self.db[name], marker["_id"])

        results = await asyncio.gather(*(drain(n, m) for n, m in markers), return_exceptions=True)
        counts = []
        for (name, marker), result in zip(markers, results, strict=True):
            if isinstance(result, BaseException):
                log.error(
                    "outbox relay could not drain an aggregate",
                    extra={"collection": name, "aggregate": str(marker["_id"]), "error": repr(result)},
                )
            else:
                counts.append(result)
        self._record_backlog([m for _, m in markers], now)
        return sum(counts)

    async def adopt_unmarked(self) -> int:
        """Mark aggregates holding events without a pending marker (a writer died between its two
        writes, or wrote from another process). A full scan: run at start and now and then."""
        adopted = 0
        for name in self.collections:
            collection = self.db[name]
            async for doc in collection.find({"outbox.0": {"$exists": True}}, {"_id": 1}):
                marker = await pending_markers(collection).find_one({"_id": doc["_id"]})
                if marker is None:
                    await _mark_pending(collection, doc["_id"])
                    adopted += 1
        if adopted:
            log.warning("outbox relay adopted aggregates with unmarked events", extra={"count": adopted})
        return adopted

    async def _drain_document(self, collection: AsyncCollection[Document], doc_id: Any) -> int:
        now = datetime.now(UTC)
        free = {
            "$or": [
                {"outbox_lease": {"$exists": False}},
                {"outbox_lease.until": {"$lt": now}},
                {"outbox_lease.owner": self.owner},
            ]
        }
        lease = {"$set": {"outbox_lease": {"owner": self.owner, "until": now + self.lease}}}
        # Taking the lease answers with the outbox it now guards: one round trip, not two.
        claimed = await update_if_returning(collection, doc_id, free, lease, projection={"outbox": 1})
        if claimed is None:
            if await collection.find_one({"_id": doc_id}, {"_id": 1}) is None:
                await pending_markers(collection).delete_one({"_id": doc_id})  # the aggregate is gone
            return 0  # else another relay holds it
        # Stop publishing well before the lease runs out, so no second relay can interleave.
        deadline = asyncio.get_running_loop().time() + self.lease.total_seconds() * 2 / 3
        entries: list[OutboxEntry] = claimed.get("outbox", [])
        self._backlog[f"{collection.name}/{doc_id}"] = entries
        published: list[OutboxEntry] = []
        try:
            for entry in entries:
                remaining = deadline - asyncio.get_running_loop().time()
                if remaining <= 0:
                    break
                await asyncio.wait_for(self.publish(entry), timeout=remaining)
                published.append(entry)
        except Exception as e:
            # Kafka is unreachable, slow or refused: keep the rest in order for the next round.
            log.warning(
                "outbox relay could not publish, will retry",
                extra={"event_id": entries[len(published)]["id"], "error": repr(e)},
            )
        await self._acknowledge(collection, doc_id, published)
        return len(published)

    async def _acknowledge(
        self, collection: AsyncCollection[Document], doc_id: Any, published: list[OutboxEntry]
    ) -> None:
        """Remove what Kafka acknowledged, release our lease, drop the marker once nothing is left.

        `$pullAll` of the exact entries is a pull by event id that FerretDB v1 also supports (it
        ignores query conditions inside `$pull`). The lease is released only if it is still ours;
        what Kafka acknowledged is removed either way.
        """
        release = {"$unset": {"outbox_lease": ""}}
        pull = {"$pullAll": {"outbox": published}} if published else {}
        # Under the document's lock throughout, so no writer of this process adds events between the
        # look at what is left and the marker's removal. The write answers with the outbox as it left
        # it: no read after it. A writer in another process (MongoDB with replicas) may append and
        # find the marker still there just before it goes: a second look after the removal marks
        # the aggregate again (FerretDB runs one writing process per service, so it needs none).
        async with document_locks.hold(collection.full_name, doc_id):
            left = await update_if_returning(
                collection,
                doc_id,
                {"outbox_lease.owner": self.owner},
                {**pull, **release},
                projection={"outbox.id": 1},
                locked=True,
            )
            if left is None:  # the lease ran out and was taken: remove what Kafka has, all the same
                if pull:
                    await collection.update_one({"_id": doc_id}, pull)
                left = await collection.find_one({"_id": doc_id}, {"outbox.id": 1})
            if not (left or {}).get("outbox"):
                await pending_markers(collection).delete_one({"_id": doc_id})
                if await updates_are_atomic(collection) and await collection.find_one(
                    {"_id": doc_id, "outbox.0": {"$exists": True}}, {"_id": 1}
                ):
                    await _mark_pending(collection, doc_id)
        if published and self.metrics is not None:
            self.metrics.published.inc(len(published))

    def _record_backlog(self, markers: list[Document], now: datetime) -> None:
        """Pending events as seen at the start of this round, and the age of the oldest marker."""
        if self.metrics is None:
            return
        self.metrics.pending.set(sum(len(entries) for entries in self._backlog.values()))
        oldest = min((m["since"] for m in markers), default=None)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        self.metrics.oldest_age.set((now - oldest).total_seconds() if oldest else 0.0)
