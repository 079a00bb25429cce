"""Typed aggregates, and the stores that keep them with their events.

An aggregate is a pydantic model whose methods check the rules, change its state and return the
events the change raises; it does no I/O. A store keeps aggregates of one kind:

- `create(aggregate, events)` writes a new one with its first events;
- `change(id, command)` reads one, runs `command` on a copy and writes the new state with the events
  the command returned, at the version it read. A concurrent writer makes the command run again on
  the fresher state (optimistic concurrency); commands on one aggregate take turns within a process,
  so a burst of them costs one read and one write each instead of every loser retrying. Given the
  aggregate as the caller just read or wrote it (`current=`), the first run saves the read.

`MongoAggregateStore` turns the new state into the versioned single-document write of
`roadbranch_shared.outbox` (the changed top-level fields in one `$set`, the events in the same
update), so the relay publishes them. `InMemoryAggregateStore` keeps the same rules in a dict and
keeps what it would publish in `published`: per-command tests run on it without any server.

A stored document is the aggregate's fields as given (`model_dump(exclude_unset=True)`): a field
never set is not written, so documents written before a field existed read and write back as they
were. Fields the model does not declare are kept as they are (`extra="allow"`).
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from roadbranch_shared.documents import Document, DocumentLocks
from roadbranch_shared.events import EventPayload
from roadbranch_shared.outbox import (
    NOT_THE_OUTBOX,
    ConcurrencyConflict,
    OutboxEntry,
    insert_aggregate,
    outbox_entry,
    retry_on_conflict,
    stage_events,
    update_aggregate_returning,
)

# What the store and its relay keep beside the aggregate's own fields (never part of the model).
BOOKKEEPING = ("version", "outbox", "outbox_lease")


class Aggregate(BaseModel):
    """Base of the typed aggregates: an id (stored as `_id`) and the fields of its kind."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", arbitrary_types_allowed=True)

    id: str = Field(alias="_id")
    # How many events the aggregate has raised so far, set by the store that read or wrote it.
    _version: int = PrivateAttr(default=0)

    @property
    def version(self) -> int:
        return self._version

    def document(self) -> Document:
        """The aggregate as it is stored (and as the services' answers are built from)."""
        return self.model_dump(by_alias=True, exclude_unset=True)


A = TypeVar("A", bound=Aggregate)
Command = Callable[[A], Sequence[EventPayload]]


class OneOf(tuple[Any, ...]):
    """A `find` condition: the field holds one of these values."""


@dataclass(frozen=True)
class Changed(Generic[A]):
    """What `change` did: the aggregate before and after, and the events it raised (none: no write)."""

    before: A
    after: A
    events: Sequence[EventPayload]


class AggregateStore(Protocol[A]):
    """Where aggregates of one kind are kept (MongoDB in the services, a dict in per-command tests)."""

    async def get(self, aggregate_id: str) -> A | None: ...

    async def find(
        self, where: Mapping[str, Any] | None = None, *, after: str = "", limit: int | None = None
    ) -> list[A]:
        """Aggregates whose fields equal `where`'s values (or one of a `OneOf`), in id order from
        after `after`. Any condition but the id reads the whole collection: for a county's hundreds
        to thousands of aggregates."""
        ...

    async def create(self, aggregate: A, events: Sequence[EventPayload]) -> None:
        """Write a new aggregate; DuplicateKeyError if its id is taken."""
        ...

    async def change(
        self,
        aggregate_id: str,
        command: Command[A],
        *,
        missing: Exception,
        tries: int = 20,
        current: A | None = None,
    ) -> Changed[A]:
        """Run `command` on the aggregate and write what it changed with its events; `missing` is
        raised when there is no such aggregate, and whatever the command raises leaves it as it was.
        `current`: the aggregate as the caller just read or wrote it; the first run takes it instead
        of reading, and if it is no longer current (its version moved on) the command runs again on
        the aggregate as stored."""
        ...


def field_changes(before: Document, after: Document) -> dict[str, Any]:
    """The update that turns stored `before` into `after`: changed or new fields set, gone ones unset."""
    update: dict[str, Any] = {}
    changed = {k: v for k, v in after.items() if k not in before or before[k] != v}
    gone = {k: "" for k in before if k not in after}
    if changed:
        update["$set"] = changed
    if gone:
        update["$unset"] = gone
    return update


def matches(document: Document, where: Mapping[str, Any]) -> bool:
    """`find`'s conditions on a document (the in-memory store's query)."""
    for name, wanted in where.items():
        value = document.get(name)
        held = value if isinstance(value, list) else [value]  # MongoDB: an array matches what it holds
        if isinstance(wanted, OneOf):
            if not any(v in wanted for v in held) and value not in wanted:
                return False
        elif value != wanted and wanted not in held:
            return False
    return True


