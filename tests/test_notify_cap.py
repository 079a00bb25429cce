"""The daily cap's places on the real FerretDB: a message keeps the place it took, also when it is
handled again after a crash, and concurrent messages never take more than the cap."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from notify.app.caps import reserve_daily_place
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack import StackInfo

pytestmark = pytest.mark.integration


@pytest.fixture
async def counts(stack_info: StackInfo) -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(stack_info.mongo_uri, tz_aware=True)
    yield client[f"cap_{uuid.uuid4().hex[:8]}"].daily_counts
    await client.close()


async def test_a_message_handled_again_keeps_its_place_and_counts_once(counts: Any) -> None:
    key = "drv_1|2026-12-01"
    assert await reserve_daily_place(counts, key, "msg-a", 2) is True
    assert await reserve_daily_place(counts, key, "msg-a", 2) is True, "the same message, after a crash"
    assert (await counts.find_one({"_id": key}))["count"] == 1
    assert await reserve_daily_place(counts, key, "msg-b", 2) is True
    assert await reserve_daily_place(counts, key, "msg-c", 2) is False, "the day is full"
    assert await reserve_daily_place(counts, key, "msg-b", 2) is True, "a holder keeps its place when full"
    assert (await counts.find_one({"_id": key}))["count"] == 2


async def test_concurrent_messages_take_no_more_places_than_the_cap(counts: Any) -> None:
    key = "drv_2|2026-12-01"
    taken = await asyncio.gather(*(reserve_daily_place(counts, key, f"msg-{n}", 5) for n in range(12)))
    assert sum(taken) == 5
    doc = await counts.find_one({"_id": key})
    assert (doc["count"], len(doc["messages"])) == (5, 5)
