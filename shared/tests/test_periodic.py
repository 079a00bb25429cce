"""A periodic job keeps running after a failed run; a job run once across replicas runs only in the
replica that claims the period."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from roadbranch_shared.devstack.stack import StackInfo
from roadbranch_shared.documents import Document
from roadbranch_shared.periodic import COLLECTION, PeriodClaims, start_periodically


async def test_a_failed_run_does_not_end_the_job() -> None:
    calls = 0
    ran_again = asyncio.Event()

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database away")
        ran_again.set()

    task = start_periodically(flaky, 0.01, name="test job", first_after=0)
    try:
        await asyncio.wait_for(ran_again.wait(), timeout=5)
        assert not task.done()
    finally:
        task.cancel()


class Claims(PeriodClaims):
    """Claims decided by the test: the loop runs the job only on the wakes it is told it won."""

    def __init__(self, wins: list[bool]) -> None:
        self.wins = wins
        self.asked: list[tuple[str, float]] = []

    async def claim(self, job: str, every: float, now: datetime | None = None) -> bool:
        self.asked.append((job, every))
        return self.wins.pop(0) if self.wins else False


async def test_a_job_run_once_across_replicas_runs_only_when_its_replica_claims_the_period() -> None:
    runs: list[int] = []
    claims = Claims([False, True, False, True])
    done = asyncio.Event()

    async def job() -> None:
        runs.append(len(claims.asked))
        if len(runs) == 2:
            done.set()

    task = start_periodically(job, 0.01, name="scan", first_after=0, once_across=claims)
    try:
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        task.cancel()
    assert runs == [2, 4], "run on the second and fourth wakes, the ones it claimed"
    assert set(claims.asked) == {("scan", 0.01)}


@pytest.fixture
async def database(stack_info: StackInfo) -> AsyncIterator[AsyncDatabase[Document]]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(str(stack_info.mongo_uri), tz_aware=True)
    db = client[f"periodic_{uuid.uuid4().hex[:8]}"]
    try:
        yield db
    finally:
        await client.drop_database(db.name)
        await client.close()


@pytest.mark.integration
async def test_one_replica_claims_a_period_and_the_next_period_is_anyones(
    database: AsyncDatabase[Document],
) -> None:
    first, second = PeriodClaims(database, holder="replica-a"), PeriodClaims(database, holder="replica-b")
    t0 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    assert await first.claim("compliance scan", 60, t0), "the first claim creates the job's document"
    assert not await second.claim("compliance scan", 60, t0 + timedelta(seconds=1))
    assert not await first.claim("compliance scan", 60, t0 + timedelta(seconds=30)), "not twice a period"
    assert await second.claim("other scan", 60, t0 + timedelta(seconds=1)), "each job has its own period"
    # 90 % of a period on, the period is over: a replica whose timer fires a little early still wins.
    assert await second.claim("compliance scan", 60, t0 + timedelta(seconds=54))
    assert not await first.claim("compliance scan", 60, t0 + timedelta(seconds=60))
    stored = await database[COLLECTION].find_one({"_id": "compliance scan"})
    assert stored is not None
    assert stored["holder"] == "replica-b"
    assert stored["next_due"] == t0 + timedelta(seconds=54 + 54)
