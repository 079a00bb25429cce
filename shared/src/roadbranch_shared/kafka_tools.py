"""Reading topics directly (no consumer group): for the dead-letter replay, checks and tests."""

from __future__ import annotations

from typing import Any


async def read_topic(bootstrap: str, topic: str) -> list[Any]:
    """Every record currently on `topic` (all partitions, from the beginning), without a consumer group."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    partitions = await partitions_of(bootstrap, topic)
    if not partitions:
        return []
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[Any] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(*tps, timeout_ms=1000)
            for recs in batch.values():
                records.extend(recs)
        return records
    finally:
        await consumer.stop()


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    """The partition numbers of `topic` (empty if it does not exist)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
        return sorted(
            p["partition"]
            for d in described
            if d["topic"] == topic and not d["error_code"]
            for p in d["partitions"]
        )
    finally:
        await admin.close()


async def list_topics(bootstrap: str) -> list[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if not t.startswith("__"))
    finally:
        await admin.close()
