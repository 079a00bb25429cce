"""Where notify keeps its clock's offset (settings collection), so a restart keeps a moved clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.clock import Clock
from roadbranch_shared.documents import Document

CLOCK_ID = "clock"


async def restore_clock(clock: Clock, db: AsyncDatabase[Document]) -> None:
    """Give a controllable clock the offset it had before the restart."""
    if not clock.controllable:
        return
    doc = await db.settings.find_one({"_id": CLOCK_ID})
    if doc is not None:
        clock.offset = timedelta(seconds=doc["offset_seconds"])


async def keep_clock_at(clock: Clock, db: AsyncDatabase[Document], moment: datetime) -> datetime:
    """Set the clock (time keeps running from `moment`) and keep its offset; answers the new now."""
    clock.set(moment)
    await db.settings.update_one(
        {"_id": CLOCK_ID}, {"$set": {"offset_seconds": clock.offset.total_seconds()}}, upsert=True
    )
    return clock.now()
