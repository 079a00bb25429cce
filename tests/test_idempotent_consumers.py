"""Outbox writes, the relay and the idempotent-consumer helpers on the real FerretDB (not atomic updates)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from roadbranch_shared.consumers import apply_in_order, apply_once
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.documents import update_if_returning
from roadbranch_shared.events import Envelope
from roadbranch_shared.outbox import (
    ConcurrencyConflict,
    OutboxRelay,
    insert_aggregate,
    outbox_entry,
    pending_markers,
    stage_events,
    update_aggregate,
)
from tally_events import Counted

pytestmark = pytest.mark.integration


@pytest.fixture
async def db(stack_info: StackInfo) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    yield client[f"helpers_{uuid.uuid4().hex[:8]}"]
    await client.close()


def event(counter: str, seq: int, amount: int = 1) -> Envelope:
    [envelope] = stage_events(
        [Counted(counter_id=counter, amount=amount)], source="/tests", subject=counter, from_version=seq - 1
    )
    return envelope


async def test_apply_once_applies_an_event_once_and_ignores_its_redelivery(db: Any) -> None:
    first = event("c1", 1)
    assert await apply_once(db.views, "c1", first, {"$inc": {"total": 1}}) is True
    assert await apply_once(db.views, "c1", first, {"$inc": {"total": 1}}) is False
    assert await apply_once(db.views, "c1", event("c1", 2), {"$inc": {"total": 1}}) is True
    doc = await db.views.find_one({"_id": "c1"})
    assert doc["total"] == 2
    assert len(doc["applied"]) == 2


async def test_concurrent_applies_to_one_document_lose_no_update(db: Any) -> None:
    # FerretDB applies an update as find-then-replace; the per-document lock must serialise them.
    events = [event("hot", seq) for seq in range(1, 41)]
    results = await asyncio.gather(*(apply_once(db.views, "hot", e, {"$inc": {"total": 1}}) for e in events))
    assert all(results)
    assert (await db.views.find_one({"_id": "hot"}))["total"] == 40


async def test_a_conditional_update_answers_with_the_document_it_left_and_loses_no_update(db: Any) -> None:
    await db.leases.insert_one({"_id": "a", "items": [1, 2, 3], "holder": None})
    taken = await update_if_returning(db.leases, "a", {"holder": None}, {"$set": {"holder": "me"}})
    assert taken == {"_id": "a", "items": [1, 2, 3], "holder": "me"}
    assert await update_if_returning(db.leases, "a", {"holder": None}, {"$set": {"holder": "you"}}) is None
    assert await update_if_returning(db.leases, "nobody", {}, {"$set": {"holder": "me"}}) is None
    # Concurrent conditional pulls, each seeing the state its own write left: no lost update.
    pulls = [
        update_if_returning(db.leases, "a", {"holder": "me"}, {"$pullAll": {"items": [n]}}) for n in (1, 2, 3)
    ]
    left = [len(doc["items"]) for doc in await asyncio.gather(*pulls)]
    assert sorted(left) == [0, 1, 2]
    assert (await db.leases.find_one({"_id": "a"}))["items"] == []


async def test_apply_in_order_ignores_stale_and_repeated_events(db: Any) -> None:
    assert await apply_in_order(db.views, "m1", event("m1", 2), {"$set": {"status": "verified"}}) is True
    assert await apply_in_order(db.views, "m1", event("m1", 1), {"$set": {"status": "candidate"}}) is False
    assert await apply_in_order(db.views, "m1", event("m1", 2), {"$set": {"status": "candidate"}}) is False
    assert await apply_in_order(db.views, "m1", event("m1", 3), {"$set": {"status": "transferred"}}) is True
    doc = await db.views.find_one({"_id": "m1"})
    assert doc["status"] == "transferred"
    assert doc["seq"] == 3


async def test_update_aggregate_refuses_a_stale_version_and_keeps_the_stored_state(db: Any) -> None:
    await insert_aggregate(db.counters, {"_id": "a1", "total": 1}, [event("a1", 1)])
    assert (
        await update_aggregate(
            db.counters, "a1", expected_version=1, update={"$inc": {"total": 1}}, events=[event("a1", 2)]
        )
        == 2
    )
    with pytest.raises(ConcurrencyConflict):
        await update_aggregate(
            db.counters, "a1", expected_version=1, update={"$inc": {"total": 5}}, events=[event("a1", 2)]
        )
    doc = await db.counters.find_one({"_id": "a1"})
    assert doc["total"] == 2
    assert doc["version"] == 2
    assert [e["type"] for e in doc["outbox"]] == [Counted.event_type, Counted.event_type]


async def test_concurrent_commands_on_one_aggregate_never_lose_an_event(db: Any) -> None:
    await insert_aggregate(db.counters, {"_id": "a2", "total": 0}, [])

    async def command() -> None:
        while True:  # what a command handler does on a conflict: reload and retry
            doc = await db.counters.find_one({"_id": "a2"})
            try:
                await update_aggregate(
                    db.counters,
                    "a2",
                    expected_version=doc["version"],
                    update={"$inc": {"total": 1}},
                    events=[event("a2", doc["version"] + 1)],
                )
                return
            except ConcurrencyConflict:
                continue

    await asyncio.gather(*(command() for _ in range(20)))
    doc = await db.counters.find_one({"_id": "a2"})
    assert doc["total"] == 20
    assert doc["version"] == 20
    assert [json.loads(e["body"])["seq"] for e in doc["outbox"]] == list(range(1, 21))


async def test_relay_adopts_events_a_writer_left_without_a_pending_marker(db: Any) -> None:
    # A writer that died between the aggregate write and the marker write leaves this behind.
    entries = [outbox_entry(event("orphan", 1)), outbox_entry(event("orphan", 2))]
    await db.counters.insert_one({"_id": "orphan", "version": 2, "outbox": entries})
    published: list[str] = []

    async def publish(entry: dict[str, Any]) -> None:
        published.append(entry["id"])

    relay = OutboxRelay(db, ["counters"], publish)
    assert await relay.drain_once() == 2
    assert published == [e["id"] for e in entries]
    assert (await db.counters.find_one({"_id": "orphan"}))["outbox"] == []
    assert await pending_markers(db.counters).count_documents({}) == 0, (
        "the marker must go once the outbox is empty"
    )


async def test_relay_keeps_events_and_marker_while_kafka_refuses_and_releases_its_lease(db: Any) -> None:
    await insert_aggregate(db.counters, {"_id": "stuck"}, [event("stuck", 1), event("stuck", 2)])
    attempts: list[str] = []

    async def refuse(entry: dict[str, Any]) -> None:
        attempts.append(entry["id"])
        raise ConnectionError("broker unreachable")

    assert await OutboxRelay(db, ["counters"], refuse).drain_once() == 0
    assert len(attempts) == 1, "the relay must stop at the first failure to keep the order"
    doc = await db.counters.find_one({"_id": "stuck"})
    assert len(doc["outbox"]) == 2
    assert "outbox_lease" not in doc
    assert await pending_markers(db.counters).count_documents({"_id": "stuck"}) == 1

    delivered: list[int] = []

    async def accept(entry: dict[str, Any]) -> None:
        delivered.append(json.loads(entry["body"])["seq"])

    assert await OutboxRelay(db, ["counters"], accept).drain_once() == 2
    assert delivered == [1, 2]


async def test_a_marker_of_a_deleted_aggregate_is_dropped_and_does_not_starve_the_relay(db: Any) -> None:
    for gone in ("gone-1", "gone-2", "gone-3"):
        await insert_aggregate(db.counters, {"_id": gone}, [event(gone, 1)])
        await db.counters.delete_one({"_id": gone})  # e.g. erased before the relay ran
    await insert_aggregate(db.counters, {"_id": "alive"}, [event("alive", 1)])
    published: list[str] = []

    async def publish(entry: dict[str, Any]) -> None:
        published.append(entry["key"])

    relay = OutboxRelay(db, ["counters"], publish, max_documents=3)
    for _ in range(3):
        await relay.drain_once()
    assert published == ["alive"]
    assert await pending_markers(db.counters).count_documents({}) == 0


async def test_a_slow_publish_stops_before_the_lease_ends_and_releases_it(db: Any) -> None:
    await insert_aggregate(db.counters, {"_id": "slow"}, [event("slow", seq) for seq in (1, 2, 3)])
    sent: list[int] = []

    async def hanging(entry: dict[str, Any]) -> None:
        seq = json.loads(entry["body"])["seq"]
        if seq == 2:
            await asyncio.sleep(30)  # the broker does not answer
        sent.append(seq)

    relay = OutboxRelay(db, ["counters"], hanging, lease=timedelta(seconds=1.5))
    assert await relay.drain_once() == 1
    doc = await db.counters.find_one({"_id": "slow"})
    assert [json.loads(e["body"])["seq"] for e in doc["outbox"]] == [2, 3], (
        "unpublished events stay, in order"
    )
    assert "outbox_lease" not in doc, "the relay gives its lease back when it stops"
    assert sent == [1]
