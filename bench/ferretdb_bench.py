"""FerretDB figures: bulk inserts, the sequential single-document updates commands and the relay make,
and the cost of the relay's "which aggregates have an outbox?" query over an idle collection."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import AsyncMongoClient
from stats import latency_summary, progress, rate

Document = dict[str, Any]


def aggregate_document(i: int, now: datetime) -> Document:
    """A document shaped like our aggregates (a member record): a few fields and a short history."""
    return {
        "_id": f"member-{i:07d}",
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


async def ferretdb_bulk_insert(
    mongo_uri: str, *, documents: int, batch: int, updates: int, scans: int
) -> dict[str, Any]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(mongo_uri, tz_aware=True, appname="bench")
    try:
        collection = client["bench_ferretdb"]["members"]
        await collection.drop()
        now = datetime.now(UTC)
        progress(f"ferretdb_bulk_insert: insert_many of {documents} documents in batches of {batch}")
        start = time.perf_counter()
        for first in range(0, documents, batch):
            docs = [aggregate_document(i, now) for i in range(first, min(first + batch, documents))]
            await collection.insert_many(docs, ordered=False)
        insert_s = time.perf_counter() - start

        progress(f"ferretdb_bulk_insert: {updates} sequential update_one by _id (a command's write)")
        ids = random.Random(7).sample(range(documents), min(updates, documents))
        took: list[float] = []
        start = time.perf_counter()
        for i in ids:
            t = time.perf_counter()
            await collection.update_one(
                {"_id": f"member-{i:07d}", "version": 3},
                {
                    "$set": {"status": "active", "version": 4},
                    "$push": {"history": {"at": now, "what": "active"}},
                },
            )
            took.append((time.perf_counter() - t) * 1000)
        update_s = time.perf_counter() - start

        progress(
            f"ferretdb_bulk_insert: the relay's outbox query over {documents} idle documents, {scans} times"
        )
        scan_took: list[float] = []
        for _ in range(scans):
            t = time.perf_counter()
            found = await collection.find(
                {"outbox.0": {"$exists": True}}, {"outbox.created_at": 1}, limit=500
            ).to_list()
            scan_took.append((time.perf_counter() - t) * 1000)
            if found:
                raise RuntimeError("no document of this collection has an outbox entry")
        count = await collection.count_documents({})
        if count != documents:
            raise RuntimeError(f"inserted {documents} documents, found {count}")
        await collection.drop()
    finally:
        await client.close()
    return {
        "documents": documents,
        "batch": batch,
        "insert_many": {"seconds": round(insert_s, 3), "docs_per_s": rate(documents, insert_s)},
        "update_one_sequential": {
            "updates": len(ids),
            "seconds": round(update_s, 3),
            "updates_per_s": rate(len(ids), update_s),
            "latency_ms": latency_summary(took),
        },
        "relay_outbox_query_idle": {
            "collection_documents": documents,
            "query": "find({'outbox.0': {'$exists': True}}, limit=500), as OutboxRelay.drain_once",
            "latency_ms": latency_summary(scan_took),
        },
    }
