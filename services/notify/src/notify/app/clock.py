"""The service's clock: real time, which an operator may shift (tests and drills) when the setting allows.

Only an offset is kept, so time still runs after it was set; it is stored so a restart keeps it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

Document = dict[str, Any]
CLOCK_ID = "clock"


class Clock:
    def __init__(self, db: AsyncDatabase[Document], *, controllable: bool) -> None:
        self.db = db
        self.controllable = controllable
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    async def load(self) -> None:
        if not self.controllable:
            return
        doc = await self.db.settings.find_one({"_id": CLOCK_ID})
        if doc is not None:
            self.offset = timedelta(seconds=doc["offset_seconds"])

    async def set(self, moment: datetime) -> datetime:
        if not self.controllable:
            raise PermissionError("the clock is not controllable")
        self.offset = moment - datetime.now(UTC)
        await self.db.settings.update_one(
            {"_id": CLOCK_ID}, {"$set": {"offset_seconds": self.offset.total_seconds()}}, upsert=True
        )
        return self.now()
