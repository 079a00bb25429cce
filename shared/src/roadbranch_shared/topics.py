"""Kafka topic names and their fixed partition counts; topics are created explicitly, never auto-created."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


@dataclass(frozen=True)
class Topic:
    """One topic a service publishes to, keyed by the id of the aggregate that produced the event."""

    name: str
    partitions: int
    key: str
    compacted: bool = False
    personal: bool = False  # carries personal data (contact points): dead letters keep no copy

    @property
    def dead_letters(self) -> Topic:
        return Topic(f"{self.name}.dlq", 1, key=self.key)


ROSTER_DRIVER = Topic("roster.driver.v1", 6, key="driver id")
ROSTER_MEMBER = Topic("roster.member.v1", 6, key="member id")
ROSTER_ORG = Topic("roster.org.v1", 3, key="organisation id")
# Contact points (phone numbers) travel only here; notify alone reads it; erasure is a tombstone.
ROSTER_CONTACT = Topic("roster.contact.v1", 6, key="driver id", compacted=True, personal=True)
ACTIVITIES_MEETING = Topic("activities.meeting.v1", 6, key="meeting id")
ACTIVITIES_CONTENT = Topic("activities.content.v1", 3, key="content id")
ACTIVITIES_COMPLIANCE = Topic("activities.compliance.v1", 3, key="organisation id")
ACTIVITIES_VENUE = Topic("activities.venue.v1", 1, key="venue id")
WELFARE_NEED = Topic("welfare.need.v1", 6, key="need id")
WELFARE_STATION = Topic("welfare.station.v1", 3, key="station id")
WELFARE_CAMPAIGN = Topic("welfare.campaign.v1", 3, key="campaign id")
NOTIFY_DELIVERY = Topic("notify.delivery.v1", 6, key="delivery id")

PROJECT_TOPICS: tuple[Topic, ...] = (
    ROSTER_DRIVER,
    ROSTER_MEMBER,
    ROSTER_ORG,
    ROSTER_CONTACT,
    ACTIVITIES_MEETING,
    ACTIVITIES_CONTENT,
    ACTIVITIES_COMPLIANCE,
    ACTIVITIES_VENUE,
    WELFARE_NEED,
    WELFARE_STATION,
    WELFARE_CAMPAIGN,
    NOTIFY_DELIVERY,
)


def with_dead_letters(topics: tuple[Topic, ...]) -> tuple[Topic, ...]:
    return tuple(t for topic in topics for t in (topic, topic.dead_letters))


class TopicMismatch(RuntimeError):
    """An existing topic has another partition count than the code expects."""


async def ensure_topics(bootstrap: str, topics: tuple[Topic, ...] | None = None) -> list[str]:
    """Create missing topics (and their dead-letter topics); return the names created."""
    wanted = with_dead_letters(topics if topics is not None else PROJECT_TOPICS)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            new = [
                NewTopic(
                    t.name,
                    t.partitions,
                    1,
                    topic_configs={"cleanup.policy": "compact"} if t.compacted else {},
                )
                for t in missing
            ]
            # Another process may create one between our list and our create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
        # New topics take a moment to show their partitions in the metadata.
        for _ in range(50):
            described = await admin.describe_topics([t.name for t in wanted])
            # A partition counts once it has a leader: producing before that only earns retries.
            counts = {d["topic"]: sum(p["leader"] >= 0 for p in d["partitions"]) for d in described}
            wrong = [
                f"{t.name}: has {counts.get(t.name)}, expected {t.partitions}"
                for t in wanted
                if counts.get(t.name) != t.partitions
            ]
            if not wrong:
                return [t.name for t in missing]
            await asyncio.sleep(0.2)
        raise TopicMismatch("topics with the wrong partition count: " + "; ".join(wrong))
    finally:
        await admin.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m roadbranch_shared.topics")
    parser.add_argument("command", choices=["create", "list"])
    parser.add_argument("--bootstrap", default=os.environ.get("ROADBRANCH_KAFKA_BOOTSTRAP", "localhost:9092"))
    args = parser.parse_args(argv)
    if args.command == "list":
        for t in with_dead_letters(PROJECT_TOPICS):
            print(f"{t.name}\t{t.partitions}\t{'compacted' if t.compacted else 'delete'}\tkey: {t.key}")
        return 0
    created = asyncio.run(ensure_topics(args.bootstrap))
    print(f"created {len(created)} topics: {', '.join(created) or '-'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
