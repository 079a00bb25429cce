"""FerretDB figures: bulk inserts, the single-document reads and updates commands, consumers and the relay
make (each timed one after another), and the relay's "which aggregates have an outbox?" query."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from procstat import CpuMeter
from pymongo import AsyncMongoClient
from roadbranch_shared.documents import Document
from stats import latency_summary, progress, rate


def aggregate_document(i: int, now: datetime) -> Document:
    """A document shaped like our aggregates (a member record): a few fields and a short history."""
    return {
        "_id": member_id(i),
        "driver_id": f"driver-{i:07d}",
        "org_id": f"org-{i % 50:03d}",
        "status": "verified",
        "joined_on": now - timedelta(days=i % 3650),
        "version": 3,
        "history": [
            {"at": now - timedelta(days=3), "what": "registered", "by": "import"},
            {"at": now - timedelta(days=2), "what": "matched", "by": "work-group"},
            {"at": now - timedelta(days=1), "what": "verified", "by": "branch"},
        ],
        "outbox": [],
    }


def member_id(i: int) -> str:
    return f"member-{i:07d}"


async def timed(
    label: str,
    call: Callable[[int], Awaitable[Any]],
    ids: list[int],
    budget_s: float,
    *,
    bench: str = "ferretdb_bulk_insert",
) -> dict[str, Any]:
    """Call one after another over random ids until the ids or the time budget run out."""
    took: list[float] = []
    start = time.perf_counter()
    for i in ids:
        t = time.perf_counter()
        await call(i)
        took.append((time.perf_counter() - t) * 1000)
        if time.perf_counter() - start > budget_s:
            break
    seconds = time.perf_counter() - start
    progress(f"{bench}: {label}: {len(took)} calls, {seconds * 1000 / len(took):.1f} ms each")
    return {
        "calls": len(took),
        "seconds": round(seconds, 3),
        "per_s": rate(len(took), seconds),
        "latency_ms": latency_summary(took),
    }


def sqlite_plan(data_dir: Path, database: str, collection: str) -> dict[str, Any]:
    """How SQLite runs the `_id` lookup FerretDB 1.24 issues for a find or update by `_id`.

    FerretDB's SQLite backend selects (and updates) by `_ferretdb_sjson->'$._id' = ?` while its
    unique `_id` index is on `_ferretdb_sjson->"_id"`; `SCAN` in the plan means every row is read.
    """
    path = data_dir / f"{database}.sqlite"
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (table,) = con.execute(
            "SELECT table_name FROM _ferretdb_collections WHERE name = ?", (collection,)
        ).fetchone()
        indexes = [
            row[0]
            for row in con.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql LIKE 'CREATE%INDEX%'", (table,)
            )
        ]
        select = f'SELECT _ferretdb_sjson FROM "{table}" WHERE '
        lookups = {
            "upstream_ferretdb_lookup": select + "_ferretdb_sjson->'$._id' = ?",
            "patched_lookup_as_built_by_devstack": select + "_ferretdb_sjson->'_id' = ?",
        }
        plans = {
            name: " ".join(str(row[-1]) for row in con.execute("EXPLAIN QUERY PLAN " + sql, ('"x"',)))
            for name, sql in lookups.items()
        }
    finally:
        con.close()
    return {"id_indexes": indexes, "statements": lookups, "plans": plans}


Call = Callable[[int], Awaitable[None]]


async def insert_aggregates(collection: Any, documents: int, batch: int, now: datetime) -> float:
    """`documents` aggregate-shaped documents by insert_many in batches; the seconds it took."""
    start = time.perf_counter()
    for first in range(0, documents, batch):
        docs = [aggregate_document(i, now) for i in range(first, min(first + batch, documents))]
        await collection.insert_many(docs, ordered=False)
    seconds = time.perf_counter() - start
    count = await collection.count_documents({})
    if count != documents:
        raise RuntimeError(f"inserted {documents} documents, found {count}")
    return seconds


def single_document_calls(
    collection: Any, documents: int, calls: int, now: datetime
) -> list[tuple[str, Call, list[int]]]:
    """The one-document operations the services make, each with the document numbers to call it on."""
    ids = random.Random(7).sample(range(documents), min(calls, documents))
    change = {"$set": {"status": "active"}, "$push": {"history": {"at": now, "what": "active"}}}

    async def find_by_id(i: int) -> None:
        await collection.find_one({"_id": member_id(i)})

    async def update_by_id(i: int) -> None:
        await collection.update_one({"_id": member_id(i)}, change)

    async def update_by_id_and_version(i: int) -> None:
        # The form update_aggregate and apply_once use: _id plus a condition in the filter.
        await collection.update_one({"_id": member_id(i), "version": 3}, {**change, "$inc": {"version": 1}})

    async def relay_outbox_query(_: int) -> None:
        found = await collection.find(
            {"outbox.0": {"$exists": True}}, {"outbox.created_at": 1}, limit=500
        ).to_list()
        if found:
            raise RuntimeError("no document of this collection should have an outbox entry")

    return [
        ("find_one_by_id", find_by_id, ids),
        ("update_one_by_id", update_by_id, ids),
        ("update_one_by_id_and_version", update_by_id_and_version, ids[::-1]),
        ("relay_outbox_query_idle", relay_outbox_query, ids),
    ]


async def ferretdb_bulk_insert(
    mongo_uri: str,
    ferretdb_pid: int | None,
    data_dir: Path,
    *,
    documents: int,
    batch: int,
    calls: int,
    budget_s: float,
) -> dict[str, Any]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri, tz_aware=True, appname="bench")
    cpu = CpuMeter({"ferretdb": ferretdb_pid})
    try:
        collection = client["bench_ferretdb"]["members"]
        await collection.drop()
        now = datetime.now(UTC)
        progress(f"ferretdb_bulk_insert: insert_many of {documents} documents in batches of {batch}")
        cpu.start()
        insert_s = await insert_aggregates(collection, documents, batch, now)
        insert_cpu = cpu.stop()
        plan = sqlite_plan(data_dir, collection.database.name, collection.name)
        figures: dict[str, Any] = {}
        for label, call, idle in single_document_calls(collection, documents, calls, now):
            cpu.start()
            figures[label] = await timed(label, call, idle, budget_s)
            figures[label]["ferretdb_cpu_s"] = cpu.stop()["ferretdb"]
        await collection.drop()
    finally:
        await client.close()
    return {
        "documents": documents,
        "batch": batch,
        "insert_many": {
            "seconds": round(insert_s, 3),
            "docs_per_s": rate(documents, insert_s),
            "ferretdb_cpu_s": insert_cpu["ferretdb"],
        },
        "sequential_calls_on_that_collection": figures,
        "sqlite_id_lookup": plan,
        "notes": {
            "find_one_by_id": "filter {_id}: what FerretDB-aware code reads before a conditional write",
            "update_one_by_id": "filter {_id}, $set + $push",
            "update_one_by_id_and_version": "filter {_id, version}, $set + $push + $inc: an atomic "
            "conditional write, evaluated by FerretDB over every document",
            "relay_outbox_query_idle": "find({'outbox.0': {'$exists': True}}, limit=500), the relay's "
            "full outbox scan; no document has an outbox entry",
        },
    }
