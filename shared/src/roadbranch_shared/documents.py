"""Conditional single-document writes that are correct and fast on both MongoDB and FerretDB v1.

FerretDB v1 (SQLite) applies an update as *find, then replace by `_id`* (not atomically), and it
only uses the `_id` index when the filter is exactly `{"_id": …}`: any other filter scans the
whole collection. So `update_if` does two different things with one meaning:

- on MongoDB, one atomic `update_one({"_id": id, **condition}, …)`;
- on FerretDB, under a per-document lock, `find_one({"_id": id})`, the condition evaluated here,
  then `update_one({"_id": id}, …)` — two index lookups instead of a scan, and no lost update
  between writers of one process. With FerretDB run one process per service.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

Document = dict[str, Any]

# What the outbox, the optimistic version check and idempotent consumers keep on a document: never
# part of what an API answers.
INTERNAL_FIELDS = frozenset({"outbox", "outbox_lease", "version", "applied"})


def public(doc: Mapping[str, Any], id_name: str | None = None, *, shown: Collection[str] = ()) -> Document:
    """A stored document as an API shows it: no `INTERNAL_FIELDS` but those in `shown`, and with
    `id_name` its `_id` first under that name."""
    hidden = INTERNAL_FIELDS.difference(shown)
    if id_name is None:
        return {k: v for k, v in doc.items() if k not in hidden}
    return {id_name: doc["_id"], **{k: v for k, v in doc.items() if k != "_id" and k not in hidden}}


def public_fields(*, shown: Collection[str] = (), also: Collection[str] = ()) -> dict[str, int]:
    """The MongoDB projection of `public`, for a read that need not fetch the bookkeeping at all:
    `INTERNAL_FIELDS` but those in `shown`, and `also`, are left out."""
    return {field: 0 for field in sorted(INTERNAL_FIELDS.difference(shown)) + list(also)}


class DocumentLocks:
    """One asyncio lock per (collection, _id), dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, Any], asyncio.Lock] = {}
        self._users: dict[tuple[str, Any], int] = {}

    @asynccontextmanager
    async def hold(self, collection: str, doc_id: Any) -> AsyncIterator[None]:
        key = (collection, doc_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                del self._locks[key]


# One set of locks per process: the locks guard documents, which every task in the process shares.
document_locks = DocumentLocks()

_ATOMIC: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


async def updates_are_atomic(collection: AsyncCollection[Document]) -> bool:
    """True on MongoDB; False on FerretDB (its buildInfo carries `ferretdbVersion`). Cached per client."""
    client = collection.database.client
    known = _ATOMIC.get(client)
    if known is None:
        info = await client.admin.command("buildInfo")
        known = _ATOMIC[client] = "ferretdbVersion" not in info
    return known


async def update_if(
    collection: AsyncCollection[Document],
    doc_id: Any,
    condition: Mapping[str, Any],
    update: Mapping[str, Any],
    *,
    upsert: bool = False,
) -> bool:
    """Apply `update` to the document `doc_id` if it matches `condition`; True if it was applied.

    With `upsert`, a missing document is created from the update. `condition` is a query on the
    document's fields using equality, `$ne`, `$lt`, `$lte`, `$gt`, `$gte`, `$exists`, `$in`,
    `$or` and `$and` (see `matches`), so it means the same on both servers.
    """
    async with document_locks.hold(collection.full_name, doc_id):
        try:
            return await _update_if(collection, doc_id, condition, update, upsert=upsert)
        except DuplicateKeyError as e:
            if not (upsert and _on_id(e)):
                raise  # a real unique-index violation is the caller's to report
            # Another writer (another process) created the document between our look and our
            # insert: the document exists now, so decide again without inserting.
            return await _update_if(collection, doc_id, condition, update, upsert=False)


async def _update_if(
    collection: AsyncCollection[Document],
    doc_id: Any,
    condition: Mapping[str, Any],
    update: Mapping[str, Any],
    *,
    upsert: bool,
) -> bool:
    if await updates_are_atomic(collection):
        result = await collection.update_one({"_id": doc_id, **condition}, dict(update), upsert=upsert)
        return result.matched_count > 0 or result.upserted_id is not None
    current = await collection.find_one({"_id": doc_id})
    if current is None:
        if not upsert:
            return False
    elif not matches(current, condition):
        return False
    result = await collection.update_one({"_id": doc_id}, dict(update), upsert=upsert)
    return result.matched_count > 0 or result.upserted_id is not None


async def update_if_returning(
    collection: AsyncCollection[Document],
    doc_id: Any,
    condition: Mapping[str, Any],
    update: Mapping[str, Any],
    *,
    projection: Mapping[str, Any] | None = None,
    locked: bool = False,
) -> Document | None:
    """`update_if` that answers with the document as the update left it (None if the condition did
    not hold or there is no such document), saving the read a caller would make after it.

    On MongoDB one atomic `find_one_and_update`; on FerretDB, under the per-document lock, the read
    that checks the condition and a `find_one_and_update` by `_id` alone (which uses the index).
    `projection` applies on MongoDB; FerretDB v1's findAndModify refuses one (`fields`), so there the
    whole document comes back. `locked`: the caller holds the document's lock already, to act on the
    answer before any other writer of this process can write (the lock is not reentrant).
    """
    if not locked:
        async with document_locks.hold(collection.full_name, doc_id):
            return await update_if_returning(
                collection, doc_id, condition, update, projection=projection, locked=True
            )
    query: dict[str, Any] = {"_id": doc_id, **condition}
    fields = dict(projection) if projection else None
    if not await updates_are_atomic(collection):
        current = await collection.find_one({"_id": doc_id}, {"_id": 1, **_condition_fields(condition)})
        if current is None or not matches(current, condition):
            return None
        query, fields = {"_id": doc_id}, None
    after: Document | None = await collection.find_one_and_update(
        query, dict(update), projection=fields, return_document=ReturnDocument.AFTER
    )
    return after


def _condition_fields(condition: Mapping[str, Any]) -> dict[str, int]:
    """The top-level fields a condition reads, to fetch no more of the document than it needs."""
    fields: dict[str, int] = {}
    for key, expected in condition.items():
        if key in ("$or", "$and"):
            for part in expected:
                fields.update(_condition_fields(part))
        else:
            fields[key.split(".")[0]] = 1
    return fields


def _on_id(error: DuplicateKeyError) -> bool:
    details = error.details or {}
    pattern = details.get("keyPattern")
    # FerretDB reports no keyPattern; its only unique index a plain upsert can hit here is _id.
    return pattern is None or dict(pattern) == {"_id": 1}


_MISSING = object()


def matches(document: Mapping[str, Any], condition: Mapping[str, Any]) -> bool:
    """Evaluate a MongoDB query condition on a document, as the server would."""
    for key, expected in condition.items():
        if key == "$or":
            if not any(matches(document, part) for part in expected):
                return False
        elif key == "$and":
            if not all(matches(document, part) for part in expected):
                return False
        elif not _field_matches(_lookup(document, key), expected):
            return False
    return True


def _lookup(document: Mapping[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _field_matches(value: Any, expected: Any) -> bool:
    if isinstance(expected, Mapping) and expected and all(str(k).startswith("$") for k in expected):
        return all(_operator(value, op, arg) for op, arg in expected.items())
    return _equals(value, expected)


def _equals(value: Any, expected: Any) -> bool:
    if value is _MISSING:
        return expected is None
    if isinstance(value, list) and not isinstance(expected, list):
        return expected in value  # an array field matches any of its elements
    return bool(value == expected)


def _utc(value: Any) -> Any:
    # BSON dates are UTC; a client without tz_aware gives them naive.
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


def _compare(value: Any, op: str, arg: Any) -> bool:
    candidates = value if isinstance(value, list) else [value]
    arg = _utc(arg)
    for v in map(_utc, candidates):
        if v is _MISSING or v is None:
            continue
        try:
            if (
                (op == "$lt" and v < arg)
                or (op == "$lte" and v <= arg)
                or (op == "$gt" and v > arg)
                or (op == "$gte" and v >= arg)
            ):
                return True
        except TypeError:
            continue  # values of another BSON type never compare
    return False


def _operator(value: Any, op: str, arg: Any) -> bool:
    if op == "$exists":
        return (value is not _MISSING) == bool(arg)
    if op == "$ne":
        return not _equals(value, arg)
    if op == "$in":
        return any(_equals(value, a) for a in arg)
    if op in ("$lt", "$lte", "$gt", "$gte"):
        return _compare(value, op, arg)
    raise ValueError(f"update_if does not support the query operator {op}")
