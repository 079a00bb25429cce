"""The full event path with acks=all: command writes into aggregate outboxes, the outbox relay publishes,
a consumer service in another process (bench/apps/sink.py) applies each event exactly once."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from apps.sink_events import SINK, Counted
from faststream.kafka import KafkaBroker
from procstat import CpuMeter
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.devstack.services import ServiceProcess
from roadbranch_shared.documents import Document
from roadbranch_shared.metrics import BackboneMetrics
from roadbranch_shared.outbox import (
    OutboxEntry,
    OutboxRelay,
    insert_aggregate,
    stage_events,
    update_aggregate,
)
from roadbranch_shared.service import make_broker, outbox_publisher
from roadbranch_shared.settings import ServiceSettings
from roadbranch_shared.topics import Topic, ensure_topics
from stats import latency_summary, progress, rate

BENCH = Path(__file__).resolve().parent
SOURCE_DB = "bench_source"
SINK_DB = "bench_sink"
UNREAD = Topic("bench.relay-only.v1", 6, key="aggregate id")  # no one subscribes: the relay alone
PAD = "p" * 96  # brings an envelope to about 512 bytes, like the raw Kafka figures
PUBLISHED = "roadbranch_outbox_published_events_total"
PROCESSED = "faststream_received_processed_messages_total"


@dataclass
class Writer:
    """The command side: each event is one command's write to one aggregate (insert, then updates)."""

    collection: AsyncCollection[Document]
    versions: dict[str, int] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    took_ms: list[float] = field(default_factory=list)
    marker_conflicts: int = 0

    async def write(self, aggregate_id: str) -> None:
        async with self.locks.setdefault(aggregate_id, asyncio.Lock()):
            version = self.versions.get(aggregate_id, 0)
            start = time.perf_counter()
            payload = Counted(aggregate_id=aggregate_id, n=version + 1, pad=PAD)
            events = stage_events(
                [payload], source="/bench/writer", subject=aggregate_id, from_version=version
            )
            try:
                if version == 0:
                    await insert_aggregate(self.collection, {"_id": aggregate_id, "total": 1}, events)
                else:
                    await update_aggregate(
                        self.collection,
                        aggregate_id,
                        expected_version=version,
                        update={"$inc": {"total": 1}},
                        events=events,
                    )
            except DuplicateKeyError as e:
                # The pending-outbox marker's upsert lost a race (FerretDB upserts find, then insert):
                # the aggregate and its events were written already, only the marker call failed.
                if "outbox_pending" not in str(e):
                    raise
                self.marker_conflicts += 1
            self.took_ms.append((time.perf_counter() - start) * 1000)
            self.versions[aggregate_id] = version + 1

    async def run(
        self, aggregate_ids: Sequence[str], events: int, *, concurrency: int, per_s: float | None
    ) -> float:
        """Write `events` round robin over the aggregates, `concurrency` at a time; returns the seconds.

        Per-aggregate order holds because tasks take the aggregate's lock in the order they were made.
        """
        gate = asyncio.Semaphore(concurrency)
        tasks: set[asyncio.Task[None]] = set()
        start = time.perf_counter()
        for i in range(events):
            if per_s:
                delay = start + i / per_s - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            await gate.acquire()
            task = asyncio.create_task(self.write(aggregate_ids[i % len(aggregate_ids)]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            task.add_done_callback(lambda _: gate.release())
        await asyncio.gather(*tasks)
        return time.perf_counter() - start


def sink_processed(sink: ServiceProcess) -> int:
    """Records the sink's subscriber finished, from its /metrics (reading it costs FerretDB nothing)."""
    text = httpx.get(f"{sink.url}/metrics", timeout=5).text
    return int(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(PROCESSED + "{") and SINK.name in line
        )
    )


@dataclass
class Backbone:
    """The parts of the path in the bench process, and the sink service they feed."""

    source: AsyncDatabase[Document]
    sink_db: AsyncDatabase[Document]
    sink: ServiceProcess
    relay: OutboxRelay
    metrics: BackboneMetrics
    broker: KafkaBroker
    bootstrap: str
    cpu: CpuMeter
    aggregates: int
    writers: int

    def published(self) -> int:
        return int(self.metrics.registry.get_sample_value(PUBLISHED) or 0)

    async def phase(
        self, name: str, *, events: int, per_s: float | None, deadline_s: float
    ) -> dict[str, Any]:
        """Write `events` through the outbox with the relay running; wait until the sink applied them all.

        Progress is followed through the relay's published counter and the sink's /metrics, so the
        bench itself puts no load on FerretDB until the phase is over.
        """
        per_aggregate = max(1, events // self.aggregates)
        total = per_aggregate * self.aggregates
        ids = [f"{name}-{i:04d}" for i in range(self.aggregates)]
        writer = Writer(self.source.aggregates)
        published0 = self.published()
        processed0 = await asyncio.to_thread(sink_processed, self.sink)
        self.cpu.start()
        first_write = datetime.now(UTC)
        write_s = await writer.run(ids, total, concurrency=self.writers, per_s=per_s)
        relay_done: float | None = None
        deadline = time.monotonic() + deadline_s
        while True:
            elapsed = (datetime.now(UTC) - first_write).total_seconds()
            if relay_done is None and self.published() - published0 >= total:
                relay_done = elapsed
            processed = await asyncio.to_thread(sink_processed, self.sink) - processed0
            if processed >= total and relay_done is not None:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{name}: after {deadline_s:.0f}s the sink had processed {processed}/{total}"
                )
            await asyncio.sleep(0.1)
        wall_s = (datetime.now(UTC) - first_write).total_seconds()
        cpu = self.cpu.stop()
        docs = await self.sink_db.aggregates.find({"_id": {"$in": ids}}).to_list()
        latencies = [ms for d in docs for ms in d["latencies_ms"]]
        in_order = len(docs) == self.aggregates and all(
            d["seqs"] == list(range(1, per_aggregate + 1)) for d in docs
        )
        e2e_s = (max(d["last_applied_at"] for d in docs) - first_write).total_seconds()
        # The next phase starts from empty collections, so scans do not grow from phase to phase.
        await self.source.aggregates.delete_many({"_id": {"$in": ids}})
        await self.sink_db.aggregates.delete_many({"_id": {"$in": ids}})
        return {
            "events": total,
            "aggregates": self.aggregates,
            "writers": self.writers,
            "target_events_per_s": round(per_s, 1) if per_s else "unthrottled",
            "applied": len(latencies),
            "applied_in_order_per_aggregate": in_order,
            "end_to_end": {"seconds": round(e2e_s, 3), "events_per_s": rate(len(latencies), e2e_s)},
            "outbox_write": {
                "seconds": round(write_s, 3),
                "events_per_s": rate(total, write_s),
                "write_latency_ms": latency_summary(writer.took_ms),
                "pending_marker_duplicate_key_errors": writer.marker_conflicts,
            },
            "relay_published_all_after_s": round(relay_done, 2) if relay_done is not None else None,
            "latency_ms": latency_summary(latencies),
            "cpu_seconds": {"wall": round(wall_s, 2), **cpu},
        }

    async def stages_alone(self, client: AsyncMongoClient[Document], *, per_aggregate: int) -> dict[str, Any]:
        """The outbox writes with no relay running, then a relay draining them with nothing consuming.

        The relay's records go to a topic no one reads, so neither stage shares FerretDB with another.
        """
        db = client["bench_stages_alone"]
        await db.aggregates.drop()
        writer = Writer(db.aggregates)
        ids = [f"alone-{i:04d}" for i in range(self.aggregates)]
        total = per_aggregate * self.aggregates
        self.cpu.start()
        write_s = await writer.run(ids, total, concurrency=self.writers, per_s=None)
        write_cpu = self.cpu.stop()

        await ensure_topics(self.bootstrap, (UNREAD,))
        publish = outbox_publisher(self.broker)

        async def publish_unread(entry: OutboxEntry) -> None:
            await publish({**entry, "topic": UNREAD.name})

        metrics = BackboneMetrics()
        relay = OutboxRelay(db, ["aggregates"], publish_unread, metrics=metrics.outbox)
        self.cpu.start()
        start = time.perf_counter()
        relay.start()
        try:
            while True:  # polled: the relay has no "drained" signal
                if (metrics.registry.get_sample_value(PUBLISHED) or 0) >= total:
                    break
                if time.perf_counter() - start > 120:
                    raise TimeoutError(
                        f"the relay alone published {metrics.registry.get_sample_value(PUBLISHED)}"
                    )
                await asyncio.sleep(0.05)
        finally:
            await relay.stop()
        relay_s = time.perf_counter() - start
        relay_cpu = self.cpu.stop()
        await db.drop_collection("aggregates")
        return {
            "events": total,
            "events_per_aggregate": per_aggregate,
            "outbox_write": {
                "seconds": round(write_s, 3),
                "events_per_s": rate(total, write_s),
                "write_latency_ms": latency_summary(writer.took_ms),
                "pending_marker_duplicate_key_errors": writer.marker_conflicts,
                "cpu_seconds": {"wall": round(write_s, 2), **write_cpu},
            },
            "relay_drain": {
                "seconds": round(relay_s, 3),
                "events_per_s": rate(total, relay_s),
                "cpu_seconds": {"wall": round(relay_s, 2), **relay_cpu},
            },
        }


def start_sink(info: StackInfo, log: Path) -> ServiceProcess:
    """The consumer service in its own process; its topic must exist before its subscriber starts."""
    asyncio.run(ensure_topics(info.kafka_bootstrap, (SINK,)))
    env = {**info.service_env("sink"), "ROADBRANCH_SINK_MONGO_DB": SINK_DB}
    return ServiceProcess("apps.sink:app", app_dir=BENCH, env=env, log=log).start()


async def backbone(
    info: StackInfo,
    sink: ServiceProcess,
    *,
    events: int,
    aggregates: int,
    writers: int,
    alone_per_aggregate: int,
    paced_seconds: float,
    paced_fraction: float,
) -> dict[str, Any]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(info.mongo_uri, tz_aware=True, appname="bench")
    metrics = BackboneMetrics()
    broker, _ = make_broker("bench-relay", ServiceSettings(kafka_bootstrap=info.kafka_bootstrap), metrics)
    await broker.start()
    source = client[SOURCE_DB]
    relay = OutboxRelay(source, ["aggregates"], outbox_publisher(broker), metrics=metrics.outbox)
    relay.start()
    pids = {
        "ferretdb": info.ferretdb_pid,
        "kafka": info.kafka_pid,
        "sink": sink.proc.pid if sink.proc else None,
        "bench": os.getpid(),
    }
    bench = Backbone(
        source,
        client[SINK_DB],
        sink,
        relay,
        metrics,
        broker,
        info.kafka_bootstrap,
        CpuMeter(pids),
        aggregates,
        writers,
    )
    try:
        progress("backbone: warm-up (the sink joins its group, connections open)")
        await bench.phase("warmup", events=aggregates, per_s=None, deadline_s=60)
        progress(f"backbone: {alone_per_aggregate * aggregates} outbox writes alone, then the relay alone")
        alone = await bench.stages_alone(client, per_aggregate=alone_per_aggregate)
        progress(f"backbone: {events} events end to end, {aggregates} aggregates, {writers} writers")
        saturated = await bench.phase(
            "saturated", events=events, per_s=None, deadline_s=max(120.0, events / 5)
        )
        e2e_rate = saturated["end_to_end"]["events_per_s"] or 20.0
        per_s = max(5.0, e2e_rate * paced_fraction)
        paced_events = max(1, int(per_s * paced_seconds) // aggregates) * aggregates
        progress(
            f"backbone: {paced_events} events paced at {per_s:.0f}/s ({paced_fraction:.0%} of end to end)"
        )
        paced = await bench.phase(
            "paced", events=paced_events, per_s=per_s, deadline_s=max(60.0, 4 * paced_seconds)
        )
        stats = await client[SINK_DB].stats.find_one({"_id": "duplicates"})
    finally:
        await relay.stop()
        await broker.stop()
        await client.close()
    return {
        "relay_idle_interval_s": relay.idle_interval,
        "stages_alone": alone,
        "saturated": saturated,
        "paced": paced,
        "relay_published": bench.published(),
        "duplicates_absorbed_by_sink": int(stats["n"]) if stats else 0,
    }
