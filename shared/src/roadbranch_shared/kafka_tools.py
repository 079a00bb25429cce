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
    return (await partitions_of_topics(bootstrap, [topic]))[topic]


async def partitions_of_topics(bootstrap: str, topics: list[str]) -> dict[str, list[int]]:
    """The partition numbers of each of `topics`, in one request (empty for one that does not exist)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    found: dict[str, list[int]] = {topic: [] for topic in topics}
    for d in described:
        if d["topic"] in found and not d["error_code"]:
            found[d["topic"]] = sorted(p["partition"] for p in d["partitions"])
    return found


async def list_topics(bootstrap: str) -> list[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if not t.startswith("__"))
    finally:
        await admin.close()


TopicEnds = dict[str, dict[int, int]]


async def topic_ends(bootstrap: str, topics: list[str]) -> TopicEnds:
    """The offset the next record of each partition of `topics` will get: where "from now on" starts."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    partitions = await partitions_of_topics(bootstrap, topics)
    tps = [TopicPartition(topic, p) for topic, numbers in partitions.items() for p in numbers]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps) if tps else {}
    finally:
        await consumer.stop()
    found: TopicEnds = {}
    for tp, offset in ends.items():
        found.setdefault(tp.topic, {})[tp.partition] = offset
    return found


async def start_new_groups_at(bootstrap: str, groups: dict[str, str], ends: TopicEnds) -> list[str]:
    """Commit `ends` as the offsets of each consumer group in `groups` (group -> its one topic) that
    has committed nothing yet, so it starts there instead of at the topic's beginning; a group that
    has offsets keeps them. The groups set, by name.

    For tests on one long-lived Kafka: a service started for one test module reads what is published
    from that module's start on, not every event every earlier module left on the shared topics."""
    import asyncio

    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await asyncio.gather(*(_committed_offsets(admin, group) for group in groups))
    finally:
        await admin.close()
    new = {
        group: topic for (group, topic), offsets in zip(groups.items(), committed, strict=True) if not offsets
    }

    async def start_at_end(group: str, topic: str) -> str | None:
        tps = [TopicPartition(topic, p) for p in ends.get(topic, {})]
        if not tps:
            return None
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=group)
        await consumer.start()
        try:
            consumer.assign(tps)
            await consumer.commit({tp: ends[topic][tp.partition] for tp in tps})
            return group
        finally:
            await consumer.stop()

    done = await asyncio.gather(*(start_at_end(group, topic) for group, topic in new.items()))
    return sorted(group for group in done if group)


async def _committed_offsets(admin: Any, group: str, within: float = 60) -> dict[Any, Any]:
    """The offsets `group` has committed, asked again while the broker has no coordinator for it
    yet: a fresh broker creates its offsets topic on the first group's request and answers
    GroupCoordinatorNotAvailable (a retriable error) until it has."""
    import asyncio

    from aiokafka.errors import KafkaError

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            return dict(await admin.list_consumer_group_offsets(group))
        except KafkaError as error:
            if not error.retriable or loop.time() > deadline:
                raise
        await asyncio.sleep(0.2)