def as_bson_keeps(value: Any) -> Any:
    """A copy of `value` as MongoDB would give it back: times to the millisecond."""
    if isinstance(value, datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    if isinstance(value, dict):
        return {k: as_bson_keeps(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_bson_keeps(v) for v in value]
    return copy.deepcopy(value)


def mongo_query(where: Mapping[str, Any], after: str) -> Document:
    query: Document = {k: {"$in": list(v)} if isinstance(v, OneOf) else v for k, v in where.items()}
    if after:
        query["_id"] = {"$gt": after}
    return query


# Commands on one aggregate take turns within a process (a burst costs one read and one write each
# instead of every loser retrying); the version check still guards against other processes. Not
# shared.documents' own locks: update_if takes those for the write inside a turn.
_turns = DocumentLocks()

Decision = tuple[Mapping[str, Any], Sequence[EventPayload]]
Decide = Callable[[Document], Decision | Awaitable[Decision]]


@dataclass(frozen=True)
class DocumentChanged:
    """What `change_document` did: the document before (empty if it created it) and as stored
    after, and the events."""

    before: Document
    after: Document
    events: Sequence[EventPayload]


async def create_document(
    collection: AsyncCollection[Document],
    document: Document,
    events: Sequence[EventPayload],
    *,
    source: str,
    correlation_id: str | None = None,
) -> None:
    """Write a new aggregate document with its first events (DuplicateKeyError if its id is taken)."""
    staged = stage_events(
        events, source=source, subject=str(document["_id"]), from_version=0, correlation_id=correlation_id
    )
    await insert_aggregate(collection, document, staged)


async def change_document(
    collection: AsyncCollection[Document],
    aggregate_id: Any,
    decide: Decide,
    *,
    source: str,
    missing: Exception | None = None,
    or_create: Callable[[], tuple[Document, Sequence[EventPayload]]] | None = None,
    tries: int = 20,
) -> DocumentChanged:
    """The untyped `change`: `decide(current)` (sync or async; it may refuse by raising) returns a
    MongoDB update and the events, written in one update at the version read, again on a conflict.
    An empty update without events writes nothing. Where there is no such aggregate, `or_create()`
    gives the new document and its first events (a writer creating it first makes this decide on
    his), else `missing` is raised."""

    async def once() -> DocumentChanged:
        current = await collection.find_one({"_id": aggregate_id}, NOT_THE_OUTBOX)
        if current is None and or_create is not None:
            document, first = or_create()
            try:
                await create_document(collection, {**document, "_id": aggregate_id}, first, source=source)
            except DuplicateKeyError:
                raise ConcurrencyConflict(collection.name, aggregate_id, 0) from None
            created = await collection.find_one({"_id": aggregate_id}, NOT_THE_OUTBOX)  # as stored
            return DocumentChanged({}, created or {}, first)
        if current is None:
            raise missing if missing is not None else LookupError(f"{collection.name}/{aggregate_id}")
        decided = decide(current)
        update, events = await decided if inspect.isawaitable(decided) else decided
        if not update and not events:
            return DocumentChanged(current, current, events)
        staged = stage_events(
            events, source=source, subject=str(aggregate_id), from_version=current["version"]
        )
        after = await update_aggregate_returning(
            collection, aggregate_id, expected_version=current["version"], update=update, events=staged
        )
        return DocumentChanged(current, after, events)

    async with _turns.hold(collection.full_name, aggregate_id):
        return await retry_on_conflict(once, tries=tries)


class _Versioned(Generic[A]):
    """What both stores share: building aggregates from stored documents, and running a command."""

    def __init__(self, model: type[A], source: str, name: str) -> None:
        self.model = model
        self.source = source
        self.name = name  # whose commands take turns: one per collection

    def _load(self, stored: Document) -> tuple[A, int]:
        fields = {k: v for k, v in stored.items() if k not in BOOKKEEPING}
        aggregate = self.model.model_validate(fields)
        aggregate._version = int(stored.get("version", 0))
        return aggregate, aggregate.version

    async def _read(self, aggregate_id: str) -> Document | None:
        raise NotImplementedError

    async def _write(
        self, aggregate_id: str, version: int, update: dict[str, Any], events: Sequence[EventPayload]
    ) -> Document:
        """Write at `version` (ConcurrencyConflict if it moved on); the document as stored after."""
        raise NotImplementedError

    def _staged(self, aggregate_id: str, events: Sequence[EventPayload], from_version: int) -> list[Any]:
        return stage_events(events, source=self.source, subject=aggregate_id, from_version=from_version)

    async def get(self, aggregate_id: str) -> A | None:
        stored = await self._read(aggregate_id)
        return None if stored is None else self._load(stored)[0]

    async def change(
        self,
        aggregate_id: str,
        command: Command[A],
        *,
        missing: Exception,
        tries: int = 20,
        current: A | None = None,
    ) -> Changed[A]:
        if current is not None and current.id != aggregate_id:
            raise ValueError(f"{self.model.__name__} {current.id} given to change {aggregate_id}")
        known = [current] if current is not None else []

        async def once() -> Changed[A]:
            if known:  # the caller's, on the first run only: a conflict reads it as stored
                before = known.pop()
                version = before.version
            else:
                stored = await self._read(aggregate_id)
                if stored is None:
                    raise missing
                before, version = self._load(stored)
            after = before.model_copy(deep=True)
            events = list(command(after))
            update = field_changes(before.document(), after.document())
            if update or events:
                # As stored (BSON keeps times to the millisecond), so an answer shows what a read will.
                after = self._load(await self._write(aggregate_id, version, update, events))[0]
            return Changed(before, after, events)

        async with _turns.hold(self.name, aggregate_id):
            return await retry_on_conflict(once, tries=tries)


class MongoAggregateStore(_Versioned[A]):
    """Aggregates in a MongoDB collection, their events through the collection's outbox."""

    def __init__(self, collection: AsyncCollection[Document], model: type[A], *, source: str) -> None:
        super().__init__(model, source, collection.full_name)
        self.collection = collection

    async def _read(self, aggregate_id: str) -> Document | None:
        return await self.collection.find_one({"_id": aggregate_id}, NOT_THE_OUTBOX)

    async def _write(
        self, aggregate_id: str, version: int, update: dict[str, Any], events: Sequence[EventPayload]
    ) -> Document:
        staged = self._staged(aggregate_id, events, version)
        return await update_aggregate_returning(
            self.collection, aggregate_id, expected_version=version, update=update, events=staged
        )

    async def find(
        self, where: Mapping[str, Any] | None = None, *, after: str = "", limit: int | None = None
    ) -> list[A]:
        cursor = self.collection.find(
            mongo_query(where or {}, after),
            NOT_THE_OUTBOX,
            sort=[("_id", 1)],
            limit=limit or 0,
        )
        return [self._load(d)[0] async for d in cursor]

    async def create(self, aggregate: A, events: Sequence[EventPayload]) -> None:
        staged = self._staged(aggregate.id, events, 0)
        await insert_aggregate(self.collection, aggregate.document(), staged)
        aggregate._version = len(events)


class InMemoryAggregateStore(_Versioned[A]):
    """Aggregates in a dict, with the same versions and events as MongoDB would keep: for tests.

    `published` holds the outbox entries a relay would publish, in the order they were written."""

    def __init__(self, model: type[A], *, source: str) -> None:
        super().__init__(model, source, f"memory-{id(self)}")
        self.documents: dict[str, Document] = {}
        self.published: list[OutboxEntry] = []

    def events(self, event_type: str | None = None) -> list[Document]:
        """The published events' `data`, of one type or all."""
        return [
            json.loads(e["body"])["data"]
            for e in self.published
            if e["body"] is not None and event_type in (None, e["type"])
        ]

    async def _read(self, aggregate_id: str) -> Document | None:
        stored = self.documents.get(aggregate_id)
        return copy.deepcopy(stored) if stored is not None else None

    async def _write(
        self, aggregate_id: str, version: int, update: dict[str, Any], events: Sequence[EventPayload]
    ) -> Document:
        stored = self.documents.get(aggregate_id)
        if stored is None or stored["version"] != version:
            raise ConcurrencyConflict(self.model.__name__, aggregate_id, version)
        entries = [outbox_entry(e) for e in self._staged(aggregate_id, events, version)]
        for name, value in update.get("$set", {}).items():
            stored[name] = as_bson_keeps(value)
        for name in update.get("$unset", {}):
            stored.pop(name, None)
        stored["version"] = version + len(events)
        self.published.extend(entries)
        return copy.deepcopy(stored)

    async def find(
        self, where: Mapping[str, Any] | None = None, *, after: str = "", limit: int | None = None
    ) -> list[A]:
        found = [
            self._load(copy.deepcopy(d))[0]
            for key, d in sorted(self.documents.items())
            if key > after and matches(d, where or {})
        ]
        return found[:limit] if limit else found

    async def create(self, aggregate: A, events: Sequence[EventPayload]) -> None:
        if aggregate.id in self.documents:
            raise DuplicateKeyError(f"{self.model.__name__} {aggregate.id} exists")
        entries = [outbox_entry(e) for e in self._staged(aggregate.id, events, 0)]
        self.documents[aggregate.id] = {**as_bson_keeps(aggregate.document()), "version": len(events)}
        self.published.extend(entries)
        aggregate._version = len(events)


__all__ = [
    "Aggregate",
    "AggregateStore",
    "Changed",
    "Decision",
    "DocumentChanged",
    "InMemoryAggregateStore",
    "MongoAggregateStore",
    "OneOf",
    "change_document",
    "create_document",
    "field_changes",
]
