"""Kafka figures: the broker's own ceiling (Kafka's Java perf tools) and a plain aiokafka client."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from roadbranch_shared.devstack.kafka import java_cmd, kafka_lib
from roadbranch_shared.topics import Topic, ensure_topics
from stats import progress, rate

PRODUCER_PERF = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER_PERF = "org.apache.kafka.tools.ConsumerPerformance"

# e.g. "200000 records sent, 34812.88 records/sec (17.00 MB/sec), 1049.86 ms avg latency,
#       1713.00 ms max latency, 1033 ms 50th, 1572 ms 95th, 1669 ms 99th, 1703 ms 99.9th."
SUMMARY = re.compile(
    r"(?P<records>\d+) records sent, (?P<rps>[\d.]+) records/sec \((?P<mbps>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency, (?P<p50>[\d.]+) ms 50th, "
    r"(?P<p95>[\d.]+) ms 95th, (?P<p99>[\d.]+) ms 99th, (?P<p999>[\d.]+) ms 99.9th"
)


async def run_perf_tool(main: str, *args: str) -> str:
    """Run one of Kafka's perf tools and return its output; like the devstack's `run_perf_tool`, but
    killed with the bench on Ctrl-C or an error instead of running on against a stopped broker."""
    proc = await asyncio.create_subprocess_exec(
        *java_cmd(kafka_lib(), main, *args), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        out, err = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"{main} failed (exit {proc.returncode}):\n{out.decode()}\n{err.decode()}")
    return out.decode()


def parse_producer_summary(output: str) -> dict[str, Any]:
    """The final summary line of ProducerPerformance (the earlier lines are interval reports)."""
    matches = list(SUMMARY.finditer(output))
    if not matches:
        raise ValueError(f"no summary line in ProducerPerformance output:\n{output}")
    m = matches[-1]
    return {
        "records": int(m["records"]),
        "records_per_s": round(float(m["rps"]), 1),
        "mb_per_s": float(m["mbps"]),
        "latency_ms": {
            "avg": float(m["avg"]),
            "p50": float(m["p50"]),
            "p95": float(m["p95"]),
            "p99": float(m["p99"]),
            "p999": float(m["p999"]),
            "max": float(m["max"]),
        },
    }


def parse_consumer_summary(output: str) -> dict[str, float]:
    """ConsumerPerformance prints a CSV-ish header line and one line of values."""
    lines = [line for line in output.splitlines() if line.strip()]
    header_at = next(i for i, line in enumerate(lines) if line.startswith("start.time"))
    names = [n.strip() for n in lines[header_at].split(",")]
    values = [v.strip() for v in lines[header_at + 1].split(",")]
    row = dict(zip(names, values, strict=True))
    return {
        "records": int(row["data.consumed.in.nMsg"]),
        "records_per_s": round(float(row["nMsg.sec"]), 1),
        "mb_per_s": round(float(row["MB.sec"]), 2),
        "rebalance_ms": int(row["rebalance.time.ms"]),
        "fetch_records_per_s": round(float(row["fetch.nMsg.sec"]), 1),
        "fetch_mb_per_s": round(float(row["fetch.MB.sec"]), 2),
    }


async def broker_ceiling(bootstrap: str, *, records: int, record_size: int) -> dict[str, Any]:
    """What the broker itself takes and gives with Kafka's own Java clients (acks=all, idempotent)."""
    topic = Topic(f"bench.ceiling.{uuid.uuid4().hex[:8]}", 6, key="none (round robin)")
    await ensure_topics(bootstrap, (topic,))
    progress(f"broker_ceiling: ProducerPerformance, {records} records of {record_size} bytes")
    produced = await run_perf_tool(
        PRODUCER_PERF,
        "--topic",
        topic.name,
        "--num-records",
        str(records),
        "--record-size",
        str(record_size),
        "--throughput",
        "-1",
        "--bootstrap-server",
        bootstrap,
        "--command-property",
        "acks=all",
        "enable.idempotence=true",
    )
    progress("broker_ceiling: ConsumerPerformance")
    consumed = await run_perf_tool(
        CONSUMER_PERF,
        "--topic",
        topic.name,
        "--num-records",
        str(records),
        "--bootstrap-server",
        bootstrap,
        "--group",
        f"bench-ceiling-{uuid.uuid4().hex[:8]}",
        "--timeout",
        "30000",
    )
    return {
        "topic_partitions": topic.partitions,
        "producer_props": "acks=all enable.idempotence=true (defaults otherwise)",
        "produce": parse_producer_summary(produced),
        "consume": parse_consumer_summary(consumed),
    }


