"""The aggregate stores keep one contract: the in-memory store (for per-command tests) and the MongoDB
store on the real FerretDB of the session and on mongo-java-server (marked integration) pass the same
tests."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.aggregates import (
    Aggregate,
    AggregateStore,
    Decision,
    InMemoryAggregateStore,
    MongoAggregateStore,
    OneOf,
    change_document,
    create_document,
    field_changes,
)
from roadbranch_shared.events import EventPayload, event_type
from roadbranch_shared.topics import Topic

COUNTERS = Topic("test.aggregates.counter.v1", 1, key="counter id")
SOURCE = "/roadbranch/test"


@event_type("test.aggregates.counted.v1", topic=COUNTERS)
class Counted(EventPayload):
    counter_id: str
    total: int


class Counter(Aggregate):
    owner: str
    total: int = 0
    notes: list[str] = []  # noqa: RUF012 (pydantic copies defaults)
    closed_by: str | None = None
    closed_at: datetime | None = None

    def add(self, amount: int, note: str = "") -> list[EventPayload]:
        if self.closed_by is not None:
            raise ValueError("closed")
        self.total += amount
        if note:
            self.notes = [*self.notes, note]
        return [Counted(counter_id=self.id, total=self.total)]

    def close(self, by: str, at: datetime | None = None) -> list[EventPayload]:
        self.closed_by, self.closed_at = by, at
        return []


class Missing(Exception):
    pass


MISSING = Missing("no such counter")


MONGO_SERVERS = [
    pytest.param("ferretdb", marks=pytest.mark.integration),
    pytest.param("mongo_java", marks=pytest.mark.integration),
]


def mongo_uri(request: pytest.FixtureRequest, name: str) -> str:
    """The URI of the session's FerretDB or mongo-java-server, started on demand."""
    if name == "ferretdb":
        return str(request.getfixturevalue("stack_info").mongo_uri)
    return str(request.getfixturevalue("mongo_java").uri)


@pytest.fixture(params=["memory", *MONGO_SERVERS])
def server(request: pytest.FixtureRequest) -> str | None:
    """None for the in-memory store, else the URI of a MongoDB-wire server."""
    return None if request.param == "memory" else mongo_uri(request, request.param)


@pytest.fixture
async def store(server: str | None) -> AsyncIterator[AggregateStore[Counter]]:
    if server is None:
        yield InMemoryAggregateStore(Counter, source=SOURCE)
        return
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(server, tz_aware=True)
    db = client[f"aggregates_{uuid.uuid4().hex[:8]}"]
    try:
        yield MongoAggregateStore(db.counters, Counter, source=SOURCE)
    finally:
        await client.drop_database(db.name)
        await client.close()


async def stored(store: AggregateStore[Counter], counter_id: str) -> dict[str, Any]:
    """The stored document with its bookkeeping (version, outbox entries), as the relay would see it."""
    if isinstance(store, InMemoryAggregateStore):
        document = dict(store.documents[counter_id])
        document["outbox"] = [e for e in store.published if e["key"] == counter_id]
        return document
    assert isinstance(store, MongoAggregateStore)
    found = await store.collection.find_one({"_id": counter_id})
    assert found is not None
    return found


