"""Topic configs on the real broker: what each kind of topic keeps and for how long, the configs of
an existing topic brought up to date, and an erased driver's phone compacted away within the bound."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from roadbranch_shared.devstack import StackInfo
from roadbranch_shared.testing import eventually, read_topic
from roadbranch_shared.topics import (
    DAY_MS,
    ROSTER_CONTACT,
    ROSTER_DRIVER,
    Topic,
    TopicPolicy,
    ensure_topics,
)

pytestmark = pytest.mark.integration
# No real phone on a test topic: the PII scan of every topic (tests/test_backbone.py) would see it.
ERASED = b'{"contact": "the erased driver\'s contact point"}'


async def configs_of(bootstrap: str, names: list[str]) -> dict[str, dict[str, str]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        answers = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n) for n in names])
    finally:
        await admin.close()
    found: dict[str, dict[str, str]] = {}
    for answer in answers:
        for _, _, _, name, entries in answer.resources:
            found[name] = {entry[0]: entry[1] for entry in entries}
    return found


async def test_event_topics_keep_every_event_and_dead_letters_ninety_days(stack_info: StackInfo) -> None:
    names = [ROSTER_DRIVER.name, ROSTER_DRIVER.dead_letters.name, ROSTER_CONTACT.name]
    found = await configs_of(stack_info.kafka_bootstrap, names)
    assert found[ROSTER_DRIVER.name]["retention.ms"] == "-1", "views are rebuilt from the start"
    assert found[ROSTER_DRIVER.name]["cleanup.policy"] == "delete"
    assert found[ROSTER_DRIVER.dead_letters.name]["retention.ms"] == str(90 * DAY_MS)
    contact = found[ROSTER_CONTACT.name]
    assert contact["cleanup.policy"] == "compact"
    assert contact["max.compaction.lag.ms"] == str(DAY_MS)
    assert contact["delete.retention.ms"] == str(7 * DAY_MS)


async def test_an_existing_topic_is_brought_to_the_policy(stack_info: StackInfo) -> None:
    topic = Topic(f"test.upgrade.{secrets.token_hex(4)}", 1, key="id")
    admin = AIOKafkaAdminClient(bootstrap_servers=stack_info.kafka_bootstrap)
    await admin.start()
    try:  # as created before there was a policy: Kafka's 7-day default
        await admin.create_topics([NewTopic(topic.name, 1, 1), NewTopic(topic.dead_letters.name, 1, 1)])
    finally:
        await admin.close()
    await ensure_topics(stack_info.kafka_bootstrap, (topic,))
    found = await configs_of(stack_info.kafka_bootstrap, [topic.name])
    assert found[topic.name]["retention.ms"] == "-1"


def test_the_policy_comes_from_the_environment_and_refuses_nonsense() -> None:
    policy = TopicPolicy.from_env(
        {"ROADBRANCH_KAFKA_REPLICATION_FACTOR": "3", "ROADBRANCH_KAFKA_MIN_INSYNC_REPLICAS": "2"}
    )
    assert (policy.replication_factor, policy.min_insync_replicas) == (3, 2)
    assert policy.configs(ROSTER_DRIVER)["min.insync.replicas"] == "2"
    with pytest.raises(ValueError, match="ROADBRANCH_KAFKA_REPLICATION_FACTOR"):
        TopicPolicy.from_env({"ROADBRANCH_KAFKA_REPLICATION_FACTOR": "drei"})
    with pytest.raises(ValueError, match="at least 1"):
        TopicPolicy.from_env({"ROADBRANCH_KAFKA_DEAD_LETTER_RETENTION_DAYS": "0"})


async def test_an_erased_drivers_phone_is_compacted_away_within_the_lag(stack_info: StackInfo) -> None:
    """The contact topic's own configs, with a lag of two seconds instead of a day."""
    topic = Topic(f"test.contact.{secrets.token_hex(4)}", 1, key="driver id", compacted=True, personal=True)
    policy = TopicPolicy(contact_compaction_lag_ms=2000, contact_tombstone_retention_ms=60_000)
    await ensure_topics(stack_info.kafka_bootstrap, (topic,), policy=policy)
    producer = AIOKafkaProducer(bootstrap_servers=stack_info.kafka_bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic.name, ERASED, key=b"drv_erased")
        await producer.send_and_wait(topic.name, b'{"contact": "kept"}', key=b"drv_other")
        await producer.send_and_wait(topic.name, None, key=b"drv_erased")  # the erasure's tombstone

        async def phone_gone() -> bool:
            # Kafka rolls a segment when it appends past the lag: the county's next contact change.
            await producer.send_and_wait(topic.name, b'{"contact": "kept"}', key=b"drv_other")
            records: list[Any] = await read_topic(stack_info.kafka_bootstrap, topic.name)
            return not [r for r in records if r.key == b"drv_erased" and r.value is not None]

        assert await eventually(
            phone_gone, timeout=120, interval=3, message="the erased phone compacted away"
        )
    finally:
        await producer.stop()
    records = await read_topic(stack_info.kafka_bootstrap, topic.name)
    assert ERASED not in [r.value for r in records]
