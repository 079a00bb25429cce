"""The daily cap's places (每日上限): how many messages a recipient got on a local day, and which.

One small document per recipient and day (`daily_counts`, by `<recipient>|<day>`) holds the count
and the ids of the messages that took a place. A place is taken by the message's id, so a message
counted before a crash, and handled again after it, keeps its place instead of counting twice.

Taking a place is one conditional update ("fewer than the cap, and not this message yet"), not a
versioned change of an aggregate: it raises no event, and concurrent messages must never take more
places than the cap (tests/test_notify_cap.py runs it on the real FerretDB).
"""

from __future__ import annotations

from typing import Protocol

from pymongo.asynchronous.collection import AsyncCollection
from roadbranch_shared.documents import Document, update_if


class DailyPlaces(Protocol):
    async def reserve(self, key: str, message_id: str, cap: int) -> bool:
        """Take one of the day's `cap` places for `message_id`; True if it has one (now or from before)."""
        ...


async def reserve_daily_place(counts: AsyncCollection[Document], key: str, message_id: str, cap: int) -> bool:
    """Take one of the day's `cap` places for `message_id`; True if it has one (now or from before).

    The place is taken by the message's id, so a message counted before a crash, and handled again
    after it, keeps its place instead of counting twice."""
    free = {
        "$or": [{"count": {"$exists": False}}, {"count": {"$lt": cap}}],
        "messages": {"$ne": message_id},
    }
    if await update_if(
        counts, key, free, {"$inc": {"count": 1}, "$push": {"messages": message_id}}, upsert=True
    ):
        return True
    taken = await counts.find_one({"_id": key}, {"messages": 1})
    return bool(taken and message_id in taken.get("messages", []))


class MongoDailyPlaces:
    def __init__(self, counts: AsyncCollection[Document]) -> None:
        self.counts = counts

    async def reserve(self, key: str, message_id: str, cap: int) -> bool:
        return await reserve_daily_place(self.counts, key, message_id, cap)


class InMemoryDailyPlaces:
    """The same places in a dict, for the dispatcher's in-process tests."""

    def __init__(self) -> None:
        self.days: dict[str, list[str]] = {}  # key -> the messages that took a place, in order

    async def reserve(self, key: str, message_id: str, cap: int) -> bool:
        taken = self.days.get(key)
        if taken is None:  # the first of the day gets its place (an upsert, whatever the cap)
            self.days[key] = [message_id]
            return True
        if message_id in taken:
            return True
        if len(taken) < cap:
            taken.append(message_id)
            return True
        return False
