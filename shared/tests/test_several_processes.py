"""Several processes changing one document: on mongo-java-server (atomic, like MongoDB) none of their
changes is lost and the versions run on without a gap or a repeat, which is what a service with more
than one replica needs of its server. FerretDB 1.24 loses many in the same run (it runs a filtered
update as query-then-update); `bench/mongo_servers_bench.py` prints how many, nothing asserts it."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from roadbranch_shared.devstack.contention import DOCUMENT, MODES, contend
from roadbranch_shared.devstack.mongojava import MongoJavaServer

PROCESSES, UPDATES = 4, 100


@pytest.mark.integration
@pytest.mark.parametrize("mode", MODES)
async def test_four_processes_changing_one_document_at_its_version_lose_nothing(
    mongo_java: MongoJavaServer, mode: str
) -> None:
    database = f"several_{uuid.uuid4().hex[:8]}"
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_java.uri, tz_aware=True)
    try:
        outcome = await contend(
            mongo_java.uri, processes=PROCESSES, updates=UPDATES, mode=mode, database=database
        )
        changes = PROCESSES * UPDATES
        assert outcome.conflicts > 0, "the writers never met: this run proved nothing"
        assert (outcome.applied, outcome.lost) == (changes, 0)
        assert (outcome.version, outcome.total, outcome.consecutive) == (changes, changes, True)
        document = await client[database]["documents"].find_one({"_id": DOCUMENT})
        assert document is not None
        if mode == "update_aggregate":  # one event per change, numbered by the version it made
            bodies = [json.loads(entry["body"]) for entry in document["outbox"]]
            assert [b["seq"] for b in bodies] == list(range(1, changes + 1))
            assert [b["data"]["total"] for b in bodies] == list(range(1, changes + 1))
    finally:
        await client.drop_database(database)
        await client.close()


CLAIMER = """
import asyncio, sys, time
from datetime import datetime, timezone
from pymongo import AsyncMongoClient
from roadbranch_shared.periodic import PeriodClaims

async def main(uri, database, go_at, now):
    client = AsyncMongoClient(uri, tz_aware=True)
    claims = PeriodClaims(client[database])
    await client[database].command("ping")  # connected before the start line
    time.sleep(max(0.0, go_at - time.time()))
    won = await claims.claim("compliance scan", 60, datetime.fromtimestamp(now, timezone.utc))
    print("won" if won else "lost", flush=True)
    await client.close()

asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])))
"""


@pytest.mark.integration
async def test_of_replicas_waking_together_one_claims_the_period(mongo_java: MongoJavaServer) -> None:
    """Six processes claim one periodic job's period at the same instant, twice (the job's first
    period creates its document, a later one changes it): each time exactly one runs the job."""
    database = f"claims_{uuid.uuid4().hex[:8]}"
    for now in (time.time(), time.time() + 120):
        go_at = time.time() + 3  # every process connected and waiting by then
        processes = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                CLAIMER,
                mongo_java.uri,
                database,
                str(go_at),
                str(now),
                stdout=asyncio.subprocess.PIPE,
            )
            for _ in range(6)
        ]
        answers = [(await p.communicate())[0].decode().strip() for p in processes]
        assert sorted(answers) == ["lost"] * 5 + ["won"], answers