def payloads(document: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(type, sequence, total) of each event in a stored document's outbox."""
    bodies = [json.loads(e["body"]) for e in document["outbox"]]
    return [(b["type"], b["seq"], b["data"]["total"]) for b in bodies]


async def test_a_new_aggregate_is_stored_with_its_first_events_and_only_the_fields_given(
    store: AggregateStore[Counter],
) -> None:
    counter = Counter(id="c1", owner="o1", total=2)
    await store.create(counter, [Counted(counter_id="c1", total=2)])

    document = await stored(store, "c1")
    assert {k: v for k, v in document.items() if k != "outbox"} == {
        "_id": "c1",
        "owner": "o1",
        "total": 2,
        "version": 1,
    }
    assert payloads(document) == [("test.aggregates.counted.v1", 1, 2)]
    assert await store.get("c1") == counter
    again = await store.get("c1")
    assert again is not None
    assert (counter.version, again.version) == (1, 1)
    assert await store.get("nobody") is None


async def test_a_change_writes_the_changed_fields_with_the_events_at_the_next_versions(
    store: AggregateStore[Counter],
) -> None:
    await store.create(Counter(id="c2", owner="o1"), [])
    changed = await store.change("c2", lambda c: c.add(3, "first") + c.add(4), missing=MISSING)

    assert (changed.before.total, changed.after.total) == (0, 7)
    assert [e.total for e in changed.events] == [3, 7]  # type: ignore[attr-defined]
    document = await stored(store, "c2")
    assert (document["version"], document["total"], document["notes"]) == (2, 7, ["first"])
    assert changed.after.version == 2
    assert payloads(document) == [("test.aggregates.counted.v1", 1, 3), ("test.aggregates.counted.v1", 2, 7)]
    assert "closed_by" not in document  # never set, never written


async def test_a_change_without_events_still_writes_the_state_and_keeps_the_version(
    store: AggregateStore[Counter],
) -> None:
    await store.create(Counter(id="c3", owner="o1"), [Counted(counter_id="c3", total=0)])
    await store.change("c3", lambda c: c.close("staff-1"), missing=MISSING)
    document = await stored(store, "c3")
    assert (document["closed_by"], document["version"]) == ("staff-1", 1)


async def test_a_refused_command_leaves_the_aggregate_as_it_was(store: AggregateStore[Counter]) -> None:
    await store.create(Counter(id="c4", owner="o1", closed_by="staff-1"), [])
    with pytest.raises(ValueError, match="closed"):
        await store.change("c4", lambda c: c.add(1), missing=MISSING)
    with pytest.raises(Missing):
        await store.change("nobody", lambda c: c.add(1), missing=MISSING)
    document = await stored(store, "c4")
    assert (document.get("total"), document["version"], document["outbox"]) == (None, 0, [])


async def test_an_id_is_created_once(store: AggregateStore[Counter]) -> None:
    await store.create(Counter(id="c5", owner="o1"), [])
    with pytest.raises(DuplicateKeyError):
        await store.create(Counter(id="c5", owner="o2"), [])
    found = await store.get("c5")
    assert found is not None
    assert found.owner == "o1"


async def test_concurrent_commands_on_one_aggregate_all_apply_in_turn(store: AggregateStore[Counter]) -> None:
    await store.create(Counter(id="c6", owner="o1"), [])
    await asyncio.gather(*(store.change("c6", lambda c: c.add(1), missing=MISSING) for _ in range(25)))
    document = await stored(store, "c6")
    assert (document["total"], document["version"]) == (25, 25)
    assert [total for _, _, total in payloads(document)] == list(range(1, 26))


async def test_a_change_on_the_aggregate_the_caller_has_writes_at_its_version(
    store: AggregateStore[Counter],
) -> None:
    counter = Counter(id="c9", owner="o1")
    await store.create(counter, [])
    first = await store.change("c9", lambda c: c.add(2), missing=MISSING, current=counter)
    assert (first.before is counter, first.after.total, first.after.version) == (True, 2, 1)
    second = await store.change("c9", lambda c: c.add(3), missing=MISSING, current=first.after)
    assert (second.after.total, second.after.version) == (5, 2)
    assert (counter.total, counter.version) == (0, 0), "the caller's aggregate is not changed"

    # No longer current (written meanwhile): the command runs again on the aggregate as stored.
    stale = await store.change("c9", lambda c: c.add(10), missing=MISSING, current=first.after)
    assert (stale.before.total, stale.after.total, stale.after.version) == (5, 15, 3)
    document = await stored(store, "c9")
    assert [total for _, _, total in payloads(document)] == [2, 5, 15]
    with pytest.raises(ValueError, match="c9"):
        await store.change("other", lambda c: c.add(1), missing=MISSING, current=stale.after)
    with pytest.raises(Missing):  # given, but never stored
        await store.change("c10", lambda c: c.add(1), missing=MISSING, current=Counter(id="c10", owner="o1"))


async def test_a_change_on_the_aggregate_the_caller_has_reads_nothing_first() -> None:
    store = InMemoryAggregateStore(Counter, source=SOURCE)
    counter = Counter(id="r1", owner="o1")
    await store.create(counter, [])
    reads: list[str] = []
    read = store._read

    async def counted(aggregate_id: str) -> dict[str, Any] | None:
        reads.append(aggregate_id)
        return await read(aggregate_id)

    store._read = counted  # type: ignore[method-assign]
    await store.change("r1", lambda c: c.add(1), missing=MISSING, current=counter)
    assert reads == []
    await store.change("r1", lambda c: c.add(1), missing=MISSING)
    assert reads == ["r1"]


async def test_find_by_fields_in_id_order_a_page_at_a_time(store: AggregateStore[Counter]) -> None:
    for i, owner in enumerate(["a", "b", "a", "c", "a"]):
        await store.create(Counter(id=f"f{i}", owner=owner, total=i), [])
    assert [c.id for c in await store.find({"owner": "a"})] == ["f0", "f2", "f4"]
    assert [c.id for c in await store.find({"owner": OneOf(("b", "c"))})] == ["f1", "f3"]
    assert [c.id for c in await store.find({"owner": "a"}, after="f0", limit=1)] == ["f2"]
    assert [c.id for c in await store.find(limit=2)] == ["f0", "f1"]
    await store.change("f1", lambda c: c.add(1, "x") + c.add(1, "y"), missing=MISSING)
    assert [c.id for c in await store.find({"notes": "y"})] == ["f1"]  # a list field holds the value
    assert [c.id for c in await store.find({"notes": OneOf(("z", "x"))})] == ["f1"]


async def test_fields_the_model_does_not_know_are_kept_through_a_change(
    store: AggregateStore[Counter],
) -> None:
    if isinstance(store, InMemoryAggregateStore):
        store.documents["c7"] = {"_id": "c7", "owner": "o1", "total": 1, "legacy": {"x": 1}, "version": 0}
    else:
        assert isinstance(store, MongoAggregateStore)
        await store.collection.insert_one(
            {"_id": "c7", "owner": "o1", "total": 1, "legacy": {"x": 1}, "version": 0}
        )
    changed = await store.change("c7", lambda c: c.add(1), missing=MISSING)
    assert changed.after.document()["legacy"] == {"x": 1}
    document = await stored(store, "c7")
    assert (document["legacy"], document["total"], document["version"]) == ({"x": 1}, 2, 1)


def test_the_update_of_a_change_names_only_what_changed() -> None:
    before = {"_id": "x", "a": 1, "b": [1], "gone": True}
    after = {"_id": "x", "a": 1, "b": [1, 2], "new": None}
    assert field_changes(before, after) == {"$set": {"b": [1, 2], "new": None}, "$unset": {"gone": ""}}
    assert field_changes(before, dict(before)) == {}


async def test_a_change_answers_what_is_stored_times_to_the_millisecond(
    store: AggregateStore[Counter],
) -> None:
    await store.create(Counter(id="c8", owner="o1"), [])
    at = datetime(2026, 12, 1, 8, 0, 0, 123456, tzinfo=UTC)
    changed = await store.change("c8", lambda c: c.close("staff-1", at), missing=MISSING)
    assert changed.after.closed_at == at.replace(microsecond=123000)
    found = await store.get("c8")
    assert found == changed.after


@pytest.fixture(params=MONGO_SERVERS)
async def collection(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    uri = mongo_uri(request, request.param)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    db = client[f"documents_{uuid.uuid4().hex[:8]}"]
    try:
        yield db.counters
    finally:
        await client.drop_database(db.name)
        await client.close()


@pytest.mark.integration
async def test_the_document_change_decides_on_what_it_read_and_writes_at_that_version(
    collection: Any,
) -> None:
    await create_document(
        collection, {"_id": "d1", "total": 0}, [Counted(counter_id="d1", total=0)], source=SOURCE
    )

    def add(document: dict[str, Any]) -> Decision:
        total = document["total"] + 1
        return {"$set": {"total": total}}, [Counted(counter_id="d1", total=total)]

    async def add_later(document: dict[str, Any]) -> Decision:
        await asyncio.sleep(0)
        return add(document)

    await asyncio.gather(
        *(
            change_document(collection, "d1", add if i % 2 else add_later, source=SOURCE, missing=MISSING)
            for i in range(10)
        )
    )
    nothing = await change_document(collection, "d1", lambda d: ({}, []), source=SOURCE, missing=MISSING)
    assert nothing.after["version"] == 11
    with pytest.raises(Missing):
        await change_document(collection, "nobody", add, source=SOURCE, missing=MISSING)
    stored_document = await collection.find_one({"_id": "d1"})
    assert (stored_document["total"], stored_document["version"]) == (10, 11)
    assert [total for _, _, total in payloads(stored_document)] == list(range(11))
    assert [seq for _, seq, _ in payloads(stored_document)] == list(range(1, 12))


@pytest.mark.integration
async def test_a_document_change_may_create_it_once_and_a_second_writer_decides_on_that(
    collection: Any,
) -> None:
    def raise_once(document: dict[str, Any]) -> Decision:
        if document["raised"]:
            return {}, []
        return {"$set": {"raised": True}}, [Counted(counter_id="d2", total=1)]

    changes = [
        change_document(
            collection,
            "d2",
            raise_once,
            source=SOURCE,
            or_create=lambda: ({"raised": True}, [Counted(counter_id="d2", total=1)]),
        )
        for _ in range(5)
    ]
    results = await asyncio.gather(*changes)
    assert sum(bool(r.events) for r in results) == 1
    created = [r for r in results if r.events]
    assert created[0].before == {}
    stored_document = await collection.find_one({"_id": "d2"})
    assert (stored_document["raised"], stored_document["version"], len(stored_document["outbox"])) == (
        True,
        1,
        1,
    )
    with pytest.raises(LookupError):
        await change_document(collection, "nobody", raise_once, source=SOURCE)
