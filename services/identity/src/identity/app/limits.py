"""Counting what callers try: wrong passwords per username (the lockout) and sign-in codes asked per
phone and per network address (the rate limits). Keys are blind indexes, never the username, the
phone number or the address themselves; unknown usernames count like known ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.documents import Document


@dataclass(frozen=True)
class Lock:
    until: datetime | None
    failures: int


class Limits:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self.failures = db.password_failures
        self.windows = db.rate_windows

    # ---- the lockout

    async def lock_of(self, key: str, now: datetime) -> Lock:
        entry = await self.failures.find_one({"_id": key})
        if entry is None:
            return Lock(None, 0)
        until = entry.get("locked_until")
        return Lock(until if until is not None and until > now else None, int(entry.get("count", 0)))

    async def failed(self, key: str, now: datetime, *, limit: int, lock_for: timedelta) -> Lock:
        """One more wrong password; at `limit` in a row the username is locked for `lock_for`."""
        entry = await self._increment(self.failures, key, {"last_at": now})
        count = int(entry["count"])
        if count >= limit:
            until = now + lock_for
            await self.failures.update_one({"_id": key}, {"$set": {"locked_until": until, "count": 0}})
            return Lock(until, count)
        return Lock(None, count)

    async def succeeded(self, key: str) -> None:
        await self.failures.delete_one({"_id": key})

    # ---- rate limits

    async def take(self, scope: str, key: str, now: datetime, *, per: timedelta, limit: int) -> int | None:
        """Count one request in the current window of `per`; None if allowed, else the seconds
        until the window ends."""
        window = int(now.timestamp() // per.total_seconds())
        entry = await self._increment(self.windows, f"{scope}:{key}:{window}", {"expires_at": now + per})
        if int(entry["count"]) <= limit:
            return None
        ends = (window + 1) * per.total_seconds()
        return max(1, int(ends - now.timestamp()))

    async def _increment(self, collection: Any, key: str, fields: Document) -> Document:
        for _ in range(3):
            try:
                entry: Document = await collection.find_one_and_update(
                    {"_id": key},
                    {"$inc": {"count": 1}, "$set": fields},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
                return entry
            except DuplicateKeyError:
                continue  # two first requests raced on the upsert: the second now finds the entry
        raise RuntimeError("the counter could not be written")

    async def prune(self, now: datetime) -> None:
        await self.windows.delete_many({"expires_at": {"$lt": now}})
