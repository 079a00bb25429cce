"""A consumer group started "from now on" on the session's real Kafka reads only what came after the
mark; a group that already committed offsets keeps them (a restarted process resumes)."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from roadbranch_shared.devstack.stack import StackInfo
from roadbranch_shared.kafka_tools import start_new_groups_at, topic_ends
from roadbranch_shared.topics import IDENTITY_AUDIT

pytestmark = pytest.mark.integration
TOPIC = IDENTITY_AUDIT.name


async def publish(bootstrap: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(TOPIC, value, partition=0)
    finally:
        await producer.stop()


async def read_as(bootstrap: str, group: str) -> list[bytes]:
    """What a new member of `group` reads on partition 0 up to its end, committing as it goes."""
    tp = TopicPartition(TOPIC, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        values: list[bytes] = []
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(tp, timeout_ms=1000)).values():
                values += [r.value for r in records if r.value is not None]
        await consumer.commit()
        return values
    finally:
        await consumer.stop()


async def test_new_groups_start_at_the_mark_and_groups_with_offsets_keep_theirs(
    stack_info: StackInfo,
) -> None:
    bootstrap = stack_info.kafka_bootstrap
    run = uuid.uuid4().hex
    before = [f"{run} before {i}".encode() for i in range(3)]
    after = [f"{run} after {i}".encode() for i in range(2)]
    old_group, new_group, untouched = (f"reading-from-{run}-{name}" for name in ("old", "new", "untouched"))

    await publish(bootstrap, before)
    assert set(before) <= set(await read_as(bootstrap, old_group))  # it committed past them
    await publish(bootstrap, [b"between " + run.encode()])
    mark = await topic_ends(bootstrap, [TOPIC])
    assert set(mark[TOPIC]) == set(range(IDENTITY_AUDIT.partitions))

    started = await start_new_groups_at(bootstrap, {old_group: TOPIC, new_group: TOPIC}, mark)
    assert started == [new_group]
    await publish(bootstrap, after)

    assert await read_as(bootstrap, new_group) == after
    # The group that had offsets resumes after its own commit: it also gets the record before the mark.
    assert [v for v in await read_as(bootstrap, old_group) if run.encode() in v] == [
        b"between " + run.encode(),
        *after,
    ]
    # A group not named reads the topic from its beginning, as a service's new group does by itself.
    assert set(before + after) <= set(await read_as(bootstrap, untouched))
