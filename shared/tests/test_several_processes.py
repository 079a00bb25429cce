"""Several processes changing one document: on mongo-java-server (atomic, like MongoDB) none of their
changes is lost and the versions run on without a gap or a repeat, which is what a service with more
than one replica needs of its server. FerretDB 1.24 loses many in the same run (it runs a filtered
update as query-then-update); `bench/mongo_servers_bench.py` prints how many, nothing asserts it."""

from __future__ import annotations

import json
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
