"""Background jobs that run every so often for the life of a service process (scans, recounts).

A job that must run once per period however many replicas of the service run (a scan that raises
alerts, a key rotation) is started with `once_across=PeriodClaims(db)`: each replica wakes on its own
timer and runs the job only if it claims the period first, with one conditional update on a shared
document. Jobs that only refresh the process's own gauges run in every replica.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from roadbranch_shared.documents import Document, update_if
from roadbranch_shared.owners import new_owner

log = logging.getLogger(__name__)

COLLECTION = "periodic_claims"


class PeriodClaims:
    """Who runs which periodic job this period, kept in the service's `periodic_claims` collection.

    A claim sets the job's `next_due` to 90 % of a period ahead, on the condition that it is due: on
    MongoDB the condition and the write are one atomic update, so of replicas waking together one
    wins and the others skip to their next wake. The 10 % margin keeps the same replica winning
    period after period when its timer fires a little early. A replica that dies after claiming
    loses that period's run; the next period's claim runs the job again (the jobs catch up).
    FerretDB checks the condition and writes in two steps, so there two replicas waking in the same
    instant could both run: the one-process-per-service rule stands there (ADR 0002).
    """

    def __init__(self, db: AsyncDatabase[Document], *, holder: str | None = None) -> None:
        self.collection = db[COLLECTION]
        self.holder = holder or new_owner()

    async def claim(self, job: str, every: float, now: datetime | None = None) -> bool:
        """True if this replica runs `job` now (and no other until most of a period has passed)."""
        now = now or datetime.now(UTC)
        due = {"$or": [{"next_due": {"$exists": False}}, {"next_due": {"$lte": now}}]}
        claim = {
            "$set": {
                "next_due": now + timedelta(seconds=every * 0.9),
                "holder": self.holder,
                "claimed_at": now,
            }
        }
        return await update_if(self.collection, job, due, claim, upsert=True)


async def run_periodically(
    job: Callable[[], Awaitable[Any]],
    every: float,
    *,
    name: str,
    first_after: float | None = None,
    once_across: PeriodClaims | None = None,
) -> None:
    """Run `job` every `every` seconds (first after `first_after`, default `every`); with
    `once_across`, only in the replica that claims the period. A failed run (or claim) is logged and
    the next one goes ahead: a database outage must not end the job for good."""
    await asyncio.sleep(every if first_after is None else first_after)
    while True:
        try:
            if once_across is None or await once_across.claim(name, every):
                await job()
        except Exception:
            log.exception("%s failed; it runs again in %.0f s", name, every)
        await asyncio.sleep(every)


def start_periodically(
    job: Callable[[], Awaitable[Any]],
    every: float,
    *,
    name: str,
    first_after: float | None = None,
    once_across: PeriodClaims | None = None,
) -> asyncio.Task[None]:
    return asyncio.create_task(
        run_periodically(job, every, name=name, first_after=first_after, once_across=once_across), name=name
    )
