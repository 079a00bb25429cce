"""The queue's leases on the real servers (FerretDB, and mongo-java-server, atomic as MongoDB): a
pass takes only what no other pass holds, a lease ends at its time or with the message's next step,
and a pass that lost some messages to another between its read and its lease works only its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from notify.app.queue import MongoDueQueue, queued_message
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack import StackInfo

pytestmark = pytest.mark.integration
NOW = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


@pytest.fixture(params=["ferretdb", "mongo_java_server"])
async def collection(request: pytest.FixtureRequest, stack_info: StackInfo) -> AsyncIterator[Any]:
    uri = stack_info.mongo_uri if request.param == "ferretdb" else request.getfixturevalue("mongo_java").uri
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(uri, tz_aware=True)
    found = client["notify_leases"][f"queue_{uuid.uuid4().hex[:8]}"]
    try:
        yield found
    finally:
        await found.drop()
        await client.close()


async def queue_messages(collection: Any, count: int) -> list[str]:
    docs = [
        queued_message(f"evt-{i}", "need_filed", f"drv-{i}", "driver", "text", False, None, now=NOW)
        for i in range(count)
    ]
    await collection.insert_many(docs)
    return [d["_id"] for d in docs]


async def test_a_pass_takes_only_what_no_other_pass_holds_until_the_lease_ends(collection: Any) -> None:
    ids = await queue_messages(collection, 5)
    first, second = MongoDueQueue(collection, lease=LEASE), MongoDueQueue(collection, lease=LEASE)
    taken = await first.due(NOW, 3)
    assert len(taken) == 3
    assert len({d["lease"] for d in taken}) == 1
    rest = await second.due(NOW, 10)
    assert sorted(d["_id"] for d in taken + rest) == sorted(ids), "the other two, and only those"
    assert await first.due(NOW + LEASE - timedelta(seconds=1), 10) == []
    again = await second.due(NOW + LEASE, 10)
    assert sorted(d["_id"] for d in again) == sorted(ids), "every lease ended at its time"


async def test_a_next_step_ends_the_lease(collection: Any) -> None:
    [message] = await queue_messages(collection, 1)
    queue = MongoDueQueue(collection, lease=LEASE)
    await queue.due(NOW, 10)
    await queue.retry_at(message, NOW + timedelta(seconds=30))
    stored = await collection.find_one({"_id": message})
    assert not {"lease", "lease_until"} & stored.keys()
    assert [d["_id"] for d in await queue.due(NOW + timedelta(seconds=30), 10)] == [message]


async def test_messages_another_pass_took_between_the_read_and_the_lease_are_left_to_it(
    collection: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await queue_messages(collection, 4)
    queue = MongoDueQueue(collection, lease=LEASE)
    real = collection.update_many

    async def another_pass_first(*args: Any, **kwargs: Any) -> Any:
        # Another replica's pass leases two of them just before this pass's lease is written.
        other = {"$set": {"lease_until": NOW + LEASE, "lease": "another pass"}}
        await real({"_id": {"$in": ids[:2]}}, other)
        return await real(*args, **kwargs)

    monkeypatch.setattr(collection, "update_many", another_pass_first)
    taken = await queue.due(NOW, 10)
    assert sorted(d["_id"] for d in taken) == sorted(ids[2:])
    assert {d["lease"] for d in taken} != {"another pass"}