async def aiokafka_raw(
    bootstrap: str, *, records: int, record_size: int, awaited: int, commit_each: int
) -> dict[str, Any]:
    """A plain aiokafka client: the Python client's own ceiling, without FastStream or our backbone."""
    topic = Topic(f"bench.aiokafka.{uuid.uuid4().hex[:8]}", 6, key="one of 100 keys")
    await ensure_topics(bootstrap, (topic,))
    value = b"x" * record_size
    keys = [f"agg-{i:03d}".encode() for i in range(100)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        # New partitions may still be electing their leader: let that pass before timing.
        await asyncio.gather(*[await producer.send(topic.name, value, key=k) for k in keys])
        progress(f"aiokafka_raw: producing {records} records, acks gathered at the end")
        start = time.perf_counter()
        pending = [await producer.send(topic.name, value, key=keys[i % 100]) for i in range(records)]
        await asyncio.gather(*pending)
        produce_s = time.perf_counter() - start

        progress(
            f"aiokafka_raw: producing {awaited} records, each awaited before the next (as the relay does)"
        )
        start = time.perf_counter()
        for i in range(awaited):
            await producer.send_and_wait(topic.name, value, key=keys[i % 100])
        awaited_s = time.perf_counter() - start
    finally:
        await producer.stop()

    progress("aiokafka_raw: consuming them back")
    consume = await _consume(bootstrap, topic.name, records + awaited + len(keys), commit_each_record=False)
    progress(
        f"aiokafka_raw: consuming {commit_each} records committing after each (FastStream's AckPolicy.ACK)"
    )
    consume_commit = await _consume(bootstrap, topic.name, commit_each, commit_each_record=True)
    return {
        "topic_partitions": topic.partitions,
        "record_size": record_size,
        "produce": {
            "records": records,
            "seconds": round(produce_s, 3),
            "records_per_s": rate(records, produce_s),
        },
        "produce_awaited_each": {
            "records": awaited,
            "seconds": round(awaited_s, 3),
            "records_per_s": rate(awaited, awaited_s),
            "avg_ms": round(awaited_s * 1000 / awaited, 3) if awaited else None,
        },
        "consume": consume,
        "consume_commit_each": consume_commit,
    }


async def _consume(bootstrap: str, topic: str, records: int, *, commit_each_record: bool) -> dict[str, Any]:
    """Read `records` from the beginning with a fresh group; time from the first record to the last."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=not commit_each_record,
    )
    started = time.perf_counter()
    await consumer.start()
    try:
        seen = 0
        first: float | None = None
        while seen < records:
            if commit_each_record:
                await consumer.getone()
                await consumer.commit()
                seen += 1
            else:
                batch = await consumer.getmany(timeout_ms=1000, max_records=500)
                seen += sum(len(recs) for recs in batch.values())
            if first is None and seen:
                first = time.perf_counter()
        end = time.perf_counter()
    finally:
        await consumer.stop()
    if first is None:
        raise RuntimeError(f"no records read from {topic}")
    # Timed from start(): joining the group is part of it (short: the broker's initial delay is 0).
    seconds = end - started
    return {
        "records": seen,
        "seconds": round(seconds, 3),
        "records_per_s": rate(seen, seconds),
        "first_records_after_s": round(first - started, 3),
    }
